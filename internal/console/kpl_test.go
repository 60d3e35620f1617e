package console

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"testing"
)

// aggregate builds a KPL aggregated record of recs (a test's stand-in for the KPL; test/console builds
// one with the npm package aws-kinesis-agg): each record's partition key and explicit hash key go to
// the tables once, as the KPL writes them.
func aggregate(recs []UserRecord) []byte {
	field := func(b []byte, num int, v []byte) []byte {
		b = binary.AppendUvarint(b, uint64(num)<<3|wireBytes)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	}
	varint := func(b []byte, num int, v uint64) []byte {
		b = binary.AppendUvarint(b, uint64(num)<<3|wireVarint)
		return binary.AppendUvarint(b, v)
	}
	keys, hashes := map[string]uint64{}, map[string]uint64{}
	var body []byte
	for _, r := range recs {
		if _, ok := keys[r.PartitionKey]; !ok {
			keys[r.PartitionKey] = uint64(len(keys))
			body = field(body, 1, []byte(r.PartitionKey))
		}
		if _, ok := hashes[r.ExplicitHashKey]; r.ExplicitHashKey != "" && !ok {
			hashes[r.ExplicitHashKey] = uint64(len(hashes))
			body = field(body, 2, []byte(r.ExplicitHashKey))
		}
	}
	for _, r := range recs {
		rec := varint(nil, 1, keys[r.PartitionKey])
		if r.ExplicitHashKey != "" {
			rec = varint(rec, 2, hashes[r.ExplicitHashKey])
		}
		rec = field(rec, 3, r.Data)
		body = field(body, 3, rec)
	}
	sum := md5.Sum(body)
	return append(append(append([]byte(nil), kplMagic...), body...), sum[:]...)
}

var kplTests = []struct {
	name string
	data []byte
	want []UserRecord // nil with err
	err  error        // errNotAggregated, or nil for any other error when want is nil
}{
	{name: "two records", data: aggregate([]UserRecord{{PartitionKey: "a", Data: []byte("one")}, {PartitionKey: "b", ExplicitHashKey: "42", Data: []byte(`{"x":1}`)}}),
		want: []UserRecord{{PartitionKey: "a", Data: []byte("one")}, {PartitionKey: "b", ExplicitHashKey: "42", Data: []byte(`{"x":1}`)}}},
	{name: "shared key", data: aggregate([]UserRecord{{PartitionKey: "k", Data: []byte("1")}, {PartitionKey: "k", Data: []byte("")}}),
		want: []UserRecord{{PartitionKey: "k", Data: []byte("1")}, {PartitionKey: "k", Data: []byte("")}}},
	{name: "no records", data: aggregate(nil), want: []UserRecord{}},
	{name: "plain text", data: []byte("hello, world, a plain record"), err: errNotAggregated},
	{name: "magic only", data: kplMagic, err: errNotAggregated},
	{name: "bad checksum", data: append(append([]byte(nil), kplMagic...), make([]byte, 20)...), err: errNotAggregated},
	{name: "index out of range", data: func() []byte {
		b := aggregate([]UserRecord{{PartitionKey: "a", Data: []byte("x")}})
		body := append([]byte(nil), b[4:len(b)-16]...)
		body = append(body, 3<<3|wireBytes, 4, 1<<3, 7, 3<<3|wireBytes, 0) // a record naming key 7
		sum := md5.Sum(body)
		return append(append(append([]byte(nil), kplMagic...), body...), sum[:]...)
	}()},
	{name: "truncated field", data: func() []byte {
		body := []byte{1<<3 | wireBytes, 10, 'a'}
		sum := md5.Sum(body)
		return append(append(append([]byte(nil), kplMagic...), body...), sum[:]...)
	}()},
}

func TestDeaggregate(t *testing.T) {
	for _, tt := range kplTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Deaggregate(tt.data)
			switch {
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			case tt.want == nil:
				if err == nil || errors.Is(err, errNotAggregated) {
					t.Fatalf("err %v, want a decoding error", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d records, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.PartitionKey != w.PartitionKey || g.ExplicitHashKey != w.ExplicitHashKey || !bytes.Equal(g.Data, w.Data) {
					t.Errorf("record %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// FuzzKPL checks that Deaggregate never panics, and that what it decodes it decodes again the same
// once re-aggregated.
func FuzzKPL(f *testing.F) {
	for _, tt := range kplTests {
		f.Add(tt.data)
		if len(tt.data) > 20 {
			f.Add(tt.data[4 : len(tt.data)-16]) // the body alone: the fuzzer wraps it below
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Deaggregate(data)
		sum := md5.Sum(data) // data as a body with a valid checksum reaches the protobuf decoder
		recs, err := Deaggregate(append(append(append([]byte(nil), kplMagic...), data...), sum[:]...))
		if err != nil {
			return
		}
		again, err := Deaggregate(aggregate(recs))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-aggregated: %v, %d records of %d", err, len(again), len(recs))
		}
		for i := range recs {
			if again[i].PartitionKey != recs[i].PartitionKey || again[i].ExplicitHashKey != recs[i].ExplicitHashKey || !bytes.Equal(again[i].Data, recs[i].Data) {
				t.Fatalf("record %d: %+v, want %+v", i, again[i], recs[i])
			}
		}
	})
}
