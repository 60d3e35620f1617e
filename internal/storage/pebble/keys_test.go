package pebble

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"kinesisd/internal/storage"
)

var codecTests = []struct {
	name string
	rec  storage.Record
}{
	{"empty", storage.Record{}},
	{"typical", storage.Record{ArrivalMilli: 1_700_000_000_123, PartitionKey: "user-42", Data: []byte(`{"a":1}`)}},
	{"negative time", storage.Record{ArrivalMilli: -5, PartitionKey: "k", Data: []byte{0}}},
	{"extreme time", storage.Record{ArrivalMilli: math.MinInt64, PartitionKey: "k"}},
	{"long key", storage.Record{ArrivalMilli: math.MaxInt64, PartitionKey: strings.Repeat("k", 256), Data: []byte("d")}},
	{"binary", storage.Record{PartitionKey: "\x00\xff", Data: []byte{0xff, 0, 0x80}}},
}

func TestRecordValueRoundTrip(t *testing.T) {
	for _, tt := range codecTests {
		t.Run(tt.name, func(t *testing.T) {
			v := make([]byte, recordValueLen(&tt.rec))
			putRecordValue(v, &tt.rec)
			arr, pk, data, err := decodeRecordValue(v)
			if err != nil || arr != tt.rec.ArrivalMilli || string(pk) != tt.rec.PartitionKey ||
				!bytes.Equal(data, tt.rec.Data) {
				t.Fatalf("decode(encode) = %d, %q, %q, %v", arr, pk, data, err)
			}
			if a, err := decodeArrival(v); err != nil || a != tt.rec.ArrivalMilli {
				t.Errorf("decodeArrival = %d, %v", a, err)
			}
		})
	}
}

func TestRecordValueCorrupt(t *testing.T) {
	tests := []struct {
		name string
		v    []byte
	}{
		{"empty", nil},
		{"header only", []byte{valueFormat, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"unknown format", []byte{9, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"key longer than value", []byte{valueFormat, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a'}},
		{"bad varint", []byte{valueFormat, 0, 0, 0, 0, 0, 0, 0, 0, 0xff}},
	}
	for _, tt := range tests {
		if _, _, _, err := decodeRecordValue(tt.v); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: error %v, want errCorrupt", tt.name, err)
		}
	}
}

// TestKeyOrder: byte order of keys is (stream, shard, kind, offset) order, and the bounds hold exactly
// what they should.
func TestKeyOrder(t *testing.T) {
	ref := storage.ShardRef{StreamID: 1 << 40, Shard: 3}
	keys := [][]byte{
		floorKey(ref),
		recordKey(ref, 0), recordKey(ref, 255), recordKey(ref, 256), recordKey(ref, math.MaxUint64),
		indexKey(ref, 0), indexKey(ref, math.MaxUint64),
		floorKey(storage.ShardRef{StreamID: 1 << 40, Shard: 4}),
		recordKey(storage.ShardRef{StreamID: 1<<40 + 1, Shard: 0}, 0),
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("key %d %x not below key %d %x", i-1, keys[i-1], i, keys[i])
		}
	}
	lo, hi := kindBounds(ref, kindRecord)
	for i, k := range keys {
		in := bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0
		if in != (i >= 1 && i <= 4) {
			t.Errorf("key %d %x inside record bounds: %v", i, k, in)
		}
	}
	slo, shi := streamBounds(ref.StreamID)
	for i, k := range keys {
		in := bytes.Compare(k, slo) >= 0 && bytes.Compare(k, shi) < 0
		if in != (i <= 7) {
			t.Errorf("key %d %x inside stream bounds: %v", i, k, in)
		}
	}
	if end := prefixEnd([]byte{'a', 0xff, 0xff}); !bytes.Equal(end, []byte{'b'}) {
		t.Errorf("prefixEnd(a ff ff) = %x", end)
	}
	if end := prefixEnd([]byte{0xff}); end != nil {
		t.Errorf("prefixEnd(ff) = %x, want nil", end)
	}
}

func FuzzDecodeRecordValue(f *testing.F) {
	for _, tt := range codecTests {
		v := make([]byte, recordValueLen(&tt.rec))
		putRecordValue(v, &tt.rec)
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		arr, pk, data, err := decodeRecordValue(v)
		if err != nil {
			return
		}
		r := storage.Record{ArrivalMilli: arr, PartitionKey: string(pk), Data: data}
		again := make([]byte, recordValueLen(&r))
		putRecordValue(again, &r)
		if a2, pk2, d2, err := decodeRecordValue(again); err != nil || a2 != arr || !bytes.Equal(pk2, pk) ||
			!bytes.Equal(d2, data) {
			t.Fatalf("re-encoding %x changed it: %x", v, again)
		}
	})
}
