package service

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// The web console's live tail (issue 20): reads of a stream's shards that are not a consumer's. They
// go through the same store reads and decryption as GetRecords, but take no iterator, are not counted
// against the per-shard read limits (admitRead, noteRead) and register nothing: a tail never takes
// what real consumers need.

// TailShard is one shard of a stream as a console tail follows it.
type TailShard struct {
	Index   uint32
	ID      string   // shardId-000000000000
	Parents []uint32 // the shards it was split or merged from
	Closed  bool
}

// TailStream is one incarnation of a stream that a console tail reads, with its shards as they were
// when TailOpen loaded it.
type TailStream struct {
	Name   string
	ID     uint64 // the incarnation: a tail ends when the stream is deleted, even if it is created again
	Shards []TailShard
}

// TailBatch is what one TailRead found: records in order, the offset to read next, and, once a closed
// shard is read to its end, End with the shards made from it.
type TailBatch struct {
	Records  []Record // decrypted, numbered and stamped as GetRecords returns them
	Next     uint64
	End      bool
	Children []TailShard
}

// TailOpen loads the stream name for a console tail: ResourceNotFoundException when it does not exist
// or is neither ACTIVE nor UPDATING.
func (s *Service) TailOpen(ctx context.Context, name string) (*TailStream, error) {
	st, err := s.dataStream(ctx, StreamRef{StreamName: &name})
	if err != nil {
		return nil, err
	}
	t := &TailStream{Name: st.Doc.Name, ID: st.Doc.ID}
	for i := range st.Doc.Shards {
		t.Shards = append(t.Shards, tailShard(&st.Doc.Shards[i]))
	}
	return t, nil
}

func tailShard(sh *stream.Shard) TailShard {
	ts := TailShard{Index: sh.Index, ID: stream.ShardID(sh.Index), Closed: sh.Closed}
	if sh.Parent != nil {
		ts.Parents = append(ts.Parents, *sh.Parent)
	}
	if sh.AdjacentParent != nil {
		ts.Parents = append(ts.Parents, *sh.AdjacentParent)
	}
	return ts
}

// tailLoad is the stream of t, still the same incarnation, still readable.
func (s *Service) tailLoad(ctx context.Context, t *TailStream) (*stream.Stream, error) {
	st, err := s.dataStream(ctx, StreamRef{StreamName: &t.Name})
	if err != nil {
		return nil, err
	}
	if st.Doc.ID != t.ID {
		return nil, kerr.StreamNotFound(t.Name, s.cfg.Account)
	}
	return st, nil
}

// TailStart is the offset at which a tail of shard index begins, by GetShardIterator's rules for
// typ (LATEST, TRIM_HORIZON, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP) with seq or at.
func (s *Service) TailStart(ctx context.Context, t *TailStream, index uint32, typ string, seq *string, at *time.Time) (uint64, error) {
	st, err := s.tailLoad(ctx, t)
	if err != nil {
		return 0, err
	}
	sh := st.Shard(index)
	if sh == nil {
		return 0, s.shardNotFound(stream.ShardID(index), t.Name)
	}
	p := &StartingPosition{Type: &typ, SequenceNumber: seq}
	if at != nil {
		p.Timestamp = &Timestamp{*at}
	}
	pos, err := s.startPosition(ctx, st, sh, p, s.now())
	if err != nil {
		return 0, err
	}
	return pos.next, nil
}

// TailRead reads up to limit records of shard index from offset from, as GetRecords reads them (a
// reader behind the trim horizon moves there; a closed shard ends at its end), without an iterator
// and outside the read limits.
func (s *Service) TailRead(ctx context.Context, t *TailStream, index uint32, from uint64, limit int) (TailBatch, error) {
	st, err := s.tailLoad(ctx, t)
	if err != nil {
		return TailBatch{}, err
	}
	sh := st.Shard(index)
	if sh == nil {
		return TailBatch{}, s.shardNotFound(stream.ShardID(index), t.Name)
	}
	now := s.now()
	ref := st.Ref(index)
	next := max(from, sh.StartOffset)
	recs, err := s.store.Read(ctx, ref, next, limit, s.cfg.MaxGetRecordsSize)
	if err != nil {
		return TailBatch{}, internal("tail", err)
	}
	if len(recs) > 0 && stream.Milli(recs[0].ArrivalMilli).Before(st.Cutoff(now)) {
		if next, err = s.horizon(ctx, st, sh, now); err != nil {
			return TailBatch{}, internal("tail", err)
		}
		if recs, err = s.store.Read(ctx, ref, next, limit, s.cfg.MaxGetRecordsSize); err != nil {
			return TailBatch{}, internal("tail", err)
		}
	}
	for sh.Closed && len(recs) > 0 && recs[len(recs)-1].Offset >= sh.EndOffset {
		recs = recs[:len(recs)-1]
	}
	out := TailBatch{Records: make([]Record, len(recs)), Next: next}
	if err := s.apiRecords(ctx, st, index, sh.SeqCreated, recs, out.Records); err != nil {
		return TailBatch{}, err
	}
	if len(recs) > 0 {
		out.Next = recs[len(recs)-1].Offset + 1
	}
	if sh.Closed && (len(recs) == 0 || out.Next >= sh.EndOffset) {
		out.Next, out.End = max(out.Next, sh.EndOffset), true
		for i := range st.Doc.Shards {
			c := &st.Doc.Shards[i]
			if c.Parent != nil && *c.Parent == index || c.AdjacentParent != nil && *c.AdjacentParent == index {
				out.Children = append(out.Children, tailShard(c))
			}
		}
	}
	return out, nil
}

// TailWait returns a channel that is closed once records appended to shard index of t after the call
// are visible (storage.Store.Wait): call it before TailRead, so that an append during the read is not
// missed.
func (s *Service) TailWait(t *TailStream, index uint32) <-chan struct{} {
	return s.store.Wait(storage.ShardRef{StreamID: t.ID, Shard: index})
}

// TailsEnded returns a channel that is closed when the server shuts down (EndSubscriptions): tails end
// then, as subscriptions do.
func (s *Service) TailsEnded() <-chan struct{} { return s.subs.endedChan() }

// SequenceShard is the index of the shard that the sequence number seq belongs to; false when seq is
// not one of this service's sequence numbers.
func SequenceShard(seq string) (uint32, bool) {
	p, ok := parseSeq(seq)
	return p.Shard, ok
}

// LiveSubscription is a SubscribeToShard subscription open on one of a stream's consumers, in any
// front-end: its lease (lease.go) names it.
type LiveSubscription struct {
	Consumer string
	Shard    string
	Started  time.Time
}

// LiveSubscriptions returns the open subscriptions of the consumers of stream name, from their leases.
// A lease older than a subscription's lifetime (and a minute more) is one a process that ended left
// behind, and is left out.
func (s *Service) LiveSubscriptions(ctx context.Context, name string) ([]LiveSubscription, error) {
	st, err := s.findStream(ctx, StreamRef{StreamName: &name})
	if err != nil {
		return nil, err
	}
	prefix := streamLeasePrefix(s.cfg.Account, st.Doc.ID)
	entries, err := s.store.ListMeta(ctx, prefix)
	if err != nil {
		return nil, internal("list subscriptions", err)
	}
	stale := s.now().Add(-s.cfg.SubscribeLifetime - time.Minute)
	out := []LiveSubscription{}
	for _, e := range entries {
		parts := strings.Split(strings.TrimPrefix(e.Key, prefix), "/") // consumer/created/shard
		if len(parts) != 3 {
			continue
		}
		created, err1 := strconv.ParseInt(parts[1], 10, 64)
		shard, err2 := strconv.ParseUint(parts[2], 10, 32)
		var doc leaseDoc
		if err1 != nil || err2 != nil || json.Unmarshal(e.Value, &doc) != nil || doc.Owner == "" {
			continue
		}
		started := time.UnixMilli(doc.StartedMilli)
		if started.Before(stale) || s.streams.FindConsumer(&st.Doc, parts[0], created) == nil {
			continue
		}
		out = append(out, LiveSubscription{Consumer: parts[0], Shard: stream.ShardID(uint32(shard)), Started: started})
	}
	return out, nil
}
