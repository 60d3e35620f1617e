package cbor

import (
	"os"
	"path/filepath"
	"testing"
)

// parsesCases are bodies and whether the service parses them: one well-formed item, a map or an array.
var parsesCases = []struct {
	body   string
	parses bool
}{
	{`bf ff`, true}, {`a0`, true}, {`80`, true}, {`9f ff`, true}, {`bf 6a "StreamName" 61 "s" ff`, true}, {`a1 61 "a" 9f 01 ff`, true},
	{``, false}, {`01`, false}, {`61 "s"`, false}, {`f6`, false}, {`f5`, false}, {`d9 d9f7 a0`, false},
	{`bf`, false}, {`bf 61 "a"`, false}, {`a0 a0`, false}, {`bf ff 00`, false}, {`a1 61`, false}, {`"{}"`, false},
}

func TestParses(t *testing.T) {
	c := New()
	for _, tc := range parsesCases {
		body := h(tc.body)
		if got := c.Parses(body); got != tc.parses {
			t.Errorf("Parses(% x) = %v, want %v", body, got, tc.parses)
		}
	}
}

// FuzzParses: Composite is a necessary condition of Parses, and a composite body that an operation's
// input decodes from parses: the edge checks Composite on every body and the whole of Parses only
// when the operation's decoder refuses one.
func FuzzParses(f *testing.F) {
	for _, tc := range parsesCases {
		f.Add(h(tc.body))
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
		parses := c.Parses(body)
		if parses && !Composite(body) {
			t.Fatalf("% x parses without being composite", body)
		}
		if !Composite(body) {
			return
		}
		for _, newIn := range inputs {
			v := newIn()
			if c.Decode(body, v) == nil && !parses {
				t.Fatalf("%T decoded % x, which does not parse", v, body)
			}
		}
	})
}
