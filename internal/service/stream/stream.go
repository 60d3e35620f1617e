package stream

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/service/seqnum"
	"kinesisd/internal/storage"
)

// Stream is a decoded stream document with its routing table. It is shared through the cache: treat
// it as read-only (change a stream with States.Mutate).
type Stream struct {
	Doc     Doc
	Version uint64
	open    []Open         // open shards in hash-key order, for routing
	turn    *atomic.Uint64 // AUTO distribution: the next shard in turn (shared by settled copies)
}

// Open is an open shard as routing sees it.
type Open struct {
	Start, End hashkey.Key
	Index      uint32
	ID         string
	SeqCreated int64 // Shard.SeqCreated
}

// Decode decodes a stored document of the given version and builds its routing table; it fails on a
// document that does not parse or whose open shards' hash ranges do not.
func Decode(raw []byte, version uint64) (*Stream, error) {
	st := &Stream{Version: version, turn: new(atomic.Uint64)}
	if err := json.Unmarshal(raw, &st.Doc); err != nil {
		return nil, err
	}
	st.Doc.fillSeqCreated()
	for _, sh := range st.Doc.Shards {
		if sh.Closed {
			continue
		}
		start, ok1 := hashkey.Parse(sh.StartHash)
		end, ok2 := hashkey.Parse(sh.EndHash)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("shard %d: bad hash range %s..%s", sh.Index, sh.StartHash, sh.EndHash)
		}
		st.open = append(st.open, Open{Start: start, End: end, Index: sh.Index, ID: ShardID(sh.Index), SeqCreated: sh.SeqCreated})
	}
	slices.SortFunc(st.open, func(a, b Open) int {
		switch {
		case a.Start.Less(b.Start):
			return -1
		case b.Start.Less(a.Start):
			return 1
		}
		return 0
	})
	return st, nil
}

// OpenShards are the open shards in hash-key order.
func (st *Stream) OpenShards() []Open { return st.open }

// Route returns the open shard holding hash key k (nil only if the document is damaged).
func (st *Stream) Route(k hashkey.Key) *Open {
	lo, hi := 0, len(st.open)
	for lo < hi {
		mid := (lo + hi) / 2
		if st.open[mid].End.Less(k) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(st.open) && !k.Less(st.open[lo].Start) {
		return &st.open[lo]
	}
	return nil
}

// NextInTurn returns the open shard whose turn it is, for the AUTO record distribution (nil if none).
func (st *Stream) NextInTurn() *Open {
	if len(st.open) == 0 {
		return nil
	}
	return &st.open[st.turn.Add(1)%uint64(len(st.open))]
}

// Shard returns the shard with index, or nil.
func (st *Stream) Shard(index uint32) *Shard {
	if i := st.Doc.ShardAt(index); i >= 0 {
		return &st.Doc.Shards[i]
	}
	return nil
}

// Ref is the storage reference of the stream's shard index.
func (st *Stream) Ref(index uint32) storage.ShardRef {
	return storage.ShardRef{StreamID: st.Doc.ID, Shard: index}
}

// Live tells whether records may be written to and read from the stream: it is ACTIVE or UPDATING.
func (st *Stream) Live() bool {
	return st.Doc.Status == StatusActive || st.Doc.Status == StatusUpdating
}

// PendingDue tells whether the stream, as settled, has pending changes whose UPDATING has ended.
func (st *Stream) PendingDue() bool {
	return len(st.Doc.Pending) > 0 && st.Doc.Status == StatusActive
}

// ShardOpened is when sh opened: with the stream, or at the split or merge that made it.
func (st *Stream) ShardOpened(sh *Shard) time.Time {
	if sh.CreatedMilli == 0 {
		return Milli(st.Doc.CreatedMilli)
	}
	return Milli(sh.CreatedMilli)
}

// OpenAt tells whether sh was open at t: opened at or before t and closed at or after it (or open).
func (st *Stream) OpenAt(sh *Shard, t time.Time) bool {
	return !st.ShardOpened(sh).After(t) && (!sh.Closed || !Milli(sh.ClosedMilli).Before(t))
}

// Milli is the UTC time of Unix milliseconds ms, as documents store times.
func Milli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// fillSeqCreated gives every shard without one its SeqCreated (documents written before the field
// existed), in index order so that parents come before their children: the second it opened (the
// stream's for its first shards), past its parents' fields.
func (d *Doc) fillSeqCreated() {
	if !slices.ContainsFunc(d.Shards, func(sh Shard) bool { return sh.SeqCreated == 0 }) {
		return
	}
	order := make([]int, len(d.Shards))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(d.Shards[a].Index, d.Shards[b].Index) })
	for _, k := range order {
		if sh := &d.Shards[k]; sh.SeqCreated == 0 {
			sh.SeqCreated = d.childCreated(cmp.Or(sh.CreatedMilli, d.CreatedMilli)/1000, sh.Parent, sh.AdjacentParent)
		}
	}
}

// childCreated is the SeqCreated of a shard opened in second now with the given parents (nil: none).
func (d *Doc) childCreated(now int64, parents ...*uint32) int64 {
	var fields []int64
	for _, p := range parents {
		if p == nil {
			continue
		}
		if i := d.ShardAt(*p); i >= 0 {
			fields = append(fields, d.Shards[i].SeqCreated)
		}
	}
	return seqnum.ChildCreated(now, fields...)
}
