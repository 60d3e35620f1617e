package api_test

import (
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// Changes that take effect when UPDATING ends: resharding and encryption.

// updateDelay is -update-stream-delay where tests set it: 10 s of the fake clock in process; against
// the binary, whose clock is real, 2 s (the checks made while the stream is UPDATING have that long).
var updateDelay = func() time.Duration {
	if onBinary() {
		return 2 * time.Second
	}
	return 10 * time.Second
}()

func withUpdateDelay(c *config.Config) { c.UpdateStreamDelay = updateDelay }

// openClosed splits shard ids into the open and the closed.
func openClosed(shards []types.Shard) (open, closed []string) {
	for _, sh := range shards {
		if sh.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, *sh.ShardId)
		} else {
			closed = append(closed, *sh.ShardId)
		}
	}
	return open, closed
}

// TestReshardTakesEffectWhenActive merges two shards with an update delay: while the stream is UPDATING
// it lists and routes to the old shards, refuses the operations that need ACTIVE, and takes writes in
// the parents; when the delay has passed the parents close after every record written to them and the
// child takes the writes.
func TestReshardTakesEffectWhenActive(t *testing.T) {
	eachEngineWith(t, withUpdateDelay, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		const name = "later"
		createStream(t, c, name, 2)
		start1, _ := hashRange(1, 2)
		var acked []*kinesis.PutRecordOutput
		acked = append(acked, putAt(t, c, name, "0", "before-0"), putAt(t, c, name, start1.String(), "before-1"))
		if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(name),
			ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
			t.Fatal(err)
		}
		active := serverNow(s).Add(updateDelay)

		// UPDATING: the old shard map everywhere (in process until 1 ms before the delay ends; against
		// the binary, whose clock is real, for the checks made within the delay).
		if s.Clock != nil {
			s.Clock.Advance(updateDelay - time.Millisecond)
		}
		if sum := summary(t, c, name); sum.StreamStatus != types.StreamStatusUpdating || *sum.OpenShardCount != 2 {
			t.Fatalf("while updating: %s, %d open", sum.StreamStatus, *sum.OpenShardCount)
		}
		if open, closed := openClosed(describeShards(t, c, name)); fmt.Sprint(open) != "[shardId-000000000000 shardId-000000000001]" || len(closed) != 0 {
			t.Fatalf("DescribeStream while updating: open %v, closed %v", open, closed)
		}
		if got := fmt.Sprint(listShards(t, c, &kinesis.ListShardsInput{StreamName: aws.String(name)})); got != "[shardId-000000000000 shardId-000000000001]" {
			t.Fatalf("ListShards while updating: %s", got)
		}
		for i, key := range []string{"0", start1.String()} {
			out := putAt(t, c, name, key, fmt.Sprintf("during-%d", i))
			if want := fmt.Sprintf("shardId-%012d", i); *out.ShardId != want {
				t.Errorf("write while updating went to %s, want the parent %s", *out.ShardId, want)
			}
			acked = append(acked, out)
		}
		// The parent is open: a reader at its end gets an iterator on, no children.
		res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(getIterator(t, s, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(name), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))})
		if err != nil || len(res.Records) != 2 || res.NextShardIterator == nil || len(res.ChildShards) != 0 {
			t.Fatalf("GetRecords on the parent while updating: %+v %v", res, err)
		}

		inUse := "Stream " + name + " under account " + acct + " not ACTIVE, instead in state UPDATING"
		refused := map[string]error{}
		_, refused["SplitShard"] = c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(name),
			ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("100")})
		_, refused["MergeShards"] = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(name),
			ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
		_, refused["UpdateShardCount"] = c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name),
			TargetShardCount: aws.Int32(1), ScalingType: types.ScalingTypeUniformScaling})
		_, refused["UpdateStreamMode"] = c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arnOf(name),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
		_, refused["StartStreamEncryption"] = c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String(name),
			EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")})
		_, refused["IncreaseStreamRetentionPeriod"] = c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{
			StreamName: aws.String(name), RetentionPeriodHours: aws.Int32(48)})
		for op, err := range refused {
			t.Run(op, func(t *testing.T) { wantAPIError(t, err, "ResourceInUseException", 400, inUse) })
		}
		// The child does not exist yet: a shard AWS cannot find comes before the stream's state.
		_, err = c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(name),
			ShardToSplit: aws.String("shardId-000000000002"), NewStartingHashKey: aws.String("100")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Could not find shard shardId-000000000002 in stream "+name+" under account "+acct+".")

		// ACTIVE: the merge has happened.
		elapseUntil(t, s, active)
		shards := describeShards(t, c, name)
		if open, closed := openClosed(shards); fmt.Sprint(open) != "[shardId-000000000002]" || len(closed) != 2 {
			t.Fatalf("DescribeStream once active: open %v, closed %v", open, closed)
		}
		if sum := summary(t, c, name); sum.StreamStatus != types.StreamStatusActive || *sum.OpenShardCount != 1 {
			t.Fatalf("once active: %s, %d open", sum.StreamStatus, *sum.OpenShardCount)
		}
		child := shards[2]
		if aws.ToString(child.ParentShardId) != "shardId-000000000000" || aws.ToString(child.AdjacentParentShardId) != "shardId-000000000001" {
			t.Errorf("child's parents %v %v", aws.ToString(child.ParentShardId), aws.ToString(child.AdjacentParentShardId))
		}
		after := putAt(t, c, name, "0", "after")
		if *after.ShardId != "shardId-000000000002" {
			t.Errorf("write once active went to %s", *after.ShardId)
		}
		acked = append(acked, after)

		// Every acknowledged record once, in its shard, parents before the child, the parents ending
		// at or after their last record.
		seen := map[string]string{}
		for i, id := range []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"} {
			recs, children := drain(t, c, name, id)
			if i < 2 {
				if len(children) != 1 || *children[0].ShardId != "shardId-000000000002" {
					t.Errorf("%s: ChildShards %+v", id, children)
				}
				end := *shards[i].SequenceNumberRange.EndingSequenceNumber
				if last := *recs[len(recs)-1].SequenceNumber; seqLess(end, last) {
					t.Errorf("%s ends at %s, before its last record %s", id, end, last)
				}
			}
			for _, r := range recs {
				if _, dup := seen[*r.SequenceNumber]; dup {
					t.Errorf("%s read twice", *r.SequenceNumber)
				}
				seen[*r.SequenceNumber] = id
			}
		}
		for _, a := range acked {
			if seen[*a.SequenceNumber] != *a.ShardId {
				t.Errorf("record %s acknowledged in %s, read in %q", *a.SequenceNumber, *a.ShardId, seen[*a.SequenceNumber])
			}
		}
		if len(seen) != len(acked) {
			t.Errorf("read %d records, %d acknowledged", len(seen), len(acked))
		}
	})
}

// TestUpdateShardCountTakesEffectWhenActive: the rescale and its short-lived shards appear only when
// the delay has passed, and a write after the delay triggers it by itself.
func TestUpdateShardCountTakesEffectWhenActive(t *testing.T) {
	eachEngineWith(t, withUpdateDelay, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		const name = "rescale-later"
		createStream(t, c, name, 2)
		out, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name), TargetShardCount: aws.Int32(3),
			ScalingType: types.ScalingTypeUniformScaling})
		if err != nil || *out.CurrentShardCount != 2 || *out.TargetShardCount != 3 {
			t.Fatalf("UpdateShardCount: %+v %v", out, err)
		}
		if open, closed := openClosed(describeShards(t, c, name)); len(open) != 2 || len(closed) != 0 {
			t.Fatalf("while updating: open %v, closed %v", open, closed)
		}
		elapse(t, s, updateDelay)
		// The first call after the delay is a write: it goes to the new shards.
		top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
		w := putAt(t, c, name, top.String(), "first")
		shards := describeShards(t, c, name)
		checkCover(t, shards, 3)
		open, _ := openClosed(shards)
		if w.ShardId == nil || !slices.Contains(open, *w.ShardId) {
			t.Errorf("first write after the delay went to %s, open shards %v", aws.ToString(w.ShardId), open)
		}
	})
}

// TestEncryptionPerRecord: each record reads back with the EncryptionType it was written under, which
// changes when the UPDATING that Start/StopStreamEncryption begins ends, as PutRecord and PutRecords
// report it.
func TestEncryptionPerRecord(t *testing.T) {
	eachEngineWith(t, withUpdateDelay, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		const name = "enc-records"
		createStream(t, c, name, 1)
		key := *createKMSKey(t, kmsClient(s, testKeyID, testSecret, "us-east-1"), nil).Arn // a real key: StartStreamEncryption checks it
		want := map[string]types.EncryptionType{}
		put := func(data string, enc types.EncryptionType) {
			t.Helper()
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String("k"), Data: []byte(data)})
			if err != nil {
				t.Fatal(err)
			}
			if out.EncryptionType != enc {
				t.Errorf("PutRecord %s: EncryptionType %s, want %s", data, out.EncryptionType, enc)
			}
			want[data] = enc
			many, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: []types.PutRecordsRequestEntry{
				{PartitionKey: aws.String("k"), Data: []byte(data + "+")}}})
			if err != nil {
				t.Fatal(err)
			}
			if many.EncryptionType != enc {
				t.Errorf("PutRecords %s: EncryptionType %s, want %s", data, many.EncryptionType, enc)
			}
			want[data+"+"] = enc
		}
		encryption := func(start bool) {
			t.Helper()
			var err error
			if start {
				_, err = c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String(name), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)})
			} else {
				_, err = c.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String(name), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(key)})
			}
			if err != nil {
				t.Fatal(err)
			}
		}

		put("plain", types.EncryptionTypeNone)
		encryption(true)
		put("starting", types.EncryptionTypeNone) // UPDATING: not encrypted yet
		if sum := summary(t, c, name); sum.StreamStatus != types.StreamStatusUpdating || sum.EncryptionType != types.EncryptionTypeNone {
			t.Errorf("while starting: %s %s", sum.StreamStatus, sum.EncryptionType)
		}
		elapse(t, s, updateDelay)
		put("encrypted", types.EncryptionTypeKms)
		if sum := summary(t, c, name); sum.StreamStatus != types.StreamStatusActive || sum.EncryptionType != types.EncryptionTypeKms || aws.ToString(sum.KeyId) != key {
			t.Errorf("once started: %s %s %v", sum.StreamStatus, sum.EncryptionType, aws.ToString(sum.KeyId))
		}
		encryption(false)
		put("stopping", types.EncryptionTypeKms) // UPDATING: still encrypted
		elapse(t, s, updateDelay)
		put("plain again", types.EncryptionTypeNone)

		recs := readShard(t, s, name, "shardId-000000000000")
		if len(recs) != len(want) {
			t.Fatalf("read %d records, wrote %d", len(recs), len(want))
		}
		for _, r := range recs {
			if enc := want[string(r.Data)]; r.EncryptionType != enc {
				t.Errorf("record %q reads as %s, written under %s", r.Data, r.EncryptionType, enc)
			}
		}
	})
}

// TestEncryptionSameMillisecond: with no update delay and a clock that does not move, the records
// before and after StartStreamEncryption share a millisecond, and still read back apart.
func TestEncryptionSameMillisecond(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "enc-ms", 1)
		put := func(data string) *kinesis.PutRecordOutput {
			t.Helper()
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("enc-ms"), PartitionKey: aws.String("k"), Data: []byte(data)})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		before := put("before")
		if _, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc-ms"),
			EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
			t.Fatal(err)
		}
		after := put("after")
		if before.EncryptionType != types.EncryptionTypeNone || after.EncryptionType != types.EncryptionTypeKms {
			t.Fatalf("PutRecord: %s then %s", before.EncryptionType, after.EncryptionType)
		}
		recs := readShard(t, s, "enc-ms", "shardId-000000000000")
		if len(recs) != 2 || recs[0].EncryptionType != types.EncryptionTypeNone || recs[1].EncryptionType != types.EncryptionTypeKms {
			t.Fatalf("records: %+v", recs)
		}
		if !recs[0].ApproximateArrivalTimestamp.Before(*recs[1].ApproximateArrivalTimestamp) {
			t.Errorf("arrivals %v and %v", recs[0].ApproximateArrivalTimestamp, recs[1].ApproximateArrivalTimestamp)
		}
	})
}

// TestEncryptionChangeLimit: 25 successful StartStreamEncryption calls, and 25 StopStreamEncryption
// calls, per stream in a rolling 24 hours.
func TestEncryptionChangeLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "enc-limit", 1)
		key := aws.String("alias/aws/kinesis")
		start := func() error {
			_, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc-limit"), EncryptionType: types.EncryptionTypeKms, KeyId: key})
			return err
		}
		stop := func() error {
			_, err := c.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String("enc-limit"), EncryptionType: types.EncryptionTypeKms, KeyId: key})
			return err
		}
		first := serverNow(s)
		for i := range 25 {
			if err := start(); err != nil {
				t.Fatalf("start %d: %v", i+1, err)
			}
			if err := stop(); err != nil {
				t.Fatalf("stop %d: %v", i+1, err)
			}
			if s.Clock != nil { // over 25 minutes in process; against the binary within seconds, the same to a 24-hour window
				s.Clock.Advance(time.Minute)
			}
		}
		for op, call := range map[string]func() error{"StartStreamEncryption": start, "StopStreamEncryption": stop} {
			wantAPIError(t, call(), "LimitExceededException", 400, op+" failed for stream enc-limit under account "+acct+
				". The stream's encryption has been changed by "+op+" 25 times in the last 24 hours, the most allowed.")
		}
		// A refused call changes nothing.
		if sum := summary(t, c, "enc-limit"); sum.EncryptionType != types.EncryptionTypeNone || sum.StreamStatus != types.StreamStatusActive {
			t.Errorf("after the refusals: %s %s", sum.EncryptionType, sum.StreamStatus)
		}
		inProcessPart(t, s, "the rolling window is 24 hours of the fake clock", func() {
			s.Clock.Set(first.Add(24*time.Hour - time.Millisecond))
			wantPrefix(t, start(), "LimitExceededException", "StartStreamEncryption failed")
			s.Clock.Set(first.Add(24 * time.Hour)) // the first calls are 24 hours old
			if err := start(); err != nil {
				t.Fatalf("after the window: %v", err)
			}
			if err := stop(); err != nil {
				t.Fatalf("after the window: %v", err)
			}
			wantPrefix(t, start(), "LimitExceededException", "StartStreamEncryption failed")
		})
	})
}
