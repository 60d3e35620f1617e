package iam

import (
	"testing"
)

const (
	owner    = "111122223333"
	other    = "444455556666"
	alice    = "arn:aws:iam::111122223333:user/alice"
	bob      = "arn:aws:iam::444455556666:user/bob"
	orders   = "arn:aws:kinesis:us-east-1:111122223333:stream/orders"
	payments = "arn:aws:kinesis:us-east-1:111122223333:stream/payments"
	consumer = "arn:aws:kinesis:us-east-1:111122223333:stream/orders/consumer/app:1700000000"
)

func mustPolicy(t testing.TB, kind Kind, doc string) *Policy {
	t.Helper()
	if doc == "" {
		return nil
	}
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

// evaluateTests cover the evaluation rules. They also seed FuzzParse with their policies.
var evaluateTests = []struct {
	name                string
	identity, resource  string // policy documents; "" is no policy; "default" is DefaultIdentity()
	action, resourceARN string
	principal           Principal
	want                Decision
}{
	// Identity policies alone, same account.
	{"no policy denies", "", "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"default identity allows kinesis", "default", "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity, Sid: "KinesisdDefault"}},
	{"default identity allows kms", "default", "", "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k", Principal{owner, alice},
		Decision{Effect: Allow, By: Identity, Sid: "KinesisdDefault"}},
	{"default identity refuses other services", "default", "", "sts:AssumeRole", "*", Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"allow matching action", `{"Statement":{"Sid":"w","Effect":"Allow","Action":"kinesis:PutRecords","Resource":"*"}}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity, Sid: "w"}},
	{"action case-insensitive", `{"Statement":{"Effect":"Allow","Action":"KINESIS:putrecords","Resource":"*"}}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"action wildcard", `{"Statement":{"Effect":"Allow","Action":"kinesis:Get*","Resource":"*"}}`, "", "kinesis:GetRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"action wildcard misses", `{"Statement":{"Effect":"Allow","Action":"kinesis:Get*","Resource":"*"}}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"star action", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"resource exact", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"` + orders + `"}}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"resource other stream", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"` + orders + `"}}`, "", "kinesis:PutRecords", payments, Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"resource wildcard covers consumer", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:111122223333:stream/orders*"}}`, "", "kinesis:SubscribeToShard", consumer, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"account-level op needs star", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:*:stream/*"}}`, "", "kinesis:ListStreams", "*", Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"account-level op with star", `{"Statement":{"Effect":"Allow","Action":"kinesis:ListStreams","Resource":"*"}}`, "", "kinesis:ListStreams", "*", Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"NotAction allows the rest", `{"Statement":{"Effect":"Allow","NotAction":"kinesis:Delete*","Resource":"*"}}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"NotAction excludes", `{"Statement":{"Effect":"Allow","NotAction":"kinesis:Delete*","Resource":"*"}}`, "", "kinesis:DeleteStream", orders, Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"NotResource allows the rest", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","NotResource":"` + payments + `"}}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"NotResource excludes", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","NotResource":"` + payments + `"}}`, "", "kinesis:PutRecords", payments, Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"NotResource covers star", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","NotResource":"` + payments + `"}}`, "", "kinesis:ListStreams", "*", Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	// Explicit deny.
	{"deny overrides allow", `{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"},{"Sid":"nodelete","Effect":"Deny","Action":"kinesis:DeleteStream","Resource":"*"}]}`, "", "kinesis:DeleteStream", orders, Principal{owner, alice},
		Decision{Effect: ExplicitDeny, By: Identity, Sid: "nodelete"}},
	{"deny before allow in order", `{"Statement":[{"Effect":"Deny","Action":"kinesis:DeleteStream","Resource":"*"},{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`, "", "kinesis:DeleteStream", orders, Principal{owner, alice},
		Decision{Effect: ExplicitDeny, By: Identity}},
	{"deny elsewhere leaves allow", `{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"},{"Effect":"Deny","Action":"kinesis:DeleteStream","Resource":"*"}]}`, "", "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"resource policy deny overrides identity allow", "default", `{"Statement":{"Sid":"ro","Effect":"Deny","Principal":"*","Action":"kinesis:Put*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ExplicitDeny, By: Resource, Sid: "ro"}},
	{"identity deny overrides resource allow", `{"Statement":{"Effect":"Deny","Action":"kinesis:*","Resource":"*"}}`, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ExplicitDeny, By: Identity}},
	{"both deny: identity reported", `{"Statement":{"Effect":"Deny","Action":"kinesis:*","Resource":"*"}}`, `{"Statement":{"Effect":"Deny","Principal":"*","Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ExplicitDeny, By: Identity}},
	{"deny by account principal", "default", `{"Statement":{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ExplicitDeny, By: Resource}},
	{"NotPrincipal deny spares the named", "default", `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"` + alice + `"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity, Sid: "KinesisdDefault"}},
	{"NotPrincipal deny hits the others", "default", `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"` + alice + `"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, "arn:aws:iam::111122223333:user/carol"},
		Decision{Effect: ExplicitDeny, By: Resource}},
	// Same account: either policy may allow.
	{"same account: resource policy naming the user suffices", "", `{"Statement":{"Sid":"r","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kinesis:PutRecords","Resource":"` + orders + `"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Resource, Sid: "r"}},
	{"same account: resource policy star suffices", "", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kinesis:PutRecords","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Resource}},
	{"same account: resource policy naming the account delegates", "", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"same account: account root named", "", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, "arn:aws:iam::111122223333:root"},
		Decision{Effect: Allow, By: Resource}},
	{"same account: identity allows, resource policy silent", `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}}`, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + bob + `"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: Allow, By: Identity}},
	{"same account: role session matches role principal", "", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/team/writer"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, "arn:aws:sts::111122223333:assumed-role/writer/s1"},
		Decision{Effect: Allow, By: Resource}},
	{"same account: other role session", "", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/writer"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, "arn:aws:sts::111122223333:assumed-role/reader/s1"},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"service principal never matches", "", `{"Statement":{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{owner, alice},
		Decision{Effect: ImplicitDeny, By: Identity}},
	// Cross-account: both needed.
	{"cross-account: no resource policy", "default", "", "kinesis:GetRecords", orders, Principal{other, bob},
		Decision{Effect: ImplicitDeny, By: Resource}},
	{"cross-account: resource policy to the account", "default", `{"Statement":{"Sid":"x","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kinesis:GetRecords","Resource":"` + orders + `"}}`, "kinesis:GetRecords", orders, Principal{other, bob},
		Decision{Effect: Allow, By: Resource, Sid: "x"}},
	{"cross-account: resource policy to the account id", "default", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kinesis:Get*","Resource":"*"}}`, "kinesis:GetRecords", orders, Principal{other, bob},
		Decision{Effect: Allow, By: Resource}},
	{"cross-account: resource policy to the user", "default", `{"Statement":{"Effect":"Allow","Principal":{"AWS":["` + alice + `","` + bob + `"]},"Action":"kinesis:GetRecords","Resource":"*"}}`, "kinesis:GetRecords", orders, Principal{other, bob},
		Decision{Effect: Allow, By: Resource}},
	{"cross-account: resource policy for another action", "default", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kinesis:GetRecords","Resource":"*"}}`, "kinesis:PutRecords", orders, Principal{other, bob},
		Decision{Effect: ImplicitDeny, By: Resource}},
	{"cross-account: resource policy for another account", "default", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"kinesis:*","Resource":"*"}}`, "kinesis:GetRecords", orders, Principal{other, bob},
		Decision{Effect: ImplicitDeny, By: Resource}},
	{"cross-account: resource allows, identity does not", `{"Statement":{"Effect":"Allow","Action":"kinesis:PutRecords","Resource":"*"}}`, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}}`, "kinesis:GetRecords", orders, Principal{other, bob},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"cross-account: no identity policy", "", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}}`, "kinesis:GetRecords", orders, Principal{other, bob},
		Decision{Effect: ImplicitDeny, By: Identity}},
	{"cross-account: account-level op is own account", "default", "", "kinesis:ListStreams", "*", Principal{other, bob},
		Decision{Effect: Allow, By: Identity, Sid: "KinesisdDefault"}},
	{"cross-account: consumer", "default", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kinesis:SubscribeToShard","Resource":"` + consumer + `"}}`, "kinesis:SubscribeToShard", consumer, Principal{other, bob},
		Decision{Effect: Allow, By: Resource}},
}

func TestEvaluate(t *testing.T) {
	for _, tt := range evaluateTests {
		t.Run(tt.name, func(t *testing.T) {
			var identity *Policy
			if tt.identity == "default" {
				identity = DefaultIdentity()
			} else {
				identity = mustPolicy(t, Identity, tt.identity)
			}
			resource := mustPolicy(t, Resource, tt.resource)
			req := &Request{Action: tt.action, Resource: tt.resourceARN, Principal: tt.principal}
			if got := Evaluate(req, identity, resource); got != tt.want {
				t.Errorf("Evaluate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEvaluateResourceAccount(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want Effect
	}{
		{"from the ARN: same", Request{Action: "kinesis:PutRecord", Resource: orders, Principal: Principal{owner, alice}}, Allow},
		{"from the ARN: other", Request{Action: "kinesis:PutRecord", Resource: orders, Principal: Principal{other, bob}}, ImplicitDeny},
		{"explicit owner overrides the ARN", Request{Action: "kinesis:PutRecord", Resource: orders, ResourceAccount: other, Principal: Principal{other, bob}}, Allow},
		{"star is the caller's account", Request{Action: "kinesis:ListStreams", Resource: "*", Principal: Principal{other, bob}}, Allow},
		{"not an ARN is nobody's", Request{Action: "kinesis:PutRecord", Resource: "orders", Principal: Principal{owner, alice}}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(&tt.req, DefaultIdentity(), nil).Effect; got != tt.want {
				t.Errorf("Effect = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	put := &Request{Action: "kinesis:PutRecords", Resource: orders, Principal: Principal{owner, alice}}
	list := &Request{Action: "kinesis:ListStreams", Resource: "*", Principal: Principal{owner, alice}}
	cross := &Request{Action: "kinesis:GetRecords", Resource: orders, Principal: Principal{other, bob}}
	tests := []struct {
		name string
		d    Decision
		req  *Request
		want string
	}{
		{"implicit identity", Decision{Effect: ImplicitDeny, By: Identity}, put,
			"User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders because no identity-based policy allows the kinesis:PutRecords action"},
		{"implicit resource", Decision{Effect: ImplicitDeny, By: Resource}, cross,
			"User: arn:aws:iam::444455556666:user/bob is not authorized to perform: kinesis:GetRecords on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders because no resource-based policy allows the kinesis:GetRecords action"},
		{"explicit identity", Decision{Effect: ExplicitDeny, By: Identity, Sid: "x"}, put,
			"User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders with an explicit deny in an identity-based policy"},
		{"explicit resource", Decision{Effect: ExplicitDeny, By: Resource}, put,
			"User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders with an explicit deny in a resource-based policy"},
		{"no resource", Decision{Effect: ImplicitDeny, By: Identity}, list,
			"User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:ListStreams because no identity-based policy allows the kinesis:ListStreams action"},
		{"zero decision", Decision{}, put,
			"User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders because no identity-based policy allows the kinesis:PutRecords action"},
		{"allowed", Decision{Effect: Allow, By: Identity}, put, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Message(tt.req); got != tt.want {
				t.Errorf("Message =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestMessageFromEvaluate(t *testing.T) {
	// The example end to end: a policy allowing GetRecords but not PutRecords.
	p := mustPolicy(t, Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kinesis:GetRecords","kinesis:GetShardIterator"],"Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/*"}]}`)
	req := &Request{Action: "kinesis:PutRecords", Resource: orders, Principal: Principal{owner, alice}}
	d := Evaluate(req, p, nil)
	want := "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders because no identity-based policy allows the kinesis:PutRecords action"
	if d.Allowed() || d.Message(req) != want {
		t.Errorf("got %+v %q, want a deny with %q", d, d.Message(req), want)
	}
	req.Action = "kinesis:GetRecords"
	if d := Evaluate(req, p, nil); !d.Allowed() || d.Message(req) != "" {
		t.Errorf("GetRecords: %+v, want allowed", d)
	}
}

func TestAccountOf(t *testing.T) {
	tests := map[string]string{
		orders:                              owner,
		consumer:                            owner,
		"arn:aws:iam::444455556666:root":    other,
		"arn:aws:kinesis:us-east-1::stream": "",
		"arn:aws:kinesis":                   "",
		"*":                                 "",
		"":                                  "",
	}
	for arn, want := range tests {
		if got := AccountOf(arn); got != want {
			t.Errorf("AccountOf(%q) = %q, want %q", arn, got, want)
		}
	}
}

func TestEvaluateDoesNotModifyContext(t *testing.T) {
	p := mustPolicy(t, Identity, conditionPolicy(`{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}`))
	ctx := map[string][]string{"aws:SourceIp": {"10.0.0.1"}}
	req := &Request{Action: "kinesis:PutRecords", Resource: orders, Principal: Principal{owner, alice}, Context: ctx}
	if !Evaluate(req, p, nil).Allowed() {
		t.Fatal("not allowed")
	}
	if len(ctx) != 1 {
		t.Errorf("context changed: %v", ctx)
	}
}
