package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"kinesisd/internal/clock"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
	// MaxSkew is how far a header-signed request's X-Amz-Date may be from the server's clock.
	MaxSkew = 5 * time.Minute
	// maxExpires is the longest X-Amz-Expires of a presigned request: 7 days.
	maxExpires = 7 * 24 * 60 * 60
	isoBasic   = "20060102T150405Z"
)

// AWS's messages for signatures that do not match.
const (
	msgMismatch     = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnrecognized = "The security token included in the request is invalid."
	msgHostUnsigned = "'Host' must be a 'SignedHeader' in the AWS Authorization."
)

// Verifier checks requests' signatures against a set of keys, in AWS's order: date and its expiry, the
// host header signed, algorithm, credential scope, access key, signature. It is safe for concurrent use.
type Verifier struct {
	keys   map[string]string // access key id → secret access key
	region string            // "": every valid region name
	clock  clock.Clock

	mu      sync.Mutex
	signing map[scopeKey][]byte // derived signing keys
}

type scopeKey struct{ accessKeyID, date, region, service string }

// NewVerifier returns a Verifier accepting the keys (access key id → secret) for region, or for every
// region with a valid name (ValidRegion) when region is "", reading the time from clk (nil: the real
// clock).
func NewVerifier(keys map[string]string, region string, clk clock.Clock) *Verifier {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Verifier{keys: keys, region: region, clock: clk, signing: map[scopeKey][]byte{}}
}

// regionPattern is the shape of AWS's region names: us-east-1, us-gov-west-1, cn-north-1,
// eusc-de-east-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)

// ValidRegion reports whether s has the shape of an AWS region name.
func ValidRegion(s string) bool { return regionPattern.MatchString(s) }

// Pending is a request that passed every check but the signature itself, which needs the body.
type Pending struct {
	r          *http.Request
	a          *Auth
	amzDate    string // the request's time in ISO 8601 basic format
	signingKey []byte
}

// Check runs the checks that need no body on r, whose signature Parse read as a, for a request to
// service (kinesis, kms, sts: the scope must name it); the *Error it returns carries AWS's message.
func (v *Verifier) Check(r *http.Request, a *Auth, service string) (*Pending, error) {
	q := r.URL.Query()
	raw := r.Header.Get("X-Amz-Date")
	if a.Query {
		raw = q.Get("X-Amz-Date")
	}
	t, err := time.Parse(isoBasic, raw)
	if raw == "" && !a.Query { // signed with a Date header instead
		raw = r.Header.Get("Date")
		t, err = http.ParseTime(raw)
	}
	if err != nil {
		return nil, &Error{Kind: Incomplete, Message: "Date must be in ISO-8601 'basic format'. Got '" + raw + "'. See http://en.wikipedia.org/wiki/ISO_8601"}
	}
	t = t.UTC()
	if err := v.checkTime(t, a, q); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(a.SignedHeaders, func(h string) bool { return strings.EqualFold(h, "host") || h == ":authority" }) {
		return nil, &Error{Kind: Invalid, Message: msgHostUnsigned}
	}
	if a.Algorithm != algorithm {
		return nil, &Error{Kind: Incomplete, Message: "Unsupported AWS 'algorithm': '" + a.Algorithm + "' (only AWS4-HMAC-SHA256 for now). "}
	}
	if n := len(strings.Split(strings.TrimRight(a.Credential, "/"), "/")); n != 5 {
		return nil, &Error{Kind: Incomplete, Message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + a.Credential + "'"}
	}
	amzDate := t.Format(isoBasic)
	var scope strings.Builder
	if v.region != "" && a.Region != v.region || v.region == "" && !ValidRegion(a.Region) {
		scope.WriteString("Credential should be scoped to a valid region, not '" + a.Region + "'. ")
	}
	if a.Service != service {
		scope.WriteString("Credential should be scoped to correct service: '" + service + "'. ")
	}
	if a.Terminator != terminator {
		scope.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + a.Terminator + "'. ")
	}
	if a.Date != amzDate[:8] {
		scope.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" + a.Date + "' != '" + amzDate[:8] + "', from '" + amzDate + "'.")
	}
	if scope.Len() > 0 {
		return nil, &Error{Kind: Invalid, Message: scope.String()}
	}
	secret, ok := v.keys[a.AccessKeyID]
	if !ok {
		return nil, &Error{Kind: Unrecognized, Message: msgUnrecognized}
	}
	return &Pending{r: r, a: a, amzDate: amzDate, signingKey: v.signingKey(scopeKey{a.AccessKeyID, a.Date, a.Region, a.Service}, secret)}, nil
}

// checkTime refuses a request signed more than MaxSkew from now, or a presigned one past its
// X-Amz-Expires.
func (v *Verifier) checkTime(t time.Time, a *Auth, q url.Values) error {
	now := v.clock.Now().UTC()
	date := t.Format(isoBasic)
	if a.Query && q.Has("X-Amz-Expires") {
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs < 0 || secs > maxExpires {
			return &Error{Kind: Invalid, Message: "X-Amz-Expires must be a number of seconds from 0 to 604800; got '" + q.Get("X-Amz-Expires") + "'."}
		}
		if limit := now.Add(-time.Duration(secs) * time.Second); t.Before(limit) {
			return &Error{Kind: Invalid, Message: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d sec.)", date, limit.Format(isoBasic), now.Format(isoBasic), secs)}
		}
	} else if limit := now.Add(-MaxSkew); t.Before(limit) {
		return &Error{Kind: Invalid, Message: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)", date, limit.Format(isoBasic), now.Format(isoBasic))}
	}
	if limit := now.Add(MaxSkew); t.After(limit) {
		return &Error{Kind: Invalid, Message: fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)", date, limit.Format(isoBasic), now.Format(isoBasic))}
	}
	return nil
}

// signingKey returns the derived key of k's access key, date, region and service, from the cache when
// it is there. The cache holds a few scopes per key: it is emptied when it grows past that, as dates
// move on (and as clients sign for many regions).
func (v *Verifier) signingKey(k scopeKey, secret string) []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	if key, ok := v.signing[k]; ok {
		return key
	}
	if len(v.signing) >= 16*len(v.keys)+64 {
		clear(v.signing)
	}
	key := hmacSHA256([]byte("AWS4"+secret), k.date)
	key = hmacSHA256(key, k.region)
	key = hmacSHA256(key, k.service)
	key = hmacSHA256(key, terminator)
	v.signing[k] = key
	return key
}

// Verify checks the signature over the request and body, in constant time.
func (p *Pending) Verify(body []byte) error {
	// The payload is always the body's own hash: an X-Amz-Content-Sha256 that differs from it (or says
	// UNSIGNED-PAYLOAD) would let a signed request be replayed with another body.
	bodySum := sha256.Sum256(body)
	payload := hex.EncodeToString(bodySum[:])
	if h, ok := p.r.Header["X-Amz-Content-Sha256"]; ok && (len(h) != 1 || h[0] != payload) {
		return &Error{Kind: Invalid, Message: msgMismatch}
	}
	canonical := CanonicalRequest(p.r, p.a, payload)
	sum := sha256.Sum256([]byte(canonical))
	toSign := algorithm + "\n" + p.amzDate + "\n" + p.a.Date + "/" + p.a.Region + "/" + p.a.Service + "/" + terminator + "\n" + hex.EncodeToString(sum[:])
	want := hex.EncodeToString(hmacSHA256(p.signingKey, toSign))
	if !hmac.Equal([]byte(want), []byte(p.a.Signature)) {
		return &Error{Kind: Invalid, Message: msgMismatch}
	}
	return nil
}

// CanonicalRequest is the SigV4 canonical request of r, whose signature Parse read as a, with
// payload the hex SHA-256 of its body: method, URI, query, the headers the client signed (in its
// order, values trimmed and inner spaces collapsed), their names, payload.
func CanonicalRequest(r *http.Request, a *Auth, payload string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(escape(path, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query(), a.Query))
	b.WriteByte('\n')
	names := make([]string, len(a.SignedHeaders))
	for i, h := range a.SignedHeaders {
		names[i] = strings.ToLower(h)
		b.WriteString(names[i])
		b.WriteByte(':')
		b.WriteString(headerValue(r, names[i]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(names, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

// headerValue is the canonical value of header name (lower case): its values joined by commas, each
// trimmed with inner runs of spaces collapsed. Go keeps Host in r.Host, and so HTTP/2's :authority,
// which the JavaScript SDK v3 signs under that name instead of host.
func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host", ":authority":
		values = []string{r.Host}
	case "content-length":
		values = r.Header.Values(name)
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = collapseSpaces(strings.TrimSpace(v))
	}
	return strings.Join(values, ",")
}

// collapseSpaces replaces each run of spaces in s with one, as the SDKs do (tabs stay).
func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// canonicalQuery encodes q sorted by name then value, every name and value escaped; a presigned
// request's X-Amz-Signature is left out.
func canonicalQuery(q url.Values, presigned bool) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, pair{escape(k, true), escape(v, true)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	return b.String()
}

// escape percent-encodes every byte of s but the unreserved ones (A-Z a-z 0-9 - _ . ~), and '/'
// unless slash is set, with upper-case hex, as SigV4 asks.
func escape(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !slash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
