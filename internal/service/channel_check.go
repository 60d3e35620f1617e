package service

import (
	"fmt"
	"regexp"

	"kinesisd/internal/kerr"
)

// The channel operations' members as the SDK's model (v1.58.0) defines them. The model marks which
// members are required and lists the enums, but carries no length, range or pattern for the channel
// shapes; the bounds below are kinesisd's, chosen to match the corresponding stream members (names
// and ARNs as for streams, AWS account ids, S3 bucket names), and are reported in AWS's phrasing.

var (
	roleARNPattern   = regexp.MustCompile(`^arn:aws.*:iam::\d{12}:role/\S+$`)
	bucketARNPattern = regexp.MustCompile(`^arn:aws.*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	tableBucketARN   = regexp.MustCompile(`^arn:aws.*:s3tables:.*:\d{12}:bucket/[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	tableNamePattern = regexp.MustCompile(`^[0-9a-z_]+$`)
)

const (
	roleARNPatternText   = `arn:aws.*:iam::\d{12}:role/\S+`
	bucketARNPatternText = `arn:aws.*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]`
	tableBucketARNText   = `arn:aws.*:s3tables:.*:\d{12}:bucket/[a-z0-9][a-z0-9-]{1,61}[a-z0-9]`
	tableNamePatternText = `[0-9a-z_]+`
	accountPatternText   = `\d{12}`

	// freshnessMin, freshnessMax and freshnessDefault bound DataFreshnessInSeconds (the model's
	// default: 300 s; its bounds are not in the model: Firehose's buffering interval, 0..900, less
	// the 0 that would make every record its own object).
	freshnessMin, freshnessMax, freshnessDefault = 1, 900, 300
	// channelsPerAccount is the account's channel quota (DescribeLimits' ChannelCountLimit); the model
	// gives none, this is kinesisd's.
	channelsPerAccount = 50
	// listChannelsMax is the most channels one ListChannels page holds, and its default.
	listChannelsMax = 100
)

// Record formats, compressions, storage classes and transforms of the model's enums.
var (
	recordFormats     = []string{"GSR_JSON", "JSON", "STRING", "BYTE_ARRAY"}
	s3Compressions    = []string{"NONE", "GZIP", "ZSTD"}
	tableCompressions = []string{"NONE", "ZSTD", "SNAPPY"}
	storageClasses    = []string{"STANDARD", "INTELLIGENT_TIERING", "GLACIER_IR"}
)

// channelARN checks a ChannelARN member.
func (c *checker) channelARN(val *string) {
	c.str("channelARN", val, true, 1, 2048, channelARNPattern, channelARNPatternText)
}

// freshness checks a DataFreshnessInSeconds member.
func (c *checker) freshness(path string, val *int64, required bool) {
	c.integer(path, val, required, freshnessMin, freshnessMax)
}

// deadLetter checks a DeadLetterQueueS3Configuration member.
func (c *checker) deadLetter(path string, d *DeadLetterQueueS3Configuration, required bool) {
	if d == nil {
		if required {
			c.v.Add(kerr.Null, path, "Member must not be null")
		}
		return
	}
	c.str(path+".bucketARN", d.BucketARN, true, 1, 2048, bucketARNPattern, bucketARNPatternText)
	c.str(path+".expectedBucketOwner", d.ExpectedBucketOwner, true, 12, 12, accountPattern, accountPatternText)
	c.str(path+".errorOutputPrefix", d.ErrorOutputPrefix, false, 0, 1024, nil, "")
}

// logging checks a LoggingConfiguration member.
func (c *checker) logging(path string, l *ChannelLoggingConfiguration) {
	if l == nil {
		return
	}
	if l.CloudWatchLogs == nil {
		c.v.Add(kerr.Null, path+".cloudWatchLogs", "Member must not be null")
		return
	}
	if l.CloudWatchLogs.Enabled == nil {
		c.v.Add(kerr.Null, path+".cloudWatchLogs.enabled", "Member must not be null")
	}
	c.str(path+".cloudWatchLogs.logGroupName", l.CloudWatchLogs.LogGroupName, false, 1, 512, nil, "")
	c.str(path+".cloudWatchLogs.logStreamName", l.CloudWatchLogs.LogStreamName, false, 1, 512, nil, "")
}

// createChannel checks CreateChannel's members.
func (c *checker) createChannel(in *CreateChannelInput) {
	c.str("channelName", in.ChannelName, true, 1, 128, namePattern, namePatternText)
	c.str("serviceExecutionRoleARN", in.ServiceExecutionRoleARN, true, 1, 2048, roleARNPattern, roleARNPatternText)
	if in.StreamConfigurationList == nil {
		c.v.Add(kerr.Null, "streamConfigurationList", "Member must not be null")
	}
	for i, sc := range in.StreamConfigurationList {
		p := fmt.Sprintf("streamConfigurationList.%d.member", i+1)
		c.str(p+".streamARN", sc.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
		if sc.RecordConfiguration == nil {
			c.v.Add(kerr.Null, p+".recordConfiguration", "Member must not be null")
			continue
		}
		c.enum(p+".recordConfiguration.recordFormatType", sc.RecordConfiguration.RecordFormatType, true, recordFormats...)
		c.str(p+".recordConfiguration.gSRSchemaARN", sc.RecordConfiguration.GSRSchemaARN, false, 1, 2048, nil, "")
	}
	if e := in.EncryptionConfiguration; e != nil {
		c.enum("encryptionConfiguration.encryptionType", e.EncryptionType, true, "KMS")
		c.str("encryptionConfiguration.keyId", e.KeyId, true, 1, 2048, nil, "")
	}
	c.logging("loggingConfiguration", in.LoggingConfiguration)
	if d := in.S3DestinationConfiguration; d != nil {
		const p = "s3DestinationConfiguration"
		if s := d.StorageConfiguration; s == nil {
			c.v.Add(kerr.Null, p+".storageConfiguration", "Member must not be null")
		} else {
			c.str(p+".storageConfiguration.bucketARN", s.BucketARN, true, 1, 2048, bucketARNPattern, bucketARNPatternText)
			c.enum(p+".storageConfiguration.compressionType", s.CompressionType, true, s3Compressions...)
			c.str(p+".storageConfiguration.expectedBucketOwner", s.ExpectedBucketOwner, true, 12, 12, accountPattern, accountPatternText)
			c.str(p+".storageConfiguration.outputKeyTemplate", s.OutputKeyTemplate, false, 1, 1024, nil, "")
			c.enum(p+".storageConfiguration.storageClass", s.StorageClass, false, storageClasses...)
		}
		c.freshness(p+".dataFreshnessInSeconds", d.DataFreshnessInSeconds, false)
		c.deadLetter(p+".deadLetterQueueS3Configuration", d.DeadLetterQueueS3Configuration, false)
	}
	if d := in.S3TablesDestinationConfiguration; d != nil {
		const p = "s3TablesDestinationConfiguration"
		c.deadLetter(p+".deadLetterQueueS3Configuration", d.DeadLetterQueueS3Configuration, true)
		if d.S3TablesConfigurationList == nil {
			c.v.Add(kerr.Null, p+".s3TablesConfigurationList", "Member must not be null")
		}
		for i, t := range d.S3TablesConfigurationList {
			q := fmt.Sprintf("%s.s3TablesConfigurationList.%d.member", p, i+1)
			c.enum(q+".compressionType", t.CompressionType, true, tableCompressions...)
			c.str(q+".namespace", t.Namespace, true, 1, 255, tableNamePattern, tableNamePatternText)
			c.str(q+".tableBucketARN", t.TableBucketARN, true, 1, 2048, tableBucketARN, tableBucketARNText)
			c.str(q+".tableName", t.TableName, true, 1, 255, tableNamePattern, tableNamePatternText)
			if t.PartitionSpec != nil {
				if t.PartitionSpec.PartitionFields == nil {
					c.v.Add(kerr.Null, q+".partitionSpec.partitionFields", "Member must not be null")
				}
				for j, f := range t.PartitionSpec.PartitionFields {
					r := fmt.Sprintf("%s.partitionSpec.partitionFields.%d.member", q, j+1)
					c.str(r+".sourceName", f.SourceName, true, 1, 255, nil, "")
					c.enum(r+".transform", f.Transform, true, "TIME_HOUR")
				}
			}
		}
		c.freshness(p+".dataFreshnessInSeconds", d.DataFreshnessInSeconds, false)
	}
	if in.Tags != nil {
		c.tagMap("tags", in.Tags, false)
	}
}

// channelInvalid is the InvalidArgumentException of a channel's configuration; the messages are
// kinesisd's (the model says what is allowed, not how AWS words a refusal).
func channelInvalid(format string, args ...any) error {
	return kerr.NewInvalidArgument(fmt.Sprintf(format, args...))
}

// checkChannelRules checks what the model states in words: one destination, one stream, one table,
// record formats per destination, the schema an S3 Tables destination requires, the KMS key.
func checkChannelRules(in *CreateChannelInput) error {
	s3, tables := in.S3DestinationConfiguration != nil, in.S3TablesDestinationConfiguration != nil
	if s3 == tables {
		return channelInvalid("Exactly one of S3DestinationConfiguration and S3TablesDestinationConfiguration must be specified.")
	}
	if len(in.StreamConfigurationList) != 1 {
		return channelInvalid("StreamConfigurationList must contain exactly one stream configuration: a channel currently supports one stream.")
	}
	if tables && len(in.S3TablesDestinationConfiguration.S3TablesConfigurationList) != 1 {
		return channelInvalid("S3TablesConfigurationList must contain exactly one table configuration: a channel currently supports one table.")
	}
	rc := in.StreamConfigurationList[0].RecordConfiguration
	format := *rc.RecordFormatType
	switch {
	case s3 && format == "GSR_JSON":
		return channelInvalid("RecordFormatType GSR_JSON is supported only for S3 Tables destinations.")
	case tables && (format == "STRING" || format == "BYTE_ARRAY"):
		return channelInvalid("RecordFormatType %s is supported only for general purpose S3 destinations.", format)
	case tables && rc.GSRSchemaARN == nil:
		return channelInvalid("GSRSchemaARN is required when the channel destination is a streaming table.")
	}
	if e := in.EncryptionConfiguration; e != nil && (*e.KeyId == "alias/aws/kinesis" || regexp.MustCompile(`:alias/aws/kinesis$`).MatchString(*e.KeyId)) {
		return channelInvalid("The Amazon Kinesis Data Streams service key (aws/kinesis) cannot be used to encrypt a channel's destination: specify a customer managed key.")
	}
	return nil
}
