package service

import (
	"context"
	"fmt"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/ratelimit"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// admitWrite reserves one record of size bytes on shard if the shard's per-second limits allow it.
func (s *Service) admitWrite(w *ratelimit.Window, size int) bool {
	if w.Count+1 > s.cfg.ShardRecordsPerSecond || w.Bytes+size > s.cfg.ShardBytesPerSecond {
		return false
	}
	w.Count++
	w.Bytes += size
	return true
}

// Per-shard read limits (AWS): GetRecords 5 calls and 2 MiB per second, GetShardIterator 5 calls per
// second; a GetRecords response over 2 MiB blocks the shard's reads for as long as 2 MiB/s takes to
// return it (10 MiB: the next 5 seconds).
const (
	readCallsPerSecond     = 5
	readBytesPerSecond     = 2 * mib
	iteratorCallsPerSecond = 5
)

type readKey struct {
	shard    storage.ShardRef
	iterator bool // GetShardIterator's window, apart from GetRecords'
}

// admitRead reserves one GetRecords call on shard, or returns the throttling error.
func (s *Service) admitRead(st *stream.Stream, shard uint32, now time.Time) error {
	if !s.cfg.ThroughputLimits {
		return nil
	}
	s.reads.Lock()
	w := s.reads.Window(readKey{shard: st.Ref(shard)}, now)
	ok := now.UnixMilli() >= w.Until && w.Count < readCallsPerSecond && w.Bytes < readBytesPerSecond
	if ok {
		w.Count++
	}
	s.reads.Unlock()
	if ok {
		return nil
	}
	return kerr.NewProvisionedThroughputExceeded(throughputExceeded(stream.ShardID(shard), st.Doc.Name, s.cfg.Account))
}

// noteRead counts the bytes a GetRecords call returned against the shard's read rate.
func (s *Service) noteRead(st *stream.Stream, shard uint32, now time.Time, bytes int) {
	if !s.cfg.ThroughputLimits || bytes == 0 {
		return
	}
	s.reads.Lock()
	w := s.reads.Window(readKey{shard: st.Ref(shard)}, now)
	w.Bytes += bytes
	if bytes > readBytesPerSecond {
		w.Until = now.UnixMilli() + int64(bytes)*1000/readBytesPerSecond
	}
	s.reads.Unlock()
}

// admitIterator reserves one GetShardIterator call on shard, or returns the throttling error.
func (s *Service) admitIterator(st *stream.Stream, shard uint32, now time.Time) error {
	if !s.cfg.ThroughputLimits {
		return nil
	}
	s.reads.Lock()
	w := s.reads.Window(readKey{shard: st.Ref(shard), iterator: true}, now)
	ok := w.Count < iteratorCallsPerSecond
	if ok {
		w.Count++
	}
	s.reads.Unlock()
	if ok {
		return nil
	}
	return kerr.NewProvisionedThroughputExceeded(throughputExceeded(stream.ShardID(shard), st.Doc.Name, s.cfg.Account))
}

func throughputExceeded(shard, stream, account string) string {
	return fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", shard, stream, account)
}

// apiRates are AWS's per-second call rates on control-plane operations (per account, or per stream
// where AWS counts per stream), as each operation's documentation in the SDK states them.
var apiRates = map[string]struct {
	perSecond int
	perStream bool
}{
	"CreateStream":                           {5, false},
	"DeleteStream":                           {5, false},
	"ListStreams":                            {5, false},
	"DescribeStream":                         {10, false},
	"DescribeStreamSummary":                  {20, false},
	"ListShards":                             {1000, true},
	"SplitShard":                             {5, false},
	"MergeShards":                            {5, false},
	"UpdateShardCount":                       {10, false},
	"UpdateStreamMode":                       {5, false},
	"UpdateStreamWarmThroughput":             {5, false},
	"DescribeLimits":                         {1, false},
	"AddTagsToStream":                        {5, false},
	"RemoveTagsFromStream":                   {5, false},
	"ListTagsForStream":                      {5, false},
	"TagResource":                            {5, false},
	"UntagResource":                          {5, false},
	"ListTagsForResource":                    {5, false},
	"IncreaseStreamRetentionPeriod":          {5, false},
	"DecreaseStreamRetentionPeriod":          {5, false},
	"EnableEnhancedMonitoring":               {5, false},
	"DisableEnhancedMonitoring":              {5, false},
	"StartStreamEncryption":                  {5, false},
	"StopStreamEncryption":                   {5, false},
	"PutResourcePolicy":                      {5, false},
	"GetResourcePolicy":                      {5, false},
	"DeleteResourcePolicy":                   {5, false},
	"UpdateMaxRecordSize":                    {5, false},
	"UpdateStreamRecordDistributionStrategy": {5, false},
	"DescribeAccountSettings":                {5, false},
	"UpdateAccountSettings":                  {5, false},
	"RegisterStreamConsumer":                 {5, false},
	"DescribeStreamConsumer":                 {20, true},
	"ListStreamConsumers":                    {5, true},
	"DeregisterStreamConsumer":               {5, true},
	// Channels: "a call limit of 5 transactions per second (TPS) for each Amazon Web Services account".
	"CreateChannel":   {5, false},
	"UpdateChannel":   {5, false},
	"DeleteChannel":   {5, false},
	"DescribeChannel": {5, false},
	"ListChannels":    {5, false},
}

// checkRate enforces the call rate of op (for stream, where AWS counts per stream) when API rate
// limits are on.
func (s *Service) checkRate(op, streamName string) error {
	if !s.cfg.APIRateLimits {
		return nil
	}
	rate, ok := apiRates[op]
	if !ok {
		return nil
	}
	key := [3]string{s.cfg.Account + "/" + s.cfg.Region, op, ""}
	if rate.perStream {
		key[2] = streamName
	}
	s.calls.Lock()
	w := s.calls.Window(key, s.now())
	allowed := w.Count < rate.perSecond
	if allowed {
		w.Count++
	}
	s.calls.Unlock()
	if allowed {
		return nil
	}
	if rate.perStream {
		return kerr.NewLimitExceeded(fmt.Sprintf("Rate exceeded for stream %s under account %s.", streamName, s.cfg.Account))
	}
	return kerr.NewLimitExceeded(fmt.Sprintf("Rate exceeded for account %s.", s.cfg.Account))
}

// openShardCount counts the open shards of every stream of the account, with those that pending
// changes will open. It may run under a stream's write gate, so it scans (pending.go).
func (s *Service) openShardCount(ctx context.Context) (int, error) {
	n := 0
	err := s.streams.Scan(ctx, func(st *stream.Stream) bool {
		n += len(st.OpenShards()) + st.Doc.PendingShards()
		return true
	})
	return n, err
}

// checkShardLimit fails with AWS's LimitExceededException when adding shards would pass the
// account's open-shard limit.
func (s *Service) checkShardLimit(ctx context.Context, adding int) error {
	current, err := s.openShardCount(ctx)
	if err != nil {
		return internal("count shards", err)
	}
	if adding <= s.cfg.ShardLimit-current { // adding may be any ShardCount a request gives
		return nil
	}
	return kerr.NewLimitExceeded(fmt.Sprintf("This request would exceed the shard limit for the account %s in %s. "+
		"Current shard count for the account: %d. Limit: %d. Number of additional shards that would have resulted from this request: %d. "+
		"Refer to the AWS Service Limits page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
		s.cfg.Account, s.cfg.Region, current, s.cfg.ShardLimit, adding))
}

// onDemandStreamLimit is AWS's default quota of on-demand streams per account.
const onDemandStreamLimit = 50

// streamsChangingMax is how many of an account's streams may be CREATING or DELETING at once (AWS: 5,
// "Have more than five streams in the CREATING state at any point in time", CreateStream's
// documentation; the refusal names DELETING too).
const streamsChangingMax = 5

// checkStreamsChanging refuses a new stream while streamsChangingMax of the account's streams are
// CREATING or DELETING, with AWS's LimitExceededException. Like the shard limit it counts before the
// stream is saved, so creations racing each other may pass it together.
func (s *Service) checkStreamsChanging(ctx context.Context) error {
	n, err := s.countStreams(ctx, func(doc *stream.Doc) bool {
		return doc.Status == stream.StatusCreating || doc.Status == stream.StatusDeleting
	})
	if err != nil {
		return err
	}
	if n < streamsChangingMax {
		return nil
	}
	// AWS's message as Terraform's log quoted it (hashicorp/terraform-provider-aws#1339), its grammar and
	// the two spaces after "number" included; the AWS provider retries CreateStream on "simultaneously be
	// in CREATING or DELETING".
	return kerr.NewLimitExceeded(fmt.Sprintf("This request would have exceed the limit on the number  of streams that can "+
		"simultaneously be in CREATING or DELETING for the account %s. Limit: %d.", s.cfg.Account, streamsChangingMax))
}

// checkOnDemandLimit refuses to make one more ON_DEMAND stream once the account has
// onDemandStreamLimit of them (AWS's default quota, the OnDemandStreamCountLimit of DescribeLimits),
// with LimitExceededException. Like the shard limit it counts before the change is saved.
func (s *Service) checkOnDemandLimit(ctx context.Context) error {
	n, err := s.countStreams(ctx, func(doc *stream.Doc) bool { return doc.Mode == stream.ModeOnDemand })
	if err != nil {
		return err
	}
	if n < onDemandStreamLimit {
		return nil
	}
	// AWS's wording as a user quoted it in hashicorp/terraform-provider-aws#38094 (the account's region
	// is not part of that quote, so it is not added here).
	return kerr.NewLimitExceeded(fmt.Sprintf("This request would exceed the limit on the number of On-Demand streams for the account %s. "+
		"Current On-Demand streams count: %d. Limit: %d.", s.cfg.Account, n, onDemandStreamLimit))
}

// countStreams counts the account's streams whose document satisfies match. It scans (it may run
// under a stream's write gate).
func (s *Service) countStreams(ctx context.Context, match func(*stream.Doc) bool) (int, error) {
	n := 0
	err := s.streams.Scan(ctx, func(st *stream.Stream) bool {
		if match(&st.Doc) {
			n++
		}
		return true
	})
	if err != nil {
		return 0, internal("count streams", err)
	}
	return n, nil
}

// consumersPerStream is how many consumers a stream may have (AWS: 20 on provisioned and
// On-demand Standard streams).
const consumersPerStream = 20
