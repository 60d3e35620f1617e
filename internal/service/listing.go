package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

const (
	describeStreamDefaultLimit = 100
	listStreamsDefaultLimit    = 100
	listShardsDefaultMax       = 1000
	nextTokenLife              = 300 * time.Second
)

// pageToken is what a NextToken carries: where the previous page ended and when it was issued.
// It is opaque to clients (base64 JSON) and needs no secrecy: it only names a position.
type pageToken struct {
	Stream  string `json:"s,omitempty"`
	Created int64  `json:"c,omitempty"` // stream incarnation's creation time, ms
	ID      uint64 `json:"i,omitempty"` // stream incarnation's id (ListShards)
	After   string `json:"a"`           // last name or shard id returned
	Issued  int64  `json:"t"`           // ms
	// Filter is the ListShards ShardFilter the pages were asked with, so that later pages keep it.
	Filter *tokenFilter `json:"f,omitempty"`
}

// tokenFilter is a ShardFilter as a token carries it: its timestamp in epoch seconds with a
// millisecond fraction, the form tokens have always had.
type tokenFilter struct {
	Type      *string      `json:"Type,omitempty"`
	ShardId   *string      `json:"ShardId,omitempty"`
	Timestamp *json.Number `json:"Timestamp,omitempty"`
}

func encodeToken(t pageToken) *string {
	b, _ := json.Marshal(t)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodeToken(s string) (pageToken, bool) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Issued == 0 {
		return pageToken{}, false
	}
	if _, ok := t.Filter.shardFilter(); !ok {
		return pageToken{}, false
	}
	return t, true
}

// pageAfter opens a list operation's NextToken: where the page it asks for begins, or AWS's errors
// for a token that is not one (InvalidArgumentException) or is too old (ExpiredNextTokenException).
func (s *Service) pageAfter(token string) (string, error) {
	tok, ok := decodeToken(token)
	if !ok {
		return "", kerr.NewInvalidArgument(fmt.Sprintf("Invalid NextToken: %s", token))
	}
	if s.now().Sub(stream.Milli(tok.Issued)) > nextTokenLife {
		return "", kerr.NewExpiredNextToken(fmt.Sprintf("The NextToken has expired: %s", token))
	}
	return tok.After, nil
}

// newTokenFilter returns f as a token carries it; nil for nil.
func newTokenFilter(f *ShardFilter) *tokenFilter {
	if f == nil {
		return nil
	}
	tf := &tokenFilter{Type: f.Type, ShardId: f.ShardId}
	if f.Timestamp != nil {
		ms := f.Timestamp.UnixMilli()
		n := json.Number(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64))
		if ms >= 0 {
			n = json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
		}
		tf.Timestamp = &n
	}
	return tf
}

// shardFilter returns the filter tf carries; false when its timestamp is not a finite number.
func (tf *tokenFilter) shardFilter() (*ShardFilter, bool) {
	if tf == nil {
		return nil, true
	}
	f := &ShardFilter{Type: tf.Type, ShardId: tf.ShardId}
	if tf.Timestamp != nil {
		sec, err := strconv.ParseFloat(string(*tf.Timestamp), 64)
		if err != nil || math.IsInf(sec, 0) || math.IsNaN(sec) {
			return nil, false
		}
		f.Timestamp = &Timestamp{time.UnixMilli(int64(math.Round(sec * 1000))).UTC()}
	}
	return f, true
}

// describeShard renders a shard as DescribeStream and ListShards show it.
func describeShard(sh *stream.Shard) Shard {
	out := Shard{
		ShardId:      stream.ShardID(sh.Index),
		HashKeyRange: HashKeyRange{StartingHashKey: sh.StartHash, EndingHashKey: sh.EndHash},
		SequenceNumberRange: SequenceNumberRange{
			StartingSequenceNumber: startingSeq(sh),
		},
	}
	if sh.Parent != nil {
		id := stream.ShardID(*sh.Parent)
		out.ParentShardId = &id
	}
	if sh.AdjacentParent != nil {
		id := stream.ShardID(*sh.AdjacentParent)
		out.AdjacentParentShardId = &id
	}
	if sh.Closed {
		end := endingSeq(sh)
		out.SequenceNumberRange.EndingSequenceNumber = &end
	}
	return out
}

// DescribeStream describes a stream with a page of its shards in shard-id order.
func (s *Service) DescribeStream(ctx context.Context, in *DescribeStreamInput) (*DescribeStreamOutput, error) {
	var c checker
	c.integer("limit", in.Limit, false, 1, 10000)
	c.str("exclusiveStartShardId", in.ExclusiveStartShardId, false, 1, 128, namePattern, namePatternText)
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	st, err := s.findStream(ctx, in.StreamRef)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("DescribeStream", st.Doc.Name); err != nil {
		return nil, err
	}
	limit := describeStreamDefaultLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	d := &st.Doc
	out := &DescribeStreamOutput{StreamDescription: StreamDescription{
		StreamName:              d.Name,
		StreamARN:               s.arn(d.Name),
		StreamStatus:            d.Status,
		StreamModeDetails:       StreamModeDetailsOut{StreamMode: d.Mode},
		Shards:                  []Shard{},
		RetentionPeriodHours:    d.RetentionHours,
		StreamCreationTimestamp: Timestamp{stream.Milli(d.CreatedMilli)},
		EnhancedMonitoring:      enhancedMonitoring(st),
		EncryptionType:          d.Encryption,
	}}
	if d.KeyID != "" {
		out.StreamDescription.KeyId = &d.KeyID
	}
	now := s.now()
	for i := range d.Shards {
		sh := &d.Shards[i]
		if d.Status == stream.StatusCreating {
			break // a CREATING stream shows no shards yet (kinesalite's recordings of AWS)
		}
		if in.ExclusiveStartShardId != nil && stream.ShardID(sh.Index) <= *in.ExclusiveStartShardId || st.Expired(sh, now) {
			continue
		}
		if len(out.StreamDescription.Shards) == limit {
			out.StreamDescription.HasMoreShards = true
			break
		}
		out.StreamDescription.Shards = append(out.StreamDescription.Shards, describeShard(sh))
	}
	return out, nil
}

// ListStreams lists the account's streams in name order.
func (s *Service) ListStreams(ctx context.Context, in *ListStreamsInput) (*ListStreamsOutput, error) {
	var c checker
	c.integer("limit", in.Limit, false, 1, 10000)
	c.str("exclusiveStartStreamName", in.ExclusiveStartStreamName, false, 1, 128, namePattern, namePatternText)
	c.str("nextToken", in.NextToken, false, 1, 1048576, nil, "")
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("ListStreams", ""); err != nil {
		return nil, err
	}
	after := ""
	if in.ExclusiveStartStreamName != nil {
		after = *in.ExclusiveStartStreamName
	}
	if in.NextToken != nil {
		var err error
		if after, err = s.pageAfter(*in.NextToken); err != nil {
			return nil, err
		}
	}
	limit := listStreamsDefaultLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	out := &ListStreamsOutput{StreamNames: []string{}, StreamSummaries: []StreamSummary{}}
	err := s.streams.Scan(ctx, func(st *stream.Stream) bool {
		name := st.Doc.Name
		if name <= after {
			return true
		}
		if len(out.StreamNames) == limit {
			out.HasMoreStreams = true
			out.NextToken = encodeToken(pageToken{After: out.StreamNames[len(out.StreamNames)-1], Issued: s.now().UnixMilli()})
			return false
		}
		out.StreamNames = append(out.StreamNames, name)
		out.StreamSummaries = append(out.StreamSummaries, StreamSummary{
			StreamName:              name,
			StreamARN:               s.arn(name),
			StreamStatus:            st.Doc.Status,
			StreamModeDetails:       StreamModeDetailsOut{StreamMode: st.Doc.Mode},
			StreamCreationTimestamp: Timestamp{stream.Milli(st.Doc.CreatedMilli)},
		})
		return true
	})
	if err != nil {
		return nil, internal("list streams", err)
	}
	return out, nil
}

// ListShards lists a stream's shards in shard-id order, a page at a time, optionally filtered.
func (s *Service) ListShards(ctx context.Context, in *ListShardsInput) (*ListShardsOutput, error) {
	var c checker
	c.str("nextToken", in.NextToken, false, 1, 1048576, nil, "")
	c.str("exclusiveStartShardId", in.ExclusiveStartShardId, false, 1, 128, namePattern, namePatternText)
	c.integer("maxResults", in.MaxResults, false, 1, 10000)
	c.streamRef(in.StreamRef)
	if f := in.ShardFilter; f != nil {
		c.enum("shardFilter.type", f.Type, true, filterAfterShardID, filterAtTrimHorizon, filterFromTrimHorizon, filterAtLatest, filterAtTimestamp, filterFromTimestamp)
		c.str("shardFilter.shardId", f.ShardId, false, 1, 128, namePattern, namePatternText)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if f := in.ShardFilter; f != nil {
		switch *f.Type {
		case filterAfterShardID:
			if f.ShardId == nil {
				return nil, kerr.NewInvalidArgument("ShardId must be supplied in a ShardFilter with a Type of AFTER_SHARD_ID")
			}
		case filterAtTimestamp, filterFromTimestamp:
			if f.Timestamp == nil {
				return nil, kerr.NewInvalidArgument("Timestamp must be supplied in a ShardFilter with a Type of FROM_TIMESTAMP or AT_TIMESTAMP")
			}
		}
	}
	ref := in.StreamRef
	after := ""
	filter := in.ShardFilter
	incarnation := uint64(0) // the stream incarnation a NextToken was issued for
	if in.NextToken != nil {
		// A NextToken names the stream, the position and the filter of the listing it continues; AWS
		// refuses each of them beside it (the KCL learnt it for ShardFilter: amazon-kinesis-client#788).
		for _, given := range []struct {
			member string
			set    bool
		}{
			{"StreamName", in.StreamName != nil},
			{"StreamARN", in.StreamARN != nil},
			{"ExclusiveStartShardId", in.ExclusiveStartShardId != nil},
			// (Wording inferred from the others and from ListStreamConsumers'.)
			{"StreamCreationTimestamp", in.StreamCreationTimestamp != nil},
			{"ShardFilter", in.ShardFilter != nil},
		} {
			if given.set {
				return nil, kerr.NewInvalidArgument(fmt.Sprintf("NextToken and %s cannot be provided together.", given.member))
			}
		}
		tok, ok := decodeToken(*in.NextToken)
		if !ok || tok.Stream == "" {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf("Invalid NextToken: %s", *in.NextToken))
		}
		if s.now().Sub(stream.Milli(tok.Issued)) > nextTokenLife {
			return nil, kerr.NewExpiredNextToken(fmt.Sprintf("The NextToken has expired: %s", *in.NextToken))
		}
		ref = StreamRef{StreamName: &tok.Stream}
		after = tok.After
		filter, _ = tok.Filter.shardFilter() // the filter of the first page holds for every page (decodeToken checked it)
		incarnation = tok.ID
	} else if in.ExclusiveStartShardId != nil {
		after = *in.ExclusiveStartShardId
	}
	// With neither a NextToken nor StreamName or StreamARN, findStream answers as every operation does:
	// "Either StreamName or StreamARN should be provided." kinesalite recorded AWS's "Either NextToken or
	// StreamName should be provided." (test/listShards.js), from before StreamARN parameters (2022-12);
	// no source we found shows what AWS says since, so the general wording stays.
	st, err := s.findStream(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("ListShards", st.Doc.Name); err != nil {
		return nil, err
	}
	if in.StreamCreationTimestamp != nil && in.StreamCreationTimestamp.UnixMilli() != st.Doc.CreatedMilli ||
		incarnation != 0 && incarnation != st.Doc.ID { // the token's stream was deleted and the name reused
		return nil, kerr.StreamNotFound(st.Doc.Name, s.cfg.Account)
	}
	limit := listShardsDefaultMax
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), listShardsDefaultMax)
	}
	now := s.now()
	keep := shardTest(st, filter, now)
	if filter != nil && *filter.Type == filterAfterShardID && *filter.ShardId > after {
		after = *filter.ShardId
	}
	out := &ListShardsOutput{Shards: []Shard{}}
	for i := range st.Doc.Shards {
		sh := &st.Doc.Shards[i]
		if after != "" && stream.ShardID(sh.Index) <= after || st.Expired(sh, now) || !keep(sh) {
			continue
		}
		if len(out.Shards) == limit {
			out.NextToken = encodeToken(pageToken{Stream: st.Doc.Name, Created: st.Doc.CreatedMilli, ID: st.Doc.ID,
				After: out.Shards[len(out.Shards)-1].ShardId, Issued: now.UnixMilli(), Filter: newTokenFilter(filter)})
			break
		}
		out.Shards = append(out.Shards, describeShard(sh))
	}
	return out, nil
}

// ShardFilter types.
const (
	filterAfterShardID    = "AFTER_SHARD_ID"
	filterAtTrimHorizon   = "AT_TRIM_HORIZON"
	filterFromTrimHorizon = "FROM_TRIM_HORIZON"
	filterAtLatest        = "AT_LATEST"
	filterAtTimestamp     = "AT_TIMESTAMP"
	filterFromTimestamp   = "FROM_TIMESTAMP"
)

// shardTest returns the test f makes of a shard, as the API documents each type: AT_TRIM_HORIZON and
// AT_TIMESTAMP give the shards open at that time (the trim horizon, or the stream's creation if later,
// where a reader starts); FROM_TRIM_HORIZON every shard within retention; AT_LATEST the open shards;
// FROM_TIMESTAMP the open shards and those closed at or after the time (corrected to the trim horizon).
// AFTER_SHARD_ID works as ExclusiveStartShardId does.
func shardTest(st *stream.Stream, f *ShardFilter, now time.Time) func(*stream.Shard) bool {
	all := func(*stream.Shard) bool { return true }
	if f == nil {
		return all
	}
	horizon := st.Cutoff(now)
	switch *f.Type {
	case filterAtTrimHorizon, filterAtTimestamp:
		t := horizon
		if *f.Type == filterAtTimestamp {
			t = maxTime(f.Timestamp.Time, horizon)
		}
		t = maxTime(t, stream.Milli(st.Doc.CreatedMilli))
		return func(sh *stream.Shard) bool { return st.OpenAt(sh, t) }
	case filterAtLatest:
		return func(sh *stream.Shard) bool { return !sh.Closed }
	case filterFromTimestamp:
		t := maxTime(f.Timestamp.Time, horizon)
		return func(sh *stream.Shard) bool { return !sh.Closed || !stream.Milli(sh.ClosedMilli).Before(t) }
	}
	return all
}
