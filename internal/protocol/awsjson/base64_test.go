package awsjson

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	mathrand "math/rand/v2"
	"testing"
)

var base64Inputs = []struct {
	name string
	src  []byte
}{
	{"empty", nil},
	{"one byte", []byte{0xff}},
	{"two bytes", []byte{0, 0xff}},
	{"one quantum", []byte("abc")},
	{"seven bytes, below one step", []byte("abcdefg")},
	{"eight bytes, one step", []byte{0xfb, 0xff, 0xbf, 0, 1, 2, 3, 4}},
	{"every byte value", func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}()},
}

func TestAppendBase64(t *testing.T) {
	for _, tt := range base64Inputs {
		t.Run(tt.name, func(t *testing.T) { checkBase64(t, tt.src) })
	}
	for n := range 100 { // every length around the step, random bytes
		src := make([]byte, n)
		rand.Read(src)
		checkBase64(t, src)
	}
}

func checkBase64(t *testing.T, src []byte) {
	t.Helper()
	want := base64.StdEncoding.AppendEncode([]byte("x"), src)
	if got := appendBase64([]byte("x"), src); !bytes.Equal(got, want) {
		t.Fatalf("appendBase64(%x) = %q, want %q", src, got, want)
	}
}

func FuzzAppendBase64(f *testing.F) {
	for _, tt := range base64Inputs {
		f.Add(tt.src)
	}
	f.Fuzz(func(t *testing.T, src []byte) { checkBase64(t, src) })
}

func BenchmarkAppendBase64(b *testing.B) {
	src := make([]byte, 1024)
	rand.Read(src)
	dst := make([]byte, 0, 2048)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			appendBase64(dst[:0], src)
		}
	})
	b.Run("encoding/base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			base64.StdEncoding.AppendEncode(dst[:0], src)
		}
	})
}

// stdStrictBase64 is encoding/base64's reading of the base64 the service reads, which decodeBase64
// must match: standard alphabet, padded, no stray bits.
var stdStrictBase64 = base64.StdEncoding.Strict()

// base64Texts are texts for decodeBase64: valid ones of every padding, and each way to be invalid.
var base64Texts = []string{
	"", "AA==", "AAA=", "AAAA", "/w==", "+/+/", "YWJjZGVmZw==", "YWJjZGVmZ2g=", "YWJjZGVmZ2hp", "AAECAwQFBgcICQoL",
	"AB==", "AAB=", "A===", "====", "AA=A", "A", "AA", "AAA", "AAAAA", "AA==AAAA", "AAAA\nAAA", "AAAA\r\nAA",
	"AAAAAAAAAAA-", "AAAAAAA_AAAA", "AAAAAAAAAAA\x00", "AAAAAAAAAAA\xff", "AAAAAAAA\"AAA", "AAAAAAAAAAAAAAAAAAAA=AAA",
	"\r\r\r\r", "AAAA\n\n\n\n", "\r\nAAAA",
}

func TestDecodeBase64(t *testing.T) {
	for _, s := range base64Texts {
		checkDecodeBase64(t, []byte(s))
	}
	for n := range 100 { // every length around the step, random bytes, and each character spoiled in turn
		src := make([]byte, n)
		rand.Read(src)
		text := base64.StdEncoding.AppendEncode(nil, src)
		checkDecodeBase64(t, text)
		for i := range text {
			spoilt := bytes.Clone(text)
			spoilt[i] = "=-\x00\n"[i%4]
			checkDecodeBase64(t, spoilt)
		}
	}
	// Short texts of characters near the alphabet, at random: padding in every place, quanta of every
	// kind of refusal (the fuzz target goes further).
	r := mathrand.New(mathrand.NewPCG(1, 2))
	const near = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n-_\x00\xff"
	for i := range 120000 {
		n := r.IntN(40)
		if i%6 == 0 { // long enough for the 32-character steps (45 characters at least)
			n = 44 + r.IntN(200)
		}
		text := make([]byte, n)
		for i := range text {
			text[i] = near[r.IntN(len(near))]
		}
		checkDecodeBase64(t, text)
	}
}

// checkDecodeBase64 holds decodeBase64 to base64.StdEncoding.Strict(): the same bytes when it decodes
// text, the same refusal otherwise, text with '\r' or '\n' refused whatever the other says.
func checkDecodeBase64(t *testing.T, text []byte) {
	t.Helper()
	want := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := stdStrictBase64.Decode(want, text)
	wantOK := err == nil && !bytes.ContainsAny(text, "\r\n")
	dst := make([]byte, len(text)/4*3)
	for i := range dst {
		dst[i] = 0xee
	}
	m, ok := decodeBase64(dst, text)
	switch {
	case ok != wantOK:
		t.Fatalf("decodeBase64(%q): ok %v, encoding/base64 says %v", text, ok, err)
	case ok && !bytes.Equal(dst[:m], want[:n]):
		t.Fatalf("decodeBase64(%q) = %x, want %x", text, dst[:m], want[:n])
	}
	if _, ok := decodeBase64(dst[:max(0, len(dst)-1)], text); ok && len(dst) > 0 {
		t.Fatalf("decodeBase64(%q) into a short buffer: ok", text)
	}
}

func FuzzDecodeBase64(f *testing.F) {
	for _, s := range base64Texts {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) { checkDecodeBase64(t, text) })
}

func BenchmarkDecodeBase64(b *testing.B) {
	src := make([]byte, 1024)
	rand.Read(src)
	text := base64.StdEncoding.AppendEncode(nil, src)
	dst := make([]byte, len(text)/4*3)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, ok := decodeBase64(dst, text); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding/base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			stdStrictBase64.Decode(dst, text)
		}
	})
}
