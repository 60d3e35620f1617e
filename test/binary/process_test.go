package binary_test

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

func TestBadFlagsStopWithTheFlagNamed(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"-listen", "nowhere"}, nil, []string{"-listen:"}},
		{[]string{"-account-id", "42", "-region", "moon"}, nil, []string{"-account-id:", "-region:"}},
		{nil, []string{"KINESISD_SHARD_LIMIT=many"}, []string{"-shard-limit:", "KINESISD_SHARD_LIMIT"}},
		{[]string{"-no-such-flag"}, nil, []string{"-no-such-flag"}},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		cmd.Env = append(cmd.Environ(), tt.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v %v: err %v, want exit status 2", tt.args, tt.env, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v %v: stderr %q lacks %q", tt.args, tt.env, stderr.String(), w)
			}
		}
	}
}

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd, endpoint := startBinary(t, bin, dir)
	c := kinesistest.NewClient(endpoint)
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("term"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	put, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("term"), PartitionKey: aws.String("k"), Data: []byte("kept")})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	t.Logf("shut down in %v", time.Since(start))

	_, endpoint = startBinary(t, bin, dir)
	c = kinesistest.NewClient(endpoint)
	it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("term"), ShardId: put.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || string(res.Records[0].Data) != "kept" || *res.Records[0].SequenceNumber != *put.SequenceNumber {
		t.Fatalf("after SIGTERM and restart: %d records", len(res.Records))
	}
}
