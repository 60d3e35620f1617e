package transfer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"kinesisd/internal/config"
	"kinesisd/internal/storage"
	"kinesisd/internal/transfer/archive"
)

// Env is what Main needs from its process.
type Env struct {
	// Open opens the store a configuration names, as the server does (server.OpenStore).
	Open   func(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error)
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// cliOptions are the parsed flags of one run.
type cliOptions struct {
	cmd      string
	cfg      *config.Config
	file     string // -out (export) or -in (import); "-" for stdout or stdin
	gzip     bool
	mapFile  string
	replace  bool
	renumber bool
}

// Main runs `kinesisd export` or `kinesisd import` (cmd) with args, which exclude the command, and
// returns the exit code: 0 on success, 1 on failure, 2 on bad flags.
func Main(ctx context.Context, cmd string, args []string, env Env) int {
	opts, err := parseFlags(cmd, args, env.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, usage(cmd))
		return 0
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "kinesisd %s: %v\n\nusage of kinesisd %s:\n%s", cmd, err, cmd, usage(cmd))
		return 2
	}
	if err := run(ctx, opts, env); err != nil {
		fmt.Fprintf(env.Stderr, "kinesisd %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// newFlagSet declares the flags of cmd into o.
func newFlagSet(cmd string, o *cliOptions, data, store *string) *flag.FlagSet {
	fs := flag.NewFlagSet("kinesisd "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(data, "data", "./kinesisd-data", "data directory of the embedded store (KINESISD_DATA)")
	fs.StringVar(store, "store", "pebble", "storage engine: pebble (embedded) (KINESISD_STORE)")
	fs.StringVar(&o.mapFile, "map", "", "also write the report as JSON to this file (\"-\": stdout): per shard, its first and last sequence numbers")
	if cmd == "export" {
		fs.StringVar(&o.file, "out", "", "archive file to write (\"-\": stdout); required")
		fs.BoolVar(&o.gzip, "gzip", false, "compress the archive (the default when -out ends in .gz)")
	} else {
		fs.StringVar(&o.file, "in", "", "archive file to read (\"-\": stdin; gzip is recognised); required")
		fs.BoolVar(&o.replace, "replace", false, "overwrite streams and account documents the target already has")
		fs.BoolVar(&o.renumber, "renumber", false, "reassign sequence numbers even when the target could keep them")
	}
	return fs
}

func usage(cmd string) string {
	var b strings.Builder
	switch cmd {
	case "export":
		b.WriteString("kinesisd export -out FILE [-data DIR | -store …] [-gzip] [-map FILE]\n" +
			"writes every stream (shards, consumers, tags, policies, records) and the account documents of a store to an archive.\n" +
			"The server must not be running on the same data directory.\n\n")
	default:
		b.WriteString("kinesisd import -in FILE [-data DIR | -store …] [-replace] [-renumber] [-map FILE]\n" +
			"copies an archive's streams into a store. Sequence numbers are kept when the target can keep them\n" +
			"(the embedded store) and reassigned in order otherwise; the report maps each shard's first and last.\n\n")
	}
	var o cliOptions
	var data, store string
	fs := newFlagSet(cmd, &o, &data, &store)
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

// parseFlags parses args; the store flags go through config.Load, so that they are checked (and take
// their KINESISD_* fallbacks) as the server's are.
func parseFlags(cmd string, args []string, getenv func(string) string) (*cliOptions, error) {
	o := &cliOptions{cmd: cmd}
	var data, store string
	fs := newFlagSet(cmd, o, &data, &store)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var cfgArgs []string
	var problems []error
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "data" || f.Name == "store" {
			cfgArgs = append(cfgArgs, "-"+f.Name, f.Value.String())
		}
	})
	if cmd == "export" && strings.HasSuffix(o.file, ".gz") && !isSet(fs, "gzip") {
		o.gzip = true
	}
	cfg, err := config.Load(cfgArgs, getenv)
	if err != nil {
		problems = append(problems, err)
	}
	o.cfg = cfg
	flagName := map[string]string{"export": "out", "import": "in"}[cmd]
	if o.file == "" {
		problems = append(problems, fmt.Errorf("-%s: required", flagName))
	}
	if o.mapFile == "-" && cmd == "export" && o.file == "-" {
		problems = append(problems, errors.New("-map: the archive already goes to stdout (-out -)"))
	}
	return o, errors.Join(problems...)
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// run opens the store and the file and runs the export or import.
func run(ctx context.Context, o *cliOptions, env Env) (err error) {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.cmd == "export" && o.cfg.Store == "pebble" {
		if err := checkPebbleDir(o.cfg.DataDir); err != nil {
			return err
		}
	}
	// An import reads the archive's header before it opens (and possibly creates) the store.
	var ar *archive.Reader
	if o.cmd == "import" {
		r := env.Stdin
		if o.file != "-" {
			f, err := os.Open(o.file)
			if err != nil {
				return fmt.Errorf("-in: %w", err)
			}
			defer f.Close()
			r = f
		}
		if ar, err = archive.NewReader(r); err != nil {
			return fmt.Errorf("-in: %w", err)
		}
	}
	st, err := env.Open(ctx, o.cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	kind := engineKind(o.cfg)
	var rep *Report
	if o.cmd == "export" {
		rep, err = exportTo(ctx, st, o, kind, env.Stdout)
	} else {
		rep, err = ImportArchive(ctx, st, ar, ImportOptions{Engine: kind, Replace: o.replace, Renumber: o.renumber, Logger: log, Region: o.cfg.Region})
	}
	if rep != nil && (err == nil || len(rep.Streams) > 0) {
		rep.WriteText(env.Stderr)
		if err == nil && o.mapFile != "" {
			err = writeMap(o.mapFile, rep, env.Stdout)
		}
	}
	return err
}

// checkPebbleDir refuses to export a directory that holds no store (Pebble would create one there).
func checkPebbleDir(dir string) error {
	found, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
	if len(found) == 0 {
		return fmt.Errorf("-data: no kinesisd store in %s", dir)
	}
	return nil
}

func exportTo(ctx context.Context, st storage.Store, o *cliOptions, kind string, stdout io.Writer) (*Report, error) {
	w := stdout
	var f *os.File
	if o.file != "-" {
		var err error
		if f, err = os.Create(o.file); err != nil {
			return nil, fmt.Errorf("-out: %w", err)
		}
		w = f
	}
	rep, err := Export(ctx, st, w, ExportOptions{Engine: kind, Gzip: o.gzip})
	if f != nil {
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(o.file) // no half archive left behind to be mistaken for a whole one
		}
	}
	return rep, err
}

func writeMap(path string, rep *Report, stdout io.Writer) error {
	if path == "-" {
		return rep.WriteJSON(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("-map: %w", err)
	}
	err = rep.WriteJSON(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-map: %w", err)
	}
	return nil
}
