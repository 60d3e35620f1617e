package archive

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// archives are the table the tests and the fuzz seeds share: a header and the items after it.
var archives = []struct {
	name   string
	header Header
	items  []Item
}{
	{"Empty", Header{Engine: "pebble"}, []Item{&End{}}},
	{"MetaOnly", Header{Engine: "pebble"}, []Item{
		&Meta{Key: "account/000000000000/settings", Value: []byte(`{"commitment":"ENABLED"}`)},
		&Meta{Key: "empty", Value: nil},
		&End{Meta: 2},
	}},
	{"StreamWithoutShards", Header{Engine: "jetstream", Streams: []string{"stream/1/a"}}, []Item{
		&Stream{Key: "stream/1/a", Doc: []byte(`{"name":"a"}`)},
		&StreamEnd{},
		&End{Streams: 1},
	}},
	{"Streams", Header{Engine: "pebble", Streams: []string{"stream/1/a", "stream/1/b"}}, []Item{
		&Meta{Key: "m", Value: []byte("v")},
		&Stream{Key: "stream/1/a", Doc: []byte(`{"name":"a"}`)},
		&Shard{Index: 0},
		&Record{Offset: 0, ArrivalMilli: 1_700_000_000_000, PartitionKey: "k", Data: []byte("hello")},
		&Record{Offset: 5, ArrivalMilli: 1_699_999_999_000, PartitionKey: "ü-key", Data: nil},
		&Record{Offset: math.MaxUint64 - 1, ArrivalMilli: -1, PartitionKey: "", Data: []byte{0, 0xff}},
		&ShardEnd{Index: 0, Next: math.MaxUint64, Records: 3},
		&Shard{Index: 2},
		&ShardEnd{Index: 2, Next: 40, Records: 0},
		&Shard{Index: math.MaxUint32},
		&Record{Offset: 9, ArrivalMilli: math.MinInt64, PartitionKey: strings.Repeat("p", 256), Data: bytes.Repeat([]byte{7}, 3000)},
		&ShardEnd{Index: math.MaxUint32, Next: 10, Records: 1},
		&StreamEnd{Shards: 3, Records: 4},
		&Stream{Key: "stream/1/b", Doc: []byte(`{"name":"b"}`)},
		&Shard{Index: 1},
		&Record{Offset: 1, ArrivalMilli: 1, PartitionKey: "x", Data: []byte("y")},
		&ShardEnd{Index: 1, Next: 2, Records: 1},
		&StreamEnd{Shards: 1, Records: 1},
		&End{Streams: 2, Records: 5, Meta: 1},
	}},
}

// encode writes h and items through a Writer, which fills in the counts of the end items itself.
func encode(t testing.TB, h Header, items []Item, gzip bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h, WriterOptions{Gzip: gzip})
	if err != nil {
		t.Fatal(err)
	}
	if err := replay(w, items); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// replay calls the Writer method for each item.
func replay(w *Writer, items []Item) error {
	for _, item := range items {
		var err error
		switch it := item.(type) {
		case *Meta:
			err = w.Meta(it.Key, it.Value)
		case *Stream:
			err = w.StartStream(it.Key, it.Doc)
		case *Shard:
			err = w.StartShard(it.Index)
		case *Record:
			err = w.Record(it)
		case *ShardEnd:
			err = w.EndShard(it.Next)
		case *StreamEnd:
			err = w.EndStream()
		case *End:
			err = w.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// decode reads an archive to its end.
func decode(data []byte) (Header, []Item, error) {
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return Header{}, nil, err
	}
	var items []Item
	for {
		item, err := r.Next()
		if err == io.EOF {
			return r.Header(), items, nil
		}
		if err != nil {
			return r.Header(), items, err
		}
		items = append(items, item)
	}
}

func TestRoundTrip(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 6000000, time.UTC)
	for _, tt := range archives {
		for _, gz := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: "Gzip"}[gz], func(t *testing.T) {
				h := tt.header
				h.Created = created
				data := encode(t, h, tt.items, gz)
				if gz != (data[0] == 0x1f) {
					t.Errorf("gzip %v but the archive starts with %q", gz, data[:2])
				}
				gotH, got, err := decode(data)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				h.Format = FormatVersion
				if !reflect.DeepEqual(gotH, h) {
					t.Errorf("header = %+v, want %+v", gotH, h)
				}
				if !reflect.DeepEqual(got, tt.items) {
					t.Errorf("items differ:\n got %s\nwant %s", describe(got), describe(tt.items))
				}
			})
		}
	}
}

func describe(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(strings.TrimPrefix(reflect.TypeOf(it).String(), "*archive."))
		b.WriteString(" ")
	}
	return b.String()
}

// TestGrammar: a Writer refuses what the grammar forbids, so a Reader never sees it from one.
func TestGrammar(t *testing.T) {
	streams := []string{"s1", "s2"}
	tests := []struct {
		name  string
		items []Item
		want  string
	}{
		{"record outside a shard", []Item{&Stream{Key: "s1"}, &Record{}}, "record outside a shard"},
		{"shard outside a stream", []Item{&Shard{Index: 1}}, "outside a stream"},
		{"offsets not increasing", []Item{&Stream{Key: "s1"}, &Shard{}, &Record{Offset: 4}, &Record{Offset: 4}}, "offset 4 after 4"},
		{"shards not increasing", []Item{&Stream{Key: "s1"}, &Shard{Index: 3}, &ShardEnd{Index: 3}, &Shard{Index: 3}}, "shard 3 after shard 3"},
		{"next not above the last record", []Item{&Stream{Key: "s1"}, &Shard{}, &Record{Offset: 4}, &ShardEnd{Next: 4}}, "next offset 4"},
		{"stream out of order", []Item{&Stream{Key: "s2"}}, "not the next stream"},
		{"stream not listed", []Item{&Stream{Key: "s1"}, &StreamEnd{}, &Stream{Key: "s2"}, &StreamEnd{}, &Stream{Key: "s3"}}, "not the next stream"},
		{"meta after a stream", []Item{&Stream{Key: "s1"}, &StreamEnd{}, &Meta{Key: "m"}}, "after the first stream"},
		{"stream inside a stream", []Item{&Stream{Key: "s1"}, &Stream{Key: "s2"}}, "inside another stream"},
		{"stream end inside a shard", []Item{&Stream{Key: "s1"}, &Shard{}, &StreamEnd{}}, "inside a shard"},
		{"end with a stream missing", []Item{&Stream{Key: "s1"}, &StreamEnd{}, &End{}}, "lists 2 streams, 1 came"},
		{"end inside a stream", []Item{&Stream{Key: "s1"}, &End{}}, "inside a stream"},
		{"anything after the end", []Item{&Stream{Key: "s1"}, &StreamEnd{}, &Stream{Key: "s2"}, &StreamEnd{}, &End{}, &Meta{}}, "after the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(io.Discard, Header{Streams: streams}, WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = replay(w, tt.items)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrCorrupt with %q", err, tt.want)
			}
		})
	}
}

// TestReaderRefusesCounts: end frames whose counts disagree with what came are refused by the reader
// (a Writer computes them itself, so these archives are built frame by frame).
func TestReaderRefusesCounts(t *testing.T) {
	tests := []struct {
		name  string
		items []Item
		want  string
	}{
		{"shard end count", []Item{&Stream{Key: "s"}, &Shard{}, &Record{}, &ShardEnd{Next: 1, Records: 2}}, "end counts 2 records, 1 came"},
		{"shard end index", []Item{&Stream{Key: "s"}, &Shard{Index: 1}, &ShardEnd{Index: 2}}, "end of shard 2 outside it"},
		{"stream end counts", []Item{&Stream{Key: "s"}, &Shard{}, &ShardEnd{}, &StreamEnd{Shards: 2}}, "end counts 2 shards"},
		{"end counts", []Item{&Stream{Key: "s"}, &StreamEnd{}, &End{Streams: 1, Records: 9}}, "end counts 1 streams, 9 records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := rawArchive(t, Header{Format: FormatVersion, Streams: []string{"s"}}, tt.items)
			_, _, err := decode(data)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrCorrupt with %q", err, tt.want)
			}
		})
	}
}

// rawArchive frames h and items as they are, without a Writer's checks or counting.
func rawArchive(t *testing.T, h Header, items []Item) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := &Writer{out: bufio.NewWriter(&buf)}
	doc, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	w.out.WriteString(Magic)
	w.frame(kindHeader, doc)
	for _, item := range items {
		w.frame(item.kind(), appendPayload(nil, item))
	}
	if err := w.out.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDamage: an archive cut short anywhere, or with any byte changed, is refused with ErrCorrupt
// (never read as something else), gzip or not; so is one with data after its end.
func TestDamage(t *testing.T) {
	for _, gz := range []bool{false, true} {
		data := encode(t, archives[3].header, archives[3].items, gz)
		for n := range len(data) {
			if _, _, err := decode(data[:n]); err == nil {
				t.Fatalf("gzip %v: archive cut at %d of %d bytes read without error", gz, n, len(data))
			}
		}
		first := 0
		if gz {
			first = 10 // gzip's own header: flags, time and OS bytes that carry none of the content
		}
		for i := first; i < len(data); i++ {
			bad := bytes.Clone(data)
			bad[i] ^= 0x21
			if _, _, err := decode(bad); err == nil {
				t.Fatalf("gzip %v: byte %d changed, archive read without error", gz, i)
			}
		}
	}
	data := encode(t, archives[3].header, archives[3].items, false)
	for _, tail := range [][]byte{{0}, []byte("Z")} {
		if _, _, err := decode(append(bytes.Clone(data), tail...)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("data after the end: err = %v, want ErrCorrupt", err)
		}
	}
	plainCut := data[:len(data)-3]
	if _, _, err := decode(plainCut); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "cut short") {
		t.Errorf("cut short: err = %v, want ErrCorrupt saying so", err)
	}
}

// TestHeaderChecks: the magic and the format version are checked first.
func TestHeaderChecks(t *testing.T) {
	if _, err := NewReader(strings.NewReader("{\"not\":\"an archive\"}\n")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("not an archive: err = %v, want ErrCorrupt", err)
	}
	if _, err := NewReader(bytes.NewReader(rawArchive(t, Header{Format: 9}, nil))); err == nil || !strings.Contains(err.Error(), "format 9") {
		t.Errorf("format 9: err = %v, want one naming the format", err)
	}
	// The version changed without the header frame's checksum: the checksum catches it first.
	future := bytes.Replace(rawArchive(t, Header{Format: FormatVersion}, nil), []byte(`"format":1`), []byte(`"format":9`), 1)
	if _, err := NewReader(bytes.NewReader(future)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("header changed without its checksum: err = %v, want ErrCorrupt", err)
	}
}

// TestFrameLimit: a frame claiming more than MaxPayload is refused before anything is allocated, and
// the Writer does not write one.
func TestFrameLimit(t *testing.T) {
	data := rawArchive(t, Header{Format: FormatVersion}, nil)
	data = append(data, kindMeta, 0xff, 0xff, 0xff, 0xff, 0x0f) // length 2^32-1
	if _, _, err := decode(data); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge frame: err = %v, want ErrCorrupt naming the limit", err)
	}
	data = append(rawArchive(t, Header{Format: FormatVersion}, nil), kindMeta, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)
	if _, _, err := decode(data); !errors.Is(err, ErrCorrupt) {
		t.Errorf("overflowing length: err = %v, want ErrCorrupt", err)
	}
	w, _ := NewWriter(io.Discard, Header{}, WriterOptions{})
	if err := w.Meta("big", make([]byte, MaxPayload)); err == nil {
		t.Error("Writer wrote a frame over MaxPayload")
	}
}

// FuzzReader: whatever the input, the Reader returns items or an error without panicking, and an
// input it reads to the end re-encodes (through a Writer) to an archive that reads back the same.
func FuzzReader(f *testing.F) {
	for _, tt := range archives {
		for _, gz := range []bool{false, true} {
			f.Add(encode(f, tt.header, tt.items, gz))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, items, err := decode(data)
		if err != nil {
			return
		}
		again := encode(t, h, items, false)
		h2, items2, err := decode(again)
		if err != nil {
			t.Fatalf("re-encoded archive: %v", err)
		}
		if !reflect.DeepEqual(h2, h) || !reflect.DeepEqual(items2, items) {
			t.Fatalf("re-encoded archive reads differently:\n%s\n%s", describe(items), describe(items2))
		}
	})
}
