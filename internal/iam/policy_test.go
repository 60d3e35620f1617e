package iam

import (
	"errors"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name        string
		kind        Kind
		doc         string
		stmts       int
		version, id string
	}{
		{"statement object", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}}`, 1, "2012-10-17", ""},
		{"statement array and id", Identity, `{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"a","Effect":"Allow","Action":["kinesis:Get*","kinesis:List*"],"Resource":["arn:aws:kinesis:*:111122223333:stream/*"]},{"Sid":"b","Effect":"Deny","NotAction":"kinesis:Describe*","NotResource":"arn:aws:kinesis:us-east-1:111122223333:stream/x"}]}`, 2, "2012-10-17", "p1"},
		{"no version reads as 2008", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, 1, "2008-10-17", ""},
		{"old version", Identity, `{"Version":"2008-10-17","Statement":[]}`, 0, "2008-10-17", ""},
		{"resource policy, star principal", Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:GetRecords","Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/s"}]}`, 1, "2012-10-17", ""},
		{"resource policy, AWS forms", Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::444455556666:root","444455556666","arn:aws:iam::444455556666:user/bob","arn:aws:iam::444455556666:role/path/reader","arn:aws:sts::444455556666:assumed-role/reader/s1","*"]},"Action":"kinesis:*","Resource":"*"}]}`, 1, "2012-10-17", ""},
		{"resource policy, NotPrincipal and service", Resource, `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"kinesis:*","Resource":"*"},{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"kinesis:GetRecords","Resource":"*"}]}`, 2, "2008-10-17", ""},
		{"conditions of every kind", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*","Condition":{
			"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]},
			"StringNotEqualsIgnoreCase":{"kinesis:x":"Y"},
			"StringLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"},
			"ForAnyValue:StringLike":{"aws:TagKeys":"env*"},
			"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]},
			"ArnLike":{"aws:SourceArn":"arn:aws:iam::*:role/*"},
			"Bool":{"aws:SecureTransport":true},
			"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.7","2001:db8::/32"]},
			"NotIpAddressIfExists":{"aws:VpcSourceIp":"172.16.0.0/12"},
			"NumericLessThanEquals":{"kinesis:n":10},
			"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},
			"Null":{"aws:TokenIssueTime":"true"}}}]}`, 1, "2012-10-17", ""},
		{"whitespace around", Identity, " \n{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}\n ", 1, "2008-10-17", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), tt.kind)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Len() != tt.stmts || p.Version() != tt.version || p.ID() != tt.id || p.Kind() != tt.kind {
				t.Errorf("got %d statements, version %q, id %q, kind %v; want %d, %q, %q, %v",
					p.Len(), p.Version(), p.ID(), p.Kind(), tt.stmts, tt.version, tt.id, tt.kind)
			}
		})
	}
}

// malformedTests are documents IAM refuses, with the message each gives. They also seed FuzzParse.
var malformedTests = []struct {
	name string
	kind Kind
	doc  string
	want string
}{
	{"not json", Identity, `{"Statement":`, "Syntax errors in policy."},
	{"trailing garbage", Identity, `{"Statement":[]} x`, "Syntax errors in policy."},
	{"not an object", Identity, `[]`, "Syntax errors in policy."},
	{"null", Identity, `null`, "Syntax errors in policy."},
	{"unknown top-level element", Identity, `{"Statement":[],"Extra":1}`, "Syntax errors in policy."},
	{"lower-case element", Identity, `{"statement":[]}`, "Syntax errors in policy."},
	{"bad version", Identity, `{"Version":"2012-10-18","Statement":[]}`, "The policy failed legacy parsing"},
	{"version not a string", Identity, `{"Version":2012,"Statement":[]}`, "Syntax errors in policy."},
	{"no statement", Identity, `{"Version":"2012-10-17"}`, "Missing required field Statement"},
	{"statement a string", Identity, `{"Statement":"x"}`, "Syntax errors in policy."},
	{"statement entry null", Identity, `{"Statement":[null]}`, "Syntax errors in policy."},
	{"no effect", Identity, `{"Statement":[{"Action":"*","Resource":"*"}]}`, "Missing required field Effect"},
	{"effect lower case", Identity, `{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}`, "Invalid effect: allow"},
	{"unknown statement element", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Actions":"x"}]}`, "Policy statement contains unknown element Actions."},
	{"no action", Identity, `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, "Policy statement must contain actions."},
	{"empty action list", Identity, `{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, "Policy statement must contain actions."},
	{"action and notaction", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]}`, "Policy statement must not contain both Action and NotAction."},
	{"action without vendor", Identity, `{"Statement":[{"Effect":"Allow","Action":"PutRecord","Resource":"*"}]}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
	{"action empty vendor", Identity, `{"Statement":[{"Effect":"Allow","Action":":PutRecord","Resource":"*"}]}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
	{"action two colons", Identity, `{"Statement":[{"Effect":"Allow","Action":"kinesis:Put:Record","Resource":"*"}]}`, "Actions/Condition can contain only one colon."},
	{"action vendor wildcard", Identity, `{"Statement":[{"Effect":"Allow","Action":"*:PutRecord","Resource":"*"}]}`, "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards"},
	{"action a number", Identity, `{"Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]}`, "Syntax errors in policy."},
	{"no resource", Identity, `{"Statement":[{"Effect":"Allow","Action":"*"}]}`, "Policy statement must contain resources."},
	{"resource and notresource", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}`, "Policy statement must not contain both Resource and NotResource."},
	{"resource not an arn", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"orders"}]}`, `Resource orders must be in ARN format or "*".`},
	{"resource short arn", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:kinesis:us-east-1"}]}`, `Resource arn:aws:kinesis:us-east-1 must be in ARN format or "*".`},
	{"identity with principal", Identity, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, "Has prohibited field Principal"},
	{"identity with notprincipal", Identity, `{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}]}`, "Has prohibited field Principal"},
	{"resource without principal", Resource, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "Missing required field Principal"},
	{"principal and notprincipal", Resource, `{"Statement":[{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"*","Resource":"*"}]}`, "Policy statement must not contain both Principal and NotPrincipal."},
	{"principal bare string", Resource, `{"Statement":[{"Effect":"Allow","Principal":"alice","Action":"*","Resource":"*"}]}`, `Invalid principal in policy: "alice"`},
	{"principal bad aws", Resource, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"*","Resource":"*"}]}`, `Invalid principal in policy: "AWS":"alice"`},
	{"principal wildcard arn", Resource, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"*","Resource":"*"}]}`, `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*"`},
	{"principal short account", Resource, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"*","Resource":"*"}]}`, `Invalid principal in policy: "AWS":"12345"`},
	{"principal group", Resource, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:group/g"},"Action":"*","Resource":"*"}]}`, `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:group/g"`},
	{"principal unknown key", Resource, `{"Statement":[{"Effect":"Allow","Principal":{"Amazon":"x"},"Action":"*","Resource":"*"}]}`, `Invalid principal in policy: "Amazon":"x"`},
	{"principal empty object", Resource, `{"Statement":[{"Effect":"Allow","Principal":{},"Action":"*","Resource":"*"}]}`, `Invalid principal in policy: {}`},
	{"duplicate sid", Identity, `{"Statement":[{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"*","Resource":"*"}]}`, "Statement IDs (SID) in a single policy must be unique."},
	{"condition operator case", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"stringEquals":{"aws:SourceIp":"x"}}}]}`, "Invalid Condition type : stringEquals"},
	{"condition operator unknown", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"k:k":"x"}}}]}`, "Invalid Condition type : StringEqualz"},
	{"condition bad qualifier", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSomeValues:StringEquals":{"k:k":"x"}}}]}`, "Invalid Condition type : ForSomeValues:StringEquals"},
	{"null with ifexists", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"k:k":"true"}}}]}`, "Invalid Condition type : NullIfExists"},
	{"condition not an object", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}}]}`, "Syntax errors in policy."},
	{"condition value object", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"k:k":{"a":1}}}}]}`, "Syntax errors in policy."},
	{"condition empty key", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"":"x"}}}]}`, "Condition key must not be empty."},
	{"bad cidr", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}]}`, "Invalid Condition value for IpAddress: 10.0.0.0/33"},
	{"bad bool", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}]}`, "Invalid Condition value for Bool: yes"},
	{"bad number", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"k:n":"ten"}}}]}`, "Invalid Condition value for NumericEquals: ten"},
	{"bad date", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}]}`, "Invalid Condition value for DateLessThan: tomorrow"},
}

func TestParseMalformed(t *testing.T) {
	for _, tt := range malformedTests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), tt.kind)
			if err == nil {
				t.Fatalf("Parse accepted it (%d statements)", p.Len())
			}
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error %v (%T) is not a *MalformedError", err, err)
			}
			if me.Message != tt.want {
				t.Errorf("message %q, want %q", me.Message, tt.want)
			}
		})
	}
}

func TestParseUnknownKind(t *testing.T) {
	_, err := Parse([]byte(`{"Statement":[]}`), 0)
	var me *MalformedError
	if err == nil || errors.As(err, &me) {
		t.Fatalf("Parse with kind 0: %v, want a non-MalformedError error", err)
	}
}
