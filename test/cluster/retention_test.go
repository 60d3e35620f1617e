package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/storage/jetstream/natstest"
)

// TestClusterRetentionIsMaxAge: a stream created through front-end A gets a JetStream stream whose
// MaxAge is its retention period plus an hour (the backstop to the front-ends' own trimming), and
// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod through front-end B move it.
func TestClusterRetentionIsMaxAge(t *testing.T) {
	a, b := frontEnds(t)
	ctx := t.Context()
	if _, err := a.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("kept"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b.Client, "kept")
	js := natstest.JetStream(t, a.NATSURL())
	maxAge := func() time.Duration {
		t.Helper()
		var found []string
		names := js.StreamNames(ctx)
		for name := range names.Name() {
			if strings.HasPrefix(name, a.Config.NATSPrefix+"_") && !strings.HasSuffix(name, "_meta") {
				found = append(found, name)
			}
		}
		if len(found) != 1 {
			t.Fatalf("JetStream streams of kinesisd streams: %v; want one", found)
		}
		st, err := js.Stream(ctx, found[0])
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config.MaxAge
	}
	if got := maxAge(); got != 25*time.Hour {
		t.Errorf("MaxAge after CreateStream (24 h) = %v, want 25h", got)
	}
	if _, err := b.Client.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{
		StreamName: aws.String("kept"), RetentionPeriodHours: aws.Int32(72)}); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(); got != 73*time.Hour {
		t.Errorf("MaxAge after raising retention to 72 h = %v, want 73h", got)
	}
	if _, err := b.Client.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{
		StreamName: aws.String("kept"), RetentionPeriodHours: aws.Int32(36)}); err != nil {
		t.Fatal(err)
	}
	if got := maxAge(); got != 37*time.Hour {
		t.Errorf("MaxAge after lowering retention to 36 h = %v, want 37h", got)
	}
}
