package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"kinesisd/internal/channel/icebergproc"
	"kinesisd/internal/channel/objstore"
	"kinesisd/internal/channel/s3dest"
	"kinesisd/internal/config"
	"kinesisd/internal/service"
)

// channelSinks are the destinations of channels: objects (S3) and tables (S3 Tables, Iceberg).
type channelSinks struct {
	objects service.ObjectStore
	tables  service.TableStore
	off     string // why channels are refused ("": they are not)
	tabsOff string // why channels to S3 Tables are ("": they are not, or the service's reason on JetStream)
	close   func()
}

// icebergWriterName is the companion executable that writes to S3 Tables (cmd/kinesisd-iceberg).
const icebergWriterName = "kinesisd-iceberg"

// openChannelSinks builds the channels' destinations from cfg. Tables are written by the
// kinesisd-iceberg child process (icebergproc), started on the first delivery: kinesisd itself does
// not link iceberg-go, whose package initialisation alone takes 0.2-0.4 s of every start. Without
// the executable, channels to S3 Tables are refused (an INFO line says so at start: a developer without S3 Tables channels needs no warning).
func openChannelSinks(_ context.Context, cfg *config.Config, log *slog.Logger) (channelSinks, error) {
	objects, off, err := channelObjects(cfg)
	if err != nil {
		return channelSinks{}, err
	}
	ic := icebergproc.Config{CatalogURL: cfg.IcebergCatalog, InMemory: cfg.InMemory && cfg.IcebergCatalog == "",
		Warehouse: filepath.Join(cfg.DataDir, "iceberg"), S3Endpoint: cfg.S3Endpoint, Region: cfg.Region}
	if cfg.S3Credentials != "" {
		if ic.S3AccessKey, ic.S3Secret, err = readS3Credentials(cfg.S3Credentials); err != nil {
			return channelSinks{}, err
		}
	}
	sinks := channelSinks{objects: objects, off: off, close: func() {}}
	if cfg.IcebergCatalog == "" && cfg.IsNATS() {
		return sinks, nil // the embedded catalog would live on one front-end's disk: S3 Tables are refused
	}
	path, err := findIcebergWriter(cfg.IcebergWriter)
	if err != nil {
		if cfg.IcebergWriter != "" {
			return channelSinks{}, err
		}
		log.Info("channels to S3 Tables are refused: "+err.Error(), "flag", "-iceberg-writer")
		sinks.tabsOff = "Channels to S3 Tables are not available on this server: it found no kinesisd-iceberg, the executable that writes Iceberg tables. Install it next to kinesisd or start kinesisd with -iceberg-writer."
		return sinks, nil
	}
	client := icebergproc.New(path, ic, log)
	sinks.tables, sinks.close = icebergTables{client}, func() { _ = client.Close() }
	return sinks, nil
}

// findIcebergWriter returns the kinesisd-iceberg to run: flag's (a path, or a name looked up on
// $PATH) when set; else the one next to this executable (kinesisd-iceberg, or for a release binary
// named kinesisd-VERSION-OS-ARCH, kinesisd-iceberg-VERSION-OS-ARCH), else kinesisd-iceberg on $PATH.
func findIcebergWriter(flag string) (string, error) {
	if flag != "" {
		path, err := exec.LookPath(flag)
		if err != nil {
			return "", fmt.Errorf("-iceberg-writer: %w", err)
		}
		return filepath.Abs(path)
	}
	if exe, err := os.Executable(); err == nil {
		dir, base := filepath.Split(exe)
		ext := filepath.Ext(base)
		if ext != ".exe" {
			ext = ""
		}
		candidates := []string{filepath.Join(dir, icebergWriterName+ext)}
		if rest, ok := strings.CutPrefix(base, "kinesisd-"); ok && !strings.HasPrefix(rest, "iceberg") {
			candidates = append(candidates, filepath.Join(dir, icebergWriterName+"-"+rest))
		}
		for _, c := range candidates {
			if path, err := exec.LookPath(c); err == nil {
				return path, nil
			}
		}
	}
	path, err := exec.LookPath(icebergWriterName)
	if err != nil {
		return "", fmt.Errorf("%s is neither next to kinesisd nor on $PATH: install it there, or start kinesisd with -iceberg-writer PATH", icebergWriterName)
	}
	return filepath.Abs(path)
}

// channelObjects is where channels to general-purpose S3 deliver: the S3-compatible store of
// -s3-endpoint; without it, the embedded one (each bucket a directory under DataDir/buckets, or
// memory with -in-memory). On NATS JetStream there is no embedded one (the objects would live on one
// front-end's disk): off says why CreateChannel refuses.
func channelObjects(cfg *config.Config) (objects service.ObjectStore, off string, err error) {
	switch {
	case cfg.S3Endpoint != "":
		sc := objstore.S3Config{Endpoint: cfg.S3Endpoint, Region: cfg.Region}
		if cfg.S3Credentials != "" {
			if sc.AccessKey, sc.Secret, err = readS3Credentials(cfg.S3Credentials); err != nil {
				return nil, "", err
			}
		}
		return objstore.NewS3(sc), "", nil
	case cfg.IsNATS():
		return nil, "Channels need an S3 destination on this server: it runs on NATS JetStream, where there is no embedded one. Start kinesisd with -s3-endpoint.", nil
	case cfg.InMemory:
		return &objstore.Mem{}, "", nil
	}
	return &objstore.Dir{Root: filepath.Join(cfg.DataDir, "buckets"), Reserve: uint64(cfg.DiskReserveMiB) << 20}, "", nil
}

// readS3Credentials reads -s3-credentials: one "ACCESS_KEY_ID SECRET_ACCESS_KEY" line.
func readS3Credentials(path string) (key, secret string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("-s3-credentials: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", "", fmt.Errorf("-s3-credentials: %s: %w", path, errors.New("want one line: ACCESS_KEY_ID SECRET_ACCESS_KEY"))
	}
	return f[0], f[1], nil
}

// icebergTables is the service's TableStore over the Iceberg writer's process.
type icebergTables struct{ c *icebergproc.Client }

func (t icebergTables) Append(ctx context.Context, tb service.Table, recs []s3dest.Record, position string, deadLetters func([]s3dest.Rejected) error) ([]s3dest.Rejected, error) {
	return t.c.Append(ctx, icebergproc.Table(tb), recs, position, deadLetters)
}

func (t icebergTables) Position(ctx context.Context, tb service.Table) (string, bool, error) {
	return t.c.Position(ctx, icebergproc.Table(tb))
}
