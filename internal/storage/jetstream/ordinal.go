package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"kinesisd/internal/storage"
)

// Ordinals. A shard's offsets are JetStream stream sequences, shared by the shards of a stream, so the
// records retention deleted between two offsets cannot be counted from the offsets. So every record
// carries in its envelope its ordinal: its number along the shard's log, from 1. The records deleted
// between two records are the difference of their ordinals, less one.
//
// Like the time index's running maximum (timeindex.go), the counter is kept per shard by the
// appending process, seeded from the shard's last stored record on first use, and advanced under the
// stream's publish lock in the order the messages are written; an attempt made again after a lost
// acknowledgement keeps the ordinals of the first. When a Trim deletes a shard's last record, it
// keeps that record's ordinal (the floor, in the metadata bucket under floorPrefix, which ListMeta
// does not show), so that a process seeding from a shard with no record left goes on from there.
//
// Exact for the appends of one process. Not exact, and so not counted exactly by a channel: records
// appended to one shard at the same moment by several front-ends (each numbers them from its own
// counter), an Append that failed without knowing whether JetStream stored it (its ordinals are then
// skipped), and records written before ordinals were kept (ordinal 0, unknown).

// floorPrefix is where Trim keeps the ordinal of the last record it deleted from a shard, per
// incarnation and shard: an engine key, hidden from ListMeta.
const floorPrefix = "~jetstream-ordinal-floor/"

func floorKey(ref storage.ShardRef) string {
	return floorPrefix + strconv.FormatUint(ref.StreamID, 10) + "/" + strconv.FormatUint(uint64(ref.Shard), 10)
}

// floor returns the ordinal of the last record Trim deleted from ref, or 0.
func (s *Store) floor(ctx context.Context, ref storage.ShardRef) (uint64, error) {
	e, err := s.kv.Get(ctx, encodeKey(floorKey(ref)))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ordinal floor of %v: %w", ref, err)
	}
	n, err := strconv.ParseUint(string(e.Value()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ordinal floor of %v: %w", ref, err)
	}
	return n, nil
}

// keepFloor is called by Trim before it deletes ref's records below before: if that deletes the
// shard's last record, its ordinal is kept as the floor.
func (s *Store) keepFloor(ctx context.Context, ref storage.ShardRef, before uint64) error {
	m, err := s.last(ctx, s.streamName(ref.StreamID), s.shardSubject(ref))
	if err != nil || m == nil {
		return err
	}
	seq, err := msgSeq(m)
	if err != nil || seq >= before {
		return err
	}
	ord := envelopeOrdinal(m.Data)
	if ord == 0 {
		return nil
	}
	if _, err := s.kv.Put(ctx, encodeKey(floorKey(ref)), []byte(strconv.FormatUint(ord, 10))); err != nil {
		return fmt.Errorf("keep the ordinal floor of %v: %w", ref, err)
	}
	return nil
}

// lastOrdinal is the ordinal of the last record appended to ref as stored: of its last record, else
// the floor, else 0 (no record was ever appended). ok is false when the last record has none.
func (s *Store) lastOrdinal(ctx context.Context, ref storage.ShardRef) (ord uint64, ok bool, err error) {
	m, err := s.last(ctx, s.streamName(ref.StreamID), s.shardSubject(ref))
	if err != nil {
		return 0, false, err
	}
	if m != nil {
		ord = envelopeOrdinal(m.Data)
		return ord, ord > 0, nil
	}
	ord, err = s.floor(ctx, ref)
	return ord, err == nil, err
}

// NextOrdinal returns the ordinal the next record appended to ref gets, as the stored records tell
// it; ok is false when they cannot (the last record was written before ordinals were kept).
func (s *Store) NextOrdinal(ctx context.Context, ref storage.ShardRef) (uint64, bool, error) {
	if err := s.enter(ctx); err != nil {
		return 0, false, err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	ord, ok, err := s.lastOrdinal(ctx, ref)
	if err != nil || !ok {
		return 0, false, err
	}
	return ord + 1, true, nil
}

// ReadOrdinals is Read, with the ordinal of each record (ords[i] of recs[i]; 0 for a record written
// before ordinals were kept).
func (s *Store) ReadOrdinals(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) ([]storage.Record, []uint64, error) {
	var ords []uint64
	recs, err := s.read(ctx, ref, from, maxRecords, maxBytes, &ords)
	return recs, ords, err
}
