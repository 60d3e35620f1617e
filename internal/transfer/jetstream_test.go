package transfer_test

import (
	"bytes"
	"maps"
	"reflect"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
	"kinesisd/internal/service"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/jetstream"
	"kinesisd/internal/storage/jetstream/natstest"
	"kinesisd/internal/storage/pebble"
	"kinesisd/internal/transfer"
)

// TestAcrossEngines moves the source from Pebble into NATS JetStream (an in-process nats-server) and
// from there back into Pebble, comparing every record and document at each step with the source:
// JetStream reassigns the offsets (it cannot store at given ones), in order, with the documents'
// bounds moved along; the way back keeps JetStream's. Servers on the JetStream copy and on the
// round-tripped one answer the API as the source did.
func TestAcrossEngines(t *testing.T) {
	src := buildSource(t)
	data, _ := exportSource(t, src, true)
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	js, err := jetstream.Open(t.Context(), jetstream.Options{URL: srv.ClientURL(), Prefix: "MOVED", AckTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, js)
	rep, err := transfer.Import(t.Context(), js, bytes.NewReader(data), transfer.ImportOptions{Engine: transfer.EngineJetStream})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SequenceNumbers != transfer.SequencesReassigned || rep.Source != transfer.EnginePebble || rep.Target != transfer.EngineJetStream {
		t.Errorf("import into JetStream: sequence numbers %s, from %s to %s", rep.SequenceNumbers, rep.Source, rep.Target)
	}
	inJS := takeSnapshot(t, js)
	sameContents(t, "pebble → jetstream", inJS, src.snap)
	checkReport(t, rep, inJS)
	toJS := rep

	var back bytes.Buffer
	if _, err := transfer.Export(t.Context(), js, &back, transfer.ExportOptions{Engine: transfer.EngineJetStream}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dst, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = transfer.Import(t.Context(), dst, &back, transfer.ImportOptions{Engine: transfer.EnginePebble})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SequenceNumbers != transfer.SequencesKept || rep.Source != transfer.EngineJetStream {
		t.Errorf("import back into Pebble: sequence numbers %s, from %s", rep.SequenceNumbers, rep.Source)
	}
	home := takeSnapshot(t, dst)
	sameContents(t, "jetstream → pebble", home, src.snap)
	for k, w := range inJS.streams {
		for index, ws := range w.shards {
			checkRecords(t, k, index, home.streams[k].shards[index].recs, ws.recs, true)
		}
	}
	checkReport(t, rep, home)
	closeStore(t, dst)

	t.Run("JetStreamAPI", func(t *testing.T) {
		s := kinesistest.Start(t, kinesistest.Engines[2], kinesistest.Options{
			NATSURL: srv.ClientURL(), Clock: clock.NewFake(src.clock.Add(time.Minute)),
			Configure: func(c *config.Config) { noLimits(c); c.NATSPrefix = "MOVED" },
		})
		checkAPI(t, s, src, toJS, false)
	})
	t.Run("PebbleAPI", func(t *testing.T) {
		s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{
			Dir: dir, Clock: clock.NewFake(src.clock.Add(time.Minute)), Configure: noLimits,
		})
		checkAPI(t, s, src, rep, true)
	})
}

// sameContents compares got with the source's snapshot want, apart from the incarnation ids and the
// offsets: the same streams and account documents, the same documents otherwise, the same records
// (order, arrival, partition key, data) in every shard, and each shard's bounds holding the same
// records. The stream being deleted is not in got.
func sameContents(t *testing.T, step string, got, want *snapshot) {
	t.Helper()
	for k, w := range want.meta {
		if g, ok := got.meta[k]; k != service.IteratorKeyMetaKey && (!ok || !bytes.Equal(g, w)) {
			t.Errorf("%s: account document %s differs or is missing", step, k)
		}
	}
	if len(got.streams) != len(want.streams)-1 {
		t.Errorf("%s: %d streams, want %d", step, len(got.streams), len(want.streams)-1)
	}
	for k, g := range got.streams {
		w := want.streams[k]
		if w == nil {
			t.Errorf("%s: stream %s was not in the source", step, k)
			continue
		}
		if gf, wf := withoutOffsets(g.fields), withoutOffsets(w.fields); !reflect.DeepEqual(gf, wf) {
			t.Errorf("%s: %s: document apart from offsets\n got %v\nwant %v", step, k, gf, wf)
		}
		for index, ws := range w.shards {
			gs := g.shards[index]
			checkRecords(t, k, index, gs.recs, ws.recs, false)
			inside := func(s *shardSnap, r storage.Record) bool {
				return r.Offset >= s.offsets.Start && (!s.offsets.Closed || r.Offset < s.offsets.End)
			}
			for i := range gs.recs {
				if inside(gs, gs.recs[i]) != inside(ws, ws.recs[i]) {
					t.Errorf("%s: %s shard %d: record %d inside the bounds %v before, %v after", step, k, index, i, inside(ws, ws.recs[i]), inside(gs, gs.recs[i]))
				}
			}
		}
	}
}

// withoutOffsets is a copy of a stream document's fields without what a renumbering copy changes: the
// incarnation id and the shards' offsets.
func withoutOffsets(fields map[string]any) map[string]any {
	f := maps.Clone(fields)
	delete(f, "id")
	for _, sh := range f["shards"].([]any) {
		delete(sh.(map[string]any), "startOffset")
		delete(sh.(map[string]any), "endOffset")
	}
	return f
}
