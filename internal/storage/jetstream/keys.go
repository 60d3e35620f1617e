package jetstream

import (
	"errors"
	"strings"
)

// Metadata keys are paths ("stream/000000000000/orders") while a JetStream key-value key is a NATS
// subject: tokens of [-/_=a-zA-Z0-9] separated by dots, none empty. A stream name may hold dots
// (and a key in general anything), so keys are encoded reversibly:
//
//   - each '/'-separated segment becomes one subject token, so that ListMeta can ask the server for
//     the keys under the prefix's complete segments ("stream/000000000000/" → "stream.000000000000.>");
//   - inside a segment, [-_a-zA-Z0-9] stay as they are and every other byte becomes =XX (upper-case
//     hex), '=' included;
//   - an empty segment (a key starting or ending with '/', "a//b", or the empty key) becomes "=",
//     which no non-empty segment encodes to (an escape is always three characters).
//
// The encoding does not keep key order ('.' sorts before '/'), so ListMeta sorts what it decodes.

// encodeKey returns the key-value key of a metadata key.
func encodeKey(key string) string {
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i, seg := range strings.Split(key, "/") {
		if i > 0 {
			b.WriteByte('.')
		}
		encodeSegment(&b, seg)
	}
	return b.String()
}

func encodeSegment(b *strings.Builder, seg string) {
	if seg == "" {
		b.WriteByte('=')
		return
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if plainKeyByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
}

func plainKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

var errBadKey = errors.New("jetstream: malformed encoded metadata key")

// decodeKey reverses encodeKey.
func decodeKey(enc string) (string, error) {
	var b strings.Builder
	b.Grow(len(enc))
	for i, tok := range strings.Split(enc, ".") {
		if i > 0 {
			b.WriteByte('/')
		}
		if tok == "=" {
			continue
		}
		if tok == "" {
			return "", errBadKey
		}
		for j := 0; j < len(tok); j++ {
			c := tok[j]
			switch {
			case plainKeyByte(c):
				b.WriteByte(c)
			case c == '=' && j+2 < len(tok):
				hi, ok1 := unhex(tok[j+1])
				lo, ok2 := unhex(tok[j+2])
				if !ok1 || !ok2 {
					return "", errBadKey
				}
				b.WriteByte(hi<<4 | lo)
				j += 2
			default:
				return "", errBadKey
			}
		}
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// listFilter returns the key-value watch filter that covers every key starting with prefix: the
// prefix's complete segments followed by ">", or ">" alone. The caller still checks each decoded key
// against prefix, since the last, partial segment is not filtered on.
func listFilter(prefix string) string {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return ">"
	}
	return encodeKey(prefix[:i]) + ".>"
}
