package iam

import (
	"fmt"
	"strings"
	"testing"
)

// benchPolicy is a 10-statement identity policy of the usual shapes: wildcard and literal actions, stream
// ARNs with wildcards, a NotAction deny, conditions on source IP, transport and region.
func benchPolicy(tb testing.TB) *Policy {
	var stmts []string
	for i := 0; i < 7; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"Sid":"s%d","Effect":"Allow","Action":["kinesis:Get*","kinesis:DescribeStream%d","kinesis:List*"],"Resource":"arn:aws:kinesis:*:111122223333:stream/team%d-*"}`, i, i, i))
	}
	stmts = append(stmts,
		`{"Sid":"write","Effect":"Allow","Action":["kinesis:PutRecord","kinesis:PutRecords"],"Resource":["arn:aws:kinesis:us-east-1:111122223333:stream/orders","arn:aws:kinesis:us-east-1:111122223333:stream/pay*"],"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]},"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}`,
		`{"Sid":"nodelete","Effect":"Deny","Action":"kinesis:Delete*","Resource":"*"}`,
		`{"Sid":"tls","Effect":"Deny","NotAction":"kinesis:Describe*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"false"}}}`,
	)
	return mustPolicy(tb, Identity, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`)
}

func BenchmarkEvaluate(b *testing.B) {
	identity := benchPolicy(b)
	resource := mustPolicy(b, Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::444455556666:root","arn:aws:iam::777788889999:role/reader"]},"Action":["kinesis:Get*","kinesis:DescribeStreamSummary","kinesis:ListShards"],"Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/orders"},{"Effect":"Deny","Principal":"*","Action":"kinesis:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)
	ctx := map[string][]string{
		"aws:SourceIp":        {"10.1.2.3"},
		"aws:SecureTransport": {"true"},
		"aws:RequestedRegion": {"us-east-1"},
	}
	cases := []struct {
		name     string
		req      Request
		resource *Policy
		want     Effect
	}{
		{"allow-last-statement", Request{Action: "kinesis:PutRecords", Resource: orders, Principal: Principal{owner, alice}, Context: ctx}, nil, Allow},
		{"implicit-deny", Request{Action: "kinesis:PutRecords", Resource: "arn:aws:kinesis:us-east-1:111122223333:stream/logs", Principal: Principal{owner, alice}, Context: ctx}, nil, ImplicitDeny},
		{"explicit-deny", Request{Action: "kinesis:DeleteStream", Resource: orders, Principal: Principal{owner, alice}, Context: ctx}, nil, ExplicitDeny},
		{"cross-account-both-policies", Request{Action: "kinesis:GetRecords", Resource: orders, Principal: Principal{other, bob}, Context: ctx}, resource, ImplicitDeny},
		{"default-identity", Request{Action: "kinesis:PutRecords", Resource: orders, Principal: Principal{owner, alice}}, nil, Allow},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			id := identity
			if c.name == "default-identity" {
				id = DefaultIdentity()
			}
			if d := Evaluate(&c.req, id, c.resource); d.Effect != c.want {
				b.Fatalf("Evaluate = %+v, want %v", d, c.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(&c.req, id, c.resource)
			}
		})
	}
}
