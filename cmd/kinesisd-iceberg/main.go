// Command kinesisd-iceberg is kinesisd's Iceberg writer for channels to S3 Tables, run by kinesisd as
// a child process (internal/channel/icebergproc): it reads its configuration and requests on stdin,
// answers on stdout, logs to stderr and exits when stdin ends. It is a separate executable so that
// kinesisd itself does not link iceberg-go, whose package initialisation takes 0.2-0.4 s.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"kinesisd/internal/channel/iceberg"
	"kinesisd/internal/channel/icebergproc"
	"kinesisd/internal/channel/s3dest"
	"kinesisd/internal/version"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "version", "-version", "--version":
			fmt.Printf("kinesisd-iceberg %s (%s)\n", version.Version(), version.Commit())
			return
		}
		fmt.Fprintln(os.Stderr, "kinesisd-iceberg takes no arguments: kinesisd runs it (-iceberg-writer) and talks to it over stdin and stdout")
		os.Exit(2)
	}
	// stdout carries the protocol alone: whatever a library prints goes to stderr instead.
	out := os.Stdout
	os.Stdout = os.Stderr
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// kinesisd stops the child by closing its stdin; a SIGINT or SIGTERM sent to the whole process
	// group (a terminal's ^C) must not end it before kinesisd's last commits.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
	if err := icebergproc.Serve(context.Background(), os.Stdin, out, open); err != nil {
		log.Error("kinesisd-iceberg", "err", err)
		os.Exit(1)
	}
}

// open opens the Iceberg writer cfg describes.
func open(ctx context.Context, cfg icebergproc.Config) (icebergproc.Writer, error) {
	w, err := iceberg.Open(ctx, iceberg.Config{CatalogURL: cfg.CatalogURL, Warehouse: cfg.Warehouse, InMemory: cfg.InMemory,
		S3Endpoint: cfg.S3Endpoint, S3AccessKey: cfg.S3AccessKey, S3Secret: cfg.S3Secret, Region: cfg.Region})
	if err != nil {
		return nil, err
	}
	return tables{w}, nil
}

// tables is icebergproc's Writer over the Iceberg writer.
type tables struct{ w *iceberg.Writer }

func (t tables) table(tb icebergproc.Table) iceberg.Table {
	out := iceberg.Table{Bucket: tb.Bucket, Namespace: tb.Namespace, Name: tb.Name, Compression: tb.Compression}
	if len(tb.HourPartitions) > 0 {
		out.Partition = &iceberg.HourPartition{Source: tb.HourPartitions[0]}
	}
	return out
}

func (t tables) Append(ctx context.Context, tb icebergproc.Table, recs []s3dest.Record, position string, deadLetters func([]s3dest.Rejected) error) ([]s3dest.Rejected, error) {
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

func (t tables) Position(ctx context.Context, tb icebergproc.Table) (string, bool, error) {
	return t.w.Position(ctx, t.table(tb))
}

func (t tables) Close() error { return t.w.Close() }
