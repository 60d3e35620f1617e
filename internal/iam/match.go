package iam

import (
	"strings"
	"unicode/utf8"
)

// pattern is one compiled Action, Resource or *Like value: IAM's wildcards are `*` (any run of characters,
// `/` and `:` included, unlike path.Match) and `?` (any one character).
type pattern struct {
	s      string // the pattern; lower-cased when fold is set
	prefix string // the literal run before the first wildcard, for a cheap rejection
	any    bool   // the pattern is exactly "*"
	lit    bool   // the pattern holds no wildcard
	fold   bool   // compare ASCII letters case-insensitively (actions)
	// segs holds the literal runs between the `*`s of a case-sensitive pattern without `?` (segs[0] is
	// prefix), matched without backtracking: the last run is a suffix and the middle ones are found leftmost.
	segs []string
}

func compilePattern(s string, fold bool) pattern {
	if fold {
		s = strings.ToLower(s)
	}
	i := strings.IndexAny(s, "*?")
	p := pattern{s: s, fold: fold, any: s == "*", lit: i < 0}
	if i >= 0 {
		p.prefix = s[:i]
		if !fold && !strings.Contains(s, "?") {
			p.segs = strings.Split(s, "*")
		}
	}
	return p
}

// match reports whether v matches p.
func (p *pattern) match(v string) bool {
	switch {
	case p.any:
		return true
	case p.lit:
		if p.fold {
			return len(v) == len(p.s) && hasLowerPrefix(v, p.s)
		}
		return p.s == v
	}
	if len(v) < len(p.prefix) {
		return false
	}
	if p.fold {
		if !hasLowerPrefix(v, p.prefix) {
			return false
		}
	} else if v[:len(p.prefix)] != p.prefix {
		return false
	}
	if p.segs != nil {
		return matchSegments(p.segs, v)
	}
	return glob(p.s[len(p.prefix):], v[len(p.prefix):], p.fold)
}

// hasLowerPrefix reports whether v starts with the lower-case prefix, ASCII letters of v compared
// case-insensitively (IAM action names are ASCII; other bytes must be equal).
func hasLowerPrefix(v, prefix string) bool {
	if len(v) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// matchSegments matches v, whose prefix segs[0] is already checked, against the `*`-separated runs segs.
func matchSegments(segs []string, v string) bool {
	last := segs[len(segs)-1]
	if len(v) < len(segs[0])+len(last) || !strings.HasSuffix(v, last) {
		return false
	}
	rest := v[len(segs[0]) : len(v)-len(last)]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(rest, seg)
		if i < 0 {
			return false
		}
		rest = rest[i+len(seg):]
	}
	return true
}

// glob matches s against pat, where `*` is any run of bytes and `?` any one character. With fold, pat must
// be lower case and ASCII letters of s are compared case-insensitively. It backtracks only to the last `*`,
// so it runs in O(len(pat)·len(s)) at worst and linearly in the usual case.
func glob(pat, s string, fold bool) bool {
	px, sx := 0, 0
	star, next := -1, 0 // the last `*` seen in pat, and where in s its match would grow to
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				star, next = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:]) // `?` is one character, not one byte
					px++
					sx += n
					continue
				}
			default:
				if sx < len(s) {
					d := s[sx]
					if fold && 'A' <= d && d <= 'Z' {
						d += 'a' - 'A'
					}
					if c == d {
						px++
						sx++
						continue
					}
				}
			}
		}
		if star >= 0 && next <= len(s) {
			px, sx = star+1, next
			next++
			continue
		}
		return false
	}
	return true
}

// matchAny reports whether v matches one of ps.
func matchAny(ps []pattern, v string) bool {
	for i := range ps {
		if ps[i].match(v) {
			return true
		}
	}
	return false
}
