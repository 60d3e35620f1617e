package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kinesisd/internal/channel/s3dest"
	"kinesisd/internal/config"
	"kinesisd/internal/service"
)

// channelSinks are the destinations of channels: objects (S3) and tables (S3 Tables, Iceberg).
type channelSinks struct {
	objects service.ObjectStore
	tables  service.TableStore
	off     string // why channels are refused ("": they are not)
	close   func()
}

// openChannelSinks builds the channels' destinations from cfg.
func openChannelSinks(ctx context.Context, cfg *config.Config) (channelSinks, error) {
	objects, off, err := channelObjects(cfg)
	if err != nil {
		return channelSinks{}, err
	}
	return channelSinks{objects: objects, off: off, close: func() {}}, nil
}

// channelObjects is where channels to general-purpose S3 deliver: the S3-compatible store of
// -s3-endpoint; without it, the embedded one (each bucket a directory under DataDir/buckets, or
// memory with -in-memory). On NATS JetStream there is no embedded one (the objects would live on one
// front-end's disk): off says why CreateChannel refuses.
func channelObjects(cfg *config.Config) (objects service.ObjectStore, off string, err error) {
	switch {
	case cfg.S3Endpoint != "":
		sc := s3dest.S3Config{Endpoint: cfg.S3Endpoint, Region: cfg.Region}
		if cfg.S3Credentials != "" {
			if sc.AccessKey, sc.Secret, err = readS3Credentials(cfg.S3Credentials); err != nil {
				return nil, "", err
			}
		}
		return s3dest.NewS3(sc), "", nil
	case cfg.IsNATS():
		return nil, "Channels need an S3 destination on this server: it runs on NATS JetStream, where there is no embedded one. Start kinesisd with -s3-endpoint.", nil
	case cfg.InMemory:
		return &s3dest.Mem{}, "", nil
	}
	return &s3dest.Dir{Root: filepath.Join(cfg.DataDir, "buckets"), Reserve: uint64(cfg.DiskReserveMiB) << 20}, "", nil
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
