package api_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// SubscribeToShard across a resubscription and a split, consumed the way KCL consumes with enhanced
// fan-out: records written while subscribed arrive, per shard, in order and exactly once; a
// subscription resumed AFTER the last ContinuationSequenceNumber goes on where the last one stopped;
// the parent's last event names the children, and subscriptions to them (TRIM_HORIZON) get everything
// written to them. Over HTTP/1.1 (the Go SDK on http://) and over TLS with HTTP/2 (ALPN, the server's
// generated certificate trusted by the client's transport).

// protoRecorder counts the responses that went over a transport by operation and protocol.
type protoRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	protos map[string]int // "SubscribeToShard HTTP/2.0" → responses
}

func (p *protoRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(req)
	if err == nil {
		op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
		p.mu.Lock()
		p.protos[op+" "+resp.Proto]++
		p.mu.Unlock()
	}
	return resp, err
}

func (p *protoRecorder) count(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.protos[key]
}

// tlsTransport trusts the PEM certificate in certFile and offers HTTP/2 and HTTP/1.1 by ALPN.
func tlsTransport(t *testing.T, certFile string) *http.Transport {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", certFile)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Protocols: &protocols}
}

// splitWriter writes batches of records with random partition keys until stopped and keeps what was
// acknowledged, per shard, in acknowledgement order (one writer: the shard's sequence order).
type splitWriter struct {
	stop, done chan struct{}
	mu         sync.Mutex
	acked      map[string][]string // shard id → sequence numbers
	data       map[string]string   // sequence number → data
	err        error
}

func startWriter(t *testing.T, c *kinesis.Client, stream string) *splitWriter {
	w := &splitWriter{stop: make(chan struct{}), done: make(chan struct{}), acked: map[string][]string{}, data: map[string]string{}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(2 * time.Millisecond) // a steady trickle, not a flood
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			entries := make([]types.PutRecordsRequestEntry, 5)
			for i := range entries {
				entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(rand.Text()), Data: fmt.Appendf(nil, "batch %d record %d", n, i)}
			}
			out, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			w.mu.Lock()
			if err == nil && aws.ToInt32(out.FailedRecordCount) != 0 {
				err = fmt.Errorf("PutRecords: %d failed: %s", *out.FailedRecordCount, aws.ToString(out.Records[0].ErrorCode))
			}
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			for i, r := range out.Records {
				w.acked[*r.ShardId] = append(w.acked[*r.ShardId], *r.SequenceNumber)
				w.data[*r.SequenceNumber] = string(entries[i].Data)
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.halt)
	return w
}

func (w *splitWriter) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// written returns what was acknowledged for shard so far; it fails the test once a write failed.
func (w *splitWriter) written(t *testing.T, shard string) []string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	return slices.Clone(w.acked[shard])
}

// readUntil reads events until at least n records have come in all, or the shard's last event;
// it returns the records and the last event read.
func (s *subscription) readUntil(recs []types.Record, n int) ([]types.Record, *types.SubscribeToShardEvent) {
	s.t.Helper()
	var last *types.SubscribeToShardEvent
	for len(recs) < n {
		if last = s.next(); last == nil {
			s.t.Fatalf("stream ended after %d of %d records: %v", len(recs), n, s.Stream.Err())
		}
		recs = append(recs, last.Records...)
		if len(last.ChildShards) > 0 {
			break
		}
	}
	return recs, last
}

func TestSubscribeAcrossResubscribeAndSplit(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Configure: func(c *config.Config) {
		withSubscribe(time.Minute, 100*time.Millisecond)(c)
		c.ThroughputLimits = false // the writer runs on a clock that stands still
		c.TLSListen = "127.0.0.1:0"
	}})
	transports := []struct {
		name, endpoint, proto string
		transport             func() http.RoundTripper
	}{
		{"HTTP/1.1", s.Endpoint, "HTTP/1.1", func() http.RoundTripper { return &http.Transport{} }},
		{"TLS HTTP/2", "https://" + s.TLSAddr(), "HTTP/2.0", func() http.RoundTripper { return tlsTransport(t, s.TLSCertFile()) }},
	}
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			rec := &protoRecorder{next: tr.transport(), protos: map[string]int{}}
			client := func() *kinesis.Client { return kinesistest.NewClientTransport(tr.endpoint, rec) }
			stream := fmt.Sprintf("split%d", i)
			c := client()
			createStream(t, c, stream, 1)
			arn := *register(t, c, stream, "kcl").ConsumerARN
			subscribeTo := func(shard string, pos types.StartingPosition) *subscription {
				t.Helper()
				sub, err := subscribeWith(t, client(), arn, shard, pos)
				if err != nil {
					t.Fatalf("SubscribeToShard %s %s: %v", shard, pos.Type, err)
				}
				return sub
			}

			sub := subscribeTo(shard0, latestPos)
			sub.next() // the subscription stands at the shard's end: what follows is written during it
			w := startWriter(t, c, stream)

			// Part of the records, then the subscription is dropped and resumed from its continuation.
			got, last := sub.readUntil(nil, 40)
			sub.Stream.Close()
			elapse(t, s, takeover)
			sub = subscribeTo(shard0, afterPos(*last.ContinuationSequenceNumber))
			got, last = sub.readUntil(got, len(got)+40)

			// The shard splits while the writer goes on; the parent's subscription reads to its end.
			mid := new(big.Int).Lsh(big.NewInt(1), 127).String()
			if _, err := c.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: aws.String(stream),
				ShardToSplit: aws.String(shard0), NewStartingHashKey: aws.String(mid)}); err != nil {
				t.Fatalf("SplitShard: %v", err)
			}
			for len(last.ChildShards) == 0 {
				got, last = sub.readUntil(got, len(got)+1)
			}
			if err := sub.ended(); err != nil {
				t.Fatalf("parent subscription ended with %v after its last event, want a clean end", err)
			}
			if last.ContinuationSequenceNumber != nil {
				t.Errorf("the parent's last event carries continuation %s", *last.ContinuationSequenceNumber)
			}
			var children []string
			for _, ch := range last.ChildShards {
				if !slices.Equal(ch.ParentShards, []string{shard0}) {
					t.Errorf("child %s has parents %v", *ch.ShardId, ch.ParentShards)
				}
				children = append(children, *ch.ShardId)
			}
			if !slices.Equal(children, []string{"shardId-000000000001", "shardId-000000000002"}) {
				t.Fatalf("ChildShards %v", children)
			}

			// The children, followed as KCL does: from TRIM_HORIZON, with the same consumer.
			subs := make([]*subscription, len(children))
			gotChild := make([][]types.Record, len(children))
			for j, ch := range children {
				subs[j] = subscribeTo(ch, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
			}
			for j := range children {
				gotChild[j], _ = subs[j].readUntil(nil, 20)
			}
			w.halt() // every write acknowledged: what each shard must have delivered is known
			wantSplit(t, got, w.written(t, shard0), w)
			for j, ch := range children {
				want := w.written(t, ch)
				gotChild[j], _ = subs[j].readUntil(gotChild[j], len(want))
				if ev := subs[j].next(); len(ev.Records) != 0 {
					t.Errorf("%s: %d records beyond what was written", ch, len(ev.Records))
				}
				wantSplit(t, gotChild[j], want, w)
			}

			t.Logf("delivered once and in order: %d records from the parent (resubscribed once), %d and %d from the children",
				len(got), len(gotChild[0]), len(gotChild[1]))
			if n := rec.count("SubscribeToShard " + tr.proto); n != 4 {
				t.Errorf("%d SubscribeToShard responses over %s, want 4 (%v)", n, tr.proto, rec.protos)
			}
		})
	}
}

// wantSplit checks records are exactly the sequence numbers want, in order, with the data written.
func wantSplit(t *testing.T, recs []types.Record, want []string, w *splitWriter) {
	t.Helper()
	wantSeqs(t, recs, want)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range recs {
		if d := w.data[*r.SequenceNumber]; string(r.Data) != d {
			t.Fatalf("record %s: data %q, written %q", *r.SequenceNumber, r.Data, d)
		}
	}
}
