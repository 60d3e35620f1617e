package stream

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"kinesisd/internal/service/hashkey"
)

// storedDoc is a stream document with lineage, closed shards, consumers, tags, a policy, settings,
// pending changes and history: everything Rebase must keep.
func storedDoc() *Doc {
	d := newDoc("s", 1_700_000_000_000, hashkey.SplitEvenly(2))
	zero, one := uint32(0), uint32(1)
	mid := hashkey.Midpoint(hashkey.Key{}, hashkey.Max)
	d.Shards[0].Closed, d.Shards[0].StartOffset, d.Shards[0].EndOffset, d.Shards[0].ClosedMilli = true, 5, 17, 1_700_000_100_000
	d.Shards[1].Closed, d.Shards[1].StartOffset, d.Shards[1].EndOffset, d.Shards[1].ClosedMilli = true, 0, 3, 1_700_000_100_000
	d.Shards = append(d.Shards,
		Shard{Index: 3, Parent: &zero, AdjacentParent: &one, StartHash: "0", EndHash: mid.Dec().String(), StartOffset: 2, CreatedMilli: 1_700_000_100_000},
		Shard{Index: 2, Parent: &one, StartHash: mid.String(), EndHash: hashkey.Max.String(), StartOffset: 0, CreatedMilli: 1_700_000_100_000})
	d.NextShard = 4
	d.Tags = []Tag{{"a", "b"}}
	d.Policy = `{"Version":"2012-10-17"}`
	d.Consumers = []Consumer{{Name: "c", CreatedMilli: 1_700_000_000_500, Status: StatusActive, Tags: []Tag{{"x", "y"}}}}
	d.ShardLevelMetrics = []string{"IncomingBytes"}
	d.ShardCountUpdates = []int64{1, 2}
	d.EncryptionChanges = []EncryptionChange{{AtMilli: 9, Type: "KMS"}}
	d.Encryption, d.KeyID = "KMS", "alias/k"
	d.Pending = []Change{{Kind: ChangeRescale, Count: 3}}
	d.Status = StatusUpdating
	d.ExpiredBeforeMilli = 77
	d.WarmThroughputMiBps = 10
	d.RecordDistribution = DistributionAuto
	return d
}

// wantOffsets is offsets of storedDoc: index start closed end, in index order.
const wantOffsets = "[0 5 true 17] [1 0 true 3] [2 0 false 0] [3 2 false 0]"

// offsets is what p.Shards says of each shard's log: index start closed end.
func offsets(p *Stored) string {
	var out []string
	for _, o := range p.Shards() {
		out = append(out, fmt.Sprint([]any{o.Index, o.Start, o.Closed, o.End}))
	}
	return strings.Join(out, " ")
}

func marshal(t *testing.T, d *Doc) []byte {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestParseStored: ParseStored accepts a sound document under its own key and reports its name, id,
// state and shard offsets (in index order); it refuses a key that does not name the document's stream
// (another name, no account, no prefix), a shard index twice, a parent or adjacent parent that does
// not exist, a closed shard ending before its start, a bad hash range, and broken JSON.
func TestParseStored(t *testing.T) {
	key := MetaPrefix + testAccount + "/s"
	d := storedDoc()
	p, err := ParseStored(key, marshal(t, d))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "s" || p.ID() != d.ID || p.Deleting() {
		t.Errorf("Name %q, ID %d, Deleting %v; want s, %d, false", p.Name(), p.ID(), p.Deleting(), d.ID)
	}
	if got := offsets(p); got != wantOffsets {
		t.Errorf("Shards = %s, want %s", got, wantOffsets)
	}
	d.Status = StatusDeleting
	if p, err := ParseStored(key, marshal(t, d)); err != nil || !p.Deleting() {
		t.Errorf("DELETING document: %v, %v", p, err)
	}

	bad := map[string]func(d *Doc) (key string){
		"other name":         func(d *Doc) string { return MetaPrefix + testAccount + "/t" },
		"name prefix":        func(d *Doc) string { return MetaPrefix + testAccount + "/ss" },
		"no account":         func(d *Doc) string { return MetaPrefix + "s" },
		"empty account":      func(d *Doc) string { return MetaPrefix + "/s" },
		"no prefix":          func(d *Doc) string { return testAccount + "/s" },
		"empty name":         func(d *Doc) string { d.Name = ""; return MetaPrefix + testAccount + "/" },
		"duplicate shard":    func(d *Doc) string { d.Shards[3].Index = 3; d.Shards[2].Index = 3; return key },
		"missing parent":     func(d *Doc) string { v := uint32(9); d.Shards[3].Parent = &v; return key },
		"missing adjacent":   func(d *Doc) string { v := uint32(8); d.Shards[2].AdjacentParent = &v; return key },
		"end before start":   func(d *Doc) string { d.Shards[0].EndOffset = 4; return key },
		"bad open hash":      func(d *Doc) string { d.Shards[2].EndHash = "x"; return key },
		"duplicate original": func(d *Doc) string { d.Shards[1].Index = 0; return key },
	}
	for name, edit := range bad {
		d := storedDoc()
		k := edit(d)
		if p, err := ParseStored(k, marshal(t, d)); err == nil {
			t.Errorf("%s: ParseStored accepted %q (%q)", name, k, p.Name())
		} else if !strings.Contains(err.Error(), k) {
			t.Errorf("%s: error %q does not name the key", name, err)
		}
	}
	if _, err := ParseStored(key, []byte("{")); err == nil {
		t.Error("ParseStored accepted broken JSON")
	}
	// A closed shard that ends where it starts (no records) is sound.
	d = storedDoc()
	d.Shards[0].EndOffset = d.Shards[0].StartOffset
	if _, err := ParseStored(key, marshal(t, d)); err != nil {
		t.Errorf("empty closed shard refused: %v", err)
	}
}

// TestRebase: Rebase moves the document to a new id and passes every offset it holds (each shard's
// start, and the end of a closed one) through the function, with the shard's index; everything else,
// the open shards' zero ends included, is kept exactly; the parsed document is left as it was.
func TestRebase(t *testing.T) {
	key := MetaPrefix + testAccount + "/s"
	d := storedDoc()
	p, err := ParseStored(key, marshal(t, d))
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		shard uint32
		off   uint64
	}
	var calls []call
	raw, err := p.Rebase(42, func(shard uint32, off uint64) uint64 {
		calls = append(calls, call{shard, off})
		return off + 1000*uint64(shard+1)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeDoc2(t, raw)
	want := storedDoc()
	want.ID = 42
	want.Shards[0].StartOffset, want.Shards[0].EndOffset = 1005, 1017
	want.Shards[1].StartOffset, want.Shards[1].EndOffset = 2000, 2003
	want.Shards[2].StartOffset = 4002 // shard index 3
	want.Shards[3].StartOffset = 3000 // shard index 2
	// Both as Decode reads them.
	if !reflect.DeepEqual(got, decodeDoc(t, want).Doc) {
		t.Errorf("Rebase =\n%s\nwant\n%s", raw, marshal(t, want))
	}
	wantCalls := []call{{0, 5}, {0, 17}, {1, 0}, {1, 3}, {3, 2}, {2, 0}}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("offset called with %v, want %v", calls, wantCalls)
	}
	// The parsed document is unchanged: a second Rebase starts from the original.
	if got := offsets(p); p.ID() != d.ID || got != wantOffsets {
		t.Errorf("Rebase changed the parsed document: id %d, shards %s", p.ID(), got)
	}
	// The rebased document parses again under the same key.
	if q, err := ParseStored(key, raw); err != nil || q.ID() != 42 {
		t.Errorf("rebased document: %v, %v", q, err)
	}
}

// decodeDoc2 is the document raw holds, as Decode reads it.
func decodeDoc2(t *testing.T, raw []byte) Doc {
	t.Helper()
	st, err := Decode(raw, 1)
	if err != nil {
		t.Fatal(err)
	}
	return st.Doc
}
