package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kinesisd/internal/channel/iceberg"
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
	close   func()
}

// openChannelSinks builds the channels' destinations from cfg.
func openChannelSinks(ctx context.Context, cfg *config.Config) (channelSinks, error) {
	objects, off, err := channelObjects(cfg)
	if err != nil {
		return channelSinks{}, err
	}
	ic := iceberg.Config{CatalogURL: cfg.IcebergCatalog, InMemory: cfg.InMemory && cfg.IcebergCatalog == "",
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
	w, err := iceberg.Open(ctx, ic)
	if err != nil {
		return channelSinks{}, fmt.Errorf("iceberg: %w", err)
	}
	sinks.tables, sinks.close = icebergTables{w}, func() { _ = w.Close() }
	return sinks, nil
}

// icebergTables is the service's TableStore over the Iceberg writer.
type icebergTables struct{ w *iceberg.Writer }

func (t icebergTables) table(tb service.Table) iceberg.Table {
	out := iceberg.Table{Bucket: tb.Bucket, Namespace: tb.Namespace, Name: tb.Name, Compression: tb.Compression}
	if len(tb.HourPartitions) > 0 {
		out.Partition = &iceberg.HourPartition{Source: tb.HourPartitions[0]}
	}
	return out
}

func (t icebergTables) Append(ctx context.Context, tb service.Table, recs []s3dest.Record, position string, deadLetters func([]s3dest.Rejected) error) ([]s3dest.Rejected, error) {
	in := make([]iceberg.Record, len(recs))
	for i, r := range recs {
		in[i] = iceberg.Record{Data: r.Data, PartitionKey: r.PartitionKey, SequenceNumber: r.SequenceNumber, ShardID: r.ShardID, Arrival: r.Arrival}
	}
	var dl func([]iceberg.Rejected) error
	if deadLetters != nil {
		dl = func(rej []iceberg.Rejected) error { return deadLetters(rejectedOf(rej)) }
	}
	rej, err := t.w.AppendThen(ctx, t.table(tb), in, position, dl)
	if err != nil {
		return nil, err
	}
	return rejectedOf(rej), nil
}

func rejectedOf(rej []iceberg.Rejected) []s3dest.Rejected {
	out := make([]s3dest.Rejected, len(rej))
	for i, r := range rej {
		out[i] = s3dest.Rejected{Record: s3dest.Record{Data: r.Record.Data, PartitionKey: r.Record.PartitionKey,
			SequenceNumber: r.Record.SequenceNumber, ShardID: r.Record.ShardID, Arrival: r.Record.Arrival}, Reason: r.Reason}
	}
	return out
}

func (t icebergTables) Position(ctx context.Context, tb service.Table) (string, bool, error) {
	return t.w.Position(ctx, t.table(tb))
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
