// Package iceberg appends a channel's records to Apache Iceberg tables as Parquet data files, one snapshot per delivery, exactly once.
//
// # Catalogs
//
// A Writer speaks to one of three catalogs, chosen by its Config:
//   - an Iceberg REST catalog (CatalogURL), such as the one S3 Tables expose
//     at https://s3tables.REGION.amazonaws.com/iceberg. Each table bucket is
//     the catalog's warehouse (its ARN, as S3 Tables want it). Requests are
//     signed with SigV4 for the service "s3tables" in Region (else the
//     bucket ARN's) with S3AccessKey and S3Secret when given, else, for a
//     catalog at *.amazonaws.com, with the AWS default credential chain;
//     other catalogs without keys get unsigned requests. Data files go
//     wherever the catalog's table location says, through S3Endpoint
//     (path-style) when given.
//   - the embedded catalog on disk (the default): a Hadoop-layout warehouse
//     (iceberg-go's catalog/hadoop, no cgo), each table at
//     Warehouse/BUCKET/NAMESPACE/TABLE with its metadata/vN.metadata.json
//     versions and data/ files, readable by any Iceberg tool that opens a
//     Hadoop catalog or a metadata file. A commit claims the next version by
//     an atomic no-replace rename, so two commits on one version cannot both
//     succeed.
//   - the embedded catalog in memory (InMemory), for kinesisd -in-memory:
//     the same, held by the Writer and gone with it.
//
// # Tables
//
// AWS creates a channel's table in its table bucket; so does Append, in every
// catalog, when the table does not exist yet: its columns are inferred from
// the first record of the delivery that is a JSON object (see inferSchema:
// booleans, longs, doubles and strings, all optional, nested values kept as
// JSON text), plus the partition source column as timestamptz, partitioned by
// the hour of that column when Table.Partition says so, and Parquet
// compression from Table.Compression. A user who wants other types creates
// the table first (through the REST catalog, or with any tool that writes the
// Hadoop layout under the warehouse); an existing table's schema and
// partition spec are used as they are, and only its compression property is
// brought in line with Table.Compression. Tables Append creates merge their
// manifests (commit.manifest-merge.enabled), so that a snapshot's manifest
// list does not grow by one manifest per commit for ever.
//
// # Upkeep
//
// Each commit reads and writes the table's metadata file, which lists the
// table's snapshots and its previous metadata files. In the embedded catalogs,
// an Append that finds more than keepSnapshots+expireSlack snapshots (120)
// also expires all but the newest keepSnapshots (100) in its commit, unless
// the table says gc.enabled=false; the files only expired snapshots referenced
// (manifest lists, manifests merged since) are then deleted, never a data file
// (see removeExpired); and tables Append creates there keep their last
// 100 metadata files (write.metadata.delete-after-commit.enabled). Behind a
// REST catalog, snapshots and old files are the catalog's to expire (S3
// Tables' own maintenance does it).
//
// # Records
//
// A record's top-level JSON members fill the columns of the same name (case
// sensitive; members naming no column are ignored; missing or null members
// leave optional columns null). Values are converted where no information is
// lost: numbers to int and long when integral and in range, to float and
// double, to decimal when the scale and precision hold every digit (a decimal
// may also come as a string); strings, with other JSON values kept as their
// JSON text; booleans; dates from YYYY-MM-DD or epoch days; timestamps from
// RFC 3339 strings or epoch numbers (seconds, milliseconds, microseconds or
// nanoseconds, told apart by magnitude); binary from base64. A record that is
// not a JSON object, lacks a required column or has a value that cannot be
// converted comes back in Append's rejected list with the reason. Columns of
// nested or other types (list, map, struct, uuid, time, ...) can only be
// null: a record with a value for one is rejected, and a required one makes
// Append fail.
//
// # Exactly once
//
// Append commits its data files and the caller's position (snapshot summary
// property PositionProperty) in one catalog commit, conditional on the table
// being at the snapshot this Writer last saw for it, which is the snapshot
// that Position read or that the Writer's previous Append made. Append builds
// on the table as that call left it, without loading it again; the commit's
// condition is what catches a table that moved (in the embedded disk catalog,
// Append also looks for a metadata version after the one it holds first). So:
//
//   - call Position before the first Append to a table, resume after what it
//     returns, and call it again after any Append error: an error may mean the
//     commit happened (a lost reply), and Position tells. Append fails with
//     ErrConflict when Position was not called first or the table moved;
//   - two Writers delivering the same records cannot both commit them: the
//     second fails, with ErrConflict (or, when both reached the embedded
//     disk catalog at once, its plain "requirement failed" error), and its
//     Position shows the first's commit.
//
// Position walks back from the current snapshot through its ancestors to the
// newest one that carries the property, so commits by others (S3 Tables
// compaction, a user's own writes) do not hide it, though they make the next
// Append fail with ErrConflict once. A delivery whose records are all
// rejected still commits an empty snapshot carrying the position, except on a
// table that does not exist yet (there is nothing to infer its schema from):
// then nothing is committed. One table takes one channel's positions. The
// data files of an Append whose commit fails stay behind unreferenced,
// invisible to readers, until an orphan-file cleanup removes them.
package iceberg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hadoop"
	"github.com/apache/iceberg-go/catalog/rest"
	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// data files behind a REST catalog
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// PositionProperty is the snapshot summary property that carries Append's
// position.
const PositionProperty = "kinesisd.channel-position"

// ErrConflict is returned by Append when the table is not at the snapshot the
// Writer last saw for it (or the Writer has not seen it: Position was not
// called first, or the last Append failed): another commit came first, or
// may have. Call Position and resume from what it returns.
var ErrConflict = errors.New("iceberg: table changed since Position")

// Config says which catalog a Writer uses; see the package doc.
type Config struct {
	CatalogURL string // an Iceberg REST catalog (as S3 Tables expose one); "" = the embedded catalog
	Warehouse  string // the embedded catalog's directory (metadata and data files under it)
	InMemory   bool   // the embedded catalog and its files in memory (kinesisd -in-memory)
	// Where a REST catalog's data files go (an S3-compatible store), and
	// the keys and region that sign its requests (see the package doc).
	S3Endpoint, S3AccessKey, S3Secret, Region string
}

// Table names a destination table, as a channel's S3TablesConfiguration does.
type Table struct {
	Bucket    string // the table bucket ARN (arn:aws:s3tables:REGION:ACCOUNT:bucket/NAME), as the channel's S3TablesConfiguration gives it
	Namespace string
	Name      string
	Partition *HourPartition // nil: unpartitioned; else TIME_HOUR on the named source field (see the model's PartitionSpec)
	// Compression of the Parquet data files: NONE, ZSTD or SNAPPY, as
	// S3TablesConfiguration's CompressionType; "" leaves the table's own
	// (zstd on a table Append creates).
	Compression string
}

// HourPartition is a PartitionSpec's one field: the TIME_HOUR transform of
// a timestamptz column.
type HourPartition struct {
	Source string // the column's name
}

// Record is one stream record to deliver. Only Data goes into the table; the
// rest comes back with a rejected record, for the dead-letter location.
type Record struct {
	Data           []byte
	PartitionKey   string
	SequenceNumber string
	ShardID        string
	Arrival        time.Time
}

// Rejected is a record that could not be converted to the table's schema.
type Rejected struct {
	Record Record
	Reason string
}

// tables is what a Writer needs of a catalog: hadoop.Catalog, rest.Catalog
// and memCatalog have it. LoadTable fails with catalog.ErrNoSuchTable (or
// ErrNoSuchNamespace) when the table is absent; CreateTable with
// catalog.ErrTableAlreadyExists when it is there.
type tables interface {
	LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error)
	CreateTable(ctx context.Context, ident table.Identifier, sc *iceberg.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error)
	CreateNamespace(ctx context.Context, ns table.Identifier, props iceberg.Properties) error
}

// Writer appends to the tables of one catalog. Its methods may be called
// concurrently; calls on one table are serialized.
type Writer struct {
	cfg Config

	// Lock order: a tableState's mu before mu. mu is held only for map
	// lookups, never across catalog calls.
	mu       sync.Mutex
	catalogs map[string]tables      // by table bucket ARN
	states   map[string]*tableState // by Table.key
	closed   bool
}

// noSnapshot is tableState.snapshot for a table that is absent or has no
// snapshot yet.
const noSnapshot = -1

// tableState is what the Writer last saw of one table.
type tableState struct {
	mu       sync.Mutex // held through each Append and Position on the table
	seen     bool       // snapshot and tbl are valid: set by Position and successful Appends
	snapshot int64      // the table's current snapshot when last seen
	// tbl is the table as Position loaded it or the last Append's commit
	// returned it (nil: absent), which the next Append builds on instead of
	// loading it again: loading reads the whole metadata file, and the
	// commit checks anyway that the table is still at snapshot.
	tbl *table.Table
}

// Snapshot expiry in the embedded catalogs. Each commit reads and writes the
// table's metadata file, which lists every snapshot (each with its position):
// with none expired, a commit took 19.9 ms on a new table and 78.5 ms after
// 500 commits. An Append that finds more than keepSnapshots+expireSlack
// snapshots expires all but the last keepSnapshots in its own commit; the
// slack spreads the cost of expiry (removeExpired reads the manifest lists of
// the snapshots expired) over expireSlack commits.
const (
	keepSnapshots = 100
	expireSlack   = 20
)

// Open returns a Writer for the catalog cfg names. It contacts nothing: each
// table bucket's catalog is opened on first use.
func Open(_ context.Context, cfg Config) (*Writer, error) {
	switch {
	case cfg.CatalogURL != "" && cfg.InMemory:
		return nil, errors.New("iceberg: a REST catalog and an in-memory catalog are exclusive")
	case cfg.CatalogURL == "" && !cfg.InMemory && cfg.Warehouse == "":
		return nil, errors.New("iceberg: the embedded catalog needs a warehouse directory")
	}
	return &Writer{cfg: cfg, catalogs: map[string]tables{}, states: map[string]*tableState{}}, nil
}

// Close closes the catalogs. An in-memory catalog's tables are gone.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	var errs []error
	for _, c := range w.catalogs {
		if c, ok := c.(catalog.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	w.catalogs = nil
	return errors.Join(errs...)
}

// bucketName returns NAME from arn:aws:s3tables:REGION:ACCOUNT:bucket/NAME.
func bucketName(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "s3tables" || !strings.HasPrefix(parts[5], "bucket/") {
		return "", fmt.Errorf("iceberg: %q is not a table bucket ARN", arn)
	}
	name := strings.TrimPrefix(parts[5], "bucket/")
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("iceberg: %q is not a table bucket ARN", arn)
	}
	return name, nil
}

func (t Table) ident() table.Identifier { return table.Identifier{t.Namespace, t.Name} }

func (t Table) key() string { return t.Bucket + "\x00" + t.Namespace + "\x00" + t.Name }

// state returns the catalog of t's bucket, opening it on first use, and the
// Writer's state of t.
func (w *Writer) state(ctx context.Context, t Table) (tables, *tableState, error) {
	for _, part := range []string{t.Namespace, t.Name} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "/\\\x00") {
			return nil, nil, fmt.Errorf("iceberg: %q is not a table namespace or name", part)
		}
	}
	name, err := bucketName(t.Bucket)
	if err != nil {
		return nil, nil, err
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, nil, errors.New("iceberg: writer closed")
	}
	ts := w.states[t.key()]
	if ts == nil {
		ts = &tableState{}
		w.states[t.key()] = ts
	}
	cat := w.catalogs[t.Bucket]
	w.mu.Unlock()
	if cat != nil {
		return cat, ts, nil
	}
	cat, err = w.openCatalog(ctx, t.Bucket, name)
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg: open catalog for %s: %w", t.Bucket, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		if c, ok := cat.(catalog.Closer); ok {
			c.Close()
		}
		return nil, nil, errors.New("iceberg: writer closed")
	}
	if prev := w.catalogs[t.Bucket]; prev != nil {
		if c, ok := cat.(catalog.Closer); ok {
			c.Close()
		}
		return prev, ts, nil
	}
	w.catalogs[t.Bucket] = cat
	return cat, ts, nil
}

func (w *Writer) openCatalog(ctx context.Context, arn, name string) (tables, error) {
	switch {
	case w.cfg.InMemory:
		return newMemCatalog("mem://" + name), nil
	case w.cfg.CatalogURL == "":
		dir, err := filepath.Abs(filepath.Join(w.cfg.Warehouse, name))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return hadoop.NewCatalog("kinesisd", dir, iceberg.Properties{})
	}
	props := iceberg.Properties{}
	if w.cfg.S3Endpoint != "" {
		props[iceio.S3EndpointURL] = w.cfg.S3Endpoint
		props[iceio.S3ForceVirtualAddressing] = "false"
	}
	if w.cfg.S3AccessKey != "" {
		props[iceio.S3AccessKeyID] = w.cfg.S3AccessKey
		props[iceio.S3SecretAccessKey] = w.cfg.S3Secret
	}
	region := w.cfg.Region
	if region == "" {
		region = strings.Split(arn, ":")[3]
	}
	props[iceio.S3Region] = region
	opts := []rest.Option{rest.WithWarehouseLocation(arn), rest.WithAdditionalProps(props)}
	u, err := url.Parse(w.cfg.CatalogURL)
	if err != nil {
		return nil, fmt.Errorf("catalog URL: %w", err)
	}
	switch {
	case w.cfg.S3AccessKey != "":
		opts = append(opts, rest.WithSigV4RegionSvc(region, "s3tables"), rest.WithAwsConfig(aws.Config{
			Region:      region,
			Credentials: credentials.NewStaticCredentialsProvider(w.cfg.S3AccessKey, w.cfg.S3Secret, ""),
		}))
	case strings.HasSuffix(u.Hostname(), ".amazonaws.com"):
		opts = append(opts, rest.WithSigV4RegionSvc(region, "s3tables")) // the default credential chain
	}
	return rest.NewCatalog(ctx, "kinesisd", w.cfg.CatalogURL, opts...)
}

// load returns t from the catalog, or nil if it does not exist.
func load(ctx context.Context, cat tables, t Table) (*table.Table, error) {
	tbl, err := cat.LoadTable(ctx, t.ident())
	if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("iceberg: load %s.%s: %w", t.Namespace, t.Name, err)
	}
	return tbl, nil
}

func currentSnapshot(tbl *table.Table) int64 {
	if tbl == nil || tbl.CurrentSnapshot() == nil {
		return noSnapshot
	}
	return tbl.CurrentSnapshot().SnapshotID
}

// Load returns the table t names, for reading it back (tests, tools); it
// fails with an error wrapping catalog.ErrNoSuchTable when it does not exist.
func (w *Writer) Load(ctx context.Context, t Table) (*table.Table, error) {
	cat, _, err := w.state(ctx, t)
	if err != nil {
		return nil, err
	}
	return cat.LoadTable(ctx, t.ident())
}

// Position returns the position of the table's last snapshot written by
// Append (ok false: none, or no table), for exactly-once resume after a
// crash; and it makes the table's current snapshot the one the next Append
// must find.
func (w *Writer) Position(ctx context.Context, t Table) (position string, ok bool, err error) {
	cat, ts, err := w.state(ctx, t)
	if err != nil {
		return "", false, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.seen, ts.tbl = false, nil
	tbl, err := load(ctx, cat, t)
	if err != nil {
		return "", false, err
	}
	ts.seen, ts.snapshot, ts.tbl = true, currentSnapshot(tbl), tbl
	if tbl == nil {
		return "", false, nil
	}
	meta := tbl.Metadata()
	// At most one step per snapshot: a parent cycle in bad metadata ends too.
	for s, steps := meta.CurrentSnapshot(), len(meta.Snapshots()); s != nil && steps >= 0; steps-- {
		if s.Summary != nil {
			if p, ok := s.Summary.Properties[PositionProperty]; ok {
				return p, true, nil
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	return "", false, nil
}

// Append commits records as one snapshot whose summary carries position (the
// caller's opaque progress marker), atomically, if the table is still at the
// snapshot the Writer last saw (else ErrConflict; see the package doc).
// Records that cannot be converted to the table's schema come back in
// rejected (the caller sends them to its dead-letter location); they are
// rejected, not committed, only if err is nil.
func (w *Writer) Append(ctx context.Context, t Table, records []Record, position string) (rejected []Rejected, err error) {
	return w.AppendThen(ctx, t, records, position, nil)
}

// AppendThen is Append that, when some records are rejected, hands them to
// deadLetters before it commits (when nothing is left to commit, before it
// returns): a caller that writes them to its dead-letter location there, under
// a key fixed by the records, loses none to a crash between the commit and that
// write, and a retry of the same records replaces them. An error of
// deadLetters is Append's, and nothing is committed.
func (w *Writer) AppendThen(ctx context.Context, t Table, records []Record, position string, deadLetters func([]Rejected) error) (rejected []Rejected, err error) {
	handOver := func() error {
		if deadLetters == nil || len(rejected) == 0 {
			return nil
		}
		return deadLetters(rejected)
	}
	if _, ok := parquetCodec(t.Compression); !ok {
		return nil, fmt.Errorf("iceberg: compression %q is not NONE, ZSTD or SNAPPY", t.Compression)
	}
	cat, ts, err := w.state(ctx, t)
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.seen {
		return nil, fmt.Errorf("%w: Position first", ErrConflict)
	}
	base, tbl := ts.snapshot, ts.tbl
	ts.seen, ts.tbl = false, nil // until this Append has succeeded
	if tbl != nil && w.cfg.CatalogURL == "" && !w.cfg.InMemory && committedSince(tbl) {
		return nil, fmt.Errorf("%w: %s.%s has a metadata version after %s", ErrConflict, t.Namespace, t.Name, tbl.MetadataLocation())
	}
	if tbl == nil {
		// Absent when last seen: created since?
		if tbl, err = load(ctx, cat, t); err != nil {
			return nil, err
		}
	}
	if tbl == nil {
		if base != noSnapshot {
			return nil, fmt.Errorf("%w: %s.%s is gone", ErrConflict, t.Namespace, t.Name)
		}
		if tbl, rejected, err = create(ctx, cat, t, records, w.cfg.CatalogURL == ""); tbl == nil || err != nil {
			if err == nil {
				err = handOver()
			}
			ts.seen = err == nil // nothing to create the table from: nothing committed
			if err != nil {
				return nil, err
			}
			return rejected, nil
		}
	}
	if cur := currentSnapshot(tbl); cur != base {
		return nil, fmt.Errorf("%w: %s.%s is at snapshot %d, not %d", ErrConflict, t.Namespace, t.Name, cur, base)
	}
	conv, err := newConverter(tbl.Schema())
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s.%s: %w", t.Namespace, t.Name, err)
	}
	rows := make([][]any, 0, len(records))
	rejected = rejected[:0]
	for _, r := range records {
		row, err := conv.convert(r.Data)
		if err != nil {
			rejected = append(rejected, Rejected{Record: r, Reason: err.Error()})
			continue
		}
		rows = append(rows, row)
	}
	if err := handOver(); err != nil {
		return nil, err
	}
	rec := conv.build(memory.DefaultAllocator, rows)
	defer rec.Release()
	rdr, err := array.NewRecordReader(conv.arrow, []arrow.RecordBatch{rec})
	if err != nil {
		return nil, fmt.Errorf("iceberg: record reader: %w", err)
	}
	defer rdr.Release()

	tx := tbl.NewTransaction()
	if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		return nil, fmt.Errorf("iceberg: %s.%s: %w", t.Namespace, t.Name, err)
	}
	if codec, _ := parquetCodec(t.Compression); codec != "" && tbl.Properties()[table.ParquetCompressionKey] != codec {
		if err := tx.SetProperties(iceberg.Properties{table.ParquetCompressionKey: codec}); err != nil {
			return nil, fmt.Errorf("iceberg: %s.%s: %w", t.Namespace, t.Name, err)
		}
	}
	if err := tx.Append(ctx, rdr, iceberg.Properties{PositionProperty: position}); err != nil {
		return nil, fmt.Errorf("iceberg: write %s.%s: %w", t.Namespace, t.Name, err)
	}
	expire := w.cfg.CatalogURL == "" && len(tbl.Metadata().Snapshots()) >= keepSnapshots+expireSlack && gcEnabled(tbl)
	if expire {
		// The snapshots kept are the newest keepSnapshots ancestors of
		// the new one. iceberg-go's own removal of the files after the
		// commit (WithPostCommit(true)) reads every entry of every kept
		// manifest, a cost that grows with the table's data files;
		// removeExpired does without.
		if err := tx.ExpireSnapshots(table.WithRetainLast(keepSnapshots), table.WithOlderThan(0), table.WithPostCommit(false)); err != nil {
			return nil, fmt.Errorf("iceberg: expire snapshots of %s.%s: %w", t.Namespace, t.Name, err)
		}
	}
	done, err := tx.Commit(ctx)
	if errors.Is(err, table.ErrCommitFailed) {
		return nil, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	if err != nil {
		return nil, fmt.Errorf("iceberg: commit %s.%s: %w", t.Namespace, t.Name, err)
	}
	ts.seen, ts.snapshot, ts.tbl = true, currentSnapshot(done), done
	if expire {
		removeExpired(ctx, tbl, done)
	}
	return rejected, nil
}

// removeExpired deletes the files of the snapshots that were in before and
// are not in after (its commit expired them) that no snapshot of after
// references: their manifest lists, and the manifests they list that no kept
// snapshot lists. Never a data file: an Append only adds data files, and a
// data file that another writer's commit (compaction, say) took out of the
// table is left for an orphan-file cleanup. It is best effort: a file it
// cannot read or delete stays behind, unreferenced and invisible to readers.
//
// A snapshot's manifests are its parent's, less those a merge or rewrite
// replaced, plus new ones: a manifest that an expired snapshot lists and a
// kept one too is listed by every snapshot between them, so by the oldest
// kept snapshot of that line (one whose parent is not kept). Only those
// snapshots' manifest lists are read (one, in a table with one branch), not
// the hundred kept: reading them all was a third of an Append's time.
func removeExpired(ctx context.Context, before, after *table.Table) {
	fs, err := after.FS(ctx)
	if err != nil {
		return
	}
	kept := map[int64]bool{}
	for _, s := range after.Metadata().Snapshots() {
		kept[s.SnapshotID] = true
	}
	keptManifests := map[string]bool{}
	for _, s := range after.Metadata().Snapshots() {
		if s.ParentSnapshotID != nil && kept[*s.ParentSnapshotID] {
			continue
		}
		mans, err := s.Manifests(fs)
		if err != nil {
			return // cannot tell which manifests are still referenced
		}
		for _, m := range mans {
			keptManifests[m.FilePath()] = true
		}
	}
	for _, s := range before.Metadata().Snapshots() {
		if kept[s.SnapshotID] || s.ManifestList == "" {
			continue
		}
		if mans, err := s.Manifests(fs); err == nil {
			for _, m := range mans {
				if !keptManifests[m.FilePath()] {
					keptManifests[m.FilePath()] = true // once
					_ = fs.Remove(m.FilePath())
				}
			}
		}
		_ = fs.Remove(s.ManifestList)
	}
}

// committedSince says whether a table of the embedded disk catalog, loaded
// from its metadata file vN, has a version N+1: a commit since (a file that
// cannot be told counts as one; a metadata file named otherwise, as Java
// writes them, gives false). The catalog's commit checks anyway that
// the table is at the snapshot its Append started from, but it fails with a
// plain "requirement failed" where the other catalogs fail with
// table.ErrCommitFailed; this check makes another writer's commit an
// ErrConflict, before any data file is written, except when the two commits
// run at once.
func committedSince(tbl *table.Table) bool {
	loc := strings.TrimPrefix(tbl.MetadataLocation(), "file://")
	name, ok := strings.CutPrefix(filepath.Base(loc), "v")
	digits, _, _ := strings.Cut(name, ".")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil {
		return false
	}
	for _, next := range []string{".metadata.json", ".gz.metadata.json"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(loc), "v"+strconv.Itoa(n+1)+next)); !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// gcEnabled says whether the table's files may be deleted (gc.enabled, true
// unless set otherwise): ExpireSnapshots refuses tables where they may not.
func gcEnabled(tbl *table.Table) bool {
	return tbl.Properties().GetBool(table.GCEnabledKey, true)
}

// parquetCodec maps S3TablesConfiguration's CompressionType to the table
// property's value ("" for "": leave the table's own).
func parquetCodec(compression string) (string, bool) {
	switch compression {
	case "":
		return "", true
	case "NONE":
		return "uncompressed", true
	case "ZSTD":
		return "zstd", true
	case "SNAPPY":
		return "snappy", true
	}
	return "", false
}

// create creates t with a schema inferred from the first record that is a
// JSON object, and returns it; or, if no record is one, returns no table and
// every record as rejected. A table created meanwhile by someone else is
// loaded instead. The table merges its manifests; in an embedded catalog, it
// keeps only its last 100 metadata files (write.metadata.delete-after-commit.enabled);
// S3 Tables manage their own.
func create(ctx context.Context, cat tables, t Table, records []Record, embedded bool) (*table.Table, []Rejected, error) {
	codec, _ := parquetCodec(t.Compression)
	source := ""
	if t.Partition != nil {
		source = t.Partition.Source
	}
	var sc *iceberg.Schema
	var rejected []Rejected
	for _, r := range records {
		s, err := inferSchema(r.Data, source)
		if err == nil {
			sc = s
			break
		}
		rejected = append(rejected, Rejected{Record: r, Reason: err.Error()})
	}
	if sc == nil {
		return nil, rejected, nil
	}
	props := iceberg.Properties{table.ManifestMergeEnabledKey: "true"}
	if codec != "" {
		props[table.ParquetCompressionKey] = codec
	}
	if embedded {
		props[table.MetadataDeleteAfterCommitEnabledKey] = "true"
	}
	opts := []catalog.CreateTableOpt{catalog.WithProperties(props)}
	if source != "" {
		spec, err := iceberg.NewPartitionSpecOpts(iceberg.AddPartitionFieldByName(source, source+"_hour", iceberg.HourTransform{}, sc, nil))
		if err != nil {
			return nil, nil, fmt.Errorf("iceberg: partition spec: %w", err)
		}
		opts = append(opts, catalog.WithPartitionSpec(&spec))
	}
	if err := cat.CreateNamespace(ctx, table.Identifier{t.Namespace}, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return nil, nil, fmt.Errorf("iceberg: create namespace %s: %w", t.Namespace, err)
	}
	tbl, err := cat.CreateTable(ctx, t.ident(), sc, opts...)
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		tbl, err = cat.LoadTable(ctx, t.ident())
	}
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg: create %s.%s: %w", t.Namespace, t.Name, err)
	}
	return tbl, nil, nil
}
