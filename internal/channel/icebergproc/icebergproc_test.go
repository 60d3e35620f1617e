package icebergproc

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kinesisd/internal/channel/s3dest"
)

// childEnv, set in the environment, makes the test binary the child: it serves a fakeWriter on its
// stdin and stdout (TestMain), as cmd/kinesisd-iceberg serves the real writer.
const childEnv = "ICEBERGPROC_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		log := slog.New(slog.NewTextHandler(os.Stderr, nil))
		if err := Serve(context.Background(), os.Stdin, os.Stdout, func(_ context.Context, cfg Config) (Writer, error) {
			if cfg.Warehouse == "fail-open" {
				return nil, errors.New("no such warehouse: fail-open")
			}
			log.Info("fake writer open", "warehouse", cfg.Warehouse)
			return newFakeWriter(cfg, true), nil
		}); err != nil {
			log.Error("serve", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeWriter is a TableStore in memory. Records whose data is "bad" are rejected; by table name:
// "fail" fails, "hang" (slow only) waits for its context, "barrier" waits until 4 calls to it are
// in progress at once; Position of "pid" is the process id, of "config" the Config.
type fakeWriter struct {
	cfg  Config
	slow bool // the child's: "hang" and "barrier" wait

	mu        sync.Mutex
	positions map[string]string
	barrier   int
	arrived   chan struct{}
}

func newFakeWriter(cfg Config, slow bool) *fakeWriter {
	return &fakeWriter{cfg: cfg, slow: slow, positions: map[string]string{}, arrived: make(chan struct{})}
}

func (f *fakeWriter) Append(ctx context.Context, t Table, recs []s3dest.Record, position string, deadLetters func([]s3dest.Rejected) error) ([]s3dest.Rejected, error) {
	switch {
	case t.Name == "fail":
		return nil, fmt.Errorf("table %s: commit refused", t.Name)
	case t.Name == "hang" && f.slow:
		<-ctx.Done()
		return nil, ctx.Err()
	case t.Name == "barrier" && f.slow:
		f.mu.Lock()
		if f.barrier++; f.barrier == 4 {
			close(f.arrived)
		}
		f.mu.Unlock()
		select {
		case <-f.arrived:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var rej []s3dest.Rejected
	for _, r := range recs {
		if string(r.Data) == "bad" {
			rej = append(rej, s3dest.Rejected{Record: r, Reason: "not a JSON object"})
		}
	}
	if len(rej) > 0 && deadLetters != nil {
		if err := deadLetters(rej); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.positions[t.Name] = position
	f.mu.Unlock()
	return rej, nil
}

func (f *fakeWriter) Position(_ context.Context, t Table) (string, bool, error) {
	switch t.Name {
	case "pid":
		return strconv.Itoa(os.Getpid()), true, nil
	case "config":
		return fmt.Sprintf("%+v", f.cfg), true, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.positions[t.Name]
	return p, ok, nil
}

func (f *fakeWriter) Close() error { return nil }

// logBuffer is a slog handler's output, safe for the client's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newClient returns a Client whose child is this test binary serving a fakeWriter, closed when the
// test ends, and its log.
func newClient(t *testing.T, cfg Config) (*Client, *logBuffer) {
	t.Helper()
	t.Setenv(childEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	c := New(exe, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { c.Close() })
	return c, &logs
}

func table(name string) Table {
	return Table{Bucket: "arn:aws:s3tables:us-east-1:000000000000:bucket/b", Namespace: "ns", Name: name}
}

func recs(datas ...string) []s3dest.Record {
	out := make([]s3dest.Record, len(datas))
	for i, d := range datas {
		out[i] = s3dest.Record{Data: []byte(d), PartitionKey: "pk", SequenceNumber: strconv.Itoa(i), ShardID: "shardId-000000000000",
			Arrival: time.Date(2026, 12, 5, 20, 0, i, 0, time.UTC)}
	}
	return out
}

func childPid(t *testing.T, c *Client) int {
	t.Helper()
	p, _, err := c.Position(t.Context(), table("pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestClientCalls: the configuration reaches the child; results, positions and errors come back;
// the child's log reaches the client's logger; the child starts on the first call only.
func TestClientCalls(t *testing.T) {
	cfg := Config{Warehouse: "/w", S3Endpoint: "http://s3", S3AccessKey: "key", S3Secret: "secret", Region: "eu-west-1"}
	c, logs := newClient(t, cfg)
	if c.child != nil {
		t.Fatal("child started before the first call")
	}
	tests := []struct {
		name    string
		table   string
		recs    []s3dest.Record
		wantRej int
		wantErr string
	}{
		{name: "all good", table: "t1", recs: recs(`{"a":1}`, `{"a":2}`)},
		{name: "one rejected, no callback", table: "t2", recs: recs(`{"a":1}`, "bad"), wantRej: 1},
		{name: "error as text", table: "fail", recs: recs(`{"a":1}`), wantErr: "kinesisd-iceberg: table fail: commit refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rej, err := c.Append(t.Context(), table(tt.table), tt.recs, "pos-"+tt.name, nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(rej) != tt.wantRej {
				t.Fatalf("rejected %v, err %v; want %d rejected", rej, err, tt.wantRej)
			}
			for _, r := range rej {
				if want := tt.recs[1]; !r.Record.Arrival.Equal(want.Arrival) || r.Record.ShardID != want.ShardID || r.Reason == "" {
					t.Errorf("rejected %+v, want record %+v with a reason", r, want)
				}
			}
			p, ok, err := c.Position(t.Context(), table(tt.table))
			if err != nil || !ok || p != "pos-"+tt.name {
				t.Fatalf("Position = %q, %t, %v; want the appended one", p, ok, err)
			}
		})
	}
	if _, ok, err := c.Position(t.Context(), table("never")); ok || err != nil {
		t.Errorf("Position of a table never appended: ok %t, err %v", ok, err)
	}
	got, _, err := c.Position(t.Context(), table("config"))
	if want := fmt.Sprintf("%+v", cfg); err != nil || got != want {
		t.Errorf("the child's Config %q, %v; want %q", got, err, want)
	}
	if !strings.Contains(logs.String(), "fake writer open") || !strings.Contains(logs.String(), "warehouse=/w") {
		t.Errorf("the child's log line is not in the client's log:\n%s", logs)
	}
}

// TestClientDeadLetters: the callback runs before the commit (a Position asked from inside it sees
// the old position), its error fails the Append and commits nothing.
func TestClientDeadLetters(t *testing.T) {
	c, _ := newClient(t, Config{})
	tb := table("dl")
	if _, err := c.Append(t.Context(), tb, recs(`{}`), "p1", nil); err != nil {
		t.Fatal(err)
	}
	var got []s3dest.Rejected
	rej, err := c.Append(t.Context(), tb, recs(`{}`, "bad", "bad"), "p2", func(r []s3dest.Rejected) error {
		got = r
		p, _, err := c.Position(t.Context(), tb)
		if err != nil || p != "p1" {
			return fmt.Errorf("position inside the callback %q, %v: want p1, not yet committed", p, err)
		}
		return nil
	})
	if err != nil || len(rej) != 2 || len(got) != 2 || string(got[0].Record.Data) != "bad" {
		t.Fatalf("Append: rejected %v, callback got %v, err %v", rej, got, err)
	}
	if p, _, _ := c.Position(t.Context(), tb); p != "p2" {
		t.Fatalf("position %q after the Append, want p2", p)
	}
	_, err = c.Append(t.Context(), tb, recs("bad"), "p3", func([]s3dest.Rejected) error { return errors.New("bucket dead is gone") })
	if err == nil || !strings.Contains(err.Error(), "bucket dead is gone") {
		t.Fatalf("Append with a failing callback: %v, want its error", err)
	}
	if p, _, _ := c.Position(t.Context(), tb); p != "p2" {
		t.Fatalf("position %q after a failed callback, want p2 (nothing committed)", p)
	}
}

// TestClientConcurrent: calls run at once in the child (the barrier table releases its calls only
// when 4 are in progress together), with dead letters crossing each other.
func TestClientConcurrent(t *testing.T) {
	c, _ := newClient(t, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 4 {
		wg.Go(func() {
			_, err := c.Append(ctx, table("barrier"), recs(`{}`), strconv.Itoa(i), nil)
			errs <- err
		})
	}
	for i := range 20 {
		wg.Go(func() {
			name := fmt.Sprintf("t%d", i)
			var n int
			rej, err := c.Append(ctx, table(name), recs("bad", `{}`, "bad"), name, func(r []s3dest.Rejected) error {
				n = len(r)
				return nil
			})
			if err == nil && (len(rej) != 2 || n != 2) {
				err = fmt.Errorf("%s: %d rejected, %d dead letters; want 2", name, len(rej), n)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestClientChildDies: SIGKILL of the child fails the call in progress with a clear error, and the
// next call starts another child.
func TestClientChildDies(t *testing.T) {
	c, logs := newClient(t, Config{})
	pid := childPid(t, c)
	done := make(chan error, 1)
	go func() {
		_, err := c.Append(t.Context(), table("hang"), recs(`{}`), "p", nil)
		done <- err
	}()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "signal: killed") || !strings.Contains(err.Error(), "outcome of its calls in progress is unknown") {
			t.Fatalf("the call in progress: %v, want the child's death", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the call in progress still waits 30 s after the child died")
	}
	if again := childPid(t, c); again == pid {
		t.Fatalf("the next call went to the dead child %d", pid)
	}
	if !strings.Contains(logs.String(), "Iceberg writer ended") {
		t.Errorf("the child's end is not logged:\n%s", logs)
	}
}

// TestClientCancel: a call whose context ends returns at once; the child lives on.
func TestClientCancel(t *testing.T) {
	c, _ := newClient(t, Config{})
	pid := childPid(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Append(ctx, table("hang"), recs(`{}`), "p", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append: %v, want the deadline", err)
	}
	if again := childPid(t, c); again != pid {
		t.Fatalf("child %d after a cancelled call, want %d still", again, pid)
	}
}

// TestClientOpenFails: the child's failure to open its writer is each call's error.
func TestClientOpenFails(t *testing.T) {
	c, _ := newClient(t, Config{Warehouse: "fail-open"})
	for range 2 {
		_, _, err := c.Position(t.Context(), table("t"))
		if err == nil || !strings.Contains(err.Error(), "could not start: no such warehouse: fail-open") {
			t.Fatalf("Position: %v, want the open error", err)
		}
	}
}

// TestClientClose: Close ends the child (its stdin closed), and later calls fail.
func TestClientClose(t *testing.T) {
	c, _ := newClient(t, Config{})
	pid := childPid(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child %d after Close: kill -0 says %v, want no such process", pid, err)
	}
	if _, _, err := c.Position(t.Context(), table("t")); !errors.Is(err, ErrClosed) {
		t.Errorf("Position after Close: %v, want ErrClosed", err)
	}
}

// TestServeBadInput: Serve refuses what is not the protocol, with an error.
func TestServeBadInput(t *testing.T) {
	for _, tt := range serveSeeds(t) {
		t.Run(tt.name, func(t *testing.T) {
			err := serveBytes(t, tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Serve: %v, want an error: %t", err, tt.wantErr)
			}
		})
	}
}

type serveSeed struct {
	name    string
	in      []byte
	wantErr bool
}

// serveSeeds are inputs of Serve: gob streams of requests, whole and broken.
func serveSeeds(t testing.TB) []serveSeed {
	frames := func(reqs ...request) []byte {
		var b bytes.Buffer
		enc := gob.NewEncoder(&b)
		for _, r := range reqs {
			if err := enc.Encode(&r); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	hello := request{Op: opHello, Config: &Config{Warehouse: "/w"}}
	appendReq := request{ID: 1, Op: opAppend, Table: table("t"), Records: recs("bad", `{}`), Position: "p", DeadLetters: true}
	// An Append in three frames, as split sends one of more than maxFrameBytes.
	inFrames := []request{
		{ID: 3, Op: opAppend, Table: table("t"), Records: recs(`{}`), Position: "p", More: true},
		{ID: 3, Op: opRecords, Records: recs("bad"), More: true},
		{ID: 3, Op: opRecords, Records: recs(`{}`)},
	}
	whole := frames(hello, appendReq, request{ID: 1, Op: opDeadDone}, request{ID: 2, Op: opPosition, Table: table("t")}, request{ID: 2, Op: opCancel})
	return []serveSeed{
		{name: "empty", in: nil, wantErr: true},
		{name: "hello only", in: frames(hello)},
		{name: "calls", in: whole},
		{name: "truncated", in: whole[:len(whole)-3], wantErr: true},
		{name: "no hello", in: frames(request{ID: 1, Op: opPosition}), wantErr: true},
		{name: "unknown op", in: frames(hello, request{ID: 1, Op: 99}), wantErr: true},
		{name: "records in frames", in: frames(append([]request{hello}, inFrames...)...)},
		{name: "records in frames, cancelled", in: frames(hello, inFrames[0], inFrames[1], request{ID: 3, Op: opCancel})},
		{name: "records of no call", in: frames(hello, inFrames[1]), wantErr: true},
		{name: "records after a cancel", in: frames(hello, inFrames[0], request{ID: 3, Op: opCancel}, inFrames[2]), wantErr: true},
		{name: "records of a call sent", in: frames(hello, appendReq, request{ID: 1, Op: opRecords, Records: recs("{}")}), wantErr: true},
		// The first call is still being sent (More) when the second starts: deterministic, where a call
		// that the fast writer had already answered would have freed its id (the test was flaky so).
		{name: "twice the same call", in: frames(hello, request{ID: 7, Op: opAppend, Table: table("t"), More: true}, request{ID: 7, Op: opAppend}), wantErr: true},
		{name: "not gob", in: []byte("GET / HTTP/1.1\r\n\r\n"), wantErr: true},
	}
}

// serveBytes runs Serve on in with a fast fakeWriter, failing the test if it does not return.
func serveBytes(t testing.TB, in []byte) error {
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), bytes.NewReader(in), io.Discard, func(_ context.Context, cfg Config) (Writer, error) {
			return newFakeWriter(cfg, false), nil
		})
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Serve still runs 10 s after its input of %d bytes ended", len(in))
		return nil
	}
}

// FuzzServe: any input makes Serve return, without a panic or a hang (an empty one with an error;
// TestServeBadInput checks the errors of the seeds).
func FuzzServe(f *testing.F) {
	for _, s := range serveSeeds(f) {
		f.Add(s.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		err := serveBytes(t, in)
		if err == nil && len(in) == 0 {
			t.Fatal("Serve of nothing: nil, want an error")
		}
	})
}

// TestSplit: an Append's records go in frames under maxFrameBytes (but for a record bigger on its
// own), in order, the first frame the opAppend itself, the others opRecords, More set on all but
// the last.
func TestSplit(t *testing.T) {
	big := strings.Repeat("b", maxFrameBytes)
	tests := []struct {
		name   string
		datas  []string
		frames int
	}{
		{name: "none", frames: 1},
		{name: "small", datas: []string{"a", "b"}, frames: 1},
		{name: "one too big", datas: []string{big}, frames: 1},
		{name: "big ones", datas: []string{"a", big, big, "c"}, frames: 4},
		{name: "many small", datas: slices.Repeat([]string{strings.Repeat("s", 1000)}, 10000), frames: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request{ID: 9, Op: opAppend, Table: table("t"), Records: recs(tt.datas...), Position: "p", DeadLetters: true}
			frames := split(req)
			if len(frames) != tt.frames {
				t.Errorf("%d frames, want %d", len(frames), tt.frames)
			}
			var got []string // the records' SequenceNumbers, which recs numbers in order
			for i, f := range frames {
				size := 0
				for _, r := range f.Records {
					size += frameBytes(&r)
					got = append(got, r.SequenceNumber)
				}
				if size > maxFrameBytes && len(f.Records) != 1 || len(f.Records) == 0 && len(frames) > 1 {
					t.Errorf("frame %d: %d records of %d bytes", i, len(f.Records), size)
				}
				want := request{ID: 9, Op: opRecords, More: i < len(frames)-1}
				if i == 0 {
					want = req
					want.Records, want.More = nil, len(frames) > 1
				}
				if f.Records = nil; fmt.Sprint(f) != fmt.Sprint(want) {
					t.Errorf("frame %d: %+v, want %+v", i, f, want)
				}
			}
			var want []string
			for _, r := range req.Records {
				want = append(want, r.SequenceNumber)
			}
			if !slices.Equal(got, want) {
				t.Errorf("the frames carry records %v, want %v", got, want)
			}
		})
	}
}

// TestClientAppendInFrames: an Append of more than maxFrameBytes of records reaches the child whole
// and in order (the rejected ones come back), as one call.
func TestClientAppendInFrames(t *testing.T) {
	c, _ := newClient(t, Config{})
	datas := slices.Repeat([]string{"bad"}, 3000)
	for i := range datas {
		if i%1000 == 0 {
			datas[i] = strings.Repeat("{}", maxFrameBytes/3) // not "bad": committed
		}
	}
	in := recs(datas...)
	for i := range in {
		in[i].PartitionKey = strconv.Itoa(i)
	}
	if n := len(split(request{Records: in})); n < 2 {
		t.Fatalf("the records fit in %d frame", n)
	}
	rej, err := c.Append(t.Context(), table("frames"), in, "p-frames", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != len(in)-3 {
		t.Fatalf("%d rejected, want %d", len(rej), len(in)-3)
	}
	j := 0
	for i, r := range in {
		if string(r.Data) != "bad" {
			continue
		}
		if got := rej[j].Record; got.PartitionKey != r.PartitionKey || !got.Arrival.Equal(r.Arrival) {
			t.Fatalf("rejected %d is record %s, want %d", j, got.PartitionKey, i)
		}
		j++
	}
	if p, _, err := c.Position(t.Context(), table("frames")); p != "p-frames" || err != nil {
		t.Fatalf("Position %q, %v; want p-frames", p, err)
	}
}
