package bench

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// TestBenchSubscribers: with -subscribers the run registers the consumers, keeps a subscription open
// on every shard for each of them (resubscribing when the server ends one, here every 300 ms), and
// every consumer receives every acknowledged record once; the consumers are gone after the run.
// Over HTTP/1.1, and with -h2c over HTTP/2.
func TestBenchSubscribers(t *testing.T) {
	for _, proto := range []struct{ name, flag, served string }{{"HTTP/1.1", "-h2c=false", "HTTP/1.1"}, {"h2c", "-h2c", "HTTP/2.0"}} {
		t.Run(proto.name, func(t *testing.T) {
			s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) {
				c.ThroughputLimits = false
				c.SubscribeLifetime, c.SubscribeHeartbeat = 300*time.Millisecond, 50*time.Millisecond
			}})
			makeStream(t, s.Client, "fan", 2)
			code, res := bench(t, "-endpoint", s.Endpoint, "-stream", "fan", "-keep", proto.flag, "-subscribers", "3",
				"-duration", "1s", "-warmup", "200ms", "-workers", "2", "-records", "20", "-size", "100")
			if code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
			checkPassed(t, res)
			f := res.Subscribe
			if f == nil {
				t.Fatal("no subscribe result")
			}
			acked := res.Read.Check.Acked
			if f.Consumers != 3 || f.Subscriptions != 6 || f.Expected != 3*acked || f.Records != f.Expected ||
				f.Bytes != f.Records*(100+keyLen) || f.OutOfOrder != 0 || len(f.Failures) != 0 {
				t.Errorf("subscribe result %+v, want 3 consumers × 2 shards receiving all %d acknowledged records, no failure", f, acked)
			}
			if f.Events < int64(f.Subscriptions) || f.Resubscribes == 0 || f.WindowRecords <= 0 || f.WindowRecords > f.Records ||
				f.RecordsPerSec != float64(f.WindowRecords) {
				t.Errorf("subscribe result %+v: events, resubscriptions (300 ms lifetime) and the 1 s window's records", f)
			}
			if f.LagSamples == 0 || int64(f.LagSamples) > f.WindowRecords || f.LagBeforeAck > f.LagSamples ||
				f.LagP50Ms > f.LagP99Ms || f.LagP99Ms > f.LagMaxMs || f.LagMaxMs > 10_000 {
				t.Errorf("lag: %d samples (%d before the acknowledgment), p50 %v, p99 %v, max %v ms", f.LagSamples, f.LagBeforeAck,
					f.LagP50Ms, f.LagP99Ms, f.LagMaxMs)
			}
			if got := servedOver(t, s.Endpoint, "SubscribeToShard"); got != proto.served {
				t.Errorf("SubscribeToShard over %q, want %s", got, proto.served)
			}
			out, err := s.Client.ListStreamConsumers(t.Context(), &kinesis.ListStreamConsumersInput{StreamARN: streamARN(t, s, "fan")})
			if err != nil || len(out.Consumers) != 0 {
				t.Errorf("consumers after the run: %v, %v; want none", out, err)
			}
		})
	}
}

// TestBenchSubscribeShards: with -subscribe-shards the consumers subscribe to the first shards only,
// and each receives every record acknowledged on those: here one shard of two, so fewer than all.
func TestBenchSubscribeShards(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) {
		c.ThroughputLimits = false
	}})
	makeStream(t, s.Client, "some", 2)
	code, res := bench(t, "-endpoint", s.Endpoint, "-stream", "some", "-keep", "-subscribers", "3", "-subscribe-shards", "1",
		"-duration", "500ms", "-warmup", "100ms", "-workers", "2", "-records", "20", "-size", "100")
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	checkPassed(t, res)
	f, acked := res.Subscribe, res.Read.Check.Acked
	if f == nil || f.Subscriptions != 3 || f.Expected <= 0 || f.Expected >= 3*acked || f.Expected%3 != 0 ||
		f.Records != f.Expected || f.OutOfOrder != 0 || len(f.Failures) != 0 {
		t.Errorf("subscribe result %+v, want 3 subscriptions receiving the records of one shard of two (%d acknowledged over both)", f, acked)
	}
	var stdout, stderr strings.Builder
	code = run(t.Context(), []string{"-endpoint", s.Endpoint, "-stream", "some", "-subscribers", "1", "-subscribe-shards", "3",
		"-json-only", "-duration", "100ms", "-read=false"}, noEnv, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "-subscribe-shards: 3, but the stream has 2 open shards") {
		t.Errorf("exit %d, stderr %q; want exit 1 for more shards than the stream has", code, stderr.String())
	}
}

func streamARN(t *testing.T, s *kinesistest.Server, name string) *string {
	t.Helper()
	out, err := s.Client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.StreamDescriptionSummary.StreamARN
}

// TestBenchSubscribersRefused: a consumer the server will not register fails the setup (exit 1), and
// the ones registered before it are deregistered.
func TestBenchSubscribersRefused(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{})
	makeStream(t, s.Client, "few", 1)
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"-endpoint", s.Endpoint, "-stream", "few", "-subscribers", "21", "-json-only", "-duration", "100ms"},
		noEnv, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "LimitExceededException") {
		t.Errorf("exit %d, stderr %q; want exit 1 with LimitExceededException", code, stderr.String())
	}
	out, err := s.Client.ListStreamConsumers(t.Context(), &kinesis.ListStreamConsumersInput{StreamARN: streamARN(t, s, "few")})
	if err != nil || len(out.Consumers) != 0 {
		t.Errorf("consumers after the run: %v, %v; want none", out, err)
	}
}

// TestCountOrder: count finds the records that do not come after the one before them, across events.
func TestCountOrder(t *testing.T) {
	tests := []struct {
		name   string
		events [][]string // sequence numbers of each event's records
		want   int64
	}{
		{"in order", [][]string{{"8", "9"}, {}, {"10", "11"}, {"100"}}, 0},
		{"repeated", [][]string{{"8", "9"}, {"9", "10"}}, 1},
		{"back within an event", [][]string{{"12", "11", "13"}}, 1},
		{"shorter is smaller", [][]string{{"99"}, {"100", "99"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fanOut{acks: &ackTimes{seed: maphash.MakeSeed()}}
			var last []byte
			var lags lagSamples
			for _, seqs := range tt.events {
				ev := subscribeEvent{}
				for _, s := range seqs {
					ev.records = append(ev.records, getRecord{seq: []byte(s)})
				}
				f.count(&ev, &lags, &last)
			}
			if got := f.outOfOrder.Load(); got != tt.want {
				t.Errorf("%d out of order, want %d", got, tt.want)
			}
		})
	}
}

func TestParseSubscribeEvent(t *testing.T) {
	type rec struct{ SequenceNumber, Data, PartitionKey string }
	tests := []struct {
		name      string
		payload   any
		records   int
		cont      string
		behind    float64
		children  bool
		wantError bool
	}{
		{"records", map[string]any{"Records": []rec{{"1", "AAE=", "k"}, {"2", "", "l"}}, "ContinuationSequenceNumber": "2", "MillisBehindLatest": 7}, 2, "2", 7, false, false},
		{"idle", map[string]any{"Records": []rec{}, "ContinuationSequenceNumber": "3", "MillisBehindLatest": 0}, 0, "3", 0, false, false},
		{"shard end", map[string]any{"Records": []rec{}, "MillisBehindLatest": 0, "ChildShards": []any{map[string]any{"ShardId": "s1", "ParentShards": []string{"s0"}}}}, 0, "", 0, true, false},
		{"nulls", map[string]any{"Records": []rec{}, "ContinuationSequenceNumber": nil, "MillisBehindLatest": nil, "ChildShards": nil}, 0, "", 0, false, false},
		{"not JSON", "{", 0, "", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(tt.payload)
			if s, ok := tt.payload.(string); ok {
				body = []byte(s)
			}
			var ev subscribeEvent
			err := parseSubscribeEvent(body, &ev)
			if tt.wantError {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil || len(ev.records) != tt.records || string(ev.cont) != tt.cont || ev.behind != tt.behind || ev.children != tt.children {
				t.Errorf("%s: %+v, %v", body, ev, err)
			}
		})
	}
}

// TestAckTimes: the workers and the subscriptions sample the same records, about one in ackSample; a
// record's lag is from its acknowledgment, and a record received before it is acknowledged counts as
// 0, early.
func TestAckTimes(t *testing.T) {
	a := &ackTimes{seed: maphash.MakeSeed()}
	var sampled [][]byte
	for i := range 100 * ackSample {
		seq := []byte(fmt.Sprintf("4960%052d", i))
		if _, ok := a.sampled(seq); ok {
			sampled = append(sampled, seq)
		}
	}
	if n := len(sampled); n < 50 || n > 200 {
		t.Fatalf("%d of %d sequence numbers sampled, want about 100", n, 100*ackSample)
	}
	t0 := time.Now()
	var l lagSamples
	h, _ := a.sampled(sampled[0])
	l.add(a.lag(h, t0)) // before its acknowledgment
	a.ack(sampled[0], t0)
	l.add(a.lag(h, t0.Add(3*time.Millisecond)))
	l.add(a.lag(h, t0.Add(-time.Millisecond))) // a clock step back
	if want := []time.Duration{0, 3 * time.Millisecond, 0}; !slices.Equal(l.lags, want) || l.early != 1 {
		t.Errorf("lags %v, %d early; want %v, 1 early", l.lags, l.early, want)
	}
}

// TestCountBytes: count adds each record's data and key bytes, its data decoded from the text as
// sent, escapes and all.
func TestCountBytes(t *testing.T) {
	body := []byte(`{"Records":[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1,"Data":"YWJj","PartitionKey":"k"},` +
		`{"SequenceNumber":"2","ApproximateArrivalTimestamp":1,"Data":"\/\/8=","PartitionKey":"kl"},` +
		`{"SequenceNumber":"3","Data":"\u0059\u0051==","PartitionKey":"k"}],"MillisBehindLatest":0}`)
	var ev subscribeEvent
	if err := parseSubscribeEvent(body, &ev); err != nil {
		t.Fatal(err)
	}
	f := &fanOut{acks: &ackTimes{seed: maphash.MakeSeed()}}
	var last []byte
	f.count(&ev, &lagSamples{}, &last)
	if got, want := f.bytes.Load(), int64(3+1+2+2+1+1); got != want {
		t.Errorf("%d bytes, want %d", got, want)
	}
}
