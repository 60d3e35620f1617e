package transfer_test

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"testing"

	"kinesisd/internal/service"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
	"kinesisd/internal/transfer"
)

// TestKeepOffsets: pebble on disk → archive → pebble in memory keeps every record as it was (offset,
// arrival, partition key, data), every shard's end of log, every document but the incarnation id, and
// reports old = new sequence numbers; the iterator key and the stream being deleted stay behind.
func TestKeepOffsets(t *testing.T) {
	src := buildSource(t)
	for _, gzip := range []bool{false, true} {
		t.Run(map[bool]string{false: "Plain", true: "Gzip"}[gzip], func(t *testing.T) {
			data, exp := exportSource(t, src, gzip)
			if !slices.Equal(exp.Skipped, []string{"000000000000/us-east-1/doomed"}) {
				t.Errorf("export skipped %v, want the stream being deleted", exp.Skipped)
			}
			dst, err := pebble.Open(pebble.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore(t, dst)
			rep, err := transfer.Import(t.Context(), dst, bytes.NewReader(data), transfer.ImportOptions{Engine: transfer.EnginePebble})
			if err != nil {
				t.Fatal(err)
			}
			if rep.SequenceNumbers != transfer.SequencesKept || rep.Source != transfer.EnginePebble {
				t.Errorf("report says %s from %s", rep.SequenceNumbers, rep.Source)
			}
			got := takeSnapshot(t, dst)
			want := src.snap
			delete(want.streams, key("doomed"))
			if _, ok := got.meta[service.IteratorKeyMetaKey]; ok {
				t.Error("the iterator key was copied")
			}
			delete(want.meta, service.IteratorKeyMetaKey)
			if !maps.EqualFunc(got.meta, want.meta, bytes.Equal) || len(got.meta) != 1 {
				t.Errorf("account documents: got %v, want %v (one)", slices.Collect(maps.Keys(got.meta)), slices.Collect(maps.Keys(want.meta)))
			}
			if !slices.Equal(slices.Sorted(maps.Keys(got.streams)), []string{key("orders"), key("quiet")}) {
				t.Fatalf("streams: %v", slices.Sorted(maps.Keys(got.streams)))
			}
			for k, w := range want.streams {
				g := got.streams[k]
				if g.doc.ID() == w.doc.ID() {
					t.Errorf("%s: same incarnation id %d, want a new one", k, g.doc.ID())
				}
				gf, wf := maps.Clone(g.fields), maps.Clone(w.fields)
				delete(gf, "id")
				delete(wf, "id")
				if !reflect.DeepEqual(gf, wf) {
					t.Errorf("%s: document\n got %v\nwant %v", k, gf, wf)
				}
				for index, ws := range w.shards {
					gs := g.shards[index]
					checkRecords(t, k, index, gs.recs, ws.recs, true)
					if gs.next != ws.next {
						t.Errorf("%s shard %d: next offset %d, want %d", k, index, gs.next, ws.next)
					}
				}
			}
			for _, s := range rep.Streams {
				for _, sh := range s.Shards {
					if sh.NewFirst != sh.OldFirst || sh.NewLast != sh.OldLast {
						t.Errorf("%s %s: report maps %s…%s to %s…%s", s.Name, sh.ShardID, sh.OldFirst, sh.OldLast, sh.NewFirst, sh.NewLast)
					}
				}
			}
			checkReport(t, rep, want)
		})
	}
}

// TestReassignOffsets: into a store that cannot keep offsets, records keep their order, arrival,
// partition key and data; the documents' offsets move so that exactly the records that were inside a
// shard's bounds still are; the report's new sequence numbers are the records'.
func TestReassignOffsets(t *testing.T) {
	src := buildSource(t)
	data, _ := exportSource(t, src, false)
	dst, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, dst)
	rep, err := transfer.Import(t.Context(), appendOnly{dst}, bytes.NewReader(data), transfer.ImportOptions{Engine: "append-only"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SequenceNumbers != transfer.SequencesReassigned {
		t.Errorf("report says sequence numbers %s", rep.SequenceNumbers)
	}
	got := takeSnapshot(t, dst)
	moved := 0
	for k, w := range src.snap.streams {
		if k == key("doomed") {
			continue
		}
		g := got.streams[k]
		if gf, wf := withoutOffsets(g.fields), withoutOffsets(w.fields); !reflect.DeepEqual(gf, wf) {
			t.Errorf("%s: document apart from offsets\n got %v\nwant %v", k, gf, wf)
		}
		for index, ws := range w.shards {
			gs := g.shards[index]
			checkRecords(t, k, index, gs.recs, ws.recs, false)
			if len(gs.recs) > 0 && gs.recs[0].Offset != ws.recs[0].Offset {
				moved++
			}
			// The bounds hold the same records as before, and a closed shard's end stays past them.
			inside := func(s *shardSnap, r storage.Record) bool {
				return r.Offset >= s.offsets.Start && (!s.offsets.Closed || r.Offset < s.offsets.End)
			}
			for i := range gs.recs {
				if inside(gs, gs.recs[i]) != inside(ws, ws.recs[i]) {
					t.Errorf("%s shard %d: record %d inside the bounds %v before, %v after", k, index, i, inside(ws, ws.recs[i]), inside(gs, gs.recs[i]))
				}
			}
			if gs.offsets.Closed != ws.offsets.Closed || (gs.offsets.Closed && gs.offsets.End > gs.next) {
				t.Errorf("%s shard %d: closed %v end %d next %d", k, index, gs.offsets.Closed, gs.offsets.End, gs.next)
			}
		}
	}
	if moved == 0 {
		t.Error("no shard's offsets moved: the test does not exercise reassignment")
	}
	checkReport(t, rep, got)
}

// checkRecords compares a shard's records; offsets too when keep.
func checkRecords(t *testing.T, stream string, shard uint32, got, want []storage.Record, keep bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s shard %d: %d records, want %d", stream, shard, len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if (keep && g.Offset != w.Offset) || g.ArrivalMilli != w.ArrivalMilli || g.PartitionKey != w.PartitionKey || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s shard %d record %d: {%d %d %q %q}, want {%d %d %q %q}", stream, shard, i,
				g.Offset, g.ArrivalMilli, g.PartitionKey, g.Data, w.Offset, w.ArrivalMilli, w.PartitionKey, w.Data)
			return
		}
		if i > 0 && g.Offset <= got[i-1].Offset {
			t.Errorf("%s shard %d: offsets not increasing at record %d", stream, shard, i)
		}
	}
}

// checkReport: the report's new first and last sequence numbers are those of the records in target.
func checkReport(t *testing.T, rep *transfer.Report, target *snapshot) {
	t.Helper()
	n := 0
	for _, s := range rep.Streams {
		ss := target.streams[key(s.Name)]
		for _, sh := range s.Shards {
			n++
			var index uint32
			for i, o := range ss.shards {
				if stream.ShardID(o.offsets.Index) == sh.ShardID {
					index = i
				}
			}
			recs := ss.shards[index].recs
			if uint64(len(recs)) != sh.Records {
				t.Errorf("%s %s: report counts %d records, target has %d", s.Name, sh.ShardID, sh.Records, len(recs))
				continue
			}
			if len(recs) == 0 {
				if sh.NewFirst != "" || sh.OldFirst != "" {
					t.Errorf("%s %s: sequence numbers for an empty shard", s.Name, sh.ShardID)
				}
				continue
			}
			o := ss.shards[index].offsets
			first := service.RecordSequenceNumber(o.Index, o.SeqCreated, recs[0].Offset, recs[0].ArrivalMilli)
			last := service.RecordSequenceNumber(o.Index, o.SeqCreated, recs[len(recs)-1].Offset, recs[len(recs)-1].ArrivalMilli)
			if sh.NewFirst != first || sh.NewLast != last {
				t.Errorf("%s %s: report says new %s…%s, target has %s…%s", s.Name, sh.ShardID, sh.NewFirst, sh.NewLast, first, last)
			}
		}
	}
	if n != 6 {
		t.Errorf("report has %d shards, want 6 (5 of orders, 1 of quiet)", n)
	}
}
