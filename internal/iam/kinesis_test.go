package iam

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKinesisOperationsCoverServer reads the operation names the HTTP edge dispatches (internal/protocol's
// ops*.go and subscribe.go) and checks that each has a row, and that no row names an operation the server
// does not serve.
func TestKinesisOperationsCoverServer(t *testing.T) {
	files, err := filepath.Glob("../protocol/ops*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../protocol/subscribe.go")
	entry := regexp.MustCompile(`"([A-Z][A-Za-z]+)":\s*[a-zA-Z]+\(`)
	served := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range entry.FindAllStringSubmatch(string(b), -1) {
			served[m[1]] = true
		}
	}
	if len(served) < 40 {
		t.Fatalf("found only %d operations in %v; the scan is broken", len(served), files)
	}
	for op := range served {
		if _, ok := KinesisOperation(op); !ok {
			t.Errorf("the server serves %s, which has no row", op)
		}
	}
	for _, op := range KinesisOperations() {
		if !served[op] {
			t.Errorf("row %s names an operation the server does not serve", op)
		}
	}
}

func TestKinesisOperation(t *testing.T) {
	queue := "arn:aws:kinesis:us-east-1:111122223333:queue/jobs"
	channel := "arn:aws:kinesis:us-east-1:111122223333:channel/to-s3"
	target := Target{Stream: orders, Consumer: consumer, Given: consumer, Queue: queue, Channel: channel}
	tests := []struct {
		op, action, resource string
	}{
		{"PutRecords", "kinesis:PutRecords", orders},
		{"GetRecords", "kinesis:GetRecords", orders},
		{"CreateStream", "kinesis:CreateStream", orders},
		{"RegisterStreamConsumer", "kinesis:RegisterStreamConsumer", orders},
		{"ListStreamConsumers", "kinesis:ListStreamConsumers", orders},
		{"SubscribeToShard", "kinesis:SubscribeToShard", consumer},
		{"DescribeStreamConsumer", "kinesis:DescribeStreamConsumer", consumer},
		{"DeregisterStreamConsumer", "kinesis:DeregisterStreamConsumer", consumer},
		{"TagResource", "kinesis:TagResource", consumer},
		{"PutResourcePolicy", "kinesis:PutResourcePolicy", consumer},
		{"ListStreams", "kinesis:ListStreams", "*"},
		{"DescribeLimits", "kinesis:DescribeLimits", "*"},
		{"DescribeAccountSettings", "kinesis:DescribeAccountSettings", "*"},
		{"UpdateAccountSettings", "kinesis:UpdateAccountSettings", "*"},
		{"CreateQueue", "kinesis:CreateQueue", queue},
		{"ReceiveQueueRecords", "kinesis:ReceiveQueueRecords", queue},
		{"RestoreDeadLetterQueueRecords", "kinesis:RestoreDeadLetterQueueRecords", queue},
		{"ListQueues", "kinesis:ListQueues", "*"},
		{"CreateChannel", "kinesis:CreateChannel", channel},
		{"DescribeChannel", "kinesis:DescribeChannel", channel},
		{"ListChannels", "kinesis:ListChannels", "*"},
	}
	for _, tt := range tests {
		o, ok := KinesisOperation(tt.op)
		if !ok {
			t.Errorf("%s: no row", tt.op)
			continue
		}
		if o.Action != tt.action || o.Resource(target) != tt.resource {
			t.Errorf("%s: %s on %s, want %s on %s", tt.op, o.Action, o.Resource(target), tt.action, tt.resource)
		}
	}
	for _, op := range KinesisOperations() {
		o, _ := KinesisOperation(op)
		if o.Action != "kinesis:"+op {
			t.Errorf("%s: action %s", op, o.Action)
		}
		if o.Resource(target) == "" {
			t.Errorf("%s: no resource", op)
		}
	}
	if _, ok := KinesisOperation("CreateWidget"); ok {
		t.Error("CreateWidget has a row")
	}
	if r := (Operation{}).Resource(target); r != "" {
		t.Errorf("zero Operation resource %q", r)
	}
}
