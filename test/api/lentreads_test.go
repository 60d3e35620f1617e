package api_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// TestConcurrentReadsKeepTheirBytes: GetRecords replies are written from buffers the engine lends and
// takes back once a reply is out (storage.Lender); readers of several shards at once, through the
// Go SDK and with the tail cache off (every read from the record log), each get exactly the bytes
// that were put, however the buffers go round between them.
func TestConcurrentReadsKeepTheirBytes(t *testing.T) {
	const shards, perShard, size = 4, 120, 6 << 10 // 120 records of 6 KiB: each call's entry is pooled
	eachEngineWith(t, func(c *config.Config) { c.TailCacheMiB = 0 }, func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "lent", shards)
		ids := make([]string, shards)
		out, err := s.Client.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("lent")})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string][]byte{} // shard id → partition key → data
		for i, sh := range out.Shards {
			ids[i] = *sh.ShardId
			want[ids[i]] = map[string][]byte{}
		}
		for call := range 4 {
			var entries []types.PutRecordsRequestEntry
			for i := range perShard * shards / 4 {
				key := fmt.Sprintf("k%d-%d", call, i)
				data := bytes.Repeat([]byte{byte(call*31 + i)}, size)
				data[0], data[size-1] = byte(i), byte(call)
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data})
			}
			res, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("lent"), Records: entries})
			if err != nil || aws.ToInt32(res.FailedRecordCount) != 0 {
				t.Fatalf("PutRecords: %v, %d failed", err, aws.ToInt32(res.FailedRecordCount))
			}
			for i, r := range res.Records {
				want[*r.ShardId][*entries[i].PartitionKey] = entries[i].Data
			}
		}
		for round := range 2 {
			var wg sync.WaitGroup
			errs := make([]error, shards)
			for i, id := range ids {
				wg.Go(func() {
					got := readShard(t, s, "lent", id)
					if len(got) != len(want[id]) {
						errs[i] = fmt.Errorf("round %d, %s: %d records, want %d", round, id, len(got), len(want[id]))
						return
					}
					for _, r := range got {
						if w, ok := want[id][*r.PartitionKey]; !ok || !bytes.Equal(r.Data, w) {
							errs[i] = fmt.Errorf("round %d, %s: record %s has other bytes than were put", round, id, *r.PartitionKey)
							return
						}
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		}
	})
}

// TestConcurrentPutsKeepTheirSequenceNumbers: a PutRecords reply's results and sequence numbers are
// pooled memory the server reuses once the reply is encoded (PutRecordsOutput.Release); writers on
// several connections at once, through the Go SDK, each get numbers that are unique and name the
// records they put (read back by sequence number, AT_SEQUENCE_NUMBER).
func TestConcurrentPutsKeepTheirSequenceNumbers(t *testing.T) {
	const writers, calls, records = 4, 6, 100
	eachEngineWith(t, func(c *config.Config) { c.ThroughputLimits = false }, func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "seqs", 2)
		type put struct{ shard, key string }
		var mu sync.Mutex
		seen := map[string]put{} // sequence number → what it was given for
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := range writers {
			wg.Go(func() {
				for c := range calls {
					entries := make([]types.PutRecordsRequestEntry, records)
					for i := range entries {
						key := fmt.Sprintf("w%d-c%d-r%d", w, c, i)
						entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: []byte(key)}
					}
					res, err := s.Client.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("seqs"), Records: entries})
					if err != nil {
						errs[w] = fmt.Errorf("PutRecords: %w", err)
						return
					}
					if aws.ToInt32(res.FailedRecordCount) != 0 || len(res.Records) != records {
						errs[w] = fmt.Errorf("PutRecords: %d results, %d failed", len(res.Records), aws.ToInt32(res.FailedRecordCount))
						return
					}
					mu.Lock()
					for i, r := range res.Records {
						seq := aws.ToString(r.SequenceNumber)
						if prev, dup := seen[seq]; dup || seq == "" {
							errs[w] = fmt.Errorf("sequence number %q given to %s and to %s", seq, prev.key, *entries[i].PartitionKey)
						}
						seen[seq] = put{aws.ToString(r.ShardId), *entries[i].PartitionKey}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != writers*calls*records {
			t.Fatalf("%d sequence numbers, want %d", len(seen), writers*calls*records)
		}
		n := 0
		for seq, p := range seen {
			if n++; n%37 != 0 { // a sample: one GetShardIterator and GetRecords each
				continue
			}
			it, err := s.Client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("seqs"),
				ShardId: aws.String(p.shard), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(seq)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
			if err != nil || len(got.Records) != 1 {
				t.Fatalf("GetRecords at %s: %v", seq, err)
			}
			if r := got.Records[0]; *r.SequenceNumber != seq || *r.PartitionKey != p.key || string(r.Data) != p.key {
				t.Fatalf("at %s: record %s %s, want the one put as %s", seq, *r.SequenceNumber, *r.PartitionKey, p.key)
			}
		}
	})
}
