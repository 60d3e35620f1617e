package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

func (in *CreateChannelInput) namedChannel() *string { return in.ChannelName }

// ChannelOutput is the output of CreateChannel, UpdateChannel and DescribeChannel.
type ChannelOutput struct {
	ChannelDescription *ChannelDescription `json:"ChannelDescription"`
}

// FreshnessUpdate is UpdateChannel's S3DestinationConfiguration and S3TablesDestinationConfiguration.
type FreshnessUpdate struct {
	DataFreshnessInSeconds *int64 `json:"DataFreshnessInSeconds,omitempty"`
}

// UpdateChannelInput is the input of UpdateChannel.
type UpdateChannelInput struct {
	ChannelARN                       *string                      `json:"ChannelARN,omitempty"`
	LoggingConfiguration             *ChannelLoggingConfiguration `json:"LoggingConfiguration,omitempty"`
	S3DestinationConfiguration       *FreshnessUpdate             `json:"S3DestinationConfiguration,omitempty"`
	S3TablesDestinationConfiguration *FreshnessUpdate             `json:"S3TablesDestinationConfiguration,omitempty"`
}

func (in *UpdateChannelInput) namedChannel() *string { return in.ChannelARN }

// ChannelARNInput is the input of DeleteChannel and DescribeChannel.
type ChannelARNInput struct {
	ChannelARN *string `json:"ChannelARN,omitempty"`
}

func (in *ChannelARNInput) namedChannel() *string { return in.ChannelARN }

// ListChannelsInput is the input of ListChannels.
type ListChannelsInput struct {
	MaxResults   *int64         `json:"MaxResults,omitempty"`
	NextToken    *string        `json:"NextToken,omitempty"`
	StreamFilter []StreamFilter `json:"StreamFilter,omitempty"`
}

// ChannelStreamIdentifier is a channel's stream in a ChannelSummary.
type ChannelStreamIdentifier struct {
	StreamARN               string    `json:"StreamARN"`
	StreamCreationTimestamp Timestamp `json:"StreamCreationTimestamp"`
}

// ChannelSummary is one channel as ListChannels shows it.
type ChannelSummary struct {
	ChannelARN               string                    `json:"ChannelARN"`
	ChannelCreationTimestamp Timestamp                 `json:"ChannelCreationTimestamp"`
	ChannelDestinationType   string                    `json:"ChannelDestinationType"`
	ChannelId                string                    `json:"ChannelId"`
	ChannelName              string                    `json:"ChannelName"`
	ChannelStatus            string                    `json:"ChannelStatus"`
	Streams                  []ChannelStreamIdentifier `json:"Streams"`
}

// ListChannelsOutput is the output of ListChannels.
type ListChannelsOutput struct {
	ChannelSummaries []ChannelSummary `json:"ChannelSummaries"`
	NextToken        *string          `json:"NextToken,omitempty"`
}

// CreateChannel creates a channel from an on-demand stream to an S3 bucket or an S3 Tables table; it
// is CREATING, then ACTIVE after the create delay, and then delivers.
func (s *Service) CreateChannel(ctx context.Context, in *CreateChannelInput) (*ChannelOutput, error) {
	var c checker
	c.createChannel(in)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := checkChannelRules(in); err != nil {
		return nil, err
	}
	if err := s.checkRate("CreateChannel", ""); err != nil {
		return nil, err
	}
	if msg := s.channelsRefused(in.S3TablesDestinationConfiguration != nil); msg != "" {
		return nil, kerr.NewInvalidArgument(msg)
	}
	sc := in.StreamConfigurationList[0]
	streamName, err := s.streamName(StreamRef{StreamARN: sc.StreamARN})
	if err != nil {
		return nil, err
	}
	st, err := s.findStream(ctx, StreamRef{StreamARN: sc.StreamARN})
	if err != nil {
		return nil, err
	}
	if st.Doc.Mode != stream.ModeOnDemand {
		return nil, channelInvalid("Stream %s under account %s is in PROVISIONED mode: channels are supported only for data streams with the on-demand capacity mode.",
			streamName, s.cfg.Account)
	}
	if err := s.checkCreateTags(*in.ChannelName, in.Tags); err != nil {
		return nil, err
	}
	starts := make(map[uint32]uint64, len(st.Doc.Shards))
	refs := make(map[uint32]storage.ShardRef, len(st.Doc.Shards))
	for _, sh := range st.Doc.Shards {
		refs[sh.Index] = st.Ref(sh.Index)
		if starts[sh.Index], err = s.store.NextOffset(ctx, st.Ref(sh.Index)); err != nil {
			return nil, err
		}
	}
	ordinals, err := s.shardOrdinalStarts(ctx, refs)
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := &channelDoc{
		ID: newResourceID(), Name: *in.ChannelName, CreatedMilli: now.UnixMilli(), ShardStarts: starts, ShardOrdinals: ordinals,
		Status: channelCreating, StatusMilli: now.UnixMilli(), RoleARN: *in.ServiceExecutionRoleARN,
		Stream: streamName, StreamID: st.Doc.ID, StreamMilli: st.Doc.CreatedMilli,
		Record: *sc.RecordConfiguration, Freshness: freshnessDefault,
		S3: in.S3DestinationConfiguration, Tables: in.S3TablesDestinationConfiguration,
		Encryption: in.EncryptionConfiguration,
	}
	var dlq **DeadLetterQueueS3Configuration
	var fresh *int64
	if d.S3 != nil {
		dlq, fresh = &d.S3.DeadLetterQueueS3Configuration, d.S3.DataFreshnessInSeconds
		if d.S3.StorageConfiguration.StorageClass == nil {
			d.S3.StorageConfiguration.StorageClass = new("STANDARD")
		}
	} else {
		dlq, fresh = &d.Tables.DeadLetterQueueS3Configuration, d.Tables.DataFreshnessInSeconds
	}
	if fresh != nil {
		d.Freshness = *fresh
	}
	if *dlq == nil { // "it defaults to the destination bucket with an error prefix"
		sto := d.S3.StorageConfiguration
		*dlq = &DeadLetterQueueS3Configuration{BucketARN: sto.BucketARN, ExpectedBucketOwner: sto.ExpectedBucketOwner, ErrorOutputPrefix: new("error/")}
	}
	d.Logging = channelLogging(in.LoggingConfiguration, d)
	for k, v := range in.Tags {
		d.Tags = append(d.Tags, stream.Tag{Key: k, Value: v})
	}
	slices.SortFunc(d.Tags, func(a, b stream.Tag) int { return strings.Compare(a.Key, b.Key) })
	if e := in.EncryptionConfiguration; e != nil {
		if s.keys == nil {
			return nil, kerr.NewInvalidArgument("KMS is off on this server: it has no keyring to check the channel's key with.")
		}
		dk, err := s.keys.StreamKey(ctx, s.kmsCaller(ctx), *e.KeyId, s.channelARN(d.ID))
		if err != nil {
			return nil, err
		}
		d.KeyARN = dk.KeyARN()
	}
	if err := s.saveNewChannel(ctx, d); err != nil {
		return nil, err
	}
	s.log.Info("channel created", "channel", d.Name, "id", d.ID, "stream", d.Stream, "destination", d.destinationType(), "account", s.cfg.Account)
	return &ChannelOutput{ChannelDescription: s.describe(d)}, nil
}

// channelLogging is the logging configuration of a new channel, with the model's defaults.
func channelLogging(in *ChannelLoggingConfiguration, d *channelDoc) ChannelLoggingConfiguration {
	cw := CloudWatchLogs{Enabled: new(false)}
	if in != nil && in.CloudWatchLogs != nil {
		cw = *in.CloudWatchLogs
	}
	if cw.LogGroupName == nil {
		cw.LogGroupName = new(fmt.Sprintf("/aws/kinesis/%s/%s", d.Name, d.ID))
	}
	if cw.LogStreamName == nil {
		cw.LogStreamName = new("DestinationDelivery")
	}
	return ChannelLoggingConfiguration{CloudWatchLogs: &cw}
}

// saveNewChannel stores a new channel: its name reserved first (two CreateChannel calls of one name:
// one wins), then its document, then its id on the stream's document under the stream's
// compare-and-set, which fails if the stream is being deleted; each step undoes the earlier ones
// when it fails.
func (s *Service) saveNewChannel(ctx context.Context, d *channelDoc) error {
	count, err := s.channelCount(ctx)
	if err != nil {
		return internal("count channels", err)
	}
	if count >= channelsPerAccount {
		return kerr.NewLimitExceeded(fmt.Sprintf("This request would exceed the limit of %d channels under account %s.", channelsPerAccount, s.cfg.Account))
	}
	nameKey := s.channelNameKey(d.Name)
	for {
		nameVersion, err := s.store.PutMeta(ctx, nameKey, []byte(d.ID), 0)
		if errors.Is(err, storage.ErrConflict) {
			raw, _, gerr := s.store.GetMeta(ctx, nameKey)
			if gerr != nil && !errors.Is(gerr, storage.ErrNotFound) {
				return internal("create channel", gerr)
			}
			if gerr == nil {
				// A reservation left by a channel whose document has gone (a crash mid-purge) is stale.
				if old, _, lerr := s.loadChannel(ctx, string(raw)); lerr != nil {
					return internal("create channel", lerr)
				} else if old != nil {
					return kerr.NewResourceInUse(fmt.Sprintf("Channel %s under account %s already exists.", d.Name, s.cfg.Account))
				}
				if _, v, gerr := s.store.GetMeta(ctx, nameKey); gerr == nil {
					_ = s.store.DeleteMeta(ctx, nameKey, v)
				}
			}
			continue
		}
		if err != nil {
			return internal("create channel", err)
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return internal("encode channel", err)
		}
		docVersion, err := s.store.PutMeta(ctx, s.channelKey(d.ID), raw, 0)
		if err != nil {
			_ = s.store.DeleteMeta(ctx, nameKey, nameVersion)
			return internal("create channel", err)
		}
		_, err = s.streams.Mutate(ctx, d.Stream, func(doc *stream.Doc) error {
			if doc.ID != d.StreamID || doc.Status == stream.StatusDeleting {
				return s.streams.NotFound(d.Stream)
			}
			if doc.Status != stream.StatusActive && doc.Status != stream.StatusUpdating {
				return s.notActive(doc)
			}
			doc.Channels = append(doc.Channels, d.ID)
			return nil
		})
		if err != nil {
			_ = s.store.DeleteMeta(ctx, s.channelKey(d.ID), docVersion)
			_ = s.store.DeleteMeta(ctx, nameKey, nameVersion)
			return err
		}
		return nil
	}
}

// DescribeChannel describes a channel named by ARN.
func (s *Service) DescribeChannel(ctx context.Context, in *ChannelARNInput) (*ChannelOutput, error) {
	var c checker
	c.channelARN(in.ChannelARN)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("DescribeChannel", ""); err != nil {
		return nil, err
	}
	id, err := s.resolveChannel(*in.ChannelARN)
	if err != nil {
		return nil, err
	}
	d, _, err := s.loadChannel(ctx, id)
	if err != nil {
		return nil, internal("describe channel", err)
	}
	if d == nil {
		return nil, channelNotFound(*in.ChannelARN)
	}
	return &ChannelOutput{ChannelDescription: s.describe(d)}, nil
}

// UpdateChannel changes a channel's data freshness or logging; it is UPDATING for the update delay.
func (s *Service) UpdateChannel(ctx context.Context, in *UpdateChannelInput) (*ChannelOutput, error) {
	var c checker
	c.channelARN(in.ChannelARN)
	c.logging("loggingConfiguration", in.LoggingConfiguration)
	if in.S3DestinationConfiguration != nil {
		c.freshness("s3DestinationConfiguration.dataFreshnessInSeconds", in.S3DestinationConfiguration.DataFreshnessInSeconds, true)
	}
	if in.S3TablesDestinationConfiguration != nil {
		c.freshness("s3TablesDestinationConfiguration.dataFreshnessInSeconds", in.S3TablesDestinationConfiguration.DataFreshnessInSeconds, true)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("UpdateChannel", ""); err != nil {
		return nil, err
	}
	id, err := s.resolveChannel(*in.ChannelARN)
	if err != nil {
		return nil, err
	}
	if in.LoggingConfiguration == nil && in.S3DestinationConfiguration == nil && in.S3TablesDestinationConfiguration == nil {
		return nil, channelInvalid("UpdateChannel needs a LoggingConfiguration, an S3DestinationConfiguration or an S3TablesDestinationConfiguration.")
	}
	d, err := s.mutateChannel(ctx, id, func(d *channelDoc) error {
		if d.Status != channelActive {
			return kerr.NewResourceInUse(fmt.Sprintf("Channel %s under account %s is in %s state, not ACTIVE.", d.Name, s.cfg.Account, d.Status))
		}
		switch {
		case in.S3DestinationConfiguration != nil && d.S3 == nil:
			return channelInvalid("Channel %s delivers to S3 Tables: use S3TablesDestinationConfiguration.", d.Name)
		case in.S3TablesDestinationConfiguration != nil && d.Tables == nil:
			return channelInvalid("Channel %s delivers to a general purpose S3 bucket: use S3DestinationConfiguration.", d.Name)
		case in.S3DestinationConfiguration != nil:
			d.Freshness = *in.S3DestinationConfiguration.DataFreshnessInSeconds
		case in.S3TablesDestinationConfiguration != nil:
			d.Freshness = *in.S3TablesDestinationConfiguration.DataFreshnessInSeconds
		}
		if l := in.LoggingConfiguration; l != nil {
			cw := *d.Logging.CloudWatchLogs
			cw.Enabled = l.CloudWatchLogs.Enabled
			if l.CloudWatchLogs.LogGroupName != nil {
				cw.LogGroupName = l.CloudWatchLogs.LogGroupName
			}
			if l.CloudWatchLogs.LogStreamName != nil {
				cw.LogStreamName = l.CloudWatchLogs.LogStreamName
			}
			d.Logging.CloudWatchLogs = &cw
		}
		d.Status, d.StatusMilli = channelUpdating, s.now().UnixMilli() // ACTIVE again after the update delay
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, channelNotFound(*in.ChannelARN)
	}
	return &ChannelOutput{ChannelDescription: s.describe(d)}, nil
}

// DeleteChannel deletes a channel: DELETING for the delete delay, then gone. Delivery stops at once;
// what was delivered stays.
func (s *Service) DeleteChannel(ctx context.Context, in *ChannelARNInput) error {
	var c checker
	c.channelARN(in.ChannelARN)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate("DeleteChannel", ""); err != nil {
		return err
	}
	id, err := s.resolveChannel(*in.ChannelARN)
	if err != nil {
		return err
	}
	d, err := s.mutateChannel(ctx, id, func(d *channelDoc) error {
		if d.Status == channelDeleting {
			return errAlreadyDeleting
		}
		d.Status, d.StatusMilli = channelDeleting, s.now().UnixMilli()
		return nil
	})
	if errors.Is(err, errAlreadyDeleting) {
		return nil
	}
	if err != nil {
		return err
	}
	if d == nil {
		return channelNotFound(*in.ChannelARN)
	}
	s.log.Info("channel deleting", "channel", d.Name, "id", d.ID, "account", s.cfg.Account)
	_, _, err = s.loadChannel(ctx, id) // purges it now when there is no delay
	if err != nil {
		return internal("delete channel", err)
	}
	return nil
}

// ListChannels lists the account's channels in name order, optionally those of some streams.
func (s *Service) ListChannels(ctx context.Context, in *ListChannelsInput) (*ListChannelsOutput, error) {
	var c checker
	c.integer("maxResults", in.MaxResults, false, 1, 10000)
	c.str("nextToken", in.NextToken, false, 1, 1048576, nil, "")
	for i, f := range in.StreamFilter {
		c.str(fmt.Sprintf("streamFilter.%d.member.streamARN", i+1), f.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("ListChannels", ""); err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != nil {
		var err error
		if after, err = s.pageAfter(*in.NextToken); err != nil {
			return nil, err
		}
	}
	limit := listChannelsMax
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), listChannelsMax)
	}
	all, err := s.listChannels(ctx)
	if err != nil {
		return nil, internal("list channels", err)
	}
	slices.SortFunc(all, func(a, b *channelDoc) int { return strings.Compare(a.Name, b.Name) })
	out := &ListChannelsOutput{ChannelSummaries: []ChannelSummary{}}
	for _, d := range all {
		if d.Name <= after || !s.channelMatches(d, in.StreamFilter) {
			continue
		}
		if len(out.ChannelSummaries) == limit {
			last := out.ChannelSummaries[limit-1].ChannelName
			out.NextToken = encodeToken(pageToken{After: last, Issued: s.now().UnixMilli()})
			break
		}
		out.ChannelSummaries = append(out.ChannelSummaries, ChannelSummary{
			ChannelARN:               s.channelARN(d.ID),
			ChannelCreationTimestamp: Timestamp{stream.Milli(d.CreatedMilli)},
			ChannelDestinationType:   d.destinationType(),
			ChannelId:                d.ID,
			ChannelName:              d.Name,
			ChannelStatus:            d.Status,
			Streams: []ChannelStreamIdentifier{{
				StreamARN: s.arn(d.Stream), StreamCreationTimestamp: Timestamp{stream.Milli(d.StreamMilli)},
			}},
		})
	}
	return out, nil
}

// channelMatches reports whether d reads one of the filter's streams (an empty filter matches all).
func (s *Service) channelMatches(d *channelDoc, filter []StreamFilter) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if *f.StreamARN != s.arn(d.Stream) {
			continue
		}
		if f.StreamCreationTimestamp == nil || f.StreamCreationTimestamp.UnixMilli()/1000 == d.StreamMilli/1000 {
			return true
		}
	}
	return false
}
