package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/iam"
	"kinesisd/internal/identity"
	"kinesisd/internal/kerr"
	"kinesisd/internal/storage/pebble"
)

// TestAuthorize: identity policies, the implicit allow in one's own account, explicit denies, and
// another account's stream through its resource policy, as AWS evaluates them.
func TestAuthorize(t *testing.T) {
	ctx := t.Context()
	store, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	alice := identity.UserARN("000000000000", "alice")
	policy, err := iam.Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["kinesis:PutRecord*","kinesis:Describe*"],"Resource":"arn:aws:kinesis:us-east-1:000000000000:stream/*"},
		{"Effect":"Deny","Action":"kinesis:DescribeStreamSummary","Resource":"arn:aws:kinesis:us-east-1:000000000000:stream/secret"}]}`), iam.Identity)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(ctx, Config{Store: store, Clock: clock.NewFake(time.Unix(1_700_000_000, 0)), Policies: map[string]*iam.Policy{alice: policy}})
	if err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	for _, name := range []string{"orders", "secret"} {
		if err := svc.CreateStream(ctx, &CreateStreamInput{StreamName: &name, ShardCount: &one}); err != nil {
			t.Fatal(err)
		}
	}
	as := func(account, principal string) context.Context {
		return identity.WithCaller(ctx, identity.Caller{Account: account, Region: "us-east-1", Principal: principal, SourceIP: "127.0.0.1"})
	}
	ref := func(name string) StreamRef { return StreamRef{StreamName: &name} }
	ordersARN := "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
	tests := []struct {
		name    string
		ctx     context.Context
		op      string
		in      any
		message string // "" : allowed
	}{
		{"root may do anything in its account", as("000000000000", identity.RootARN("000000000000")), "DeleteStream", &DeleteStreamInput{StreamRef: ref("orders")}, ""},
		{"alice's policy allows PutRecords", as("000000000000", alice), "PutRecords", &PutRecordsInput{StreamRef: ref("orders")}, ""},
		{"but not GetShardIterator", as("000000000000", alice), "GetShardIterator", &GetShardIteratorInput{StreamRef: ref("orders")},
			"User: " + alice + " is not authorized to perform: kinesis:GetShardIterator on resource: " + ordersARN + " because no identity-based policy allows the kinesis:GetShardIterator action"},
		{"nor ListStreams", as("000000000000", alice), "ListStreams", &ListStreamsInput{},
			"User: " + alice + " is not authorized to perform: kinesis:ListStreams because no identity-based policy allows the kinesis:ListStreams action"},
		{"an explicit deny wins", as("000000000000", alice), "DescribeStreamSummary", &DescribeStreamSummaryInput{StreamRef: ref("secret")},
			"User: " + alice + " is not authorized to perform: kinesis:DescribeStreamSummary on resource: arn:aws:kinesis:us-east-1:000000000000:stream/secret with an explicit deny in an identity-based policy"},
		{"another account needs the stream's resource policy", as("111122223333", identity.RootARN("111122223333")), "PutRecord",
			&PutRecordInput{StreamRef: StreamRef{StreamARN: &ordersARN}},
			"User: arn:aws:iam::111122223333:root is not authorized to perform: kinesis:PutRecord on resource: " + ordersARN + " because no resource-based policy allows the kinesis:PutRecord action"},
		{"a request made in process", ctx, "DeleteStream", &DeleteStreamInput{StreamRef: ref("orders")}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Authorize(tc.ctx, tc.op, tc.in)
			var denied *kerr.AccessDenied
			switch {
			case tc.message == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.message != "" && (!errors.As(err, &denied) || denied.Message() != tc.message):
				t.Fatalf("got %v\nwant AccessDeniedException %q", err, tc.message)
			}
		})
	}

	// With the stream's resource policy allowing the other account, it writes there.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kinesis:PutRecord","Resource":"` + ordersARN + `"}]}`
	if err := svc.PutResourcePolicy(ctx, &PutResourcePolicyInput{ResourceARN: &ordersARN, Policy: &doc}); err != nil {
		t.Fatal(err)
	}
	other := as("111122223333", identity.RootARN("111122223333"))
	owner, err := svc.Authorize(other, "PutRecord", &PutRecordInput{StreamRef: StreamRef{StreamARN: &ordersARN}})
	if err != nil || owner != svc {
		t.Fatalf("cross-account PutRecord with the resource policy: %v, %v; want the owner's Service", owner, err)
	}
	if _, err := svc.Authorize(other, "DeleteStream", &DeleteStreamInput{StreamRef: StreamRef{StreamARN: &ordersARN}}); !errors.As(err, new(*kerr.AccessDenied)) {
		t.Errorf("cross-account DeleteStream, which the resource policy does not allow: %v", err)
	}
}
