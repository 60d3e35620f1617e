package iterator

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"
)

var positions = []Position{
	{StreamName: "s", StreamID: 1, Shard: 0, Offset: 0, Issued: time.UnixMilli(0)},
	{StreamName: "orders.v2-eu_west", StreamID: 0xdeadbeefcafe, Shard: 17, Offset: 1 << 40, Issued: time.UnixMilli(1_764_000_000_123)},
	{StreamName: string(bytes.Repeat([]byte("a"), 128)), StreamID: ^uint64(0), Shard: ^uint32(0), Offset: ^uint64(0), Issued: time.UnixMilli(1 << 50)},
}

func newSealer(t testing.TB) *Sealer {
	t.Helper()
	s, err := NewSealer(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s := newSealer(t)
	for _, p := range positions {
		tok, err := s.Seal(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) > 512 {
			t.Errorf("token of %d chars, the API allows 512", len(tok))
		}
		got, err := s.Open(tok)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got != p {
			t.Errorf("Open = %+v, want %+v", got, p)
		}
		again, _ := s.Seal(p)
		if again == tok {
			t.Error("two seals of one position gave the same token")
		}
	}
}

func TestOpenRejects(t *testing.T) {
	s := newSealer(t)
	other, _ := NewSealer(bytes.Repeat([]byte{8}, KeySize))
	tok, _ := s.Seal(positions[1])
	raw, _ := base64.StdEncoding.DecodeString(tok)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	foreign, _ := other.Seal(positions[1])
	tests := map[string]string{
		"empty":         "",
		"not base64":    "!!!!",
		"short":         base64.StdEncoding.EncodeToString(raw[:20]),
		"flipped bit":   base64.StdEncoding.EncodeToString(flipped),
		"other key":     foreign,
		"bad header":    base64.StdEncoding.EncodeToString(append([]byte{1}, raw[1:]...)),
		"truncated tag": base64.StdEncoding.EncodeToString(raw[:len(raw)-1]),
	}
	for name, tok := range tests {
		if _, err := s.Open(tok); err != ErrInvalid {
			t.Errorf("%s: Open err = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	s := newSealer(f)
	for _, p := range positions {
		tok, _ := s.Seal(p)
		f.Add(tok)
	}
	f.Add("AAAAAAAAAAE=")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.Open(tok)
		if err != nil {
			return
		}
		// Anything that opens must reseal and reopen to the same position.
		again, err := s.Seal(p)
		if err != nil {
			t.Fatal(err)
		}
		if q, err := s.Open(again); err != nil || q != p {
			t.Fatalf("reopen %+v: %+v, %v", p, q, err)
		}
	})
}

// FuzzSeal: any position seals into a token that opens to it again (names of the API's 1..128
// characters fit the API's 512-character tokens), and a token cut short never opens.
func FuzzSeal(f *testing.F) {
	s := newSealer(f)
	for _, p := range positions {
		f.Add(p.StreamName, p.StreamID, p.Shard, p.Offset, p.Issued.UnixMilli())
	}
	f.Fuzz(func(t *testing.T, name string, id uint64, shard uint32, offset uint64, ms int64) {
		p := Position{StreamName: name, StreamID: id, Shard: shard, Offset: offset, Issued: time.UnixMilli(ms)}
		tok, err := s.Seal(p)
		if err != nil {
			return // a name the token cannot hold is refused, not mangled
		}
		if len(name) >= 1 && len(name) <= 128 && len(tok) > 512 {
			t.Errorf("%d-byte name: token of %d chars", len(name), len(tok))
		}
		got, err := s.Open(tok)
		if err != nil || got != p {
			t.Fatalf("Open(Seal(%+v)) = %+v, %v", p, got, err)
		}
		if _, err := s.Open(tok[:len(tok)-4]); err != ErrInvalid {
			t.Fatalf("a token cut short: %v, want ErrInvalid", err)
		}
	})
}
