package iceberg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

const testBucket = "arn:aws:s3tables:us-east-1:123456789012:bucket/lake"

// engine opens Writers on one kind of embedded catalog.
type engine struct {
	name string
	open func(t *testing.T) *Writer
}

func engines(t *testing.T) []engine {
	t.Helper()
	return []engine{
		{name: "disk", open: func(t *testing.T) *Writer { return openWriter(t, Config{Warehouse: t.TempDir()}) }},
		{name: "memory", open: func(t *testing.T) *Writer { return openWriter(t, Config{InMemory: true}) }},
	}
}

func openWriter(t *testing.T, cfg Config) *Writer {
	t.Helper()
	w, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func events(from, n int, start time.Time, step time.Duration) []Record {
	var rs []Record
	for i := from; i < from+n; i++ {
		ts := start.Add(time.Duration(i) * step)
		rs = append(rs, Record{
			Data:           fmt.Appendf(nil, `{"id": %d, "name": "user-%d", "ts": %q, "score": %d.5, "ok": %t}`, i, i, ts.Format(time.RFC3339Nano), i, i%2 == 0),
			PartitionKey:   fmt.Sprint(i),
			SequenceNumber: fmt.Sprint(1000 + i),
			ShardID:        "shardId-000000000000",
			Arrival:        ts,
		})
	}
	return rs
}

// position reads Position and fails the test on an error.
func position(t *testing.T, w *Writer, tb Table) (string, bool) {
	t.Helper()
	p, ok, err := w.Position(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	return p, ok
}

func appendOK(t *testing.T, w *Writer, tb Table, rs []Record, pos string) []Rejected {
	t.Helper()
	rej, err := w.Append(t.Context(), tb, rs, pos)
	if err != nil {
		t.Fatalf("Append %s: %v", pos, err)
	}
	return rej
}

// scan reads the whole table with iceberg-go's scan and returns each row as
// column=value text, sorted.
func scan(t *testing.T, w *Writer, tb Table) []string {
	t.Helper()
	tbl, err := w.Load(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	rdr := array.NewTableReader(at, 1024)
	defer rdr.Release()
	var rows []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var cols []string
			for j, f := range rec.Schema().Fields() {
				cols = append(cols, f.Name+"="+cellText(rec.Column(j), i))
			}
			rows = append(rows, strings.Join(cols, " "))
		}
	}
	sort.Strings(rows)
	return rows
}

func cellText(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return "null"
	}
	if ts, ok := col.(*array.Timestamp); ok {
		unit := ts.DataType().(*arrow.TimestampType).Unit
		return ts.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	}
	return col.ValueStr(i)
}

// want is the scan text of events' records.
func want(from, n int, start time.Time, step time.Duration) []string {
	var rows []string
	for i := from; i < from+n; i++ {
		ts := start.Add(time.Duration(i) * step).UTC()
		rows = append(rows, fmt.Sprintf("id=%d name=user-%d ts=%s score=%d.5 ok=%t", i, i, ts.Format(time.RFC3339Nano), i, i%2 == 0))
	}
	sort.Strings(rows)
	return rows
}

// equalRows compares rows as sets with multiplicity.
func equalRows(t *testing.T, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d\nfirst got:  %q\nfirst want: %q", len(got), len(want), first(got), first(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

var t0 = time.Date(2026, 12, 5, 10, 17, 0, 123456000, time.UTC)

func TestAppendReadBack(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events"}
			if p, ok := position(t, w, tb); ok {
				t.Fatalf("Position of a missing table = %q, true", p)
			}
			if rej := appendOK(t, w, tb, events(0, 100, t0, time.Second), "p1"); len(rej) != 0 {
				t.Fatalf("rejected %v", rej)
			}
			equalRows(t, scan(t, w, tb), want(0, 100, t0, time.Second))
			appendOK(t, w, tb, events(100, 50, t0, time.Second), "p2")
			equalRows(t, scan(t, w, tb), append(want(0, 100, t0, time.Second), want(100, 50, t0, time.Second)...))
			if p, ok := position(t, w, tb); !ok || p != "p2" {
				t.Fatalf("Position = %q, %t; want p2", p, ok)
			}
			tbl, err := w.Load(t.Context(), tb)
			if err != nil {
				t.Fatal(err)
			}
			// Unpartitioned, ts stays a string; see TestHourPartitions.
			if got := tbl.Schema().String(); !strings.Contains(got, "ts: optional string") || !strings.Contains(got, "id: optional long") {
				t.Errorf("inferred schema %s", got)
			}
			if tbl.Properties()[table.MetadataDeleteAfterCommitEnabledKey] != "true" {
				t.Errorf("an embedded table keeps all its metadata files: %v", tbl.Properties())
			}
			if n := len(tbl.Metadata().Snapshots()); n != 2 {
				t.Errorf("%d snapshots, want 2", n)
			}
		})
	}
}

func TestHourPartitions(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			tb := Table{Bucket: testBucket, Namespace: "ns", Name: "hourly", Partition: &HourPartition{Source: "ts"}}
			position(t, w, tb)
			// 30 records 10 minutes apart from 10:17: hours 10 (5), 11..14 (6 each), 15 (1).
			appendOK(t, w, tb, events(0, 30, t0, 10*time.Minute), "p1")
			equalRows(t, scan(t, w, tb), want(0, 30, t0, 10*time.Minute))

			tbl, err := w.Load(t.Context(), tb)
			if err != nil {
				t.Fatal(err)
			}
			spec := tbl.Spec()
			if spec.NumFields() != 1 || spec.Field(0).Transform.String() != "hour" || spec.Field(0).Name != "ts_hour" {
				t.Fatalf("partition spec %s", spec)
			}
			fieldID := spec.Field(0).FieldID
			fs, err := tbl.FS(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			manifests, err := tbl.CurrentSnapshot().Manifests(fs)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int32]int64{}
			for _, m := range manifests {
				for en, err := range m.Entries(fs, true) {
					if err != nil {
						t.Fatal(err)
					}
					hour, ok := en.DataFile().Partition()[fieldID].(int32)
					if !ok {
						t.Fatalf("partition value %#v", en.DataFile().Partition())
					}
					got[hour] += en.DataFile().Count()
				}
			}
			base := int32(t0.Unix() / 3600)
			wantCounts := map[int32]int64{base: 5, base + 1: 6, base + 2: 6, base + 3: 6, base + 4: 6, base + 5: 1}
			if fmt.Sprint(got) != fmt.Sprint(wantCounts) {
				t.Fatalf("rows per hour %v, want %v", got, wantCounts)
			}
		})
	}
}

func TestPositionAfterReopen(t *testing.T) {
	dir := t.TempDir()
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events"}
	w := openWriter(t, Config{Warehouse: dir})
	position(t, w, tb)
	appendOK(t, w, tb, events(0, 10, t0, time.Second), "shard-0:10")
	appendOK(t, w, tb, events(10, 10, t0, time.Second), "shard-0:20")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := openWriter(t, Config{Warehouse: dir})
	if p, ok := position(t, w2, tb); !ok || p != "shard-0:20" {
		t.Fatalf("Position after reopen = %q, %t", p, ok)
	}
	appendOK(t, w2, tb, events(20, 10, t0, time.Second), "shard-0:30")
	equalRows(t, scan(t, w2, tb), want(0, 30, t0, time.Second))
	// Another table bucket is another warehouse directory.
	other := Table{Bucket: "arn:aws:s3tables:us-east-1:123456789012:bucket/other", Namespace: "ns", Name: "events"}
	if p, ok := position(t, w2, other); ok {
		t.Fatalf("Position in another bucket = %q", p)
	}
}

func TestAppendNeedsPosition(t *testing.T) {
	w := openWriter(t, Config{InMemory: true})
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events"}
	if _, err := w.Append(t.Context(), tb, events(0, 1, t0, 0), "p"); !errors.Is(err, ErrConflict) {
		t.Fatalf("Append before Position: %v, want ErrConflict", err)
	}
	position(t, w, tb)
	appendOK(t, w, tb, events(0, 1, t0, 0), "p")
}

// A second Writer delivering the same records after the first committed them
// fails, and its Position shows the first's commit.
func TestConflictDoesNotDuplicate(t *testing.T) {
	dir := t.TempDir()
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events"}
	a := openWriter(t, Config{Warehouse: dir})
	b := openWriter(t, Config{Warehouse: dir})
	position(t, a, tb)
	appendOK(t, a, tb, events(0, 10, t0, time.Second), "p10")
	position(t, a, tb)
	position(t, b, tb)
	appendOK(t, a, tb, events(10, 10, t0, time.Second), "p20")
	if _, err := b.Append(t.Context(), tb, events(10, 10, t0, time.Second), "p20"); !errors.Is(err, ErrConflict) {
		t.Fatalf("second delivery: %v, want ErrConflict", err)
	}
	if p, _ := position(t, b, tb); p != "p20" {
		t.Fatalf("Position = %q, want p20", p)
	}
	appendOK(t, b, tb, events(20, 10, t0, time.Second), "p30")
	equalRows(t, scan(t, a, tb), want(0, 30, t0, time.Second))
}

// Two Writers committing the same delivery at once: exactly one commits,
// whichever catalog step catches the other. The loser's error is ErrConflict
// when the Writer sees the table moved before committing or the catalog says
// ErrCommitFailed; the Hadoop catalog reports a failed requirement as a plain
// error, which a caller treats as any other: it calls Position.
func TestConcurrentCommitsDoNotDuplicate(t *testing.T) {
	dir := t.TempDir()
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events"}
	ws := []*Writer{openWriter(t, Config{Warehouse: dir}), openWriter(t, Config{Warehouse: dir})}
	position(t, ws[0], tb)
	appendOK(t, ws[0], tb, events(0, 1, t0, 0), "p0")
	const rounds = 4
	for r := 1; r <= rounds; r++ {
		var wg sync.WaitGroup
		errs := make([]error, len(ws))
		for i, w := range ws {
			position(t, w, tb)
			wg.Go(func() {
				_, errs[i] = w.Append(context.Background(), tb, events(r*10, 10, t0, time.Second), fmt.Sprint("p", r))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d commits (%v), want 1", r, won, errs)
		}
	}
	rows := want(0, 1, t0, 0)
	for r := 1; r <= rounds; r++ {
		rows = append(rows, want(r*10, 10, t0, time.Second)...)
	}
	sort.Strings(rows)
	equalRows(t, scan(t, ws[1], tb), rows)
}

// A commit by someone else (here a plain iceberg-go append, as S3 Tables
// compaction or a user might make) between Position and Append makes Append
// fail once; Position still finds the last position behind it.
func TestForeignCommit(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events"}
			position(t, w, tb)
			appendOK(t, w, tb, events(0, 5, t0, time.Second), "p5")
			tbl, err := w.Load(t.Context(), tb)
			if err != nil {
				t.Fatal(err)
			}
			conv, err := newConverter(tbl.Schema())
			if err != nil {
				t.Fatal(err)
			}
			row, err := conv.convert([]byte(`{"id": 99, "name": "foreign"}`))
			if err != nil {
				t.Fatal(err)
			}
			rec := conv.build(memory.DefaultAllocator, [][]any{row})
			defer rec.Release()
			if _, err := tbl.AppendTable(t.Context(), array.NewTableFromRecords(conv.arrow, []arrow.RecordBatch{rec}), 10, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Append(t.Context(), tb, events(5, 5, t0, time.Second), "p10"); !errors.Is(err, ErrConflict) {
				t.Fatalf("Append after a foreign commit: %v, want ErrConflict", err)
			}
			if p, ok := position(t, w, tb); !ok || p != "p5" {
				t.Fatalf("Position = %q, %t; want p5 behind the foreign snapshot", p, ok)
			}
			appendOK(t, w, tb, events(5, 5, t0, time.Second), "p10")
			if rows := scan(t, w, tb); len(rows) != 11 {
				t.Fatalf("%d rows, want 11", len(rows))
			}
		})
	}
}

// createTable makes a table with an explicit schema, as a user of real S3
// Tables would before creating the channel.
func createTable(t *testing.T, w *Writer, tb Table, fields ...iceberg.NestedField) {
	t.Helper()
	cat, _, err := w.state(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fields {
		fields[i].ID = i + 1
	}
	if err := cat.CreateNamespace(t.Context(), table.Identifier{tb.Namespace}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateTable(t.Context(), tb.ident(), iceberg.NewSchema(0, fields...)); err != nil {
		t.Fatal(err)
	}
}

func TestRejected(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			tb := Table{Bucket: testBucket, Namespace: "ns", Name: "typed"}
			createTable(t, w, tb,
				iceberg.NestedField{Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
				iceberg.NestedField{Name: "n", Type: iceberg.PrimitiveTypes.Int32},
				iceberg.NestedField{Name: "price", Type: iceberg.DecimalTypeOf(9, 2)},
				iceberg.NestedField{Name: "at", Type: iceberg.PrimitiveTypes.TimestampTz},
				iceberg.NestedField{Name: "day", Type: iceberg.PrimitiveTypes.Date},
				iceberg.NestedField{Name: "f", Type: iceberg.PrimitiveTypes.Float32},
				iceberg.NestedField{Name: "raw", Type: iceberg.PrimitiveTypes.Binary},
				iceberg.NestedField{Name: "s", Type: iceberg.PrimitiveTypes.String},
			)
			records := []struct {
				data   string
				reason string // "" accepted
			}{
				{data: `{"id": 1, "n": 7, "price": 12.5, "at": "2026-12-05T10:00:00+01:00", "day": "2026-12-05", "f": 0.5, "raw": "AAE=", "s": "x"}`},
				{data: `{"id": 2.0, "price": "0.01", "at": 1764928800000, "day": 20427, "s": {"nested": [1]}, "extra": true}`},
				{data: `{"id": 3, "n": null}`},
				{data: `{"id": 4`, reason: "not a JSON object"},
				{data: `[1, 2]`, reason: "not a JSON object"},
				{data: `"text"`, reason: "not a JSON object"},
				{data: `null`, reason: "not a JSON object"},
				{data: `{"n": 1}`, reason: `required column "id"`},
				{data: `{"id": null}`, reason: `required column "id"`},
				{data: `{"id": "5"}`, reason: `column "id"`},
				{data: `{"id": 6.5}`, reason: `column "id"`},
				{data: `{"id": 7, "n": 3000000000}`, reason: `column "n"`},
				{data: `{"id": 8, "price": 1.234}`, reason: `column "price"`},
				{data: `{"id": 9, "price": 12345678.9}`, reason: `column "price"`},
				{data: `{"id": 10, "at": "yesterday"}`, reason: `column "at"`},
				{data: `{"id": 11, "raw": "not base64!"}`, reason: `column "raw"`},
				{data: `{"id": 12, "day": true}`, reason: `column "day"`},
			}
			var rs []Record
			for i, r := range records {
				rs = append(rs, Record{Data: []byte(r.data), SequenceNumber: fmt.Sprint(i)})
			}
			position(t, w, tb)
			rej := appendOK(t, w, tb, rs, "p1")
			got := map[string]string{}
			for _, r := range rej {
				got[r.Record.SequenceNumber] = r.Reason
			}
			for i, r := range records {
				reason, rejected := got[fmt.Sprint(i)]
				switch {
				case r.reason == "" && rejected:
					t.Errorf("%s rejected: %s", r.data, reason)
				case r.reason != "" && !rejected:
					t.Errorf("%s accepted, want rejected for %s", r.data, r.reason)
				case r.reason != "" && !strings.Contains(reason, r.reason):
					t.Errorf("%s rejected for %q, want %q", r.data, reason, r.reason)
				}
			}
			wantRows := []string{
				`id=1 n=7 price=12.5 at=2026-12-05T09:00:00Z day=2026-12-05 f=0.5 raw=AAE= s=x`,
				`id=2 n=null price=0.01 at=2025-12-05T10:00:00Z day=2025-12-05 f=null raw=null s={"nested": [1]}`,
				`id=3 n=null price=null at=null day=null f=null raw=null s=null`,
			}
			equalRows(t, scan(t, w, tb), wantRows)
			// A delivery of only rejected records still records its position.
			if rej := appendOK(t, w, tb, rs[3:5], "p2"); len(rej) != 2 {
				t.Fatalf("rejected %d, want 2", len(rej))
			}
			if p, _ := position(t, w, tb); p != "p2" {
				t.Fatalf("Position = %q, want p2", p)
			}
			if rows := scan(t, w, tb); len(rows) != 3 {
				t.Fatalf("%d rows after an all-rejected delivery", len(rows))
			}
		})
	}
}

// With no JSON object to infer a schema from, no table is created and
// nothing is committed; the next delivery creates it.
func TestNothingToCreateFrom(t *testing.T) {
	w := openWriter(t, Config{InMemory: true})
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "later"}
	position(t, w, tb)
	rej := appendOK(t, w, tb, []Record{{Data: []byte(`[]`)}, {Data: []byte(`oops`)}}, "p1")
	if len(rej) != 2 {
		t.Fatalf("rejected %d, want 2", len(rej))
	}
	if p, ok := position(t, w, tb); ok {
		t.Fatalf("Position = %q after nothing was committed", p)
	}
	rej = appendOK(t, w, tb, []Record{{Data: []byte(`7`)}, {Data: []byte(`{"a": 1}`)}}, "p2")
	if len(rej) != 1 {
		t.Fatalf("rejected %d, want 1", len(rej))
	}
	equalRows(t, scan(t, w, tb), []string{"a=1"})
}

func TestCompression(t *testing.T) {
	w := openWriter(t, Config{InMemory: true})
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "c", Compression: "SNAPPY"}
	position(t, w, tb)
	appendOK(t, w, tb, events(0, 3, t0, time.Second), "p1")
	codec := func() string {
		tbl, err := w.Load(t.Context(), tb)
		if err != nil {
			t.Fatal(err)
		}
		return tbl.Properties()[table.ParquetCompressionKey]
	}
	if c := codec(); c != "snappy" {
		t.Fatalf("codec %q, want snappy", c)
	}
	tb.Compression = "NONE"
	appendOK(t, w, tb, events(3, 3, t0, time.Second), "p2")
	if c := codec(); c != "uncompressed" {
		t.Fatalf("codec %q, want uncompressed", c)
	}
	equalRows(t, scan(t, w, tb), want(0, 6, t0, time.Second))
	tb.Compression = "LZ4"
	if _, err := w.Append(t.Context(), tb, nil, "p3"); err == nil {
		t.Fatal("Append with compression LZ4 succeeded")
	}
}

func TestBadConfigAndTable(t *testing.T) {
	for _, cfg := range []Config{{}, {CatalogURL: "http://x", InMemory: true}} {
		if _, err := Open(t.Context(), cfg); err == nil {
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
	w := openWriter(t, Config{InMemory: true})
	for _, tb := range []Table{
		{Bucket: "lake", Namespace: "ns", Name: "t"},
		{Bucket: "arn:aws:s3:::lake", Namespace: "ns", Name: "t"},
		{Bucket: "arn:aws:s3tables:us-east-1:1:bucket/..", Namespace: "ns", Name: "t"},
		{Bucket: testBucket, Name: "t"},
		{Bucket: testBucket, Namespace: "ns", Name: "../t"},
		{Bucket: testBucket, Namespace: "..", Name: "t"},
	} {
		if _, _, err := w.Position(t.Context(), tb); err == nil {
			t.Errorf("Position(%+v) succeeded", tb)
		}
	}
}

// The in-memory catalog's commit is a compare-and-swap: a transaction built
// on a snapshot another commit has replaced fails with ErrCommitFailed, and
// the table holds the winner's rows only.
func TestMemCatalogCommitConflict(t *testing.T) {
	w := openWriter(t, Config{InMemory: true})
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "cas"}
	position(t, w, tb)
	appendOK(t, w, tb, events(0, 1, t0, 0), "p1")
	var txs []*table.Transaction
	for range 2 {
		tbl, err := w.Load(t.Context(), tb)
		if err != nil {
			t.Fatal(err)
		}
		tx := tbl.NewTransaction()
		if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
			t.Fatal(err)
		}
		conv, err := newConverter(tbl.Schema())
		if err != nil {
			t.Fatal(err)
		}
		row, err := conv.convert([]byte(`{"id": 7}`))
		if err != nil {
			t.Fatal(err)
		}
		rec := conv.build(memory.DefaultAllocator, [][]any{row})
		rdr, err := array.NewRecordReader(conv.arrow, []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Append(t.Context(), rdr, nil); err != nil {
			t.Fatal(err)
		}
		rdr.Release()
		rec.Release()
		txs = append(txs, tx)
	}
	if _, err := txs[0].Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := txs[1].Commit(t.Context()); !errors.Is(err, table.ErrCommitFailed) {
		t.Fatalf("second commit on the same snapshot: %v, want ErrCommitFailed", err)
	}
	if rows := scan(t, w, tb); len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %q", len(rows), rows)
	}
}

// BenchmarkAppend delivers 10,000 records of about 110 bytes per Append to
// the embedded catalog on disk, partitioned by hour.
func BenchmarkAppend(b *testing.B) {
	w, err := Open(b.Context(), Config{Warehouse: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "bench", Partition: &HourPartition{Source: "ts"}}
	const n = 10000
	rs := events(0, n, t0, time.Second)
	size := 0
	for _, r := range rs {
		size += len(r.Data)
	}
	if _, _, err := w.Position(b.Context(), tb); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := range b.N {
		if _, err := w.Append(b.Context(), tb, rs, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestAppendThenDeadLettersBeforeCommit: AppendThen hands the rejected records over before it
// commits, and an error there commits nothing; so a run whose dead letters were written but whose
// commit did not happen (a crash between them) is redelivered whole, and its dead letters, written
// under a key fixed by the run's first record, replace the first ones: one object, one copy each.
func TestAppendThenDeadLettersBeforeCommit(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			tb := Table{Bucket: testBucket, Namespace: "ns", Name: "dead"}
			rs := events(0, 5, t0, time.Second)
			rs[2].Data = []byte("not json")
			objects := map[string][]Rejected{} // the dead-letter location, by key
			puts := 0
			crash := true
			deadLetters := func(rej []Rejected) error {
				objects["error/"+rs[0].ShardID+"-"+rs[0].SequenceNumber+".json"] = slices.Clone(rej)
				puts++
				if crash {
					crash = false
					return errors.New("crashed before the commit")
				}
				return nil
			}
			for attempt := 0; attempt < 2; attempt++ {
				if p, ok := position(t, w, tb); ok {
					t.Fatalf("attempt %d: position %q before the run is committed", attempt, p)
				}
				_, err := w.AppendThen(t.Context(), tb, rs, "p5", deadLetters)
				if attempt == 0 {
					if err == nil {
						t.Fatal("AppendThen: no error from the failed dead-letter write")
					}
					if rows := scanIfAny(t, w, tb); len(rows) != 0 {
						t.Fatalf("%d rows committed though the dead letters failed", len(rows))
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if puts != 2 || len(objects) != 1 {
				t.Fatalf("%d dead-letter writes into %d objects, want 2 into 1", puts, len(objects))
			}
			for k, rej := range objects {
				if len(rej) != 1 || string(rej[0].Record.Data) != "not json" {
					t.Errorf("%s holds %d records, want the one rejected", k, len(rej))
				}
			}
			if p, ok := position(t, w, tb); !ok || p != "p5" {
				t.Errorf("position %q %v, want p5", p, ok)
			}
			if rows := scan(t, w, tb); len(rows) != 4 {
				t.Errorf("%d rows, want 4", len(rows))
			}
		})
	}
}

// scanIfAny is scan of a table that may not exist yet (none: no rows).
func scanIfAny(t *testing.T, w *Writer, tb Table) []string {
	t.Helper()
	tbl, err := w.Load(t.Context(), tb)
	if err != nil || tbl == nil {
		return nil
	}
	return scan(t, w, tb)
}

// TestLongRunningTable commits 1,000 times to one table, as a channel does
// in a quarter of an hour: the commits must not slow down as snapshots pile
// up (the last 100 take at most 3 times as long as the first 100, a bound
// loose enough for a busy machine: without expiry and with the table loaded
// again on each Append, they took 4 times as long by commit 600), the
// metadata file must stop growing once snapshots expire, and every row must
// be there exactly once, the position read from the current snapshot. Under
// the race detector, 300 commits (expiry twice) and no timing.
func TestLongRunningTable(t *testing.T) {
	commits, per := 1000, 5
	if raceEnabled {
		commits = 300
	}
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			tb := Table{Bucket: testBucket, Namespace: "ns", Name: "long"}
			if _, ok := position(t, w, tb); ok {
				t.Fatal("a new table has a position")
			}
			var first, middle, last time.Duration
			var metaAtExpiry, metaMax int64
			for i := range commits {
				start := time.Now()
				appendOK(t, w, tb, events(i*per, per, t0, time.Second), fmt.Sprint(i))
				took := time.Since(start)
				switch {
				case i < 100:
					first += took
				case i >= 300 && i < 400:
					middle += took
				case i >= commits-100:
					last += took
				}
				if i < keepSnapshots+expireSlack || (i-keepSnapshots-expireSlack)%10 != 0 {
					continue // the metadata file's size, every 10 commits from the first expiry
				}
				size := metadataSize(t, w, tb)
				if i == keepSnapshots+expireSlack {
					metaAtExpiry = size
				}
				metaMax = max(metaMax, size)
			}
			t.Logf("%d commits of %d records: first 100 %v, 300-399 %v, last 100 %v (%.2fx the first); metadata file %d bytes after %d commits, at most %d after",
				commits, per, first, middle, last, float64(last)/float64(first), metaAtExpiry, keepSnapshots+expireSlack+1, metaMax)
			if last > 3*first && !raceEnabled {
				t.Errorf("the last 100 commits took %v, the first 100 %v: more than 3 times as long", last, first)
			}
			if metaMax > metaAtExpiry*3/2 {
				t.Errorf("the metadata file grew to %d bytes, from %d when snapshots began to expire", metaMax, metaAtExpiry)
			}
			tbl, err := w.Load(t.Context(), tb)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(tbl.Metadata().Snapshots()); n > keepSnapshots+expireSlack {
				t.Errorf("%d snapshots kept, want at most %d", n, keepSnapshots+expireSlack)
			}
			if e.name == "disk" {
				// Without expiry and removal, 1,000 metadata files, 1,000
				// manifest lists and their manifests.
				files, err := os.ReadDir(filepath.Join(strings.TrimPrefix(tbl.Location(), "file://"), "metadata"))
				if err != nil {
					t.Fatal(err)
				}
				kinds := map[string]int{}
				for _, f := range files {
					switch name := f.Name(); {
					case strings.HasSuffix(name, ".metadata.json"):
						kinds["metadata files"]++
					case strings.HasPrefix(name, "snap-"):
						kinds["manifest lists"]++
					case strings.HasSuffix(name, ".avro"):
						kinds["manifests"]++
					default:
						kinds["others"]++
					}
				}
				t.Logf("%d files in the metadata directory: %v", len(files), kinds)
				if len(files) > 500 {
					t.Errorf("%d files in the metadata directory, want at most 500", len(files))
				}
			}
			if p, ok := position(t, w, tb); !ok || p != fmt.Sprint(commits-1) {
				t.Errorf("position %q, %t; want %d", p, ok, commits-1)
			}
			equalRows(t, scan(t, w, tb), want(0, commits*per, t0, time.Second))
		})
	}
}

// metadataSize returns the size of tb's current metadata file.
func metadataSize(t *testing.T, w *Writer, tb Table) int64 {
	t.Helper()
	tbl, err := w.Load(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := tbl.FS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f, err := fs.Open(tbl.MetadataLocation())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
