package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/seqnum"
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
	After   string `json:"a"`           // last name or shard id returned
	Issued  int64  `json:"t"`           // ms
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
	return t, true
}

// describeShard renders a shard as DescribeStream and ListShards show it.
func describeShard(sh *shardDoc) Shard {
	out := Shard{
		ShardId:      shardID(sh.Index),
		HashKeyRange: HashKeyRange{StartingHashKey: sh.StartHash, EndingHashKey: sh.EndHash},
		SequenceNumberRange: SequenceNumberRange{
			StartingSequenceNumber: seqnum.Format(sh.Index, sh.StartOffset),
		},
	}
	if sh.Parent != nil {
		id := shardID(*sh.Parent)
		out.ParentShardId = &id
	}
	if sh.AdjacentParent != nil {
		id := shardID(*sh.AdjacentParent)
		out.AdjacentParentShardId = &id
	}
	if sh.Closed {
		end := seqnum.Format(sh.Index, max(sh.EndOffset, sh.StartOffset)) // the last record's, or the start's if none
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
	if err := s.checkRate("DescribeStream", st.doc.Name); err != nil {
		return nil, err
	}
	limit := describeStreamDefaultLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	d := &st.doc
	out := &DescribeStreamOutput{StreamDescription: StreamDescription{
		StreamName:              d.Name,
		StreamARN:               s.arn(d.Name),
		StreamStatus:            d.Status,
		StreamModeDetails:       StreamModeDetailsOut{StreamMode: d.Mode},
		Shards:                  []Shard{},
		RetentionPeriodHours:    d.RetentionHours,
		StreamCreationTimestamp: Timestamp{timeMilli(d.CreatedMilli)},
		EnhancedMonitoring:      []EnhancedMetrics{{ShardLevelMetrics: []string{}}},
		EncryptionType:          d.Encryption,
	}}
	if d.KeyID != "" {
		out.StreamDescription.KeyId = &d.KeyID
	}
	for i := range d.Shards {
		sh := &d.Shards[i]
		if in.ExclusiveStartShardId != nil && shardID(sh.Index) <= *in.ExclusiveStartShardId {
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
		tok, ok := decodeToken(*in.NextToken)
		if !ok {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf("Invalid NextToken: %s", *in.NextToken))
		}
		if s.now().Sub(timeMilli(tok.Issued)) > nextTokenLife {
			return nil, kerr.NewExpiredNextToken(fmt.Sprintf("The NextToken has expired: %s", *in.NextToken))
		}
		after = tok.After
	}
	limit := listStreamsDefaultLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	prefix := s.streamKey("")
	entries, err := s.store.ListMeta(ctx, prefix)
	if err != nil {
		return nil, internal("list streams", err)
	}
	out := &ListStreamsOutput{StreamNames: []string{}, StreamSummaries: []StreamSummary{}}
	for _, e := range entries {
		name := strings.TrimPrefix(e.Key, prefix)
		if name <= after {
			continue
		}
		st, err := decodeStream(e.Value, e.Version)
		if err == nil {
			st, err = s.settle(ctx, st)
		}
		if err != nil {
			return nil, internal("list streams", err)
		}
		if st == nil {
			continue // deleted
		}
		if len(out.StreamNames) == limit {
			out.HasMoreStreams = true
			out.NextToken = encodeToken(pageToken{After: out.StreamNames[len(out.StreamNames)-1], Issued: s.now().UnixMilli()})
			break
		}
		out.StreamNames = append(out.StreamNames, name)
		out.StreamSummaries = append(out.StreamSummaries, StreamSummary{
			StreamName:              name,
			StreamARN:               s.arn(name),
			StreamStatus:            st.doc.Status,
			StreamModeDetails:       StreamModeDetailsOut{StreamMode: st.doc.Mode},
			StreamCreationTimestamp: Timestamp{timeMilli(st.doc.CreatedMilli)},
		})
	}
	return out, nil
}

// ListShards lists a stream's shards in shard-id order, a page at a time.
func (s *Service) ListShards(ctx context.Context, in *ListShardsInput) (*ListShardsOutput, error) {
	var c checker
	c.str("nextToken", in.NextToken, false, 1, 1048576, nil, "")
	c.str("exclusiveStartShardId", in.ExclusiveStartShardId, false, 1, 128, namePattern, namePatternText)
	c.integer("maxResults", in.MaxResults, false, 1, 10000)
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	ref := in.StreamRef
	after := ""
	if in.NextToken != nil {
		if in.StreamName != nil {
			return nil, kerr.NewInvalidArgument("NextToken and StreamName cannot be provided together.")
		}
		if in.ExclusiveStartShardId != nil {
			return nil, kerr.NewInvalidArgument("NextToken and ExclusiveStartShardId cannot be provided together.")
		}
		tok, ok := decodeToken(*in.NextToken)
		if !ok || tok.Stream == "" {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf("Invalid NextToken: %s", *in.NextToken))
		}
		if s.now().Sub(timeMilli(tok.Issued)) > nextTokenLife {
			return nil, kerr.NewExpiredNextToken(fmt.Sprintf("The NextToken has expired: %s", *in.NextToken))
		}
		ref = StreamRef{StreamName: &tok.Stream}
		after = tok.After
	} else if in.ExclusiveStartShardId != nil {
		after = *in.ExclusiveStartShardId
	}
	st, err := s.findStream(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("ListShards", st.doc.Name); err != nil {
		return nil, err
	}
	if in.StreamCreationTimestamp != nil && in.StreamCreationTimestamp.UnixMilli() != st.doc.CreatedMilli {
		return nil, kerr.StreamNotFound(st.doc.Name, s.cfg.Account)
	}
	limit := listShardsDefaultMax
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), listShardsDefaultMax)
	}
	out := &ListShardsOutput{Shards: []Shard{}}
	for i := range st.doc.Shards {
		sh := &st.doc.Shards[i]
		if after != "" && shardID(sh.Index) <= after {
			continue
		}
		if len(out.Shards) == limit {
			out.NextToken = encodeToken(pageToken{Stream: st.doc.Name, Created: st.doc.CreatedMilli,
				After: out.Shards[len(out.Shards)-1].ShardId, Issued: s.now().UnixMilli()})
			break
		}
		out.Shards = append(out.Shards, describeShard(sh))
	}
	return out, nil
}
