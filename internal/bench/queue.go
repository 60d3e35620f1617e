package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// `kinesisd bench-queue` (issue 19): it puts a backlog of records into a new ON_DEMAND stream, then
// consumers drain it through a queue, each receiving up to 10 records and acknowledging them, and it
// reports the records received and acknowledged per second and the latencies of ReceiveQueueRecords
// and AcknowledgeQueueRecords. The stream and the queue are deleted at the end.

// queueOptions are bench-queue's flags.
type queueOptions struct {
	endpoint, region string
	consumers        int
	records          int
	size             int
}

// QueueMain runs `kinesisd bench-queue` with args (which exclude "bench-queue") and returns the exit
// code: 0 on success, 1 if a call failed, 2 on bad flags.
func QueueMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-queue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o queueOptions
	fs.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:4567", "the Kinesis endpoint")
	fs.StringVar(&o.region, "region", "us-east-1", "the region requests are signed for")
	fs.IntVar(&o.consumers, "consumers", 8, "queue consumers receiving and acknowledging at once")
	fs.IntVar(&o.records, "records", 100000, "records put, then received and acknowledged")
	fs.IntVar(&o.size, "size", 100, "bytes of data per record")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.consumers < 1 || o.records < 1 || o.size < 1 || o.size > maxRecordBytes-keyLen {
		fmt.Fprintln(stderr, "kinesisd bench-queue: -consumers, -records and -size must be positive, -size at most 1 MiB less the key")
		return 2
	}
	if err := runQueueBench(ctx, o, stdout); err != nil {
		fmt.Fprintf(stderr, "kinesisd bench-queue: %v\n", err)
		return 1
	}
	return 0
}

func runQueueBench(ctx context.Context, o queueOptions, stdout io.Writer) error {
	c := queueClient(o)
	b := make([]byte, 4)
	rand.Read(b)
	name := "kinesisd-bench-queue-" + hex.EncodeToString(b)
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name,
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	defer deleteStream(context.WithoutCancel(ctx), c, name)
	if _, err := waitActive(ctx, c, name); err != nil {
		return err
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &name})
	if err != nil {
		return err
	}
	q, err := c.CreateQueue(ctx, &kinesis.CreateQueueInput{QueueName: &name,
		StreamConfigurationList: []types.QueueStreamConfiguration{{StreamARN: sum.StreamDescriptionSummary.StreamARN,
			StartingPosition: &types.QueueStartingPosition{Type: types.QueueStartingPositionTypeTrimHorizon}}}})
	if err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	arn := q.QueueDescription.QueueARN
	defer c.DeleteQueue(context.WithoutCancel(ctx), &kinesis.DeleteQueueInput{QueueARN: arn})

	putStart := time.Now()
	if err := putBacklog(ctx, c, name, o.records, o.size); err != nil {
		return err
	}
	putTook := time.Since(putStart)
	shards, err := openShardCount(ctx, c, name)
	if err != nil {
		return err
	}

	var (
		mu           sync.Mutex
		recvLat      []time.Duration
		ackLat       []time.Duration
		total        atomic.Int64
		empty, fails atomic.Int64
		firstErr     error
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range o.consumers {
		wg.Go(func() {
			var rl, al []time.Duration
			defer func() {
				mu.Lock()
				recvLat, ackLat = append(recvLat, rl...), append(ackLat, al...)
				mu.Unlock()
			}()
			for ctx.Err() == nil && total.Load() < int64(o.records) {
				t0 := time.Now()
				out, err := c.ReceiveQueueRecords(ctx, &kinesis.ReceiveQueueRecordsInput{QueueARN: arn, WaitTimeSeconds: aws.Int32(1)})
				rl = append(rl, time.Since(t0))
				if err != nil {
					fails.Add(1)
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					continue
				}
				if len(out.QueueRecords) == 0 {
					empty.Add(1)
					continue
				}
				entries := make([]types.AcknowledgeQueueRecordsRequestEntry, len(out.QueueRecords))
				for i, r := range out.QueueRecords {
					entries[i].ReceiptHandle = r.ReceiptHandle
				}
				t1 := time.Now()
				res, err := c.AcknowledgeQueueRecords(ctx, &kinesis.AcknowledgeQueueRecordsInput{QueueARN: arn, Entries: entries})
				al = append(al, time.Since(t1))
				if err != nil || len(res.Failed) > 0 {
					fails.Add(1)
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
				if err == nil {
					total.Add(int64(len(res.Successful)))
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	slices.Sort(recvLat)
	slices.Sort(ackLat)
	fmt.Fprintf(stdout, "stream %s: ON_DEMAND, %d open shards after the put; %d records of %d bytes put in %v (%.0f records/s)\n",
		name, shards, o.records, o.size, putTook.Round(time.Millisecond), float64(o.records)/putTook.Seconds())
	fmt.Fprintf(stdout, "queue: %d consumers received and acknowledged %d records in %v: %.0f records/s\n",
		o.consumers, total.Load(), took.Round(time.Millisecond), float64(total.Load())/took.Seconds())
	fmt.Fprintf(stdout, "ReceiveQueueRecords:     %d calls (%d empty), p50 %.2f ms, p99 %.2f ms\n",
		len(recvLat), empty.Load(), ms(percentile(recvLat, 50)), ms(percentile(recvLat, 99)))
	fmt.Fprintf(stdout, "AcknowledgeQueueRecords: %d calls, p50 %.2f ms, p99 %.2f ms\n",
		len(ackLat), ms(percentile(ackLat, 50)), ms(percentile(ackLat, 99)))
	if n := fails.Load(); n > 0 {
		return fmt.Errorf("%d calls failed, the first: %v", n, firstErr)
	}
	return ctx.Err()
}

// cmpErr keeps the first error seen (nil errors are per-entry failures: named as such).
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	if err == nil {
		return errors.New("per-entry acknowledgement failures")
	}
	return err
}

// putBacklog puts n records of size bytes into stream, 500 per PutRecords, from 4 writers.
func putBacklog(ctx context.Context, c *kinesis.Client, stream string, n, size int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	data := make([]byte, size)
	for range 4 {
		wg.Go(func() {
			for {
				from := int(next.Add(maxRecordsPerRequest)) - maxRecordsPerRequest
				if from >= n || ctx.Err() != nil {
					return
				}
				batch := min(maxRecordsPerRequest, n-from)
				entries := make([]types.PutRecordsRequestEntry, batch)
				for i := range entries {
					entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("%016x", from+i)), Data: data}
				}
				for len(entries) > 0 {
					out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
					if err != nil {
						errs <- fmt.Errorf("put records: %w", err)
						return
					}
					var again []types.PutRecordsRequestEntry
					for i, r := range out.Records {
						if r.ErrorCode != nil {
							again = append(again, entries[i])
						}
					}
					entries = again
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// openShardCount is the stream's open shard count now (ON_DEMAND streams split under load).
func openShardCount(ctx context.Context, c *kinesis.Client, name string) (int, error) {
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &name})
	if err != nil {
		return 0, err
	}
	return int(aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount)), nil
}

// queueClient is an SDK client over cleartext HTTP/2: over HTTP/1.1 the Go SDK now and then loses a
// reply after its 200 (README: "The Go SDK over HTTP/1.1"), and a lost ReceiveQueueRecords reply
// leaves its records in flight for their whole visibility timeout, which the run would measure.
func queueClient(o queueOptions) *kinesis.Client {
	creds := credentialsFrom(os.Getenv)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Protocols = new(http.Protocols)
	t.Protocols.SetUnencryptedHTTP2(true)
	return kinesis.New(kinesis.Options{
		Region:           o.region,
		BaseEndpoint:     aws.String(o.endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: t, Timeout: time.Minute},
	})
}
