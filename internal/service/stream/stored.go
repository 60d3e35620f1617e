package stream

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Copying streams between stores (kinesisd export and import, package transfer) reads and rewrites
// stream documents as stored; this file is all of the document it may see. The offsets a document holds
// (each shard's StartOffset, and the EndOffset of a closed one) are the only places outside the logs
// where offsets live, so they are what an import that renumbers a log must move with it.

// Stored is a stream document opened for copying.
type Stored struct{ doc Doc }

// ShardOffsets is what a stream document says about one shard's log.
type ShardOffsets struct {
	Index uint32
	// Start is the shard's StartOffset: reads never go below it.
	Start uint64
	// Closed shards end at End, the first offset past their last record (records beyond are never read).
	Closed bool
	End    uint64
	// SeqCreated is the shard's creation field in its sequence numbers (Shard.SeqCreated).
	SeqCreated int64
}

// ParseStored decodes the stream document stored under metadata key key and checks that it is one
// this service can serve: the key names it, its hash ranges parse, its shard indices are unique and its
// parents exist.
func ParseStored(key string, raw []byte) (*Stored, error) {
	st, err := Decode(raw, 1)
	if err != nil {
		return nil, fmt.Errorf("stream document %s: %w", key, err)
	}
	d := &Stored{doc: st.Doc}
	_, _, name, ok := SplitKey(key) // today's layout, or one written before streams lived per region
	if !ok || name != d.doc.Name {
		return nil, fmt.Errorf("stream document %s: names stream %q, not the one its key names", key, d.doc.Name)
	}
	seen := make(map[uint32]bool, len(d.doc.Shards))
	for _, sh := range d.doc.Shards {
		if seen[sh.Index] {
			return nil, fmt.Errorf("stream document %s: shard %d twice", key, sh.Index)
		}
		seen[sh.Index] = true
	}
	for _, sh := range d.doc.Shards {
		for _, p := range []*uint32{sh.Parent, sh.AdjacentParent} {
			if p != nil && !seen[*p] {
				return nil, fmt.Errorf("stream document %s: shard %d has a parent %d that does not exist", key, sh.Index, *p)
			}
		}
		if sh.Closed && sh.EndOffset < sh.StartOffset {
			return nil, fmt.Errorf("stream document %s: shard %d ends at %d before its start %d", key, sh.Index, sh.EndOffset, sh.StartOffset)
		}
	}
	return d, nil
}

// Name is the stream's name.
func (d *Stored) Name() string { return d.doc.Name }

// ID is the stream incarnation: the StreamID of its shards' logs.
func (d *Stored) ID() uint64 { return d.doc.ID }

// Deleting reports whether the stream is being deleted (DeleteStream was called).
func (d *Stored) Deleting() bool { return d.doc.Status == StatusDeleting }

// Shards returns what the document says about each shard's log, in shard index order.
func (d *Stored) Shards() []ShardOffsets {
	out := make([]ShardOffsets, len(d.doc.Shards))
	for i, sh := range d.doc.Shards {
		out[i] = ShardOffsets{Index: sh.Index, Start: sh.StartOffset, Closed: sh.Closed, End: sh.EndOffset, SeqCreated: sh.SeqCreated}
	}
	slices.SortFunc(out, func(a, b ShardOffsets) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

// Rebase returns the document of the same stream moved to incarnation id, with every offset it holds
// passed through offset (which must not decrease, so that a shard's start stays at or before its end).
// Everything else (shards and their lineage, hash ranges, consumers, tags, policy, settings, times) is
// kept as it is.
func (d *Stored) Rebase(id uint64, offset func(shard uint32, off uint64) uint64) ([]byte, error) {
	doc, err := d.doc.Clone()
	if err != nil {
		return nil, err
	}
	doc.ID = id
	for i := range doc.Shards {
		sh := &doc.Shards[i]
		sh.StartOffset = offset(sh.Index, sh.StartOffset)
		if sh.Closed {
			sh.EndOffset = offset(sh.Index, sh.EndOffset)
		}
	}
	return json.Marshal(&doc)
}

// SplitKey splits a stream document key into account, region and name; region is "" for a key
// written before streams lived per region ("stream/<account>/<name>").
func SplitKey(key string) (account, region, name string, ok bool) {
	rest, ok := strings.CutPrefix(key, MetaPrefix)
	if !ok {
		return "", "", "", false
	}
	account, name, ok = strings.Cut(rest, "/")
	if r, n, two := strings.Cut(name, "/"); two {
		region, name = r, n
	}
	return account, region, name, ok && account != "" && name != ""
}

// InRegion returns key in today's layout: a key written before streams lived per region gets region.
func InRegion(key, region string) string {
	account, r, name, ok := SplitKey(key)
	if !ok || r != "" {
		return key
	}
	return MetaPrefix + account + "/" + region + "/" + name
}
