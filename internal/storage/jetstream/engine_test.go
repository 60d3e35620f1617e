package jetstream

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"kinesisd/internal/storage"
	"kinesisd/internal/storage/jetstream/natstest"
	"kinesisd/internal/storage/storagetest"
)

// The engine's own behaviour, beyond the storage contract.

func rec(tag string, n int, arrival int64) storage.Record {
	return storage.Record{ArrivalMilli: arrival, PartitionKey: "pk-" + tag, Data: bytes.Repeat([]byte(tag[:1]), n)}
}

func readAll(t *testing.T, s storage.Store, ref storage.ShardRef) []storage.Record {
	t.Helper()
	var out []storage.Record
	for from := uint64(0); ; {
		got, err := s.Read(t.Context(), ref, from, 1000, 1<<30)
		if err != nil {
			t.Fatalf("Read(%v, %d): %v", ref, from, err)
		}
		if len(got) == 0 {
			return out
		}
		out = append(out, got...)
		from = got[len(got)-1].Offset + 1
	}
}

// TestAppendAtomic: a call whose last record JetStream refuses (over the stream's MaxMsgSize, under
// the server's max_payload) stores none of its records, on any shard; a record over max_payload fails
// at once, without waiting for the ack timeout.
func TestAppendAtomic(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	// A long ack timeout, so that "fails at once" and "waits for the timeout" stay apart on a loaded
	// machine: under -race, with other packages' tests running, JetStream took up to 6 s to refuse
	// the 11 MiB batch, past half of the default 5 s.
	const ackTimeout = 60 * time.Second
	s := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: newPrefix(), AckTimeout: ackTimeout})
	a, b := storage.ShardRef{StreamID: 1, Shard: 0}, storage.ShardRef{StreamID: 1, Shard: 1}
	kept := []storage.Record{rec("k", 10, 1)}
	if err := s.Append(t.Context(), []storage.Append{{Shard: a, Records: kept}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		big  int
	}{
		{"over MaxMsgSize", MinMaxPayload + 100},
		{"over max_payload", natstest.MaxPayload + 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := s.Append(t.Context(), []storage.Append{
				{Shard: a, Records: []storage.Record{rec("x", 10, 2), rec("y", 10, 3)}},
				{Shard: b, Records: []storage.Record{rec("z", 10, 4), rec("b", tt.big, 5)}},
			})
			if err == nil {
				t.Fatal("Append with a record too large succeeded")
			}
			if d := time.Since(start); d > ackTimeout/2 {
				t.Errorf("Append failed after %s, waiting for the ack timeout", d)
			}
			if got := readAll(t, s, a); len(got) != 1 || got[0].Offset != kept[0].Offset {
				t.Errorf("shard a after the failed call: offsets %v, want only %d", offsets(got), kept[0].Offset)
			}
			if got := readAll(t, s, b); len(got) != 0 {
				t.Errorf("shard b after the failed call holds %d records", len(got))
			}
		})
	}
}

func offsets(rs []storage.Record) []uint64 {
	var out []uint64
	for _, r := range rs {
		out = append(out, r.Offset)
	}
	return out
}

// TestLostAcknowledgement loses the acknowledgement of an Append's first attempt: the second attempt
// carries the same message id, so JetStream stores nothing more, and Append answers the offsets of
// the copy the first attempt stored: for a plain publish from JetStream's duplicate acknowledgement,
// for a batch by finding it (recover), here past records another process appended before it.
func TestLostAcknowledgement(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	prefix := newPrefix()
	s := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix, AckTimeout: 2 * time.Second})
	other := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix})
	ctx := t.Context()
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n, " records"), func(t *testing.T) {
			ref := storage.ShardRef{StreamID: uint64(10 + n), Shard: 2}
			app := func(s *Store, rs ...storage.Record) {
				t.Helper()
				if err := s.Append(ctx, []storage.Append{{Shard: ref, Records: rs}}); err != nil {
					t.Fatal(err)
				}
			}
			app(s, rec("mine", 4, 1))
			app(other, rec("theirs", 4, 2), rec("theirs", 4, 3))
			rs := make([]storage.Record, n)
			for i := range rs {
				rs[i] = rec(fmt.Sprint("r", i), 8, int64(10+i))
			}
			s.replies.drop.Store(1)
			app(s, rs...)
			if d := s.replies.drop.Load(); d > 0 {
				t.Fatalf("%d acknowledgements still to drop: the append was not acknowledged", d)
			}
			got := readAll(t, s, ref)
			if len(got) != 3+n {
				t.Fatalf("shard holds offsets %v; want 3 records, then %d", offsets(got), n)
			}
			for i, r := range got[3:] {
				if r.Offset != rs[i].Offset || !bytes.Equal(r.Data, rs[i].Data) {
					t.Errorf("record %d stored at %d, Append answered %d", i, r.Offset, rs[i].Offset)
				}
			}
		})
	}
}

// TestOffsetAtTimeAfterFailedAppend: a failed Append raises the running maximum past records that are
// never stored; OffsetAtTime must still answer the first stored record at the time (forward scan).
func TestOffsetAtTimeAfterFailedAppend(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	s := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: newPrefix()})
	ref := storage.ShardRef{StreamID: 1, Shard: 0}
	app := func(rs ...storage.Record) error {
		return s.Append(t.Context(), []storage.Append{{Shard: ref, Records: rs}})
	}
	if err := app(rec("a", 4, 1000), rec("b", 4, 1100)); err != nil {
		t.Fatal(err)
	}
	if err := app(rec("f", 4, 5000), rec("g", MinMaxPayload+100, 5000)); err == nil {
		t.Fatal("Append with a record over MaxMsgSize succeeded")
	}
	if err := app(rec("c", 4, 2000), rec("d", 4, 3000), rec("e", 4, 6000)); err != nil {
		t.Fatal(err)
	}
	rs := readAll(t, s, ref)
	end, err := s.NextOffset(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range []int64{0, 1000, 1050, 1100, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 6001} {
		want := end
		for _, r := range rs {
			if r.ArrivalMilli >= ms {
				want = r.Offset
				break
			}
		}
		if got, err := s.OffsetAtTime(t.Context(), ref, time.UnixMilli(ms)); err != nil || got != want {
			t.Errorf("OffsetAtTime(%d) = %d, %v; want %d", ms, got, err, want)
		}
	}
}

// TestTwoFrontEnds: two stores on one prefix, as two kinesisd processes on one cluster, see each
// other's metadata and records at once, conflict on metadata, and wake each other's waiters.
func TestTwoFrontEnds(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	prefix := newPrefix()
	a := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix})
	b := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix})
	ctx := t.Context()

	v, err := a.PutMeta(ctx, "stream/x.y", []byte("doc"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, ver, err := b.GetMeta(ctx, "stream/x.y"); err != nil || string(got) != "doc" || ver != v {
		t.Fatalf("GetMeta on the other = %q, %d, %v", got, ver, err)
	}
	v2, err := b.PutMeta(ctx, "stream/x.y", []byte("doc2"), v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutMeta(ctx, "stream/x.y", []byte("lost update"), v); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("PutMeta with the version the other replaced = %v, want ErrConflict", err)
	}
	if list, err := a.ListMeta(ctx, "stream/"); err != nil || len(list) != 1 || list[0].Version != v2 {
		t.Errorf("ListMeta = %+v, %v", list, err)
	}

	ref := storage.ShardRef{StreamID: 5, Shard: 3}
	wake := b.Wait(ref)
	rs := []storage.Record{rec("p", 5, 10), rec("q", 5, 20)}
	if err := a.Append(ctx, []storage.Append{{Shard: ref, Records: rs}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("the other front-end's waiter was not woken by an append")
	}
	if got := readAll(t, b, ref); len(got) != 2 || got[0].Offset != rs[0].Offset || got[1].Offset != rs[1].Offset {
		t.Errorf("the other front-end reads offsets %v, want %v", offsets(got), offsets(rs))
	}
	// b appends after a: offsets keep increasing, and b's running maximum starts from a's records.
	more := []storage.Record{rec("r", 5, 15)}
	if err := b.Append(ctx, []storage.Append{{Shard: ref, Records: more}}); err != nil {
		t.Fatal(err)
	}
	if more[0].Offset <= rs[1].Offset {
		t.Errorf("offset %d from the other front-end, not above %d", more[0].Offset, rs[1].Offset)
	}
	if got, err := a.OffsetAtTime(ctx, ref, time.UnixMilli(16)); err != nil || got != rs[1].Offset {
		t.Errorf("OffsetAtTime(16) = %d, %v; want %d", got, err, rs[1].Offset)
	}
	if got, err := b.OffsetAtTime(ctx, ref, time.UnixMilli(21)); err != nil || got != more[0].Offset+1 {
		t.Errorf("OffsetAtTime(21) = %d, %v; want NextOffset %d", got, err, more[0].Offset+1)
	}
	if err := a.Trim(ctx, ref, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, b, ref); len(got) != 0 {
		t.Errorf("%d records after trimming everything", len(got))
	}
}

// TestNATSRestartUnderLoad stops the nats-server while appends are under way and starts it again
// on the same port and directory: the store reconnects by itself, writes fail while the server is
// away and succeed again after, and every acknowledged record is there exactly once at its offset.
// (A clean shutdown, not a kill: the fault test with real processes comes with the cluster.)
func TestNATSRestartUnderLoad(t *testing.T) {
	dir, port := t.TempDir(), natstest.FreePort(t)
	srv := natstest.Start(t, dir, natstest.Options{Port: port})
	s := mustOpen(t, Options{URL: srv.ClientURL(), AckTimeout: 2 * time.Second})
	shards := []storage.ShardRef{{StreamID: 3, Shard: 0}, {StreamID: 3, Shard: 1}, {StreamID: 4, Shard: 0}}
	load := storagetest.StartLoad(t, s, shards, 4, 0)
	if err := load.WaitAcked(500); err != nil {
		t.Fatalf("load: %v", err)
	}
	natstest.Stop(srv)
	load.Stop() // its workers stop at their first failed Append: the server is gone
	acked := load.Acked()
	if err := s.Append(t.Context(), []storage.Append{{Shard: shards[0], Records: []storage.Record{rec("away", 4, 1)}}}); err == nil {
		t.Error("Append succeeded with the server stopped")
	}

	natstest.Start(t, dir, natstest.Options{Port: port})
	deadline := time.Now().Add(30 * time.Second)
	var after []storage.Record
	for {
		after = []storage.Record{rec("back", 4, 2)}
		err := s.Append(t.Context(), []storage.Append{{Shard: shards[0], Records: after}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Append still failing 30s after the server came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // the client reconnects on its own schedule
	}
	lost, err := storagetest.Lost(t.Context(), s, acked)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged records lost, moved or duplicated; first: %+v", len(lost), len(acked), lost[0])
	}
	for _, a := range acked {
		if a.Shard == shards[0] && a.Record.Offset >= after[0].Offset {
			t.Fatalf("offset %d after the restart, not above acknowledged offset %d", after[0].Offset, a.Record.Offset)
		}
	}
}

// TestNoOrphanAfterOtherFrontEndDrops: a stream dropped by another front-end is not created again by
// a late Append of a front-end that had written to it; the Append fails instead.
func TestNoOrphanAfterOtherFrontEndDrops(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), natstest.Options{})
	prefix := newPrefix()
	a := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix})
	b := mustOpen(t, Options{URL: srv.ClientURL(), Prefix: prefix})
	ctx := t.Context()
	ref := storage.ShardRef{StreamID: 77, Shard: 0}
	if err := a.Append(ctx, []storage.Append{{Shard: ref, Records: []storage.Record{rec("a", 4, 1)}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.DropStream(ctx, ref.StreamID); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, []storage.Append{{Shard: ref, Records: []storage.Record{rec("b", 4, 2)}}}); err == nil {
		t.Fatal("Append to a stream another front-end dropped succeeded")
	}
	if err := a.api(ctx, "STREAM.INFO."+a.streamName(ref.StreamID), nil, nil); !isNotFound(err) {
		t.Errorf("STREAM.INFO of the dropped stream after the late Append = %v; want not found", err)
	}
}
