package jetstream

import (
	"bytes"
	"math"
	"testing"

	"kinesisd/internal/storage"
)

var envelopeTests = []struct {
	name    string
	rec     storage.Record
	maxArr  int64
	ordinal uint64
}{
	{"typical", storage.Record{ArrivalMilli: 1_700_000_000_000, PartitionKey: "user-42", Data: []byte("hello")}, 1_700_000_000_005, 42},
	{"empty", storage.Record{}, 0, 0},
	{"empty data", storage.Record{ArrivalMilli: 1, PartitionKey: "k"}, 1, 1},
	{"negative arrival", storage.Record{ArrivalMilli: -5, PartitionKey: "k", Data: []byte{0}}, -5, 7},
	{"extremes", storage.Record{ArrivalMilli: math.MinInt64, PartitionKey: "line\r\nbreak", Data: []byte{0xff}}, math.MaxInt64, math.MaxUint64},
	{"no arrival yet", storage.Record{ArrivalMilli: 7, PartitionKey: "ü"}, noArrival, 3},
}

func TestEnvelope(t *testing.T) {
	for _, tt := range envelopeTests {
		t.Run(tt.name, func(t *testing.T) {
			env := appendEnvelope(nil, &tt.rec)
			if len(env) != envelopeLen(&tt.rec) {
				t.Errorf("envelope of %d bytes, envelopeLen says %d", len(env), envelopeLen(&tt.rec))
			}
			setMaxArr(env, tt.maxArr)
			setOrdinal(env, tt.ordinal)
			got, maxArr, err := parseEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			if got.ArrivalMilli != tt.rec.ArrivalMilli || got.PartitionKey != tt.rec.PartitionKey ||
				!bytes.Equal(got.Data, tt.rec.Data) || maxArr != tt.maxArr {
				t.Errorf("round trip = %+v, %d; want %+v, %d", got, maxArr, tt.rec, tt.maxArr)
			}
			if m, err := envelopeMaxArr(env); err != nil || m != tt.maxArr {
				t.Errorf("envelopeMaxArr = %d, %v", m, err)
			}
			if o := envelopeOrdinal(env); o != tt.ordinal {
				t.Errorf("envelopeOrdinal = %d, want %d", o, tt.ordinal)
			}
			// The same record as a kinesisd from before ordinals wrote it: readable, without one.
			v1 := append([]byte{envelopeV1}, env[maxArrOffset:ordinalOffset]...)
			v1 = append(v1, env[envelopeHeader:]...)
			old, oldMaxArr, err := parseEnvelope(v1)
			if err != nil || old.ArrivalMilli != tt.rec.ArrivalMilli || old.PartitionKey != tt.rec.PartitionKey ||
				!bytes.Equal(old.Data, tt.rec.Data) || oldMaxArr != tt.maxArr || envelopeOrdinal(v1) != 0 {
				t.Errorf("version 1 envelope = %+v, %d, %v, ordinal %d", old, oldMaxArr, err, envelopeOrdinal(v1))
			}
			if cap(got.Data) != len(got.Data) {
				t.Errorf("Data has room to grow into the envelope: len %d, cap %d", len(got.Data), cap(got.Data))
			}
		})
	}
	for _, bad := range [][]byte{nil, {envelopeV1}, {envelopeV2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {envelopeV1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a'}} {
		if _, _, err := parseEnvelope(bad); err == nil {
			t.Errorf("parseEnvelope(%x) succeeded", bad)
		}
	}
}

// FuzzEnvelope: whatever the bytes, parseEnvelope does not panic, and what it accepts encodes back
// to the same bytes.
func FuzzEnvelope(f *testing.F) {
	for _, tt := range envelopeTests {
		env := appendEnvelope(nil, &tt.rec)
		setMaxArr(env, tt.maxArr)
		setOrdinal(env, tt.ordinal)
		f.Add(env)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, maxArr, err := parseEnvelope(p)
		if err != nil {
			return
		}
		env := appendEnvelope(nil, &r)
		setMaxArr(env, maxArr)
		setOrdinal(env, envelopeOrdinal(p))
		if !bytes.Equal(env, p) {
			// Varints have one shortest form; a longer one in p decodes to the same record; a
			// version 1 envelope comes back as version 2 without an ordinal.
			r2, maxArr2, err := parseEnvelope(env)
			if err != nil || r2.ArrivalMilli != r.ArrivalMilli || r2.PartitionKey != r.PartitionKey ||
				!bytes.Equal(r2.Data, r.Data) || maxArr2 != maxArr || envelopeOrdinal(env) != envelopeOrdinal(p) {
				t.Fatalf("re-encoding %x gave %x", p, env)
			}
		}
	})
}
