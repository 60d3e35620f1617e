package stream

import (
	"context"
	"fmt"
	"slices"

	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/storage"
)

// Resharding as it takes effect (pending.go): shards close at the end of what their logs hold, sealed
// in the store against writers of every front-end (storage.Store.Seal), and children open after them.

// reshaper changes a document's shards at one moment (ms), sealing the shards it closes.
type reshaper struct {
	ctx   context.Context
	store storage.Store
	now   int64
}

// closeShard closes the shard at position i: its end is where its log ends now.
func (r reshaper) closeShard(d *Doc, i int) error {
	sh := &d.Shards[i]
	end, err := r.store.Seal(r.ctx, storage.ShardRef{StreamID: d.ID, Shard: sh.Index})
	if err != nil {
		return fmt.Errorf("close shard %d: %w", sh.Index, err)
	}
	sh.Closed, sh.EndOffset, sh.ClosedMilli = true, max(end, sh.StartOffset), r.now
	return nil
}

// openShard adds a new open shard over [start, end] with the given parents and returns its position.
func (r reshaper) openShard(d *Doc, start, end hashkey.Key, parent uint32, adjacent *uint32) int {
	p := parent
	d.Shards = append(d.Shards, Shard{
		Index: d.NextShard, Parent: &p, AdjacentParent: adjacent,
		StartHash: start.String(), EndHash: end.String(), CreatedMilli: r.now,
		SeqCreated: d.childCreated(r.now/1000, &p, adjacent),
	})
	d.NextShard++
	return len(d.Shards) - 1
}

// split closes the shard at position i and opens its children [start, key−1] and [key, end],
// returning their positions.
func (r reshaper) split(d *Doc, i int, key hashkey.Key) (left, right int, err error) {
	if err := r.closeShard(d, i); err != nil {
		return 0, 0, err
	}
	sh := d.Shards[i]
	start, end := hashkey.MustParse(sh.StartHash), hashkey.MustParse(sh.EndHash)
	left = r.openShard(d, start, key.Dec(), sh.Index, nil)
	right = r.openShard(d, key, end, sh.Index, nil)
	return left, right, nil
}

// merge closes the adjacent shards at positions lo and hi (lo's range first) and opens their child,
// whose ParentShardId is lo's and AdjacentParentShardId hi's. It returns the child's position.
func (r reshaper) merge(d *Doc, lo, hi int) (int, error) {
	for _, i := range []int{lo, hi} {
		if err := r.closeShard(d, i); err != nil {
			return 0, err
		}
	}
	start, end := hashkey.MustParse(d.Shards[lo].StartHash), hashkey.MustParse(d.Shards[hi].EndHash)
	adjacent := d.Shards[hi].Index
	return r.openShard(d, start, end, d.Shards[lo].Index, &adjacent), nil
}

// piece is an open shard during a rescale: its range and its position in the document.
type piece struct {
	start, end hashkey.Key
	pos        int
}

// openPieces returns the document's open shards in hash-key order.
func (d *Doc) openPieces() []piece {
	var out []piece
	for i := range d.Shards {
		if sh := &d.Shards[i]; !sh.Closed {
			out = append(out, piece{hashkey.MustParse(sh.StartHash), hashkey.MustParse(sh.EndHash), i})
		}
	}
	slices.SortFunc(out, func(a, b piece) int {
		if a.start.Less(b.start) {
			return -1
		}
		return 1
	})
	return out
}

// rescale turns the open shards into n shards of equal size (within 1), as AWS does, by real splits and
// merges. First every open shard that a target boundary falls inside is split there (a shard holding
// several boundaries is split again on its right child); then the pieces of each target range are
// merged left to right. Every child thus has one parent (split) or two adjacent ones (merge), and the
// short-lived shards in between close with no records, as AWS's own short-lived shards do.
func (r reshaper) rescale(d *Doc, n int) error {
	starts := hashkey.UniformStarts(n)
	var pieces []piece
	k := 1 // next boundary to place
	for _, p := range d.openPieces() {
		for k < n && !p.end.Less(starts[k]) {
			if p.start.Less(starts[k]) {
				left, right, err := r.split(d, p.pos, starts[k])
				if err != nil {
					return err
				}
				pieces = append(pieces, piece{p.start, starts[k].Dec(), left})
				p = piece{starts[k], p.end, right}
			}
			k++
		}
		pieces = append(pieces, p)
	}
	t := 0
	for i := 0; i < len(pieces); {
		cur := pieces[i].pos
		i++
		for i < len(pieces) && (t+1 == n || pieces[i].start.Less(starts[t+1])) {
			var err error
			if cur, err = r.merge(d, cur, pieces[i].pos); err != nil {
				return err
			}
			i++
		}
		t++
	}
	return nil
}

// warm splits the widest open shards at their midpoints until the stream has n open shards.
func (r reshaper) warm(d *Doc, n int) error {
	for range n - d.OpenCount() {
		var p piece
		var width hashkey.Key
		for i, q := range d.openPieces() {
			if w := q.end.Sub(q.start); i == 0 || width.Less(w) {
				p, width = q, w
			}
		}
		if p.start == p.end {
			return nil // nothing left to split
		}
		if _, _, err := r.split(d, p.pos, hashkey.Midpoint(p.start, p.end)); err != nil {
			return err
		}
	}
	return nil
}
