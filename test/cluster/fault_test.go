package cluster_test

import (
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/storage/jetstream/natstest"
)

// TestClusterFaults runs three nats-server processes (one cluster, replicas 3) and two kinesisd
// front-ends over them, and under a PutRecords load through both:
//
//  1. SIGKILLs the node that leads the record stream: writes fail with retryable errors until a new
//     leader takes over, and every acknowledged record is then read, through each front-end, exactly
//     once and in order within its shard;
//  2. restarts that node and SIGKILLs front-end A: nothing A or B acknowledged is lost;
//  3. stops every NATS node: requests fail with retryable errors, and succeed again once the nodes
//     are back, every acknowledged record still there.
func TestClusterFaults(t *testing.T) {
	natstest.SkipUnlessCluster(t)
	began := time.Now()
	kbin, nbin := binaries(t)
	nc := newNATSCluster(t, nbin)
	nc.startAll()
	a := startFrontEnd(t, kbin, "A", nc.url(), true)
	b := startFrontEnd(t, kbin, "B", nc.url(), true)
	ca, cb := kinesistest.NewClient(a.endpoint), kinesistest.NewClient(b.endpoint)
	if _, err := ca.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("faults"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, cb, "faults")
	t.Logf("cluster and front-ends up in %s", time.Since(began).Round(time.Millisecond))

	// 1. The record stream's leader dies under load.
	l1 := startLoad(t, "l1", "faults", []string{a.endpoint, b.endpoint}, 4)
	l1.waitMore(1, 30*time.Second)
	loadStart := time.Now()
	l1.waitMore(40000, 30*time.Second)
	steady := l1.rate(loadStart, time.Now())
	info := nc.recordStream()
	if info.Config.Replicas != 3 {
		t.Fatalf("record stream %s has %d replicas, want 3", info.Config.Name, info.Config.Replicas)
	}
	leader := info.Cluster.Leader
	killAt := time.Now()
	nc.kill(nc.index(leader))
	first, ok := pollTime(60*time.Second, func() (time.Time, bool) { return l1.firstSuccessAfter(killAt) })
	if !ok {
		t.Fatalf("no write succeeded within 60s of killing %s; failures %v, last: %s", leader, l1.failures, l1.lastError)
	}
	l1.waitMore(20000, 60*time.Second)
	l1.stop()
	after := nc.recordStream().Cluster.Leader
	readB, readA := l1.check(cb), l1.check(ca)
	t.Logf("leader kill: %s killed, %s leads now; first write after the kill succeeded %s later",
		leader, after, first.Sub(killAt).Round(time.Millisecond))
	t.Logf("leader kill: before it, %s", steady)
	t.Logf("leader kill: %d records acknowledged, %d read through B, %d through A (the rest: stored by calls that failed or that the stop cut short); failures %v",
		len(l1.acked), readB, readA, l1.failures)
	if len(l1.bad) > 0 {
		t.Errorf("writes failed with errors that are not retryable: %v", l1.bad[:min(5, len(l1.bad))])
	}

	// 2. The node comes back; front-end A dies under load.
	nc.start(nc.index(leader))
	nc.waitReady(60 * time.Second)
	l2 := startLoad(t, "l2", "faults", []string{a.endpoint, b.endpoint}, 4)
	l2.waitMore(10000, 60*time.Second)
	l2.markDown(0)
	a.signal(t, syscall.SIGKILL)
	l2.waitMore(10000, 60*time.Second)
	l2.stop()
	readB = l2.check(cb)
	l1.check(cb)
	t.Logf("front-end kill: %d records acknowledged (%v by A, B), %d read through B; failures %v",
		len(l2.acked), l2.rate(time.Time{}, time.Now()).perFront, readB, l2.failures)
	if len(l2.bad) > 0 {
		t.Errorf("writes failed with errors that are not retryable: %v", l2.bad[:min(5, len(l2.bad))])
	}

	// 3. NATS goes away altogether, then comes back.
	for i := range nc.nodes {
		nc.stop(i)
	}
	start := time.Now()
	_, err := cb.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("faults"), PartitionKey: aws.String("k"), Data: []byte("away")})
	if class, retryable := classify(err); !retryable {
		t.Fatalf("PutRecord with NATS away: %v (%s), want a retryable error", err, class)
	}
	failedIn := time.Since(start)
	if _, ok := b.log.waitFor(regexp.MustCompile(`NATS disconnected`), 30*time.Second); !ok {
		t.Errorf("front-end B did not log that NATS went away:\n%s", b.log.tail(10))
	}
	_, err = cb.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("faults")})
	if class, retryable := classify(err); !retryable {
		t.Fatalf("ListShards with NATS away: %v (%s), want a retryable error", err, class)
	}
	for i := range nc.nodes {
		nc.start(i)
	}
	back := time.Now()
	var put *kinesis.PutRecordOutput
	if _, ok := pollTime(90*time.Second, func() (time.Time, bool) {
		put, err = cb.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("faults"), PartitionKey: aws.String("k"), Data: []byte("back")})
		if _, retryable := classify(err); err != nil && !retryable {
			t.Fatalf("PutRecord while NATS comes back: %v", err)
		}
		return time.Now(), err == nil
	}); !ok {
		t.Fatalf("PutRecord still failing 90s after NATS came back: %v\n%s", err, b.log.tail(10))
	}
	t.Logf("NATS away: PutRecord failed retryably in %s; writes succeed again %s after the nodes restarted",
		failedIn.Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
	l1.check(cb)
	l2.check(cb)
	recs := readShardRetrying(t, cb, "faults", *put.ShardId)
	if last := recs[len(recs)-1]; *last.SequenceNumber != *put.SequenceNumber || string(last.Data) != "back" {
		t.Errorf("the write after NATS came back is not its shard's last record")
	}
	t.Logf("fault test: %s in all", time.Since(began).Round(time.Millisecond))
}

// TestClusterStartBeforeNATS starts two kinesisd front-ends before any NATS node: they say that NATS
// is unavailable and keep trying, then serve once the cluster is up (both at once, on a cluster
// where neither has created the metadata bucket yet); what one writes the other reads.
func TestClusterStartBeforeNATS(t *testing.T) {
	natstest.SkipUnlessCluster(t)
	kbin, nbin := binaries(t)
	nc := newNATSCluster(t, nbin)
	fronts := []*frontEnd{startFrontEnd(t, kbin, "A", nc.url(), false), startFrontEnd(t, kbin, "B", nc.url(), false)}
	for _, f := range fronts {
		if m, ok := f.log.waitFor(regexp.MustCompile(`NATS JetStream unavailable; retrying.*`), 30*time.Second); !ok {
			t.Fatalf("kinesisd %s did not say NATS is unavailable:\n%s", f.name, f.log.tail(10))
		} else if f.name == "A" {
			t.Logf("kinesisd says: %s", m[0])
		}
		if !f.running() {
			t.Fatalf("kinesisd %s gave up:\n%s", f.name, f.log.tail(10))
		}
	}
	start := time.Now()
	nc.startAll()
	for _, f := range fronts {
		f.waitListening(t, 90*time.Second)
	}
	t.Logf("both listening %s after the NATS nodes were started", time.Since(start).Round(time.Millisecond))
	a, b := kinesistest.NewClient(fronts[0].endpoint), kinesistest.NewClient(fronts[1].endpoint)
	if _, err := a.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("late"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, b, "late")
	seqs := kinesistest.PutN(t, a, "late", "k", 10)
	recs, _ := drain(t, b, iterator(t, b, &kinesis.GetShardIteratorInput{StreamName: aws.String("late"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	if got := seqsOf(recs); !slices.Equal(got, seqs) {
		t.Fatalf("B read %v, A wrote %v", got, seqs)
	}
}

// pollTime calls f until it reports ok or timeout passes.
func pollTime(timeout time.Duration, f func() (time.Time, bool)) (time.Time, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if v, ok := f(); ok {
			return v, true
		}
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}
