package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"kinesisd/internal/identity"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"
	"kinesisd/internal/storage/pebble"
)

// newTestService is a Service over an in-memory Pebble with stream "s" of shards shards.
func newTestService(t *testing.T, shards int64) *service.Service {
	t.Helper()
	st, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := service.New(t.Context(), service.Config{Store: st, ThroughputLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateStream(t.Context(), &service.CreateStreamInput{StreamName: ptr("s"), ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	return svc
}

func ptr[T any](v T) *T { return &v }

func put(t *testing.T, svc *service.Service, recs ...service.PutRecordsRequestEntry) {
	t.Helper()
	out, err := svc.PutRecords(t.Context(), &service.PutRecordsInput{StreamRef: service.StreamRef{StreamName: ptr("s")}, Records: recs})
	if err != nil || out.FailedRecordCount > 0 {
		t.Fatalf("put: %v %+v", err, out)
	}
}

func entry(key, data string) service.PutRecordsRequestEntry {
	return service.PutRecordsRequestEntry{PartitionKey: &key, Data: []byte(data)}
}

// event is one server-sent event.
type event struct {
	name string
	data map[string]json.RawMessage
}

// openTail starts a tail request and returns its events, read in the background, and its response.
func openTail(t *testing.T, ctx context.Context, url string, sign func(*http.Request)) (*http.Response, <-chan event) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sign != nil {
		sign(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan event, 1024)
	if resp.StatusCode != http.StatusOK {
		close(events)
		return resp, events
	}
	go func() {
		defer close(events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 16<<20)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[len("data: "):]), &ev.data); err != nil {
					panic(err)
				}
			case line == "" && ev.name != "":
				events <- ev
				ev = event{}
			}
		}
	}()
	return resp, events
}

// next waits for the next event named name, skipping others.
func next(t *testing.T, events <-chan event, name string) event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("tail ended before event %q", name)
			}
			if ev.name == "error" {
				t.Fatalf("error event: %s", ev.data["message"])
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event %q in 10 s", name)
		}
	}
}

// TestTail follows a stream from TRIM_HORIZON: records already there and new ones, plain and KPL
// aggregated, then a split, whose children the tail starts reading once the parent ends. The tail's
// reads leave a shard's GetRecords limit (5 calls a second) untouched, and closing the request frees
// its place among the MaxTails.
func TestTail(t *testing.T) {
	svc := newTestService(t, 1)
	h := New(Options{Service: svc, MaxTails: 1})
	srv := httptest.NewServer(h)
	defer srv.Close()
	put(t, svc, entry("k1", "hello"), entry("k2", `{"a":1}`))

	ctx, cancel := context.WithCancel(t.Context())
	resp, events := openTail(t, ctx, srv.URL+"/console/api/tail?stream=s&from=TRIM_HORIZON", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := string(next(t, events, "shards").data["shards"]); got != `["shardId-000000000000"]` {
		t.Errorf("shards %s", got)
	}
	var recs []wireRecord
	for len(recs) < 2 {
		json.Unmarshal(next(t, events, "records").data["records"], &recs)
	}
	if recs[0].Key != "k1" || string(recs[0].Data) != "hello" || recs[1].Key != "k2" || string(recs[1].Data) != `{"a":1}` || recs[0].Seq == "" || recs[0].Arrival == 0 {
		t.Errorf("records %+v", recs)
	}

	// A busy tail: 50 reads' worth of records while a real consumer reads at its limit.
	agg := aggregate([]UserRecord{{PartitionKey: "u1", Data: []byte("first")}, {PartitionKey: "u2", Data: []byte("second")}})
	put(t, svc, service.PutRecordsRequestEntry{PartitionKey: ptr("agg"), Data: agg})
	json.Unmarshal(next(t, events, "records").data["records"], &recs)
	if len(recs) != 1 || len(recs[0].User) != 2 || recs[0].User[0].Key != "u1" || string(recs[0].User[1].Data) != "second" {
		t.Errorf("aggregated record: %+v", recs)
	}
	it, err := svc.GetShardIterator(t.Context(), &service.GetShardIteratorInput{StreamRef: service.StreamRef{StreamName: ptr("s")},
		ShardId: ptr("shardId-000000000000"), ShardIteratorType: ptr("LATEST")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		put(t, svc, entry(fmt.Sprint("busy", i), "x"))
		next(t, events, "records")
	}
	if _, err := svc.GetRecords(t.Context(), &service.GetRecordsInput{ShardIterator: &it.ShardIterator}); err != nil {
		t.Errorf("a consumer's first GetRecords after 50 tail reads: %v", err)
	}

	// A split: the parent ends, its children are read.
	if err := svc.SplitShard(t.Context(), &service.SplitShardInput{StreamRef: service.StreamRef{StreamName: ptr("s")},
		ShardToSplit: ptr("shardId-000000000000"), NewStartingHashKey: ptr("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	end := next(t, events, "end")
	if got := string(end.data["children"]); got != `["shardId-000000000001","shardId-000000000002"]` {
		t.Errorf("children %s", got)
	}
	next(t, events, "shards")
	put(t, svc, entry("after-split", "child"))
	for {
		ev := next(t, events, "records")
		json.Unmarshal(ev.data["records"], &recs)
		if recs[0].Key == "after-split" {
			if sh := string(ev.data["shard"]); sh != `"shardId-000000000001"` && sh != `"shardId-000000000002"` {
				t.Errorf("record in %s", sh)
			}
			break
		}
	}

	// MaxTails is 1: a second tail is refused until the first goes.
	resp2, _ := openTail(t, t.Context(), srv.URL+"/console/api/tail?stream=s", nil)
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second tail: %d, want 503", resp2.StatusCode)
	}
	cancel()
	for range events {
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp3, _ := openTail(t, t.Context(), srv.URL+"/console/api/tail?stream=s", nil)
		resp3.Body.Close()
		if resp3.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tail's place was not freed after its request ended: %d", resp3.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTailErrors checks the answers to requests that cannot be tailed.
func TestTailErrors(t *testing.T) {
	svc := newTestService(t, 1)
	srv := httptest.NewServer(New(Options{Service: svc}))
	defer srv.Close()
	tests := []struct {
		name, query string
		status      int
		code        string
	}{
		{"no stream", "stream=nope", 400, "ResourceNotFoundException"},
		{"bad type", "stream=s&from=SOMEWHERE", 400, "InvalidArgumentException"},
		{"bad timestamp", "stream=s&from=AT_TIMESTAMP&ts=x", 400, "InvalidArgumentException"},
		{"bad sequence number", "stream=s&from=AT_SEQUENCE_NUMBER&seq=12", 400, "InvalidArgumentException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := openTail(t, t.Context(), srv.URL+"/console/api/tail?"+tt.query, nil)
			defer resp.Body.Close()
			var body map[string]string
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || body["__type"] != tt.code {
				t.Errorf("%d %v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /console/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestConsoleAuth checks that with a verifier the endpoints need a signature by a listed key.
func TestConsoleAuth(t *testing.T) {
	svc := newTestService(t, 1)
	keys := identity.Keys{"AKIDCONSOLE": {Secret: "right-secret", Account: "000000000000"}}
	srv := httptest.NewServer(New(Options{Service: svc, Auth: sigv4.NewVerifier(keys.Secrets(), "", nil), Keys: keys}))
	defer srv.Close()
	signer := v4.NewSigner()
	sign := func(key, secret string) func(*http.Request) {
		return func(r *http.Request) {
			err := signer.SignHTTP(r.Context(), awsCreds(key, secret), r, emptySHA256, "kinesis", "us-east-1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		sign   func(*http.Request)
		status int
		code   string
	}{
		{"unsigned", nil, 403, "MissingAuthenticationTokenException"},
		{"wrong secret", sign("AKIDCONSOLE", "wrong-secret"), 403, "InvalidSignatureException"},
		{"unknown key", sign("AKIDOTHER", "right-secret"), 403, "UnrecognizedClientException"},
		{"right secret", sign("AKIDCONSOLE", "right-secret"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			resp, events := openTail(t, ctx, srv.URL+"/console/api/tail?stream=s", tt.sign)
			if resp.StatusCode != tt.status {
				t.Errorf("tail: %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.code {
				t.Errorf("error %q, want %q", got, tt.code)
			}
			if tt.status == 200 {
				next(t, events, "shards")
			}
			cancel()
			resp.Body.Close()
		})
	}
	resp, err := http.Get(srv.URL + "/console/api/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg map[string]any
	json.NewDecoder(resp.Body).Decode(&cfg)
	if cfg["auth"] != true {
		t.Errorf("config %v: auth should be true", cfg)
	}
}

// emptySHA256 is the SHA-256 of an empty body, in hex.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func awsCreds(key, secret string) aws.Credentials {
	return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
}

// TestSubscriptions checks /console/api/subscriptions: a consumer's open SubscribeToShard shows, and
// goes once the subscription ends.
func TestSubscriptions(t *testing.T) {
	svc := newTestService(t, 2)
	srv := httptest.NewServer(New(Options{Service: svc}))
	defer srv.Close()
	sum, err := svc.DescribeStreamSummary(t.Context(), &service.DescribeStreamSummaryInput{StreamRef: service.StreamRef{StreamName: ptr("s")}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := svc.RegisterStreamConsumer(t.Context(), &service.RegisterStreamConsumerInput{StreamARN: &sum.StreamDescriptionSummary.StreamARN, ConsumerName: ptr("c1")})
	if err != nil {
		t.Fatal(err)
	}
	list := func() string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/console/api/subscriptions?stream=s")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Subscriptions []map[string]any }
		json.NewDecoder(resp.Body).Decode(&out)
		var got []string
		for _, s := range out.Subscriptions {
			got = append(got, fmt.Sprint(s["consumer"], "/", s["shard"]))
		}
		return strings.Join(got, ",")
	}
	if got := list(); got != "" {
		t.Errorf("before subscribing: %q", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, events, err := svc.SubscribeToShard(ctx, &service.SubscribeToShardInput{ConsumerARN: &reg.Consumer.ConsumerARN,
		ShardId: ptr("shardId-000000000001"), StartingPosition: &service.StartingPosition{Type: ptr("LATEST")}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range events {
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for list() != "c1/shardId-000000000001" {
		if time.Now().After(deadline) {
			t.Fatalf("subscription not listed: %q", list())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	for list() != "" {
		if time.Now().After(deadline) {
			t.Fatalf("subscription still listed after it ended: %q", list())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTailFrom checks where a tail starts: TRIM_HORIZON at the first record, AT_SEQUENCE_NUMBER at
// that record (the other shards from LATEST), AT_TIMESTAMP at the first record at or after the time,
// LATEST after the last.
func TestTailFrom(t *testing.T) {
	svc := newTestService(t, 1)
	srv := httptest.NewServer(New(Options{Service: svc}))
	defer srv.Close()
	out, err := svc.PutRecords(t.Context(), &service.PutRecordsInput{StreamRef: service.StreamRef{StreamName: ptr("s")},
		Records: []service.PutRecordsRequestEntry{entry("a", "1"), entry("b", "2"), entry("c", "3")}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the next record's arrival is a later millisecond
	at := time.Now()
	time.Sleep(5 * time.Millisecond)
	put(t, svc, entry("d", "4"))
	tests := []struct {
		name, query string
		first       string
	}{
		{"trim horizon", "from=TRIM_HORIZON", "a"},
		{"at sequence number", "from=AT_SEQUENCE_NUMBER&seq=" + out.Records[1].SequenceNumber, "b"},
		{"at timestamp", fmt.Sprintf("from=AT_TIMESTAMP&ts=%d", at.UnixMilli()), "d"},
		{"latest", "from=LATEST", "e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			resp, events := openTail(t, ctx, srv.URL+"/console/api/tail?stream=s&"+tt.query, nil)
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("tail: %d", resp.StatusCode)
			}
			next(t, events, "shards")
			if tt.first == "e" {
				put(t, svc, entry("e", "5"))
			}
			var recs []wireRecord
			json.Unmarshal(next(t, events, "records").data["records"], &recs)
			if recs[0].Key != tt.first {
				t.Errorf("first record %q, want %q", recs[0].Key, tt.first)
			}
		})
	}
}

// TestTailEnds checks that a tail ends with an error event when its stream is deleted, and when the
// server shuts down (Service.EndSubscriptions, which the server calls at shutdown).
func TestTailEnds(t *testing.T) {
	svc := newTestService(t, 2)
	srv := httptest.NewServer(New(Options{Service: svc}))
	defer srv.Close()
	waitError := func(events <-chan event, code string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("the tail ended without an error event")
				}
				if ev.name == "error" {
					if got := string(ev.data["__type"]); got != `"`+code+`"` {
						t.Errorf("error %s, want %s", got, code)
					}
					if _, ok := <-events; ok {
						t.Error("events after the error")
					}
					return
				}
			case <-timeout:
				t.Fatalf("no error event in 10 s")
			}
		}
	}
	_, events := openTail(t, t.Context(), srv.URL+"/console/api/tail?stream=s", nil)
	next(t, events, "shards")
	if err := svc.DeleteStream(t.Context(), &service.DeleteStreamInput{StreamRef: service.StreamRef{StreamName: ptr("s")}}); err != nil {
		t.Fatal(err)
	}
	waitError(events, "ResourceNotFoundException")

	shards := int64(1)
	if err := svc.CreateStream(t.Context(), &service.CreateStreamInput{StreamName: ptr("s2"), ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	_, events = openTail(t, t.Context(), srv.URL+"/console/api/tail?stream=s2", nil)
	next(t, events, "shards")
	svc.EndSubscriptions()
	waitError(events, "ShutdownException")
}
