package channel_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest/proc"
	"kinesisd/internal/storage/jetstream/natstest"
)

// bin is the kinesisd binary the kill test runs, set by TestMain.
var bin string

func TestMain(m *testing.M) { os.Exit(proc.Main(m, &bin, "kinesisd-iceberg")) }

// TestChannelExactlyOnceAcrossKills runs the binary with a channel to an S3-compatible server, puts
// records while it delivers, kills it with SIGKILL at a random moment, restarts it, again for
// KINESISD_CHANNEL_KILLS cycles (default 2; make channeltest: 20), and then checks that the objects
// hold every record the stream holds, once: no record lost, none delivered twice.
func TestChannelExactlyOnceAcrossKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	kills := envInt(t, "KINESISD_CHANNEL_KILLS", 2)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	t.Logf("%d kills, seed %d", kills, seed)
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	f := startFakeS3(t)
	f.bucket(t, "killed")
	dir := t.TempDir()
	start := func() (*proc.Proc, *kinesis.Client) {
		p := proc.Start(t, bin, dir, "-throughput-limits=false", "-s3-endpoint", f.URL)
		return p, proc.NewClient(p.Endpoint, time.Minute)
	}
	p, c := start()
	arn := onDemand(t, c, "killed")
	createChannel(t, c, arn, "killed", channelSpec{name: "survivor", format: "JSON", compression: "GZIP", freshness: 1})
	next := 0
	for cycle := 1; cycle <= kills; cycle++ {
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		keys := rand.New(rand.NewPCG(rng.Uint64(), 1))
		wg.Go(func() { // writes until the kill makes its calls fail
			for ctx.Err() == nil {
				datas := make([]string, 100)
				for i := range datas {
					datas[i] = jsonRecord("kill", next+i)
				}
				next += 100
				entries := make([]types.PutRecordsRequestEntry, len(datas))
				for i, d := range datas {
					entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(keys.Int())), Data: []byte(d)}
				}
				if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("killed"), Records: entries}); err != nil {
					return
				}
			}
		})
		time.Sleep(time.Second + time.Duration(rng.Int64N(int64(2*time.Second))))
		p.Kill()
		cancel()
		wg.Wait()
		t.Logf("cycle %d: killed after %d records offered, %d objects written so far", cycle, next, f.puts.Load())
		p, c = start()
	}
	want := readStream(t, c, "killed")
	t.Logf("the stream holds %d records", len(want))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := decode(t, f.objects(t, "killed"), "survivor", "JSON")
		err := exactly(append(got.data, got.dead...), want)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || len(got.data) > len(want) {
			t.Fatalf("after %d kills: %v", kills, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}
}

// readStream reads every record of stream, every shard from its start.
func readStream(t *testing.T, c *kinesis.Client, stream string) []string {
	t.Helper()
	shards, err := c.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			r, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: iter})
			var limit *types.ProvisionedThroughputExceededException
			if errors.As(err, &limit) {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range r.Records {
				out = append(out, string(rec.Data))
			}
			if len(r.Records) == 0 && aws.ToInt64(r.MillisBehindLatest) == 0 {
				break
			}
			iter = r.NextShardIterator
		}
	}
	return out
}

// TestChannelTakeoverAfterKillOnJetStream runs two kinesisd processes over one NATS JetStream with a
// channel to an S3-compatible server, SIGKILLs the one holding the channel's lease while records
// arrive (no clean stop: the lease is left to lapse), and checks that the other takes the delivery
// over within the lease time (10 s, plus a scan and the freshness) and that the objects then hold
// every record the stream holds, once.
func TestChannelTakeoverAfterKillOnJetStream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real processes")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	f := startFakeS3(t)
	f.bucket(t, "leased")
	ns := natstest.Start(t, t.TempDir(), natstest.Options{})
	master := filepath.Join(t.TempDir(), "kms-master-key") // one master key for both front-ends
	if err := os.WriteFile(master, []byte(strings.Repeat("6b", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() (*proc.Proc, *kinesis.Client) {
		p := proc.Start(t, bin, t.TempDir(), "-throughput-limits=false", "-s3-endpoint", f.URL, "-store", ns.ClientURL(),
			"-kms-master-key-file", master)
		return p, proc.NewClient(p.Endpoint, time.Minute)
	}
	pa, ca := start()
	pb, cb := start()
	arn := onDemand(t, ca, "leased")
	createChannel(t, ca, arn, "leased", channelSpec{name: "leased", format: "JSON", compression: "NONE", freshness: 1})
	read := func() delivered { return decode(t, f.objects(t, "leased"), "leased", "JSON") }
	first := []string{jsonRecord("lease", 0), jsonRecord("lease", 1)}
	put(t, ca, "leased", first)
	waitDelivered(t, nil, read, first, time.Minute)
	delivered := func(p *proc.Proc) float64 {
		return metric(t, p.Endpoint, "kinesisd_channel_records_delivered_total", `channel="leased"`)
	}
	holder, other, oc := pa, pb, cb
	if delivered(pa) == 0 {
		holder, other, oc = pb, pa, ca
	}
	if delivered(holder) == 0 || delivered(other) != 0 {
		t.Fatalf("records delivered: %v and %v; want one front-end, the lease holder, to deliver", delivered(pa), delivered(pb))
	}

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	next := 2
	wg.Go(func() { // writes through the survivor across the kill
		for ctx.Err() == nil {
			datas := make([]string, 50)
			for i := range datas {
				datas[i] = jsonRecord("lease", next+i)
			}
			next += len(datas)
			entries := make([]types.PutRecordsRequestEntry, len(datas))
			for i, d := range datas {
				entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: []byte(d)}
			}
			if _, err := oc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("leased"), Records: entries}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	time.Sleep(1500 * time.Millisecond) // the holder delivers some of them
	holder.Kill()
	killed := time.Now()
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	for delivered(other) == 0 {
		if time.Since(killed) > 10*time.Second+channelTakeoverSlack {
			t.Fatalf("the surviving front-end has delivered nothing %v after the holder's SIGKILL (lease 10 s)", time.Since(killed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("took over %v after the SIGKILL", time.Since(killed).Round(100*time.Millisecond))
	want := readStream(t, oc, "leased")
	t.Logf("the stream holds %d records", len(want))
	deadline := time.Now().Add(time.Minute)
	for {
		got := read()
		err := exactly(append(got.data, got.dead...), want)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || len(got.data) > len(want) {
			t.Fatalf("after the takeover: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// channelTakeoverSlack is what a takeover may take beyond the lease: the next scan (1 s), the run's
// freshness (1 s) and the write, on a loaded machine.
const channelTakeoverSlack = 5 * time.Second
