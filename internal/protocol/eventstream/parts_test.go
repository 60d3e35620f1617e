package eventstream

import (
	"bytes"
	"hash/crc32"
	"testing"
)

// TestCRCCombine: the CRC of a concatenation from its parts' CRCs is the CRC of the concatenation.
func TestCRCCombine(t *testing.T) {
	long := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	tests := []struct {
		name string
		a, b []byte
	}{
		{"both empty", nil, nil},
		{"empty b", []byte("abc"), nil},
		{"empty a", nil, []byte("abc")},
		{"one byte each", []byte{0}, []byte{0xff}},
		{"text", []byte(`{"Records":[`), []byte(`{"SequenceNumber":"1"}],"MillisBehindLatest":0}`)},
		{"long b", []byte("prelude"), long},
		{"long a", long, []byte("crc")},
		{"odd length", long[:12345], long[:(1<<20)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := crc32.ChecksumIEEE(append(append([]byte{}, tt.a...), tt.b...))
			if got := crcCombine(crc32.ChecksumIEEE(tt.a), crc32.ChecksumIEEE(tt.b), len(tt.b)); got != want {
				t.Errorf("crcCombine = %08x, want %08x", got, want)
			}
		})
	}
}

// recordingWriter keeps each Write's bytes (copied) and the first byte's address of each.
type recordingWriter struct {
	bytes.Buffer
	writes [][]byte
	addrs  []*byte
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, append([]byte(nil), p...))
	if len(p) > 0 {
		w.addrs = append(w.addrs, &p[0])
	}
	return w.Buffer.Write(p)
}

// TestEventParts: an event written in parts is the event written whole, byte for byte, whatever the
// parts and whether their CRCs are given; a large shared part goes to the writer as it is (not
// copied), and the message is flushed once.
func TestEventParts(t *testing.T) {
	big := bytes.Repeat([]byte(`{"Data":"AAAA"},`), 1000)
	shared := func(b []byte) Part { return SharedPart(b, crc32.ChecksumIEEE(b)) }
	tests := []struct {
		name  string
		parts []Part
	}{
		{"none", nil},
		{"one own", []Part{{Bytes: []byte("{}")}}},
		{"small shared", []Part{{Bytes: []byte(`{"Records":[`)}, shared([]byte(`{"a":1}`)), {Bytes: []byte(`]}`)}}},
		{"big shared", []Part{{Bytes: []byte(`{"Records":[`)}, shared(big), {Bytes: []byte(`]}`)}}},
		{"two big shared", []Part{{Bytes: []byte(`{"Records":[`)}, shared(big), {Bytes: []byte(",")}, shared(big[16:]), {Bytes: []byte(`]}`)}}},
		{"big shared first and last", []Part{shared(big), shared(big)}},
		{"big own", []Part{{Bytes: big}}},
		{"empty parts", []Part{{}, shared(nil), {Bytes: []byte("x")}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var payload []byte
			for _, p := range tt.parts {
				payload = append(payload, p.Bytes...)
			}
			var got recordingWriter
			flushes := 0
			w := NewWriter(&got, func() error { flushes++; return nil })
			for range 2 { // the second message reuses the writer's buffer and headers
				got.Reset()
				got.writes, got.addrs = nil, nil
				if err := w.EventParts("SubscribeToShardEvent", "application/json", tt.parts...); err != nil {
					t.Fatal(err)
				}
				headers := []specHeader{{":event-type", "SubscribeToShardEvent"}, {":content-type", "application/json"},
					{":message-type", "event"}}
				if want := specMessage(headers, payload); !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("bytes\n got: %x\nwant: %x", got.Bytes(), want)
				}
				checkDecoders(t, got.Bytes(), headers, payload)
				for _, p := range tt.parts {
					if !p.Shared || len(p.Bytes) < directWrite {
						continue
					}
					found := false
					for _, a := range got.addrs {
						found = found || a == &p.Bytes[0]
					}
					if !found {
						t.Errorf("a shared part of %d bytes was copied, not written as it is", len(p.Bytes))
					}
				}
			}
			if flushes != 2 {
				t.Errorf("%d flushes for 2 messages", flushes)
			}
		})
	}
}

// TestEventPartsWriteError: a failed write of any piece is reported, nothing is flushed, and the
// writer still writes whole messages afterwards.
func TestEventPartsWriteError(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2*directWrite)
	for fail := range 3 {
		fw := &failAfter{n: fail}
		w := NewWriter(fw, func() error { t.Error("flushed after a failed write"); return nil })
		err := w.EventParts("e", "c", Part{Bytes: []byte("{")}, SharedPart(big, crc32.ChecksumIEEE(big)), Part{Bytes: []byte("}")})
		if err == nil {
			t.Fatalf("no error when write %d fails", fail)
		}
	}
}

// failAfter fails every Write after the first n.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, bytes.ErrTooLarge
	}
	f.n--
	return len(p), nil
}

// FuzzEventParts splits a payload into parts at fuzzed places, shared or not, and checks that the
// message is the one written whole.
func FuzzEventParts(f *testing.F) {
	f.Add([]byte(`{"Records":[{"a":1}],"MillisBehindLatest":0}`), []byte{12, 19}, uint8(2))
	f.Add(bytes.Repeat([]byte("y"), 3*directWrite), []byte{0, 1, 200}, uint8(7))
	f.Add([]byte{}, []byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, payload, cuts []byte, sharedMask uint8) {
		if len(payload) > 1<<17 || len(cuts) > 8 {
			return
		}
		var parts []Part
		rest := payload
		for i, c := range cuts {
			n := min(int(c)*len(payload)/256, len(rest))
			if i == len(cuts)-1 {
				n = len(rest)
			}
			p := Part{Bytes: rest[:n]}
			if sharedMask>>(i%8)&1 != 0 {
				p = SharedPart(rest[:n], crc32.ChecksumIEEE(rest[:n]))
			}
			parts, rest = append(parts, p), rest[n:]
		}
		if len(cuts) == 0 {
			parts = []Part{{Bytes: payload}}
		}
		var whole, split bytes.Buffer
		if err := NewWriter(&whole, nil).Event("e", "c", payload); err != nil {
			t.Fatal(err)
		}
		if err := NewWriter(&split, nil).EventParts("e", "c", parts...); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(whole.Bytes(), split.Bytes()) {
			t.Fatalf("parts %d: bytes differ", len(parts))
		}
	})
}
