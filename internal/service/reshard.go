package service

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"kinesisd/internal/kerr"
	"kinesisd/internal/storage"
)

// Resharding closes shards and opens their children in one compare-and-set of the stream document,
// when the UPDATING that the request started ends (pending.go). A closed shard's EndOffset is its log's
// NextOffset when it closed, so no record may be appended to it after that read: writers hold their
// stream's gate shared from routing to the end of Append, and a change that closes shards holds it
// exclusively from reading the end offsets to saving the document. A context carries which gate its
// caller holds (holdingGate), so that loading the stream under it does not wait for the gate again.
// The gate is per process: front-ends sharing one distributed store do not see each other's gates.
// Against those the end is read with storage.Store.Seal, after which the store refuses the shard's
// records (a storage.SealedError) and the writer routes them again (records.go).

// gates hands out one write gate per stream name.
type gates struct {
	mu sync.Mutex
	m  map[string]*sync.RWMutex
}

func (g *gates) get(name string) *sync.RWMutex {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = make(map[string]*sync.RWMutex)
	}
	l := g.m[name]
	if l == nil {
		l = new(sync.RWMutex)
		g.m[name] = l
	}
	return l
}

// gateKey marks a context whose holder holds the write gate of the stream named.
type gateKey struct{ name string }

func holdingGate(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, gateKey{name}, true)
}

func holdsGate(ctx context.Context, name string) bool { return ctx.Value(gateKey{name}) != nil }

// holdWrites takes the write gate of the stream ref names, shared, and returns ctx marked as holding
// it; the caller releases it once its Append has returned. A ref that names no stream needs no gate.
func (s *Service) holdWrites(ctx context.Context, ref StreamRef) (context.Context, func()) {
	name, err := s.streamName(ref)
	if err != nil || name == "" {
		return ctx, func() {}
	}
	l := s.gates.get(name)
	l.RLock()
	return holdingGate(ctx, name), l.RUnlock
}

// reshard is mutateStream with the stream's write gate held exclusively, for changes that take effect
// when UPDATING ends: a pending change that is due takes effect before change sees the document, and
// what change schedules takes effect at once when there is no update delay. Taking effect is a second
// compare-and-set after the one that records the change: the shards it closes are sealed in the store
// (closeShard) before the document saying so is saved, and should this front-end stop in between,
// the recorded change is what lets the next user of the stream, here or elsewhere, finish the job
// (sealing again returns the same ends). A shard sealed for a change that no document records would
// refuse every write for good.
func (s *Service) reshard(ctx context.Context, name string, change func(doc *streamDoc) error) (*stream, error) {
	l := s.gates.get(name)
	l.Lock()
	defer l.Unlock()
	ctx = holdingGate(ctx, name)
	st, err := s.mutateStream(ctx, name, func(doc *streamDoc) error {
		if err := s.applyPending(ctx, doc); err != nil {
			return err
		}
		return change(doc)
	})
	if err != nil || st == nil || len(st.doc.Pending) == 0 || !s.updateOver(&st.doc, s.now()) {
		return st, err
	}
	st, err = s.mutateStream(ctx, name, func(doc *streamDoc) error {
		if len(doc.Pending) == 0 || !s.updateOver(doc, s.now()) {
			return errNothingDue
		}
		return s.applyPending(ctx, doc)
	})
	if errors.Is(err, errNothingDue) || isStreamNotFound(err) {
		return s.peekStream(ctx, name)
	}
	return st, err
}

// SplitShardInput is the input of SplitShard.
type SplitShardInput struct {
	StreamRef
	ShardToSplit       *string `json:"ShardToSplit,omitempty"`
	NewStartingHashKey *string `json:"NewStartingHashKey,omitempty"`
}

// MergeShardsInput is the input of MergeShards.
type MergeShardsInput struct {
	StreamRef
	ShardToMerge         *string `json:"ShardToMerge,omitempty"`
	AdjacentShardToMerge *string `json:"AdjacentShardToMerge,omitempty"`
}

// SplitShard closes an open shard and opens two children dividing its hash-key range at NewStartingHashKey,
// when the UPDATING it starts ends.
func (s *Service) SplitShard(ctx context.Context, in *SplitShardInput) error {
	var c checker
	c.str("newStartingHashKey", in.NewStartingHashKey, true, 0, 0, hashKeyPattern, hashKeyPatternText)
	c.streamRef(in.StreamRef)
	c.str("shardToSplit", in.ShardToSplit, true, 1, 128, namePattern, namePatternText)
	if err := c.err(); err != nil {
		return err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return err
	}
	index, ok := parseShardID(*in.ShardToSplit)
	if !ok {
		return s.shardNotFound(*in.ShardToSplit, name)
	}
	if err := s.checkRate("SplitShard", name); err != nil {
		return err
	}
	now := s.now().UnixMilli()
	_, err = s.reshard(ctx, name, func(doc *streamDoc) error {
		if err := s.provisionedOnly("SplitShard", doc); err != nil {
			return err
		}
		i := doc.shardAt(index)
		if i < 0 {
			return s.shardNotFound(shardID(index), name)
		}
		if err := s.checkShardLimit(ctx, 1); err != nil {
			return err
		}
		sh := doc.Shards[i]
		start, _ := parseHashKey(sh.StartHash)
		end, _ := parseHashKey(sh.EndHash)
		key, ok := parseHashKey(*in.NewStartingHashKey)
		if !ok || !start.inc().less(key) || !key.less(end) {
			return kerr.NewInvalidArgument(fmt.Sprintf("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s "+
				"is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
				*in.NewStartingHashKey, shardID(index), name, s.cfg.Account, sh.StartHash, sh.EndHash))
		}
		if sh.Closed {
			return s.alreadyClosed(index, name)
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		doc.schedule(pendingChange{Kind: pendingSplit, Shard: index, HashKey: key.String()}, now)
		return nil
	})
	return err
}

// MergeShards closes two adjacent open shards and opens one child covering both ranges, when the UPDATING
// it starts ends.
func (s *Service) MergeShards(ctx context.Context, in *MergeShardsInput) error {
	var c checker
	c.str("shardToMerge", in.ShardToMerge, true, 1, 128, namePattern, namePatternText)
	c.str("adjacentShardToMerge", in.AdjacentShardToMerge, true, 1, 128, namePattern, namePatternText)
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return err
	}
	var ids [2]uint32
	for k, raw := range []string{*in.ShardToMerge, *in.AdjacentShardToMerge} {
		index, ok := parseShardID(raw)
		if !ok {
			return s.shardNotFound(raw, name)
		}
		ids[k] = index
	}
	if err := s.checkRate("MergeShards", name); err != nil {
		return err
	}
	now := s.now().UnixMilli()
	_, err = s.reshard(ctx, name, func(doc *streamDoc) error {
		if err := s.provisionedOnly("MergeShards", doc); err != nil {
			return err
		}
		var at [2]int
		for k, index := range ids {
			if at[k] = doc.shardAt(index); at[k] < 0 {
				return s.shardNotFound(shardID(index), name)
			}
		}
		for k, index := range ids {
			if doc.Shards[at[k]].Closed {
				return s.alreadyClosed(index, name)
			}
		}
		lo, hi := doc.Shards[at[0]], doc.Shards[at[1]]
		loEnd, _ := parseHashKey(lo.EndHash)
		hiStart, _ := parseHashKey(hi.StartHash)
		if ids[0] == ids[1] || loEnd == maxHashKey || loEnd.inc() != hiStart {
			return kerr.NewInvalidArgument(fmt.Sprintf("Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging",
				shardID(ids[0]), shardID(ids[1]), name, s.cfg.Account))
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		doc.schedule(pendingChange{Kind: pendingMerge, Shard: ids[0], Adjacent: ids[1]}, now)
		return nil
	})
	return err
}

func (s *Service) shardNotFound(id, stream string) error {
	return kerr.NewResourceNotFound(fmt.Sprintf("Could not find shard %s in stream %s under account %s.", id, stream, s.cfg.Account))
}

func (s *Service) alreadyClosed(index uint32, stream string) error {
	return kerr.NewInvalidArgument(fmt.Sprintf("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.",
		shardID(index), stream, s.cfg.Account))
}

// provisionedOnly refuses op on an ON_DEMAND stream, where AWS manages the shards.
func (s *Service) provisionedOnly(op string, doc *streamDoc) error {
	if doc.Mode == streamModeOnDemand {
		return kerr.NewValidation(fmt.Sprintf("%s is not supported for ON_DEMAND streams.", op))
	}
	return nil
}

// shardAt returns the position in Shards of the shard with index, or -1.
func (d *streamDoc) shardAt(index uint32) int {
	for i := range d.Shards {
		if d.Shards[i].Index == index {
			return i
		}
	}
	return -1
}

// closeShard closes the shard at position i at now (ms): its end is where its log ends now, sealed
// against writers of every front-end sharing the store (storage.Store.Seal).
func (s *Service) closeShard(ctx context.Context, doc *streamDoc, i int, now int64) error {
	sh := &doc.Shards[i]
	end, err := s.store.Seal(ctx, storage.ShardRef{StreamID: doc.ID, Shard: sh.Index})
	if err != nil {
		return internal("close shard", err)
	}
	sh.Closed, sh.EndOffset, sh.ClosedMilli = true, max(end, sh.StartOffset), now
	return nil
}

// openShard adds a new open shard over [start, end] with the given parents and returns its position.
func (d *streamDoc) openShard(start, end hashKey, parent uint32, adjacent *uint32, now int64) int {
	p := parent
	d.Shards = append(d.Shards, shardDoc{
		Index: d.NextShard, Parent: &p, AdjacentParent: adjacent,
		StartHash: start.String(), EndHash: end.String(), CreatedMilli: now,
	})
	d.NextShard++
	return len(d.Shards) - 1
}

// splitAt closes the shard at position i and opens its children [start, key−1] and [key, end],
// returning their positions.
func (s *Service) splitAt(ctx context.Context, doc *streamDoc, i int, key hashKey, now int64) (left, right int, err error) {
	if err := s.closeShard(ctx, doc, i, now); err != nil {
		return 0, 0, err
	}
	sh := doc.Shards[i]
	start, _ := parseHashKey(sh.StartHash)
	end, _ := parseHashKey(sh.EndHash)
	left = doc.openShard(start, key.dec(), sh.Index, nil, now)
	right = doc.openShard(key, end, sh.Index, nil, now)
	return left, right, nil
}

// mergePair closes the adjacent shards at positions lo and hi (lo's range first) and opens their
// child, whose ParentShardId is lo's and AdjacentParentShardId hi's. It returns the child's position.
func (s *Service) mergePair(ctx context.Context, doc *streamDoc, lo, hi int, now int64) (int, error) {
	for _, i := range []int{lo, hi} {
		if err := s.closeShard(ctx, doc, i, now); err != nil {
			return 0, err
		}
	}
	start, _ := parseHashKey(doc.Shards[lo].StartHash)
	end, _ := parseHashKey(doc.Shards[hi].EndHash)
	adjacent := doc.Shards[hi].Index
	return doc.openShard(start, end, doc.Shards[lo].Index, &adjacent, now), nil
}

// maxHashKey is 2^128−1, the end of the hash-key space.
var maxHashKey = hashKey{^uint64(0), ^uint64(0)}

// inc returns k+1 (wrapping at 2^128).
func (a hashKey) inc() hashKey {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return hashKey{a.hi + carry, lo}
}

// dec returns k−1 (wrapping at 0).
func (a hashKey) dec() hashKey {
	lo, borrow := bits.Sub64(a.lo, 1, 0)
	return hashKey{a.hi - borrow, lo}
}

// sub returns a−b (wrapping).
func (a hashKey) sub(b hashKey) hashKey {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	return hashKey{a.hi - b.hi - borrow, lo}
}
