package bench

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // in stderr
	}{
		{name: "unknown flag", args: []string{"-nope"}, wantCode: 2, wantErr: "flag provided but not defined: -nope"},
		{name: "not a number", args: []string{"-workers", "many"}, wantCode: 2, wantErr: "invalid value"},
		{name: "positional argument", args: []string{"extra"}, wantCode: 2, wantErr: `unexpected argument "extra"`},
		{name: "no workers", args: []string{"-workers", "0"}, wantCode: 2, wantErr: "-workers: 0 is not a positive number"},
		{name: "no shards", args: []string{"-shards", "0"}, wantCode: 2, wantErr: "-shards: 0"},
		{name: "too many records", args: []string{"-records", "501"}, wantCode: 2, wantErr: "-records: 501 is not from 1 to 500"},
		{name: "no records", args: []string{"-records", "0"}, wantCode: 2, wantErr: "-records: 0"},
		{name: "negative size", args: []string{"-size", "-1"}, wantCode: 2, wantErr: "-size: -1"},
		{name: "record over 1 MiB", args: []string{"-records", "1", "-size", "1048576"}, wantCode: 2, wantErr: "-size: 1048576"},
		{name: "request over 5 MiB", args: []string{"-size", "20000"}, wantCode: 2, wantErr: "more than the 5 MiB"},
		{name: "zero duration", args: []string{"-duration", "0s"}, wantCode: 2, wantErr: "-duration: 0s"},
		{name: "negative warmup", args: []string{"-warmup", "-1s"}, wantCode: 2, wantErr: "-warmup: -1s is negative"},
		{name: "no read limit", args: []string{"-read-limit", "0"}, wantCode: 2, wantErr: "-read-limit: 0 is not from 1 to 10000"},
		{name: "read limit over AWS's", args: []string{"-read-limit", "10001"}, wantCode: 2, wantErr: "-read-limit: 10001"},
		{name: "negative pid", args: []string{"-pid", "-1"}, wantCode: 2, wantErr: "-pid: -1 is not a process id"},
		{name: "negative subscribers", args: []string{"-subscribers", "-1"}, wantCode: 2, wantErr: "-subscribers: -1 is negative"},
		{name: "negative rate", args: []string{"-rate", "-1"}, wantCode: 2, wantErr: "-rate: -1 is negative"},
		{name: "negative subscribe shards", args: []string{"-subscribe-shards", "-1"}, wantCode: 2, wantErr: "-subscribe-shards: -1 is negative"},
		{name: "no such process", args: []string{"-pid", "1073741824"}, wantCode: 2, wantErr: "-pid: cannot follow process 1073741824"},
		{name: "read not a bool", args: []string{"-read=maybe"}, wantCode: 2, wantErr: "invalid boolean value"},
		{name: "endpoint without scheme", args: []string{"-endpoint", "127.0.0.1:4567"}, wantCode: 2, wantErr: "-endpoint"},
		{name: "every problem at once", args: []string{"-workers", "0", "-records", "0"}, wantCode: 2, wantErr: "-workers: 0 is not a positive number\n-records: 0"},
		{name: "help", args: []string{"-h"}, wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, noEnv, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantErr, &stderr)
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, "-records") {
				t.Errorf("no usage printed:\n%s", out)
			}
		})
	}
}

func TestFlagDefaults(t *testing.T) {
	opts, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := options{endpoint: "http://127.0.0.1:4567", region: "us-east-1", shards: 4, workers: 8, records: 500,
		size: 1024, duration: 15 * time.Second, warmup: 2 * time.Second, read: true, readLimit: 10000}
	if opts != want {
		t.Errorf("defaults %+v, want %+v", opts, want)
	}
	opts, err = parseFlags([]string{"-endpoint", "", "-stream", "s", "-keep", "-json-only", "-size", "0",
		"-read=false", "-read-limit", "1", "-pid", "42", "-h2c", "-subscribers", "20", "-subscribe-shards", "1",
		"-cpuprofile", "cpu.out", "-rate", "4000"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.endpoint != "" || opts.stream != "s" || !opts.keep || !opts.jsonOnly || opts.size != 0 ||
		opts.read || opts.readLimit != 1 || opts.pid != 42 || !opts.h2c || opts.subscribers != 20 ||
		opts.subscribeShards != 1 || opts.cpuProfile != "cpu.out" || opts.rate != 4000 {
		t.Errorf("parsed %+v", opts)
	}
	if got := baseURL(opts); got != "https://kinesis.us-east-1.amazonaws.com/" {
		t.Errorf("AWS endpoint %q", got)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{ms(7)}, 50, ms(7)},
		{[]time.Duration{ms(7)}, 100, ms(7)},
		{[]time.Duration{ms(1), ms(2)}, 50, ms(1)},
		{[]time.Duration{ms(1), ms(2)}, 90, ms(2)},
		{hundred, 50, ms(50)},
		{hundred, 90, ms(90)},
		{hundred, 99, ms(99)},
		{hundred, 100, ms(100)},
		{hundred, 0, ms(1)},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "Rate exceeded"}, "ProvisionedThroughputExceededException"},
		{fmt.Errorf("operation error: %w", &smithy.GenericAPIError{Code: "InternalFailure"}), "InternalFailure"},
		{fmt.Errorf("send: %w", &smithyhttp.RequestSendError{Err: errors.New("connection refused")}), "RequestSendError"},
		{&smithy.DeserializationError{Err: errors.New("bad JSON")}, "DeserializationError"},
		{fmt.Errorf("GetRecords: %w", &apiError{status: 400, code: "ExpiredIteratorException"}), "ExpiredIteratorException"},
		{&sendError{errors.New("connection reset by peer")}, "RequestSendError"},
		{&sendError{errDeadline{}}, "Timeout"},
		{fmt.Errorf("read: %w", errSyntax), "DeserializationError"},
		{fmt.Errorf("wait: %w", errDeadline{}), "Timeout"},
		{errors.New("something else"), "ClientError"},
	}
	for _, tt := range tests {
		if got, _ := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// errDeadline is a net.Error that timed out.
type errDeadline struct{}

func (errDeadline) Error() string   { return "i/o timeout" }
func (errDeadline) Timeout() bool   { return true }
func (errDeadline) Temporary() bool { return true }

func TestPartitionKeysSpreadOverShards(t *testing.T) {
	// Four equal ranges over the 128-bit hash key space, as CreateStream makes them.
	quarter := new(big.Int).Lsh(big.NewInt(1), 126)
	var ranges []hashRange
	for i := range 4 {
		lo := new(big.Int).Mul(quarter, big.NewInt(int64(i)))
		hi := new(big.Int).Sub(new(big.Int).Add(lo, quarter), big.NewInt(1))
		ranges = append(ranges, hashRange{lo, hi})
	}
	keys := partitionKeys(ranges, 1, 10)
	seen := map[string]bool{}
	for i, k := range keys {
		if len(k) != keyLen || seen[k] {
			t.Errorf("key %d %q: not %d characters or not distinct", i, k, keyLen)
		}
		seen[k] = true
		sum := md5.Sum([]byte(k))
		if want := (1 + i) % 4; !ranges[want].holds(new(big.Int).SetBytes(sum[:])) {
			t.Errorf("key %d %q does not hash into shard %d", i, k, want)
		}
	}
	if keys := partitionKeys(nil, 0, 3); len(keys) != 3 || keys[0] == keys[1] {
		t.Errorf("random keys %q", keys)
	}
}
