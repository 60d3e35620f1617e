package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

func listShards(t *testing.T, c *kinesis.Client, in *kinesis.ListShardsInput) []string {
	t.Helper()
	var ids []string
	for {
		out, err := c.ListShards(t.Context(), in)
		if err != nil {
			t.Fatalf("ListShards: %v", err)
		}
		ids = append(ids, shardIDs(out.Shards)...)
		if out.NextToken == nil {
			return ids
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: in.MaxResults}
	}
}

func TestListShardsFilter(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		gap := time.Hour // between the stream's creation, the split, and the listings
		if onBinary() {
			gap = time.Second // of the real clock
		}
		created := serverNow(s)
		createStream(t, c, "filtered", 2)
		elapse(t, s, gap)
		splitAt := serverNow(s)
		if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("filtered"), ShardToSplit: aws.String("shardId-000000000000"),
			NewStartingHashKey: aws.String("1000")}); err != nil {
			t.Fatal(err)
		}
		if s.Clock == nil {
			splitAt = time.Now() // the binary split during the call: now is after it
		}
		elapse(t, s, gap)
		filter := func(typ types.ShardFilterType, id string, ts time.Time) *types.ShardFilter {
			f := &types.ShardFilter{Type: typ}
			if id != "" {
				f.ShardId = aws.String(id)
			}
			if !ts.IsZero() {
				f.Timestamp = aws.Time(ts)
			}
			return f
		}
		ids := func(ns ...int) string {
			var out []string
			for _, n := range ns {
				out = append(out, fmt.Sprintf("shardId-%012d", n))
			}
			return fmt.Sprint(out)
		}
		tests := []struct {
			name   string
			filter *types.ShardFilter
			want   string
		}{
			{"none", nil, ids(0, 1, 2, 3)},
			{"AT_LATEST", filter(types.ShardFilterTypeAtLatest, "", time.Time{}), ids(1, 2, 3)},
			{"AT_TRIM_HORIZON", filter(types.ShardFilterTypeAtTrimHorizon, "", time.Time{}), ids(0, 1)},
			{"FROM_TRIM_HORIZON", filter(types.ShardFilterTypeFromTrimHorizon, "", time.Time{}), ids(0, 1, 2, 3)},
			{"AT_TIMESTAMP before the split", filter(types.ShardFilterTypeAtTimestamp, "", created.Add(gap/2)), ids(0, 1)},
			{"AT_TIMESTAMP before the stream", filter(types.ShardFilterTypeAtTimestamp, "", created.Add(-gap)), ids(0, 1)},
			{"AT_TIMESTAMP after the split", filter(types.ShardFilterTypeAtTimestamp, "", splitAt.Add(gap/60)), ids(1, 2, 3)},
			{"FROM_TIMESTAMP before the split", filter(types.ShardFilterTypeFromTimestamp, "", created.Add(gap/2)), ids(0, 1, 2, 3)},
			{"FROM_TIMESTAMP after the split", filter(types.ShardFilterTypeFromTimestamp, "", splitAt.Add(gap/60)), ids(1, 2, 3)},
			{"AFTER_SHARD_ID", filter(types.ShardFilterTypeAfterShardId, "shardId-000000000001", time.Time{}), ids(2, 3)},
		}
		for _, tc := range tests {
			for _, max := range []int32{1000, 1} { // one page, and pages of one shard that keep the filter
				got := fmt.Sprint(listShards(t, c, &kinesis.ListShardsInput{StreamName: aws.String("filtered"), ShardFilter: tc.filter, MaxResults: aws.Int32(max)}))
				if got != tc.want {
					t.Errorf("%s (MaxResults %d): %s, want %s", tc.name, max, got, tc.want)
				}
			}
		}

		_, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("filtered"), ShardFilter: filter(types.ShardFilterTypeAfterShardId, "", time.Time{})})
		wantAPIError(t, err, "InvalidArgumentException", 400, "ShardId must be supplied in a ShardFilter with a Type of AFTER_SHARD_ID")
		_, err = c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("filtered"), ShardFilter: filter(types.ShardFilterTypeAtTimestamp, "", time.Time{})})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Timestamp must be supplied in a ShardFilter with a Type of FROM_TIMESTAMP or AT_TIMESTAMP")
		_, err = c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("filtered"), ShardFilter: filter("AT_NOON", "", time.Time{})})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value 'AT_NOON' at 'shardFilter.type' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]")
		// The SDK refuses a filter without Type before sending; AWS's answer to one:
		status, _, body := rawCall(t, s.Endpoint, "ListShards", "application/x-amz-json-1.1", `{"StreamName":"filtered","ShardFilter":{}}`)
		if status != 400 || !strings.Contains(body, "Value null at 'shardFilter.type' failed to satisfy constraint: Member must not be null") {
			t.Errorf("filter without Type: %d %s", status, body)
		}

		// Once the closed shard's records have all passed retention, it is listed nowhere.
		inProcessPart(t, s, "retention is 24 hours of the fake clock", func() {
			s.Clock.Advance(23*time.Hour - time.Minute)
			if got := fmt.Sprint(listShards(t, c, &kinesis.ListShardsInput{StreamName: aws.String("filtered")})); got != ids(0, 1, 2, 3) {
				t.Errorf("before expiry: %s", got)
			}
			s.Clock.Advance(2 * time.Minute)
			if got := fmt.Sprint(listShards(t, c, &kinesis.ListShardsInput{StreamName: aws.String("filtered")})); got != ids(1, 2, 3) {
				t.Errorf("after expiry: %s", got)
			}
			if got := fmt.Sprint(shardIDs(describeShards(t, c, "filtered"))); got != ids(1, 2, 3) {
				t.Errorf("DescribeStream after expiry: %s", got)
			}
			if got := fmt.Sprint(listShards(t, c, &kinesis.ListShardsInput{StreamName: aws.String("filtered"),
				ShardFilter: filter(types.ShardFilterTypeAtTrimHorizon, "", time.Time{})})); got != ids(1, 2, 3) {
				t.Errorf("AT_TRIM_HORIZON after expiry: %s", got)
			}
		})
	})
}

// TestListShardsPagingWhileResharding pages through ListShards and DescribeStream while shards close
// and open between pages: every shard that existed when paging began is seen once, in order.
func TestListShardsPagingWhileResharding(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "paging", 4)
		var listed, described []string
		out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("paging"), MaxResults: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, shardIDs(out.Shards)...)
		d, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("paging"), Limit: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		described = append(described, shardIDs(d.StreamDescription.Shards)...)
		if _, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("paging"), TargetShardCount: aws.Int32(3),
			ScalingType: types.ScalingTypeUniformScaling}); err != nil {
			t.Fatal(err)
		}
		listed = append(listed, listShards(t, c, &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(2)})...)
		for start := d.StreamDescription.Shards[1].ShardId; ; {
			d, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("paging"), Limit: aws.Int32(2), ExclusiveStartShardId: start})
			if err != nil {
				t.Fatal(err)
			}
			described = append(described, shardIDs(d.StreamDescription.Shards)...)
			if !*d.StreamDescription.HasMoreShards {
				break
			}
			start = d.StreamDescription.Shards[len(d.StreamDescription.Shards)-1].ShardId
		}
		all := shardIDs(describeShards(t, c, "paging"))
		if fmt.Sprint(listed) != fmt.Sprint(all) || fmt.Sprint(described) != fmt.Sprint(all) {
			t.Errorf("ListShards pages %v, DescribeStream pages %v, want %v", listed, described, all)
		}
		checkCover(t, describeShards(t, c, "paging"), 3)
	})
}

// TestListShardsNextTokenAlone: a NextToken carries the stream, the position and the ShardFilter of the
// listing it continues, and AWS refuses each of them given beside it (for ShardFilter:
// awslabs/amazon-kinesis-client#788, apache/beam#33478; StreamARN: aws/aws-cli#9635).
func TestListShardsNextTokenAlone(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "tokened", 3)
		if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("tokened"), ShardToSplit: aws.String("shardId-000000000000"),
			NewStartingHashKey: aws.String("1000")}); err != nil {
			t.Fatal(err)
		}
		latest := &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}
		first, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("tokened"), ShardFilter: latest, MaxResults: aws.Int32(1)})
		if err != nil || first.NextToken == nil {
			t.Fatalf("first page: %+v %v", first, err)
		}
		tests := []struct {
			member string
			in     kinesis.ListShardsInput
		}{
			{"StreamName", kinesis.ListShardsInput{StreamName: aws.String("tokened")}},
			{"StreamARN", kinesis.ListShardsInput{StreamARN: arnOf("tokened")}},
			{"ExclusiveStartShardId", kinesis.ListShardsInput{ExclusiveStartShardId: aws.String("shardId-000000000001")}},
			{"StreamCreationTimestamp", kinesis.ListShardsInput{StreamCreationTimestamp: aws.Time(serverNow(s))}},
			{"ShardFilter", kinesis.ListShardsInput{ShardFilter: latest}},
		}
		for _, tc := range tests {
			in := tc.in
			in.NextToken = first.NextToken
			_, err := c.ListShards(ctx, &in)
			wantAPIError(t, err, "InvalidArgumentException", 400, "NextToken and "+tc.member+" cannot be provided together.")
		}
		// Alone, the token keeps the first page's filter: the open shards only.
		got := append(shardIDs(first.Shards), listShards(t, c, &kinesis.ListShardsInput{NextToken: first.NextToken, MaxResults: aws.Int32(1)})...)
		if fmt.Sprint(got) != "[shardId-000000000001 shardId-000000000002 shardId-000000000003 shardId-000000000004]" {
			t.Errorf("AT_LATEST pages: %v", got)
		}
		// A token outlives neither its 300 seconds nor its stream.
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("tokened")}); err != nil {
			t.Fatal(err)
		}
		createStream(t, c, "tokened", 5)
		_, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: first.NextToken})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream tokened under account 000000000000 not found.")
	})
}
