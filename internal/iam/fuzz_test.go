package iam

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that it fails only with a *MalformedError, and that whatever
// parses evaluates (as either policy kind, against varied requests) and words its message without panicking.
// It is seeded from the table tests' documents.
func FuzzParse(f *testing.F) {
	for _, tt := range malformedTests {
		f.Add([]byte(tt.doc))
	}
	for _, tt := range conditionTests {
		f.Add([]byte(conditionPolicy(tt.cond)))
	}
	for _, tt := range evaluateTests {
		for _, doc := range []string{tt.identity, tt.resource} {
			if doc != "" && doc != "default" {
				f.Add([]byte(doc))
			}
		}
	}
	requests := []Request{
		{Action: "kinesis:PutRecords", Resource: orders, Principal: Principal{owner, alice},
			Context: map[string][]string{"aws:SourceIp": {"10.0.0.1"}, "aws:SecureTransport": {"true"}, "aws:TagKeys": {"a", "b"}, "kinesis:n": {"5"}}},
		{Action: "kinesis:ListStreams", Resource: "*", Principal: Principal{other, bob}},
		{Action: "KMS:decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k", Principal: Principal{other, "arn:aws:sts::444455556666:assumed-role/r/s"},
			Context: map[string][]string{"AWS:SOURCEIP": {"not-an-ip"}, "aws:CurrentTime": {"2026-12-01T00:00:00Z"}}},
		{},
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, kind := range []Kind{Identity, Resource} {
			p, err := Parse(doc, kind)
			if err != nil {
				var me *MalformedError
				if !errors.As(err, &me) || me.Message == "" {
					t.Fatalf("Parse error %v (%T) is not a worded *MalformedError", err, err)
				}
				continue
			}
			for i := range requests {
				req := &requests[i]
				var d Decision
				if kind == Identity {
					d = Evaluate(req, p, nil)
				} else {
					d = Evaluate(req, DefaultIdentity(), p)
				}
				if msg := d.Message(req); (msg == "") != d.Allowed() {
					t.Fatalf("decision %+v with message %q", d, msg)
				}
			}
		}
	})
}
