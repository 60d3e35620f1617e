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
