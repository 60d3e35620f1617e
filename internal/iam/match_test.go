package iam

import "testing"

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		name, pattern, value string
		fold                 bool
		want                 bool
	}{
		{"star matches all", "*", "anything:at/all", false, true},
		{"star matches empty", "*", "", false, true},
		{"literal", "kinesis:PutRecord", "kinesis:PutRecord", false, true},
		{"literal is whole", "kinesis:PutRecord", "kinesis:PutRecords", false, false},
		{"literal folds", "kinesis:putrecord", "KINESIS:PutRecord", true, true},
		{"literal case-sensitive", "arn:aws:kinesis:us-east-1:1:stream/Orders", "arn:aws:kinesis:us-east-1:1:stream/orders", false, false},
		{"prefix star", "kinesis:Get*", "kinesis:GetRecords", true, true},
		{"prefix star folds", "KINESIS:get*", "kinesis:GetShardIterator", true, true},
		{"prefix star misses", "kinesis:Get*", "kinesis:PutRecords", true, false},
		{"star crosses colon", "arn:aws:kinesis:*", "arn:aws:kinesis:us-east-1:111122223333:stream/a", false, true},
		{"star crosses slash", "arn:aws:kinesis:us-east-1:111122223333:stream/*", "arn:aws:kinesis:us-east-1:111122223333:stream/a/consumer/c:1", false, true},
		{"inner star", "arn:aws:kinesis:*:111122223333:stream/orders", "arn:aws:kinesis:eu-west-1:111122223333:stream/orders", false, true},
		{"inner star wrong account", "arn:aws:kinesis:*:111122223333:stream/orders", "arn:aws:kinesis:eu-west-1:444455556666:stream/orders", false, false},
		{"question one char", "kinesis:PutRecord?", "kinesis:PutRecords", true, true},
		{"question needs a char", "kinesis:PutRecords?", "kinesis:PutRecords", true, false},
		{"question one rune", "stream/?", "stream/é", false, true},
		{"two stars backtrack", "*a*b*c", "xxaxxbxxbxxc", false, true},
		{"two stars miss", "*a*b*c", "xxaxxcxxb", false, false},
		{"suffix star", "*Records", "kinesis:GetRecords", true, true},
		{"suffix star fold", "*records", "kinesis:GetRECORDS", true, true},
		{"empty pattern", "", "", false, true},
		{"empty pattern vs text", "", "x", false, false},
		{"star star", "**", "abc", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compilePattern(tt.pattern, tt.fold)
			if got := p.match(tt.value); got != tt.want {
				t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
			}
		})
	}
}

func TestARNPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::*:user/alice", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::111122223333:*", "arn:aws:iam::111122223333:role/r", true},
		{"arn:aws:iam::111122223333:*", "arn:aws:iam::444455556666:role/r", false},
		{"arn:*:iam::111122223333:user/*", "arn:aws:iam::111122223333:user/a:b", true}, // last component keeps its colons
		{"*", "arn:aws:kinesis:us-east-1:111122223333:stream/s", true},
		{"arn:aws:iam::111122223333", "arn:aws:iam::111122223333:user/a", false}, // fewer than six components
		{"arn:aws:iam::111122223333:user/alice", "not-an-arn", false},
		{"arn:aws:iam::111122223333:user/Alice", "arn:aws:iam::111122223333:user/alice", false},
	}
	for _, tt := range tests {
		p := compileARN(tt.pattern)
		if got := p.match(tt.value); got != tt.want {
			t.Errorf("arn match(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}
