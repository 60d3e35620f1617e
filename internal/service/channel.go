package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Channels (issue 18): a channel delivers the records of one on-demand stream to a general-purpose S3
// bucket or to an Iceberg table of S3 Tables. A channel is its own document in the store, keyed by its
// id (channel/<account>/<region>/<id>), with a second document reserving its name
// (channel-name/<account>/<region>/<name> → id) so that two CreateChannel calls of one name cannot
// both win; the stream's document lists the channel's id (stream.Doc.Channels), added and removed
// under the stream's compare-and-set, so DeleteStream's refusal is atomic. Its states follow the
// streams': CREATING for Config.CreateDelay, UPDATING for Config.UpdateDelay, DELETING for
// Config.DeleteDelay, computed from the clock when the document is read. Delivery: channel_deliver.go.

// Channel statuses and destination types (the SDK's ChannelStatus and ChannelDestinationType).
const (
	channelCreating = "CREATING"
	channelActive   = "ACTIVE"
	channelUpdating = "UPDATING"
	channelDeleting = "DELETING"

	destinationS3       = "S3"
	destinationS3Tables = "S3_TABLES"
)

// ChannelStreamConfiguration is a source stream of a channel as CreateChannel gives it.
type ChannelStreamConfiguration struct {
	StreamARN           *string              `json:"StreamARN,omitempty"`
	RecordConfiguration *RecordConfiguration `json:"RecordConfiguration,omitempty"`
}

// RecordConfiguration is the format of a source stream's records.
type RecordConfiguration struct {
	RecordFormatType *string `json:"RecordFormatType,omitempty"`
	GSRSchemaARN     *string `json:"GSRSchemaARN,omitempty"`
}

// ChannelStreamDescription is a source stream as DescribeChannel shows it.
type ChannelStreamDescription struct {
	StreamARN               string              `json:"StreamARN"`
	StreamCreationTimestamp Timestamp           `json:"StreamCreationTimestamp"`
	RecordConfiguration     RecordConfiguration `json:"RecordConfiguration"`
}

// S3StorageConfiguration is where and how a channel writes objects.
type S3StorageConfiguration struct {
	BucketARN           *string `json:"BucketARN,omitempty"`
	CompressionType     *string `json:"CompressionType,omitempty"`
	ExpectedBucketOwner *string `json:"ExpectedBucketOwner,omitempty"`
	OutputKeyTemplate   *string `json:"OutputKeyTemplate,omitempty"`
	StorageClass        *string `json:"StorageClass,omitempty"`
}

// DeadLetterQueueS3Configuration is where records that cannot be delivered go.
type DeadLetterQueueS3Configuration struct {
	BucketARN           *string `json:"BucketARN,omitempty"`
	ExpectedBucketOwner *string `json:"ExpectedBucketOwner,omitempty"`
	ErrorOutputPrefix   *string `json:"ErrorOutputPrefix,omitempty"`
}

// S3DestinationConfiguration is a general-purpose S3 destination (input and description).
type S3DestinationConfiguration struct {
	StorageConfiguration           *S3StorageConfiguration         `json:"StorageConfiguration,omitempty"`
	DataFreshnessInSeconds         *int64                          `json:"DataFreshnessInSeconds,omitempty"`
	DeadLetterQueueS3Configuration *DeadLetterQueueS3Configuration `json:"DeadLetterQueueS3Configuration,omitempty"`
}

// PartitionField is one field of a table's partition spec.
type PartitionField struct {
	SourceName *string `json:"SourceName,omitempty"`
	Transform  *string `json:"Transform,omitempty"`
}

// PartitionSpec is a table's partitioning.
type PartitionSpec struct {
	PartitionFields []PartitionField `json:"PartitionFields"`
}

// S3TablesConfiguration is one destination table.
type S3TablesConfiguration struct {
	CompressionType *string        `json:"CompressionType,omitempty"`
	Namespace       *string        `json:"Namespace,omitempty"`
	TableBucketARN  *string        `json:"TableBucketARN,omitempty"`
	TableName       *string        `json:"TableName,omitempty"`
	PartitionSpec   *PartitionSpec `json:"PartitionSpec,omitempty"`
}

// S3TablesDestinationConfiguration is an S3 Tables destination (input and description).
type S3TablesDestinationConfiguration struct {
	DeadLetterQueueS3Configuration *DeadLetterQueueS3Configuration `json:"DeadLetterQueueS3Configuration,omitempty"`
	S3TablesConfigurationList      []S3TablesConfiguration         `json:"S3TablesConfigurationList,omitempty"`
	DataFreshnessInSeconds         *int64                          `json:"DataFreshnessInSeconds,omitempty"`
}

// ChannelEncryptionConfiguration is the KMS key of a channel's delivered data.
type ChannelEncryptionConfiguration struct {
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyId          *string `json:"KeyId,omitempty"`
}

// CloudWatchLogs is a channel's CloudWatch Logs settings (stored and shown; kinesisd logs to its own log).
type CloudWatchLogs struct {
	Enabled       *bool   `json:"Enabled,omitempty"`
	LogGroupName  *string `json:"LogGroupName,omitempty"`
	LogStreamName *string `json:"LogStreamName,omitempty"`
}

// ChannelLoggingConfiguration is a channel's logging configuration (CreateChannel, UpdateChannel).
type ChannelLoggingConfiguration struct {
	CloudWatchLogs *CloudWatchLogs `json:"CloudWatchLogs,omitempty"`
}

// ChannelDescription is a channel as CreateChannel, UpdateChannel and DescribeChannel show it.
type ChannelDescription struct {
	ChannelARN                       string                            `json:"ChannelARN"`
	ChannelCreationTimestamp         Timestamp                         `json:"ChannelCreationTimestamp"`
	ChannelId                        string                            `json:"ChannelId"`
	ChannelName                      string                            `json:"ChannelName"`
	ChannelStatus                    string                            `json:"ChannelStatus"`
	LoggingConfiguration             ChannelLoggingConfiguration       `json:"LoggingConfiguration"`
	ServiceExecutionRoleARN          string                            `json:"ServiceExecutionRoleARN"`
	StreamConfigurationList          []ChannelStreamDescription        `json:"StreamConfigurationList"`
	ChannelStatusReason              *string                           `json:"ChannelStatusReason,omitempty"`
	EncryptionConfiguration          *ChannelEncryptionConfiguration   `json:"EncryptionConfiguration,omitempty"`
	S3DestinationConfiguration       *S3DestinationConfiguration       `json:"S3DestinationConfiguration,omitempty"`
	S3TablesDestinationConfiguration *S3TablesDestinationConfiguration `json:"S3TablesDestinationConfiguration,omitempty"`
}

// channelDoc is a channel as stored. The API's shapes are kept as given (with the defaults filled
// in), since UpdateChannel changes only the freshness and the logging.
type channelDoc struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	CreatedMilli int64  `json:"created"`
	Status       string `json:"status"`
	StatusMilli  int64  `json:"statusSince"`
	RoleARN      string `json:"role"`
	// Stream is the source stream: its name, incarnation, creation and record format.
	Stream      string                            `json:"stream"`
	StreamID    uint64                            `json:"streamId"`
	StreamMilli int64                             `json:"streamCreated"`
	Record      RecordConfiguration               `json:"record"`
	Freshness   int64                             `json:"freshness"` // DataFreshnessInSeconds
	S3          *S3DestinationConfiguration       `json:"s3,omitempty"`
	Tables      *S3TablesDestinationConfiguration `json:"tables,omitempty"`
	Encryption  *ChannelEncryptionConfiguration   `json:"encryption,omitempty"`
	KeyARN      string                            `json:"keyArn,omitempty"` // the KMS key Encryption names, resolved
	Logging     ChannelLoggingConfiguration       `json:"logging"`
	Tags        []stream.Tag                      `json:"tags,omitempty"`
	// ShardStarts is the end of each shard's log when the channel was created: where the records that
	// arrived while it existed begin (nil: a channel created before they were kept).
	ShardStarts map[uint32]uint64 `json:"shardStarts,omitempty"`
	// ShardOrdinals is, on a store with sparse offsets and shardOrdinals, the ordinal the next record
	// of each shard got when the channel was created (a shard missing: unknown).
	ShardOrdinals map[uint32]uint64 `json:"shardOrdinals,omitempty"`
}

func (s *Service) channelKey(id string) string {
	return "channel/" + s.cfg.Account + "/" + s.cfg.Region + "/" + id
}

func (s *Service) channelNameKey(name string) string {
	return "channel-name/" + s.cfg.Account + "/" + s.cfg.Region + "/" + name
}

// channelARN is the ARN of the channel with id in this account and region.
func (s *Service) channelARN(id string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:channel/%s", s.cfg.Region, s.cfg.Account, id)
}

// channelResource resolves a channel's ARN (or, for CreateChannel, its name) for Authorize: the Service
// of the channel's account and its ARN (channels have no resource policy); ok is false when it names no
// channel this service can read.
func (s *Service) channelResource(ctx context.Context, channel *string) (owner *Service, arn, policy string, ok bool) {
	if channel == nil {
		return nil, "", "", false
	}
	if !isChannelARN(*channel) {
		// CreateChannel: the ARN of the channel to be is not known; the action applies to the
		// account's channels.
		if !namePattern.MatchString(*channel) {
			return nil, "", "", false
		}
		return s, fmt.Sprintf("arn:aws:kinesis:%s:%s:channel/*", s.cfg.Region, s.cfg.Account), "", true
	}
	a, _ := parseChannelARN(*channel)
	if a.Region != s.cfg.Region || !accountPattern.MatchString(a.Account) {
		return nil, "", "", false
	}
	return s.For(a.Account, a.Region), *channel, "", true
}

// loadChannel reads the channel with id, its state settled by the clock; nil when there is none (or
// it has gone since its DELETING ended).
func (s *Service) loadChannel(ctx context.Context, id string) (*channelDoc, uint64, error) {
	raw, version, err := s.store.GetMeta(ctx, s.channelKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load channel %s: %w", id, err)
	}
	var d channelDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, 0, fmt.Errorf("decode channel %s: %w", id, err)
	}
	if s.settleChannel(&d) {
		if err := s.purgeChannel(ctx, &d, version); err != nil {
			return nil, 0, err
		}
		return nil, 0, nil
	}
	return &d, version, nil
}

// settleChannel applies the transitions whose delay has passed; it reports whether the channel has
// gone (its DELETING ended).
func (s *Service) settleChannel(d *channelDoc) bool {
	since := s.now().Sub(stream.Milli(d.StatusMilli))
	switch d.Status {
	case channelCreating:
		if since >= s.cfg.CreateDelay {
			d.Status, d.StatusMilli = channelActive, d.StatusMilli+s.cfg.CreateDelay.Milliseconds()
		}
	case channelUpdating:
		if since >= s.cfg.UpdateDelay {
			d.Status, d.StatusMilli = channelActive, d.StatusMilli+s.cfg.UpdateDelay.Milliseconds()
		}
	case channelDeleting:
		return since >= s.cfg.DeleteDelay
	}
	return false
}

// purgeChannel removes a channel whose DELETING has ended: from its stream's list, then its name
// reservation, then its document (version: the document's), so that a crash between the steps leaves
// a document the next read purges again.
func (s *Service) purgeChannel(ctx context.Context, d *channelDoc, version uint64) error {
	_, err := s.streams.Mutate(ctx, d.Stream, func(doc *stream.Doc) error {
		if doc.ID != d.StreamID {
			return errChannelUnlinked
		}
		i := indexOf(doc.Channels, d.ID)
		if i < 0 {
			return errChannelUnlinked
		}
		doc.Channels = append(doc.Channels[:i:i], doc.Channels[i+1:]...)
		return nil
	})
	if err != nil && !errors.Is(err, errChannelUnlinked) && !isStreamNotFound(err) {
		return fmt.Errorf("purge channel %s: %w", d.ID, err)
	}
	if raw, v, err := s.store.GetMeta(ctx, s.channelNameKey(d.Name)); err == nil && string(raw) == d.ID {
		if err := s.store.DeleteMeta(ctx, s.channelNameKey(d.Name), v); err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("purge channel %s: %w", d.ID, err)
		}
	}
	err = s.store.DeleteMeta(ctx, s.channelKey(d.ID), version)
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("purge channel %s: %w", d.ID, err)
	}
	s.log.Info("channel deleted", "channel", d.Name, "id", d.ID, "account", s.cfg.Account)
	return nil
}

// errChannelUnlinked stops a purge's stream change that has nothing to remove.
var errChannelUnlinked = errors.New("channel not on its stream")

func indexOf(l []string, v string) int {
	for i := range l {
		if l[i] == v {
			return i
		}
	}
	return -1
}

// mutateChannel applies change to the channel with id under compare-and-set, and returns the result.
func (s *Service) mutateChannel(ctx context.Context, id string, change func(*channelDoc) error) (*channelDoc, error) {
	for {
		d, version, err := s.loadChannel(ctx, id)
		if err != nil {
			return nil, internal("change channel", err)
		}
		if d == nil {
			return nil, nil
		}
		if err := change(d); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, internal("encode channel", err)
		}
		_, err = s.store.PutMeta(ctx, s.channelKey(id), raw, version)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, internal("save channel", err)
		}
		return d, nil
	}
}

// listChannels returns every channel of the account in this region, settled, in id order.
func (s *Service) listChannels(ctx context.Context) ([]*channelDoc, error) {
	prefix := s.channelKey("")
	entries, err := s.store.ListMeta(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	out := make([]*channelDoc, 0, len(entries))
	for _, e := range entries {
		var d channelDoc
		if err := json.Unmarshal(e.Value, &d); err != nil {
			return nil, fmt.Errorf("decode channel %s: %w", e.Key, err)
		}
		if s.settleChannel(&d) {
			if err := s.purgeChannel(ctx, &d, e.Version); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, &d)
	}
	return out, nil
}

// channelCount counts the account's channels in this region (DescribeLimits).
func (s *Service) channelCount(ctx context.Context) (int, error) {
	l, err := s.listChannels(ctx)
	return len(l), err
}

// describe renders d as the API's ChannelDescription.
func (s *Service) describe(d *channelDoc) *ChannelDescription {
	out := &ChannelDescription{
		ChannelARN:               s.channelARN(d.ID),
		ChannelCreationTimestamp: Timestamp{stream.Milli(d.CreatedMilli)},
		ChannelId:                d.ID,
		ChannelName:              d.Name,
		ChannelStatus:            d.Status,
		LoggingConfiguration:     d.Logging,
		ServiceExecutionRoleARN:  d.RoleARN,
		StreamConfigurationList: []ChannelStreamDescription{{
			StreamARN:               s.arn(d.Stream),
			StreamCreationTimestamp: Timestamp{stream.Milli(d.StreamMilli)},
			RecordConfiguration:     d.Record,
		}},
		EncryptionConfiguration: d.Encryption,
	}
	fresh := d.Freshness
	if d.S3 != nil {
		c := *d.S3
		c.DataFreshnessInSeconds = &fresh
		out.S3DestinationConfiguration = &c
	}
	if d.Tables != nil {
		c := *d.Tables
		c.DataFreshnessInSeconds = &fresh
		out.S3TablesDestinationConfiguration = &c
	}
	return out
}

// destinationType is d's ChannelDestinationType.
func (d *channelDoc) destinationType() string {
	if d.Tables != nil {
		return destinationS3Tables
	}
	return destinationS3
}

// freshness is how long a record may wait before it is delivered.
func (d *channelDoc) freshness() time.Duration { return time.Duration(d.Freshness) * time.Second }

// mutateChannelTags applies a change of tags (TagResource, UntagResource) to the channel arn names;
// channels have no resource policy.
func (s *Service) mutateChannelTags(ctx context.Context, arn string, tagging bool, change func(tags *[]stream.Tag, policy *string, target tagTarget) error) error {
	id, err := s.resolveChannel(arn)
	if err != nil {
		return err
	}
	d, err := s.mutateChannel(ctx, id, func(d *channelDoc) error {
		if !tagging {
			return kerr.NewInvalidArgument(fmt.Sprintf("Resource policies are not supported for channels: %s", arn))
		}
		var policy string
		return change(&d.Tags, &policy, tagTarget{"channel", d.Name})
	})
	if err != nil {
		return err
	}
	if d == nil {
		return channelNotFound(arn)
	}
	return nil
}

// readChannelTags returns the tags of the channel arn names.
func (s *Service) readChannelTags(ctx context.Context, arn string) ([]stream.Tag, string, error) {
	id, err := s.resolveChannel(arn)
	if err != nil {
		return nil, "", err
	}
	d, _, err := s.loadChannel(ctx, id)
	if err != nil {
		return nil, "", internal("read channel", err)
	}
	if d == nil {
		return nil, "", channelNotFound(arn)
	}
	return d.Tags, "", nil
}

// CreateChannelInput is the input of CreateChannel.
type CreateChannelInput struct {
	ChannelName                      *string                           `json:"ChannelName,omitempty"`
	ServiceExecutionRoleARN          *string                           `json:"ServiceExecutionRoleARN,omitempty"`
	StreamConfigurationList          []ChannelStreamConfiguration      `json:"StreamConfigurationList,omitempty"`
	EncryptionConfiguration          *ChannelEncryptionConfiguration   `json:"EncryptionConfiguration,omitempty"`
	LoggingConfiguration             *ChannelLoggingConfiguration      `json:"LoggingConfiguration,omitempty"`
	S3DestinationConfiguration       *S3DestinationConfiguration       `json:"S3DestinationConfiguration,omitempty"`
	S3TablesDestinationConfiguration *S3TablesDestinationConfiguration `json:"S3TablesDestinationConfiguration,omitempty"`
	Tags                             map[string]string                 `json:"Tags,omitempty"`
}

// channelNotFound is the ResourceNotFoundException of a channel named by ARN.
func channelNotFound(arn string) error {
	return kerr.NewResourceNotFound(fmt.Sprintf("Channel %s not found.", arn))
}

// resolveChannel reads a ChannelARN that passed the model's checks: the channel's id in this account
// and region, or ResourceNotFoundException.
func (s *Service) resolveChannel(arn string) (string, error) {
	a, ok := parseChannelARN(arn)
	if !ok {
		return "", kerr.NewInvalidArgument(fmt.Sprintf("ChannelARN %s is invalid.", arn))
	}
	if a.Account != s.cfg.Account || a.Region != s.cfg.Region {
		return "", channelNotFound(arn)
	}
	return a.ID, nil
}
