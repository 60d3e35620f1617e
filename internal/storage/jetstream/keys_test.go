package jetstream

import (
	"regexp"
	"strings"
	"testing"
)

var keyTests = []struct {
	key, enc string
}{
	{"stream/000000000000/orders", "stream.000000000000.orders"},
	{"stream/000000000000/my.stream_name-1", "stream.000000000000.my=2Estream_name-1"},
	{"server/iterator-key", "server.iterator-key"},
	{"account/000000000000/settings", "account.000000000000.settings"},
	{"a=b", "a=3Db"},
	{"", "="},
	{"/", "=.="},
	{"a//b", "a.=.b"},
	{"stream/", "stream.="},
	{"..", "=2E=2E"},
	{"sp ace*>", "sp=20ace=2A=3E"},
	{"ünï", "=C3=BCn=C3=AF"},
}

// validKey is the key-value key rule of nats.go (keyValid): allowed characters, no empty token.
var validKey = regexp.MustCompile(`^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$`)

func TestKeyEncoding(t *testing.T) {
	for _, tt := range keyTests {
		enc := encodeKey(tt.key)
		if enc != tt.enc {
			t.Errorf("encodeKey(%q) = %q, want %q", tt.key, enc, tt.enc)
		}
		if !validKey.MatchString(enc) {
			t.Errorf("encodeKey(%q) = %q is not a valid key-value key", tt.key, enc)
		}
		if dec, err := decodeKey(enc); err != nil || dec != tt.key {
			t.Errorf("decodeKey(%q) = %q, %v; want %q", enc, dec, err, tt.key)
		}
	}
	for _, bad := range []string{"a..b", ".a", "a=", "a=4", "a=4g", "a=4a", "a b", "a*"} {
		if dec, err := decodeKey(bad); err == nil {
			t.Errorf("decodeKey(%q) = %q, want an error", bad, dec)
		}
	}
}

func TestListFilter(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"", ">"},
		{"stream", ">"},
		{"stream/", "stream.>"},
		{"stream/000000000000/", "stream.000000000000.>"},
		{"stream/000000000000/or", "stream.000000000000.>"},
		{"/x", "=.>"},
	}
	for _, tt := range tests {
		if got := listFilter(tt.prefix); got != tt.want {
			t.Errorf("listFilter(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

// subjectMatches reports whether subject matches a filter of literal tokens ending in ">" (or ">").
func subjectMatches(filter, subject string) bool {
	lits := strings.TrimSuffix(filter, ">")
	return strings.HasPrefix(subject, lits) && len(subject) > len(lits)
}

// FuzzKeyEncoding: every key encodes to a valid key-value key that decodes back to it, and every key
// under a prefix matches the prefix's filter.
func FuzzKeyEncoding(f *testing.F) {
	for _, tt := range keyTests {
		f.Add(tt.key, tt.key[:len(tt.key)/2])
	}
	f.Fuzz(func(t *testing.T, key, prefix string) {
		enc := encodeKey(key)
		if !validKey.MatchString(enc) {
			t.Fatalf("encodeKey(%q) = %q is not a valid key-value key", key, enc)
		}
		if dec, err := decodeKey(enc); err != nil || dec != key {
			t.Fatalf("decodeKey(encodeKey(%q)) = %q, %v", key, dec, err)
		}
		if strings.HasPrefix(key, prefix) && !subjectMatches(listFilter(prefix), enc) {
			t.Fatalf("key %q (%q) starts with %q but does not match its filter %q", key, enc, prefix, listFilter(prefix))
		}
	})
}
