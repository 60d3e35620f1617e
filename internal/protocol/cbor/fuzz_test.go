package cbor

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kinesisd/internal/kerr"
	"kinesisd/internal/protocol/protocoltest"
)

// inputs are every operation's input, as a request body is decoded into them.
var inputs = protocoltest.Inputs()

// FuzzDecode holds the request decoder to: no panic; every failure a SerializationException; and
// whatever it accepts, the encoder writes in a form it reads back to the same encoding.
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeTests {
		f.Add(tt.in)
	}
	fixtures, _ := filepath.Glob("testdata/*.request.cbor")
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	c := New()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newIn := range inputs {
			v := newIn()
			if err := c.Decode(body, v); err != nil {
				var se *kerr.Serialization
				if !errors.As(err, &se) {
					t.Fatalf("%T: error %v is not a SerializationException", v, err)
				}
				continue
			}
			once, err := c.Encode(v)
			if err != nil {
				t.Fatalf("%T: encode %+v: %v", v, v, err)
			}
			again := newIn()
			if err := c.Decode(once, again); err != nil {
				t.Fatalf("%T: own encoding % x unreadable: %v", v, once, err)
			}
			twice, err := c.Encode(again)
			if err != nil || !bytes.Equal(once, twice) {
				t.Fatalf("%T: encodings differ (%v)\n% x\n% x", v, err, once, twice)
			}
		}
	})
}
