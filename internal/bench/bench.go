// Package bench is `kinesisd bench`: a PutRecords load generator and read-back check for any Kinesis Data Streams endpoint.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// AWS's PutRecords limits, which the flags are checked against.
const (
	maxRecordsPerRequest = 500
	maxRecordBytes       = 1 << 20 // data + partition key of one record
	maxRequestBytes      = 5 << 20 // data + partition keys of one request
	keyLen               = 16      // partition keys are 16 hex digits
)

// options are the parsed flags of one run.
type options struct {
	endpoint  string
	region    string
	stream    string
	kmsKey    string
	keep      bool
	shards    int
	workers   int
	records   int
	size      int
	duration  time.Duration
	warmup    time.Duration
	read      bool
	readLimit int
	pid       int
	h2c       bool
	cbor      bool
	jsonOnly  bool

	subscribers     int
	subscribeShards int    // with -subscribers: subscribe to only the first this many shards (0: all)
	cpuProfile      string // file for the bench's own CPU profile (empty: none)
	memProfile      string // file for the bench's own allocation profile, written at the end (empty: none)
	rate            int    // records per second offered over all workers (0: as fast as answered)
}

// Main runs `kinesisd bench` with args (which exclude "bench") and returns the process exit code: 0 on
// success, 1 if setup failed or no record was acknowledged, 2 on bad flags, 3 if the records read back
// are not the records acknowledged. Cancelling ctx (SIGINT) ends the run early; the results so far are
// printed and a stream the run created is still deleted.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, os.Getenv, stdout, stderr)
}

// run is Main with the environment passed in: the flags, then setup, load, read-back and report.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, server, code := parseRun(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	s := &session{opts: opts, server: server, stdout: stdout, stderr: stderr}
	defer s.close()
	if err := s.setup(ctx, getenv); err != nil {
		return s.fail(err)
	}
	res, workers := s.load(ctx)
	code, err := s.checkReadBack(ctx, res, workers)
	if err != nil {
		return s.fail(err)
	}
	return s.report(res, code)
}

// parseRun parses args and follows -pid's process. code is the exit code when the run ends there (0
// after -help, 2 for bad flags, with the usage printed), -1 when it goes on.
func parseRun(args []string, stdout, stderr io.Writer) (opts options, server *process, code int) {
	opts, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage())
		return opts, nil, 0
	}
	if err == nil && opts.pid != 0 {
		if server, err = follow(opts.pid); err != nil {
			err = fmt.Errorf("-pid: cannot follow process %d: %w", opts.pid, err)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kinesisd bench: %v\n\nusage of kinesisd bench:\n%s", err, usage())
		return opts, nil, 2
	}
	return opts, server, -1
}

// session is one run between its steps: what setup made, for the load, the read-back and the report.
type session struct {
	opts           options
	stdout, stderr io.Writer
	server, self   *process  // the -pid process and the bench's own (nil: not followed)
	procs          processes // server and self
	creds          aws.Credentials
	client         *kinesis.Client
	name           string      // the stream
	created        bool        // the stream is this run's
	shardCount     int         // its open shards
	ranges         []hashRange // their hash-key ranges, for balanced partition keys (nil: random keys)
	fan            *fanOut     // the subscriptions of -subscribers, nil without
	mark           func()      // marks the end of the measured window in every measurement
	seed           maphash.Seed
	cleanups       []func() // what setup started and close undoes, last first
}

// atClose has close run f, before what was registered earlier.
func (s *session) atClose(f func()) { s.cleanups = append(s.cleanups, f) }

// close undoes what setup did (consumers deregistered, CPU profile written, the run's stream deleted,
// processes no longer followed), in reverse order.
func (s *session) close() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}

// progress reports a step on stderr, unless -json-only.
func (s *session) progress(format string, args ...any) {
	if !s.opts.jsonOnly {
		fmt.Fprintf(s.stderr, format+"\n", args...)
	}
}

// fail reports err and returns exit code 1.
func (s *session) fail(err error) int {
	fmt.Fprintf(s.stderr, "kinesisd bench: %v\n", err)
	return 1
}

// setup follows the bench's own process, creates the stream (unless -stream names one) and waits for
// it, finds its shards' hash ranges, starts the CPU profile and, with -subscribers, registers the
// consumers and subscribes them. What it starts, close undoes, also when it fails half-way.
func (s *session) setup(ctx context.Context, getenv func(string) string) error {
	opts := s.opts
	s.self, _ = follow(os.Getpid()) // nil without /proc: the client's own numbers are then left out
	s.procs = processes{s.server, s.self}
	s.atClose(func() {
		for _, p := range s.procs {
			if p != nil {
				p.end() // idempotent with the end in report
			}
		}
	})

	s.creds = credentialsFrom(getenv)
	s.client = newClient(opts, s.creds)
	s.name = opts.stream
	if s.name == "" {
		s.name = randomStreamName()
		s.progress("creating stream %s with %d shards", s.name, opts.shards)
		if err := createStream(ctx, s.client, s.name, opts.shards); err != nil {
			return err
		}
		s.created = true
		if !opts.keep {
			s.atClose(func() {
				// Delete even when ctx was cancelled, but do not hang on a dead endpoint.
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				if err := deleteStream(dctx, s.client, s.name); err != nil {
					fmt.Fprintf(s.stderr, "kinesisd bench: %v (delete it yourself)\n", err)
				}
			})
		}
	}
	var err error
	if s.shardCount, err = waitActive(ctx, s.client, s.name); err != nil {
		return err
	}
	if opts.kmsKey != "" && s.created {
		s.progress("encrypting stream %s with %s", s.name, opts.kmsKey)
		if err := encryptStream(ctx, s.client, s.name, opts.kmsKey); err != nil {
			return err
		}
		if s.shardCount, err = waitActive(ctx, s.client, s.name); err != nil {
			return err
		}
	}
	if s.ranges, err = openShards(ctx, s.client, s.name); err != nil {
		s.progress("ListShards failed, partition keys are random rather than balanced over shards: %v", err)
	} else {
		s.shardCount = len(s.ranges)
	}

	if opts.cpuProfile != "" {
		stop, err := startCPUProfile(opts.cpuProfile)
		if err != nil {
			return err
		}
		s.atClose(stop)
	}
	if opts.memProfile != "" {
		s.atClose(func() { writeAllocProfile(opts.memProfile, s.progress) })
	}

	s.mark = s.procs.mark
	if opts.subscribers == 0 {
		return nil
	}
	shards, err := openShardIDs(ctx, s.client, s.name)
	if err != nil {
		return err
	}
	if k := opts.subscribeShards; k > 0 {
		if k > len(shards) {
			return fmt.Errorf("-subscribe-shards: %d, but the stream has %d open shards", k, len(shards))
		}
		shards = shards[:k]
	}
	s.progress("registering %d consumers, each to subscribe to %d shards", opts.subscribers, len(shards))
	consumers, err := registerConsumers(ctx, s.client, s.name, opts.subscribers)
	if len(consumers) > 0 {
		s.atClose(func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := deregisterConsumers(dctx, s.client, consumers); err != nil {
				fmt.Fprintf(s.stderr, "kinesisd bench: %v (deregister it yourself)\n", err)
			}
		})
	}
	if err != nil {
		return err
	}
	if s.fan, err = startFanOut(ctx, opts, s.client, s.creds, consumers, shards); err != nil {
		return err
	}
	s.mark = func() { s.procs.mark(); s.fan.mark() }
	return nil
}

// load runs the workers through the warm-up and the measured window and, with subscriptions, lets
// them catch up. It returns the results so far and the workers, whose acknowledgements the
// read-back checks.
func (s *session) load(ctx context.Context) (*result, []*worker) {
	opts := s.opts
	s.seed = maphash.MakeSeed()
	workers := make([]*worker, opts.workers)
	for i := range workers {
		workers[i] = newWorker(newWire(opts, s.creds), s.name, i, opts, s.ranges, s.seed)
		if opts.rate > 0 {
			workers[i].interval = time.Duration(float64(time.Second) * float64(opts.workers*opts.records) / float64(opts.rate))
			workers[i].phase = workers[i].interval * time.Duration(i) / time.Duration(opts.workers)
		}
		if s.fan != nil {
			workers[i].ackTimes = s.fan.acks
		}
	}
	s.progress("%d workers × %d records × %d bytes against %s, stream %s (%d shards): warming up %s, then measuring %s",
		opts.workers, opts.records, opts.size, endpointName(opts), s.name, s.shardCount, opts.warmup, opts.duration)
	tallies, window := runLoad(ctx, workers, opts.warmup, opts.duration, s.mark)

	res := summarize(tallies, window)
	if s.fan != nil {
		expected := acknowledged(workers, s.fan.shards) * int64(len(s.fan.consumers))
		s.progress("letting the subscriptions catch up: %d records to receive", expected)
		s.fan.drain(ctx, expected)
		res.Subscribe = s.fan.result(expected, window, ctx.Err() != nil)
	}
	res.Stream, res.Endpoint, res.Protocol = s.name, endpointName(opts), protocolName(opts)
	res.Workers, res.Shards, res.RecordSize, res.RecordsPerRequest = opts.workers, s.shardCount, opts.size, opts.records
	return res, workers
}

// checkReadBack reads every shard back and checks that the records read are the records the workers
// had acknowledged, unless -read=false, nothing was acknowledged or the run was interrupted, and
// checks the subscriptions' order. It returns the exit code so far: 1 when nothing was acknowledged,
// 3 when a check failed; an error (the shards could not be listed) ends the run without a report.
func (s *session) checkReadBack(ctx context.Context, res *result, workers []*worker) (int, error) {
	code := 0
	switch {
	case res.Records == 0:
		code = 1
	case !s.opts.read:
	case ctx.Err() != nil:
		s.progress("interrupted: no read-back")
	default:
		acks := mergeAcks(workers)
		s.progress("reading back every shard: %d records acknowledged (warm-up included)", acks.count)
		shards, err := listShards(ctx, s.client, s.name)
		if err != nil {
			return 0, err
		}
		res.Read = readBack(ctx, s.opts, s.client, s.creds, s.name, shards, acks, s.seed, s.created, s.procs.mark)
		s.procs.mark()
		switch {
		case res.Read.Interrupted:
			s.progress("interrupted: the read-back did not finish, so the check says nothing")
		case !res.Read.Check.Passed:
			code = 3
		}
	}
	if res.Subscribe != nil && res.Subscribe.OutOfOrder > 0 && code == 0 {
		code = 3
	}
	return code, nil
}

// report ends the process measurements, prints the table (unless -json-only) and the JSON line, and
// says on stderr why the run failed if it did. It returns the exit code.
func (s *session) report(res *result, code int) int {
	if s.server != nil {
		res.Server = s.server.end()
	}
	if s.self != nil {
		res.Client = s.self.end()
	}

	if !s.opts.jsonOnly {
		printTable(s.stdout, res)
	}
	if err := printJSON(s.stdout, res); err != nil {
		return s.fail(err)
	}
	if s.created && s.opts.keep {
		s.progress("kept stream %s", s.name)
	}
	switch {
	case code == 1:
		fmt.Fprintln(s.stderr, "kinesisd bench: no record was acknowledged")
	case code == 3 && (res.Read == nil || res.Read.Check.Passed):
		fmt.Fprintf(s.stderr, "SUBSCRIPTION CHECK FAILED: %d records out of order\n", res.Subscribe.OutOfOrder)
	case code == 3:
		fmt.Fprintf(s.stderr, "READ-BACK CHECK FAILED: %s\n", res.Read.Check.problems())
		for _, why := range res.Read.unread {
			fmt.Fprintf(s.stderr, "  not read to its end: %s\n", why)
		}
	}
	return code
}

// newFlagSet declares the flags into opts.
func newFlagSet(opts *options) *flag.FlagSet {
	fs := flag.NewFlagSet("kinesisd bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.endpoint, "endpoint", "http://127.0.0.1:4567", "Kinesis endpoint URL; empty: AWS's endpoint for -region")
	fs.StringVar(&opts.region, "region", "us-east-1", "region to sign requests for")
	fs.StringVar(&opts.stream, "stream", "", "existing stream to write to; empty: create kinesisd-bench-<random> and delete it at the end")
	fs.BoolVar(&opts.keep, "keep", false, "do not delete the stream the run created")
	fs.StringVar(&opts.kmsKey, "kms-key", "", "encrypt the created stream with this KMS key (id, ARN or alias, e.g. alias/aws/kinesis) before the load; empty: unencrypted")
	fs.IntVar(&opts.shards, "shards", 4, "shards of the created stream")
	fs.IntVar(&opts.workers, "workers", 8, "concurrent clients, each with one PutRecords in flight")
	fs.IntVar(&opts.records, "records", 500, "records per PutRecords request (1 to 500)")
	fs.IntVar(&opts.size, "size", 1024, "bytes of data per record (partition keys add 16)")
	fs.DurationVar(&opts.duration, "duration", 15*time.Second, "how long to measure")
	fs.DurationVar(&opts.warmup, "warmup", 2*time.Second, "how long to run before measuring (not counted)")
	fs.BoolVar(&opts.read, "read", true, "after the load, read every shard back and check the records read are the records acknowledged")
	fs.IntVar(&opts.readLimit, "read-limit", 10000, "records per GetRecords call of the read-back (1 to 10000)")
	fs.IntVar(&opts.pid, "pid", 0, "process id of the server (on this machine) whose CPU and RSS to report; 0: none")
	fs.BoolVar(&opts.cbor, "cbor", false, "PutRecords in CBOR (application/x-amz-cbor-1.1, as the Java SDK, KPL and KCL send it) instead of JSON")
	fs.BoolVar(&opts.h2c, "h2c", false, "PutRecords and GetRecords over HTTP/2 (cleartext with prior knowledge on http://) instead of HTTP/1.1")
	fs.BoolVar(&opts.jsonOnly, "json-only", false, "print only the JSON line")
	fs.IntVar(&opts.subscribers, "subscribers", 0, "consumers to register, each keeping SubscribeToShard open on every shard (see -subscribe-shards) during the run (0: none)")
	fs.IntVar(&opts.subscribeShards, "subscribe-shards", 0, "with -subscribers: the consumers subscribe to only the first this many open shards (0: every shard)")
	fs.IntVar(&opts.rate, "rate", 0, "records per second to offer, spread over the workers (each starts a call every workers×records/rate seconds, the workers evenly out of step, or as soon as its last is answered if later); 0: as fast as answered")
	fs.StringVar(&opts.cpuProfile, "cpuprofile", "", "write the bench's own CPU profile (from the stream's creation to the end of the run) to this file")
	fs.StringVar(&opts.memProfile, "memprofile", "", "write the bench's own allocation profile (the whole run) to this file at the end")
	return fs
}

// parseFlags parses and checks args, reporting every problem at once.
func parseFlags(args []string) (options, error) {
	var opts options
	fs := newFlagSet(&opts)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var problems []error
	bad := func(name, format string, args ...any) {
		problems = append(problems, fmt.Errorf("-%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if opts.endpoint != "" {
		if u, err := url.Parse(opts.endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("endpoint", "%q is not an http:// or https:// URL", opts.endpoint)
		}
	}
	if opts.region == "" {
		bad("region", "empty")
	}
	if opts.shards < 1 {
		bad("shards", "%d is not a positive number", opts.shards)
	}
	if opts.workers < 1 {
		bad("workers", "%d is not a positive number", opts.workers)
	}
	if opts.records < 1 || opts.records > maxRecordsPerRequest {
		bad("records", "%d is not from 1 to %d", opts.records, maxRecordsPerRequest)
	}
	if opts.size < 0 || opts.size+keyLen > maxRecordBytes {
		bad("size", "%d is not from 0 to %d (a record, with its %d-byte partition key, is at most 1 MiB)",
			opts.size, maxRecordBytes-keyLen, keyLen)
	} else if opts.records >= 1 && opts.records <= maxRecordsPerRequest && opts.records*(opts.size+keyLen) > maxRequestBytes {
		bad("size", "%d records of %d bytes and a %d-byte key are more than the 5 MiB a PutRecords request may carry",
			opts.records, opts.size, keyLen)
	}
	if opts.duration <= 0 {
		bad("duration", "%s is not a positive duration", opts.duration)
	}
	if opts.warmup < 0 {
		bad("warmup", "%s is negative", opts.warmup)
	}
	if opts.readLimit < 1 || opts.readLimit > 10000 {
		bad("read-limit", "%d is not from 1 to 10000", opts.readLimit)
	}
	if opts.pid < 0 {
		bad("pid", "%d is not a process id", opts.pid)
	}
	if opts.subscribers < 0 {
		bad("subscribers", "%d is negative", opts.subscribers)
	}
	if opts.rate < 0 {
		bad("rate", "%d is negative", opts.rate)
	}
	if opts.subscribeShards < 0 {
		bad("subscribe-shards", "%d is negative", opts.subscribeShards)
	}
	return opts, errors.Join(problems...)
}

// usage returns the flag summary.
func usage() string {
	var b strings.Builder
	fs := newFlagSet(&options{})
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

// protocolName is the HTTP protocol of PutRecords and GetRecords, and PutRecords' body format when
// it is CBOR.
func protocolName(opts options) string {
	p := "HTTP/1.1"
	if opts.h2c {
		p = "HTTP/2"
	}
	if opts.cbor {
		p += " CBOR"
	}
	return p
}

// endpointName is the endpoint as reported: the flag, or a note that the SDK chose AWS's.
func endpointName(opts options) string {
	if opts.endpoint == "" {
		return "aws:" + opts.region
	}
	return opts.endpoint
}
