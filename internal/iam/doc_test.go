// Package iam_test shows the policy engine as the server uses it.
package iam_test

import (
	"fmt"

	"kinesisd/internal/iam"
)

// The server's per-request check: compile policies once (at start for -policies, at PutResourcePolicy for
// resource policies), then evaluate each request against them.
func Example() {
	identity, err := iam.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{"Effect": "Allow", "Action": "kinesis:Get*", "Resource": "arn:aws:kinesis:us-east-1:111122223333:stream/*"}]
	}`), iam.Identity)
	if err != nil {
		fmt.Println(err)
		return
	}
	op, _ := iam.KinesisOperation("PutRecords")
	req := &iam.Request{
		Action:    op.Action,
		Resource:  op.Resource(iam.Target{Stream: "arn:aws:kinesis:us-east-1:111122223333:stream/orders"}),
		Principal: iam.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice"},
		Context:   map[string][]string{"aws:SourceIp": {"192.0.2.7"}, "aws:SecureTransport": {"false"}},
	}
	d := iam.Evaluate(req, identity, nil) // nil: the stream has no resource policy
	fmt.Println(d.Effect, d.By)
	fmt.Println(d.Message(req))
	// Output:
	// ImplicitDeny identity-based
	// User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders because no identity-based policy allows the kinesis:PutRecords action
}
