// Package sigv4 reads and verifies AWS Signature Version 4 on a request's Authorization header or query string.
//
// Parse checks that a signature is present and complete, as AWS does before anything else; a Verifier
// (verify.go) then checks it against known credentials.
package sigv4

import (
	"net/http"
	"net/url"
	"strings"
)

// Kind says what is wrong with a request's authentication.
type Kind int

const (
	// Missing: no Authorization header and no X-Amz-Algorithm query parameter.
	Missing Kind = iota + 1
	// Incomplete: a required part of the signature is absent.
	Incomplete
	// Both: a header and a query signature at once.
	Both
	// Unrecognized: the access key is not one the Verifier knows.
	Unrecognized
	// Invalid: the signature is wrong, expired, or scoped to another region, service or date.
	Invalid
)

// Error describes a request whose authentication AWS would refuse before checking the signature.
type Error struct {
	Kind    Kind
	Message string // AWS's message text
}

func (e *Error) Error() string { return e.Message }

// Auth is the signature a request carries.
type Auth struct {
	Algorithm     string // AWS4-HMAC-SHA256
	Credential    string // AKID/date/region/service/aws4_request as given
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	Terminator    string // aws4_request
	SignedHeaders []string
	Signature     string
	Query         bool // signed in the query string (presigned)
}

// Parse reads the signature of a request with header h and query q.
func Parse(h http.Header, q url.Values) (*Auth, error) {
	header := h.Get("Authorization")
	inQuery := q.Has("X-Amz-Algorithm")
	switch {
	case header != "" && inQuery:
		return nil, &Error{Kind: Both, Message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."}
	case header == "" && !inQuery:
		return nil, &Error{Kind: Missing, Message: "Missing Authentication Token"}
	case inQuery:
		return parseQuery(q)
	}
	return parseHeader(header, h)
}

func parseHeader(header string, h http.Header) (*Auth, error) {
	// AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=a;b, Signature=hex
	params := map[string]string{}
	algorithm, rest, _ := strings.Cut(header, " ")
	for _, part := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' }) {
		if k, v, ok := strings.Cut(part, "="); ok {
			params[k] = v
		}
	}
	var msg strings.Builder
	for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[p] == "" {
			msg.WriteString("Authorization header requires '" + p + "' parameter. ")
		}
	}
	if h.Get("X-Amz-Date") == "" && h.Get("Date") == "" {
		msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if msg.Len() > 0 {
		msg.WriteString("Authorization=" + header)
		return nil, &Error{Kind: Incomplete, Message: msg.String()}
	}
	a := &Auth{Algorithm: algorithm, Signature: params["Signature"], SignedHeaders: strings.Split(params["SignedHeaders"], ";")}
	a.setCredential(params["Credential"])
	return a, nil
}

func parseQuery(q url.Values) (*Auth, error) {
	var msg strings.Builder
	for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if q.Get(p) == "" {
			msg.WriteString("AWS query-string parameters must include '" + p + "'. ")
		}
	}
	if msg.Len() > 0 {
		msg.WriteString("Re-examine the query-string parameters.")
		return nil, &Error{Kind: Incomplete, Message: msg.String()}
	}
	a := &Auth{Algorithm: q.Get("X-Amz-Algorithm"), Signature: q.Get("X-Amz-Signature"), SignedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), Query: true}
	a.setCredential(q.Get("X-Amz-Credential"))
	return a, nil
}

// setCredential splits AKID/date/region/service/aws4_request; missing parts stay empty.
func (a *Auth) setCredential(c string) {
	a.Credential = c
	parts := strings.SplitN(c, "/", 5)
	fields := []*string{&a.AccessKeyID, &a.Date, &a.Region, &a.Service, &a.Terminator}
	for i, f := range fields {
		if i < len(parts) {
			*f = parts[i]
		}
	}
}
