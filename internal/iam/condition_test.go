package iam

import "testing"

// conditionTests evaluate one Allow statement carrying the condition against a request with the given context.
// They also seed FuzzParse.
var conditionTests = []struct {
	name string
	cond string // the Condition element's JSON
	ctx  map[string][]string
	want bool
}{
	// StringEquals / StringNotEquals.
	{"StringEquals match", `{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}`, ctxOf("aws:RequestedRegion", "us-east-1"), true},
	{"StringEquals other", `{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}`, ctxOf("aws:RequestedRegion", "eu-west-1"), false},
	{"StringEquals case-sensitive", `{"StringEquals":{"aws:RequestedRegion":"US-EAST-1"}}`, ctxOf("aws:RequestedRegion", "us-east-1"), false},
	{"StringEquals any of values", `{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}`, ctxOf("aws:RequestedRegion", "us-east-1"), true},
	{"StringEquals missing key", `{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}`, nil, false},
	{"StringEquals key case-insensitive", `{"StringEquals":{"AWS:requestedregion":"us-east-1"}}`, ctxOf("aws:RequestedRegion", "us-east-1"), true},
	{"StringEqualsIfExists missing", `{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}`, nil, true},
	{"StringEqualsIfExists present other", `{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}`, ctxOf("aws:RequestedRegion", "eu-west-1"), false},
	{"StringNotEquals other", `{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}`, ctxOf("aws:RequestedRegion", "eu-west-1"), true},
	{"StringNotEquals same", `{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}`, ctxOf("aws:RequestedRegion", "us-east-1"), false},
	{"StringNotEquals none of values", `{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}`, ctxOf("aws:RequestedRegion", "eu-west-1"), false},
	{"StringNotEquals missing key", `{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}`, nil, true},
	// IgnoreCase.
	{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"kinesis:k":"ABC"}}`, ctxOf("kinesis:k", "abc"), true},
	{"StringEqualsIgnoreCase other", `{"StringEqualsIgnoreCase":{"kinesis:k":"ABC"}}`, ctxOf("kinesis:k", "abd"), false},
	{"StringEqualsIgnoreCase missing", `{"StringEqualsIgnoreCase":{"kinesis:k":"ABC"}}`, nil, false},
	{"StringNotEqualsIgnoreCase same", `{"StringNotEqualsIgnoreCase":{"kinesis:k":"ABC"}}`, ctxOf("kinesis:k", "abc"), false},
	{"StringNotEqualsIgnoreCase other", `{"StringNotEqualsIgnoreCase":{"kinesis:k":"ABC"}}`, ctxOf("kinesis:k", "xyz"), true},
	{"StringNotEqualsIgnoreCase missing", `{"StringNotEqualsIgnoreCase":{"kinesis:k":"ABC"}}`, nil, true},
	// Like.
	{"StringLike star", `{"StringLike":{"kinesis:k":"team-*"}}`, ctxOf("kinesis:k", "team-a/b:c"), true},
	{"StringLike question", `{"StringLike":{"kinesis:k":"v?"}}`, ctxOf("kinesis:k", "v1"), true},
	{"StringLike miss", `{"StringLike":{"kinesis:k":"team-*"}}`, ctxOf("kinesis:k", "other"), false},
	{"StringLike missing", `{"StringLike":{"kinesis:k":"*"}}`, nil, false},
	{"StringLikeIfExists missing", `{"StringLikeIfExists":{"kinesis:k":"team-*"}}`, nil, true},
	{"StringNotLike match", `{"StringNotLike":{"kinesis:k":"team-*"}}`, ctxOf("kinesis:k", "team-a"), false},
	{"StringNotLike miss", `{"StringNotLike":{"kinesis:k":"team-*"}}`, ctxOf("kinesis:k", "ops"), true},
	{"StringNotLike missing", `{"StringNotLike":{"kinesis:k":"team-*"}}`, nil, true},
	{"StringNotLikeIfExists present match", `{"StringNotLikeIfExists":{"kinesis:k":"team-*"}}`, ctxOf("kinesis:k", "team-a"), false},
	// Arn.
	{"ArnEquals", `{"ArnEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:role/r"}}`, ctxOf("aws:SourceArn", "arn:aws:iam::111122223333:role/r"), true},
	{"ArnEquals wildcard", `{"ArnEquals":{"aws:SourceArn":"arn:aws:iam::*:role/r"}}`, ctxOf("aws:SourceArn", "arn:aws:iam::111122223333:role/r"), true},
	{"ArnLike per component", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::111122223333:role/*"}}`, ctxOf("aws:SourceArn", "arn:aws:iam::111122223333:role/a/b"), true},
	{"ArnLike wrong account", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::111122223333:role/*"}}`, ctxOf("aws:SourceArn", "arn:aws:iam::444455556666:role/a"), false},
	{"ArnLike not an arn", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::111122223333:role/*"}}`, ctxOf("aws:SourceArn", "role/a"), false},
	{"ArnLike missing", `{"ArnLike":{"aws:SourceArn":"*"}}`, nil, false},
	{"ArnNotEquals other", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:role/r"}}`, ctxOf("aws:SourceArn", "arn:aws:iam::111122223333:role/s"), true},
	{"ArnNotLike match", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:iam::*:role/*"}}`, ctxOf("aws:SourceArn", "arn:aws:iam::111122223333:role/s"), false},
	{"ArnNotLike missing", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:iam::*:role/*"}}`, nil, true},
	{"ArnLikeIfExists missing", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:iam::*:role/*"}}`, nil, true},
	// Built-in principal keys.
	{"PrincipalAccount from request", `{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}`, nil, true},
	{"PrincipalAccount other", `{"StringEquals":{"aws:PrincipalAccount":"444455556666"}}`, nil, false},
	{"PrincipalArn from request", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}`, nil, true},
	{"PrincipalArn context wins", `{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/bob"}}`, ctxOf("aws:principalarn", "arn:aws:iam::111122223333:user/bob"), true},
	// Bool.
	{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, ctxOf("aws:SecureTransport", "true"), true},
	{"Bool JSON true", `{"Bool":{"aws:SecureTransport":true}}`, ctxOf("aws:SecureTransport", "true"), true},
	{"Bool case", `{"Bool":{"aws:SecureTransport":"TRUE"}}`, ctxOf("aws:SecureTransport", "true"), true},
	{"Bool false", `{"Bool":{"aws:SecureTransport":"true"}}`, ctxOf("aws:SecureTransport", "false"), false},
	{"Bool missing", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
	{"BoolIfExists missing", `{"BoolIfExists":{"aws:SecureTransport":"false"}}`, nil, true},
	// IpAddress.
	{"IpAddress in cidr", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctxOf("aws:SourceIp", "192.0.2.77"), true},
	{"IpAddress outside", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctxOf("aws:SourceIp", "198.51.100.1"), false},
	{"IpAddress single address", `{"IpAddress":{"aws:SourceIp":"203.0.113.9"}}`, ctxOf("aws:SourceIp", "203.0.113.9"), true},
	{"IpAddress unmasked cidr", `{"IpAddress":{"aws:SourceIp":"10.1.2.3/8"}}`, ctxOf("aws:SourceIp", "10.200.0.1"), true},
	{"IpAddress v6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, ctxOf("aws:SourceIp", "2001:db8:1::5"), true},
	{"IpAddress v4-mapped", `{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`, ctxOf("aws:SourceIp", "::ffff:127.0.0.1"), true},
	{"IpAddress bad request value", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, ctxOf("aws:SourceIp", "localhost"), false},
	{"IpAddress missing", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, nil, false},
	{"NotIpAddress outside", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctxOf("aws:SourceIp", "198.51.100.1"), true},
	{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}`, ctxOf("aws:SourceIp", "192.0.2.1"), false},
	{"NotIpAddress missing", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, nil, true},
	{"IpAddressIfExists missing", `{"IpAddressIfExists":{"aws:SourceIp":"192.0.2.0/24"}}`, nil, true},
	// Numeric and Date.
	{"NumericLessThan", `{"NumericLessThan":{"kinesis:n":"10"}}`, ctxOf("kinesis:n", "9.5"), true},
	{"NumericLessThan equal", `{"NumericLessThan":{"kinesis:n":10}}`, ctxOf("kinesis:n", "10"), false},
	{"NumericLessThanEquals", `{"NumericLessThanEquals":{"kinesis:n":10}}`, ctxOf("kinesis:n", "10"), true},
	{"NumericGreaterThan", `{"NumericGreaterThan":{"kinesis:n":10}}`, ctxOf("kinesis:n", "11"), true},
	{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"kinesis:n":10}}`, ctxOf("kinesis:n", "9"), false},
	{"NumericEquals", `{"NumericEquals":{"kinesis:n":"1e1"}}`, ctxOf("kinesis:n", "10"), true},
	{"NumericNotEquals", `{"NumericNotEquals":{"kinesis:n":10}}`, ctxOf("kinesis:n", "10"), false},
	{"Numeric bad request value", `{"NumericEquals":{"kinesis:n":10}}`, ctxOf("kinesis:n", "ten"), false},
	{"DateLessThan", `{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctxOf("aws:CurrentTime", "2026-12-01T10:00:00Z"), true},
	{"DateGreaterThan epoch", `{"DateGreaterThan":{"aws:EpochTime":"1700000000"}}`, ctxOf("aws:EpochTime", "1800000000"), true},
	{"DateEquals day", `{"DateEquals":{"aws:CurrentTime":"2026-12-01"}}`, ctxOf("aws:CurrentTime", "2026-12-01T00:00:00Z"), true},
	{"DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2026-12-01"}}`, ctxOf("aws:CurrentTime", "2026-12-02"), true},
	{"DateLessThanEquals", `{"DateLessThanEquals":{"aws:CurrentTime":"2026-12-01"}}`, ctxOf("aws:CurrentTime", "2026-12-02"), false},
	{"DateGreaterThanEquals", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-12-01"}}`, ctxOf("aws:CurrentTime", "2026-12-01"), true},
	// Null.
	{"Null true absent", `{"Null":{"aws:SourceVpc":"true"}}`, nil, true},
	{"Null true present", `{"Null":{"aws:SourceVpc":"true"}}`, ctxOf("aws:SourceVpc", "vpc-1"), false},
	{"Null false present", `{"Null":{"aws:SourceVpc":false}}`, ctxOf("aws:SourceVpc", "vpc-1"), true},
	// Multivalued keys.
	{"ForAnyValue one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctxOf("aws:TagKeys", "owner", "env"), true},
	{"ForAnyValue none matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctxOf("aws:TagKeys", "owner"), false},
	{"ForAnyValue missing", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, nil, false},
	{"ForAnyValue IfExists missing", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, true},
	{"ForAllValues all match", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctxOf("aws:TagKeys", "team", "env"), true},
	{"ForAllValues one outside", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctxOf("aws:TagKeys", "team", "owner"), false},
	{"ForAllValues missing", `{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`, nil, true},
	{"ForAllValues Like", `{"ForAllValues:StringLike":{"aws:TagKeys":"env*"}}`, ctxOf("aws:TagKeys", "env", "env-x"), true},
	{"ForAnyValue NotEquals", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`, ctxOf("aws:TagKeys", "env", "team"), true},
	{"ForAllValues NotEquals", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":"env"}}`, ctxOf("aws:TagKeys", "env", "team"), false},
	{"multivalued without qualifier", `{"StringEquals":{"aws:TagKeys":"env"}}`, ctxOf("aws:TagKeys", "team", "env"), true},
	{"multivalued negated without qualifier", `{"StringNotEquals":{"aws:TagKeys":"env"}}`, ctxOf("aws:TagKeys", "team", "env"), false},
	// Combination: operators and keys are ANDed.
	{"two operators both true", `{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, map[string][]string{"aws:SecureTransport": {"true"}, "aws:SourceIp": {"10.0.0.1"}}, true},
	{"two operators one false", `{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, map[string][]string{"aws:SecureTransport": {"true"}, "aws:SourceIp": {"11.0.0.1"}}, false},
	{"two keys one missing", `{"StringEquals":{"kinesis:a":"1","kinesis:b":"2"}}`, ctxOf("kinesis:a", "1"), false},
	{"empty condition", `{}`, nil, true},
	{"null condition", `null`, nil, true},
}

func ctxOf(key string, values ...string) map[string][]string {
	return map[string][]string{key: values}
}

func conditionPolicy(cond string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*","Condition":` + cond + `}]}`
}

func TestConditions(t *testing.T) {
	for _, tt := range conditionTests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(conditionPolicy(tt.cond)), Identity)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			req := &Request{
				Action:    "kinesis:PutRecords",
				Resource:  "arn:aws:kinesis:us-east-1:111122223333:stream/orders",
				Principal: Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice"},
				Context:   tt.ctx,
			}
			d := Evaluate(req, p, nil)
			if d.Allowed() != tt.want {
				t.Errorf("Evaluate = %v, want allowed=%v", d, tt.want)
			}
			// A Deny with the same condition denies exactly when the Allow allowed.
			deny, err := Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kinesis:*","Resource":"*","Condition":`+tt.cond+`}]}`), Identity)
			if err != nil {
				t.Fatalf("Parse deny: %v", err)
			}
			if got := Evaluate(req, deny, nil).Effect == ExplicitDeny; got != tt.want {
				t.Errorf("Deny with the condition: explicit deny %v, want %v", got, tt.want)
			}
		})
	}
}
