package awsjson

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
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
