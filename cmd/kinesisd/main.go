// Command kinesisd serves the Amazon Kinesis Data Streams API; its subcommands benchmark an endpoint
// (bench), copy stores (export, import), back up a running server (backup), check its health (health)
// and print the version (version). `kinesisd -h` lists them and every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"kinesisd/internal/backup"
	"kinesisd/internal/bench"
	"kinesisd/internal/config"
	"kinesisd/internal/healthcheck"
	"kinesisd/internal/server"
	"kinesisd/internal/transfer"
	"kinesisd/internal/version"
)

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

// dispatch runs the subcommand args name, or the server, and returns the exit code.
func dispatch(args []string) int {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch sub {
	case "bench":
		return bench.Main(ctx, args[1:], os.Stdout, os.Stderr)
	case "bench-queue":
		return bench.QueueMain(ctx, args[1:], os.Stdout, os.Stderr)
	case "export", "import":
		return transfer.Main(ctx, sub, args[1:], transfer.Env{
			Open: server.OpenStore, Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		})
	case "backup":
		return backup.Main(ctx, args[1:], backup.Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
	case "health":
		return healthcheck.Main(ctx, args[1:], os.Stdout, os.Stderr)
	case "version":
		fmt.Println(version.String())
		return 0
	case "help":
		config.Usage(os.Stdout)
		return 0
	}
	stop() // the server handles its own signals
	return run(args)
}

func run(args []string) int {
	cfg, err := config.Load(args, os.Getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		config.Usage(os.Stdout)
		return 0
	case err != nil:
		fmt.Fprintf(os.Stderr, "kinesisd: %v\n", err)
		return 2
	case cfg.Version:
		fmt.Println(version.String())
		return 0
	}
	log := newLogger(os.Stderr, cfg)
	if cfg.MemoryLimitMiB > 0 {
		// Process-wide, so set here rather than by the server value (tests run many in one process).
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("kinesisd "+version.Version(), "commit", version.Commit())
	if err := server.Run(ctx, cfg, log); err != nil {
		log.Error("kinesisd failed", "err", err)
		return 1
	}
	return 0
}

// newLogger is the server's logger: -log-format text or json on w, at -log-level.
func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
