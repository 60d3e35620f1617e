package api_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// Channels (issue 18): the five operations, their validation and states, and what they change
// elsewhere (DeleteStream, DescribeStreamSummary, DescribeLimits, tags). Delivery is test/channel's.

const (
	testRoleARN   = "arn:aws:iam::000000000000:role/kinesis-channel"
	testBucketARN = "arn:aws:s3:::channel-bucket"
)

// withChannels points every engine's channels at a fake S3 server of the test's own (JetStream has
// no embedded destination), then applies more.
func withChannels(t *testing.T, more ...func(*config.Config)) func(*config.Config) {
	t.Helper()
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	return func(c *config.Config) {
		c.S3Endpoint = fake.URL
		for _, f := range more {
			f(c)
		}
	}
}

// onDemandStream creates an ON_DEMAND stream and returns its ARN.
func onDemandStream(t *testing.T, c *kinesis.Client, name string) string {
	t.Helper()
	_, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(name),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
	if err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
	out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.StreamDescriptionSummary.StreamARN
}

// s3ChannelInput is a CreateChannel of a channel from streamARN to the test bucket.
func s3ChannelInput(name, streamARN string) *kinesis.CreateChannelInput {
	return &kinesis.CreateChannelInput{
		ChannelName:             aws.String(name),
		ServiceExecutionRoleARN: aws.String(testRoleARN),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{
			StreamARN:           aws.String(streamARN),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeJson},
		}},
		S3DestinationConfiguration: &types.S3DestinationConfiguration{
			StorageConfiguration: &types.S3StorageConfiguration{
				BucketARN: aws.String(testBucketARN), CompressionType: types.S3CompressionTypeGzip,
				ExpectedBucketOwner: aws.String("000000000000"),
			},
		},
	}
}

func TestChannelLifecycle(t *testing.T) {
	eachEngineWith(t, withChannels(t), func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		streamARN := onDemandStream(t, c, "orders")
		created, err := c.CreateChannel(ctx, s3ChannelInput("orders-to-s3", streamARN))
		if err != nil {
			t.Fatalf("CreateChannel: %v", err)
		}
		d := created.ChannelDescription
		if d.ChannelStatus != types.ChannelStatusCreating || *d.ChannelName != "orders-to-s3" || len(*d.ChannelId) != 17 {
			t.Errorf("created %+v", d)
		}
		wantARN := "arn:aws:kinesis:us-east-1:000000000000:channel/" + *d.ChannelId
		if *d.ChannelARN != wantARN {
			t.Errorf("ChannelARN %s, want %s", *d.ChannelARN, wantARN)
		}
		s3d := d.S3DestinationConfiguration
		if s3d == nil || *s3d.DataFreshnessInSeconds != 300 || s3d.StorageConfiguration.StorageClass != types.S3StorageClassStandard ||
			*s3d.DeadLetterQueueS3Configuration.BucketARN != testBucketARN || *s3d.DeadLetterQueueS3Configuration.ErrorOutputPrefix != "error/" {
			t.Errorf("S3 destination with defaults: %+v", s3d)
		}
		if lg := d.LoggingConfiguration.CloudWatchLogs; *lg.Enabled || *lg.LogGroupName != "/aws/kinesis/orders-to-s3/"+*d.ChannelId || *lg.LogStreamName != "DestinationDelivery" {
			t.Errorf("logging defaults: %+v", lg)
		}
		if sc := d.StreamConfigurationList; len(sc) != 1 || *sc[0].StreamARN != streamARN || sc[0].StreamCreationTimestamp == nil {
			t.Errorf("streams: %+v", sc)
		}

		desc, err := c.DescribeChannel(ctx, &kinesis.DescribeChannelInput{ChannelARN: d.ChannelARN})
		if err != nil {
			t.Fatalf("DescribeChannel: %v", err)
		}
		if desc.ChannelDescription.ChannelStatus != types.ChannelStatusActive {
			t.Errorf("status %s, want ACTIVE", desc.ChannelDescription.ChannelStatus)
		}
		_, err = c.CreateChannel(ctx, s3ChannelInput("orders-to-s3", streamARN))
		wantAPIError(t, err, "ResourceInUseException", 400, "Channel orders-to-s3 under account 000000000000 already exists.")

		sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(streamARN)})
		if err != nil {
			t.Fatal(err)
		}
		if n := sum.StreamDescriptionSummary.ChannelCount; n == nil || *n != 1 {
			t.Errorf("ChannelCount %v, want 1", n)
		}
		lim, err := c.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if *lim.ChannelCount != 1 || *lim.ChannelCountLimit != 50 {
			t.Errorf("DescribeLimits channels %d of %d, want 1 of 50", *lim.ChannelCount, *lim.ChannelCountLimit)
		}

		_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: aws.String(streamARN), EnforceConsumerDeletion: aws.Bool(true)})
		wantAPIError(t, err, "ResourceInUseException", 400, "DeleteStream can’t delete 000000000000:orders because there are channels associated with this data stream. "+
			"Delete every channel on the stream with DeleteChannel first.")

		up, err := c.UpdateChannel(ctx, &kinesis.UpdateChannelInput{ChannelARN: d.ChannelARN,
			S3DestinationConfiguration: &types.S3DestinationUpdateInput{DataFreshnessInSeconds: aws.Int32(60)},
			LoggingConfiguration: &types.ChannelLoggingUpdateInput{CloudWatchLogs: &types.CloudWatchLogsUpdateInput{
				Enabled: aws.Bool(true), LogGroupName: aws.String("/mine")}}})
		if err != nil {
			t.Fatalf("UpdateChannel: %v", err)
		}
		ud := up.ChannelDescription
		if ud.ChannelStatus != types.ChannelStatusUpdating || *ud.S3DestinationConfiguration.DataFreshnessInSeconds != 60 ||
			!*ud.LoggingConfiguration.CloudWatchLogs.Enabled || *ud.LoggingConfiguration.CloudWatchLogs.LogGroupName != "/mine" ||
			*ud.LoggingConfiguration.CloudWatchLogs.LogStreamName != "DestinationDelivery" {
			t.Errorf("updated %+v", ud)
		}
		_, err = c.UpdateChannel(ctx, &kinesis.UpdateChannelInput{ChannelARN: d.ChannelARN,
			S3TablesDestinationConfiguration: &types.S3TablesDestinationUpdateInput{DataFreshnessInSeconds: aws.Int32(60)}})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Channel orders-to-s3 delivers to a general purpose S3 bucket: use S3DestinationConfiguration.")

		list, err := c.ListChannels(ctx, &kinesis.ListChannelsInput{StreamFilter: []types.StreamFilter{{StreamARN: aws.String(streamARN)}}})
		if err != nil {
			t.Fatalf("ListChannels: %v", err)
		}
		if len(list.ChannelSummaries) != 1 || *list.ChannelSummaries[0].ChannelARN != wantARN ||
			list.ChannelSummaries[0].ChannelDestinationType != types.ChannelDestinationTypeS3 || len(list.ChannelSummaries[0].Streams) != 1 {
			t.Errorf("ListChannels %+v", list.ChannelSummaries)
		}
		other, err := c.ListChannels(ctx, &kinesis.ListChannelsInput{StreamFilter: []types.StreamFilter{{StreamARN: aws.String(streamARN + "x")}}})
		if err != nil || len(other.ChannelSummaries) != 0 {
			t.Errorf("ListChannels of another stream: %v, %+v", err, other)
		}

		if _, err := c.DeleteChannel(ctx, &kinesis.DeleteChannelInput{ChannelARN: d.ChannelARN}); err != nil {
			t.Fatalf("DeleteChannel: %v", err)
		}
		_, err = c.DescribeChannel(ctx, &kinesis.DescribeChannelInput{ChannelARN: d.ChannelARN})
		wantAPIError(t, err, "ResourceNotFoundException", 400, fmt.Sprintf("Channel %s not found.", wantARN))
		_, err = c.DeleteChannel(ctx, &kinesis.DeleteChannelInput{ChannelARN: d.ChannelARN})
		wantAPIError(t, err, "ResourceNotFoundException", 400, fmt.Sprintf("Channel %s not found.", wantARN))
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: aws.String(streamARN)}); err != nil {
			t.Errorf("DeleteStream once its channel is gone: %v", err)
		}
	})
}

func TestChannelStates(t *testing.T) {
	const delay = 500 * time.Millisecond
	eachEngineWith(t, withChannels(t, func(c *config.Config) {
		c.CreateStreamDelay, c.UpdateStreamDelay, c.DeleteStreamDelay = delay, delay, delay
	}), func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		streamARN := onDemandStream(t, c, "states")
		elapse(t, s, delay)
		out, err := c.CreateChannel(ctx, s3ChannelInput("st", streamARN))
		if err != nil {
			t.Fatal(err)
		}
		arn := out.ChannelDescription.ChannelARN
		status := func() types.ChannelStatus {
			t.Helper()
			d, err := c.DescribeChannel(ctx, &kinesis.DescribeChannelInput{ChannelARN: arn})
			if err != nil {
				t.Fatalf("DescribeChannel: %v", err)
			}
			return d.ChannelDescription.ChannelStatus
		}
		inProcessPart(t, s, "the fake clock shows CREATING until the delay ends", func() {
			if st := status(); st != types.ChannelStatusCreating {
				t.Errorf("status %s, want CREATING", st)
			}
		})
		_, err = c.UpdateChannel(ctx, &kinesis.UpdateChannelInput{ChannelARN: arn,
			S3DestinationConfiguration: &types.S3DestinationUpdateInput{DataFreshnessInSeconds: aws.Int32(10)}})
		inProcessPart(t, s, "the fake clock keeps the channel CREATING", func() {
			wantAPIError(t, err, "ResourceInUseException", 400, "Channel st under account 000000000000 is in CREATING state, not ACTIVE.")
		})
		elapse(t, s, delay)
		if st := status(); st != types.ChannelStatusActive {
			t.Errorf("status %s, want ACTIVE", st)
		}
		if _, err := c.UpdateChannel(ctx, &kinesis.UpdateChannelInput{ChannelARN: arn,
			S3DestinationConfiguration: &types.S3DestinationUpdateInput{DataFreshnessInSeconds: aws.Int32(10)}}); err != nil {
			t.Fatal(err)
		}
		inProcessPart(t, s, "the fake clock shows UPDATING until the delay ends", func() {
			if st := status(); st != types.ChannelStatusUpdating {
				t.Errorf("status %s, want UPDATING", st)
			}
		})
		elapse(t, s, delay)
		if _, err := c.DeleteChannel(ctx, &kinesis.DeleteChannelInput{ChannelARN: arn}); err != nil {
			t.Fatal(err)
		}
		inProcessPart(t, s, "the fake clock shows DELETING until the delay ends", func() {
			if st := status(); st != types.ChannelStatusDeleting {
				t.Errorf("status %s, want DELETING", st)
			}
			_, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: aws.String(streamARN)})
			wantPrefix(t, err, "ResourceInUseException", "DeleteStream can’t delete 000000000000:states because there are channels")
		})
		elapse(t, s, delay)
		_, err = c.DescribeChannel(ctx, &kinesis.DescribeChannelInput{ChannelARN: arn})
		wantAPIError(t, err, "ResourceNotFoundException", 400, fmt.Sprintf("Channel %s not found.", *arn))
	})
}

func TestChannelValidation(t *testing.T) {
	eachEngineWith(t, withChannels(t), func(t *testing.T, s *kinesistest.Server) {
		streamARN := onDemandStream(t, s.Client, "valid")
		tests := []struct {
			name, op, body, code, message string
		}{
			{"create: nothing", "CreateChannel", `{}`, "ValidationException",
				"3 validation errors detected: Value null at 'channelName' failed to satisfy constraint: Member must not be null; " +
					"Value null at 'serviceExecutionRoleARN' failed to satisfy constraint: Member must not be null; " +
					"Value null at 'streamConfigurationList' failed to satisfy constraint: Member must not be null"},
			{"create: bad name, role and format", "CreateChannel", `{"ChannelName":"a b","ServiceExecutionRoleARN":"role",` +
				`"StreamConfigurationList":[{"StreamARN":"` + streamARN + `","RecordConfiguration":{"RecordFormatType":"XML"}}]}`, "ValidationException",
				"3 validation errors detected: Value 'a b' at 'channelName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
					`Value 'role' at 'serviceExecutionRoleARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:iam::\d{12}:role/\S+; ` +
					"Value 'XML' at 'streamConfigurationList.1.member.recordConfiguration.recordFormatType' failed to satisfy constraint: Member must satisfy enum value set: [GSR_JSON, JSON, STRING, BYTE_ARRAY]"},
			{"create: no destination", "CreateChannel", `{"ChannelName":"x","ServiceExecutionRoleARN":"` + testRoleARN + `",` +
				`"StreamConfigurationList":[{"StreamARN":"` + streamARN + `","RecordConfiguration":{"RecordFormatType":"JSON"}}]}`, "InvalidArgumentException",
				"Exactly one of S3DestinationConfiguration and S3TablesDestinationConfiguration must be specified."},
			{"create: S3 storage members", "CreateChannel", `{"ChannelName":"x","ServiceExecutionRoleARN":"` + testRoleARN + `",` +
				`"StreamConfigurationList":[{"StreamARN":"` + streamARN + `","RecordConfiguration":{"RecordFormatType":"JSON"}}],` +
				`"S3DestinationConfiguration":{"StorageConfiguration":{"BucketARN":"bucket","CompressionType":"LZ4"},"DataFreshnessInSeconds":0}}`, "ValidationException",
				"4 validation errors detected: Value 'bucket' at 's3DestinationConfiguration.storageConfiguration.bucketARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]; " +
					"Value 'LZ4' at 's3DestinationConfiguration.storageConfiguration.compressionType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, GZIP, ZSTD]; " +
					"Value null at 's3DestinationConfiguration.storageConfiguration.expectedBucketOwner' failed to satisfy constraint: Member must not be null; " +
					"Value '0' at 's3DestinationConfiguration.dataFreshnessInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1"},
			{"describe: no ARN", "DescribeChannel", `{}`, "ValidationException",
				"1 validation error detected: Value null at 'channelARN' failed to satisfy constraint: Member must not be null"},
			{"delete: a stream ARN", "DeleteChannel", `{"ChannelARN":"` + streamARN + `"}`, "ValidationException",
				"1 validation error detected: Value '" + streamARN + `' at 'channelARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:channel/\S+`},
			{"update: freshness too long", "UpdateChannel", `{"ChannelARN":"arn:aws:kinesis:us-east-1:000000000000:channel/abc","S3DestinationConfiguration":{"DataFreshnessInSeconds":901}}`, "ValidationException",
				"1 validation error detected: Value '901' at 's3DestinationConfiguration.dataFreshnessInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900"},
			{"list: bad filter", "ListChannels", `{"StreamFilter":[{}]}`, "ValidationException",
				"1 validation error detected: Value null at 'streamFilter.1.member.streamARN' failed to satisfy constraint: Member must not be null"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, body := rawCall(t, s.Endpoint, tt.op, "application/x-amz-json-1.1", tt.body)
				want := fmt.Sprintf(`{"__type":%q,"message":%q}`, tt.code, tt.message)
				if status != 400 || strings.ReplaceAll(body, `\u0026`, "&") != want {
					t.Errorf("%s: HTTP %d\n got: %s\nwant: %s", tt.op, status, body, want)
				}
			})
		}
	})
}

func TestChannelRules(t *testing.T) {
	eachEngineWith(t, withChannels(t), func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		streamARN := onDemandStream(t, c, "rules")
		createStream(t, c, "provisioned", 1)
		provARN := strings.Replace(streamARN, "stream/rules", "stream/provisioned", 1)

		in := s3ChannelInput("p", provARN)
		_, err := c.CreateChannel(ctx, in)
		wantAPIError(t, err, "InvalidArgumentException", 400, "Stream provisioned under account 000000000000 is in PROVISIONED mode: "+
			"channels are supported only for data streams with the on-demand capacity mode.")

		in = s3ChannelInput("gone", strings.Replace(streamARN, "stream/rules", "stream/nothing", 1))
		_, err = c.CreateChannel(ctx, in)
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream nothing under account 000000000000 not found.")

		in = s3ChannelInput("gsr", streamARN)
		in.StreamConfigurationList[0].RecordConfiguration.RecordFormatType = types.RecordFormatTypeGsrJson
		_, err = c.CreateChannel(ctx, in)
		wantAPIError(t, err, "InvalidArgumentException", 400, "RecordFormatType GSR_JSON is supported only for S3 Tables destinations.")

		tables := &types.S3TablesDestinationConfiguration{
			DeadLetterQueueS3Configuration: &types.DeadLetterQueueS3Configuration{BucketARN: aws.String(testBucketARN), ExpectedBucketOwner: aws.String("000000000000")},
			S3TablesConfigurationList: []types.S3TablesConfiguration{{CompressionType: types.S3TablesCompressionTypeZstd, Namespace: aws.String("ns"),
				TableBucketARN: aws.String("arn:aws:s3tables:us-east-1:000000000000:bucket/tables"), TableName: aws.String("orders")}},
		}
		in = s3ChannelInput("both", streamARN)
		in.S3TablesDestinationConfiguration = tables
		_, err = c.CreateChannel(ctx, in)
		wantAPIError(t, err, "InvalidArgumentException", 400, "Exactly one of S3DestinationConfiguration and S3TablesDestinationConfiguration must be specified.")

		in = s3ChannelInput("string-table", streamARN)
		in.S3DestinationConfiguration, in.S3TablesDestinationConfiguration = nil, tables
		in.StreamConfigurationList[0].RecordConfiguration.RecordFormatType = types.RecordFormatTypeString
		_, err = c.CreateChannel(ctx, in)
		wantAPIError(t, err, "InvalidArgumentException", 400, "RecordFormatType STRING is supported only for general purpose S3 destinations.")

		in.StreamConfigurationList[0].RecordConfiguration.RecordFormatType = types.RecordFormatTypeJson
		_, err = c.CreateChannel(ctx, in)
		wantAPIError(t, err, "InvalidArgumentException", 400, "GSRSchemaARN is required when the channel destination is a streaming table.")

		in = s3ChannelInput("two", streamARN)
		in.StreamConfigurationList = append(in.StreamConfigurationList, in.StreamConfigurationList[0])
		_, err = c.CreateChannel(ctx, in)
		wantAPIError(t, err, "InvalidArgumentException", 400, "StreamConfigurationList must contain exactly one stream configuration: a channel currently supports one stream.")

		_, err = c.DescribeChannel(ctx, &kinesis.DescribeChannelInput{ChannelARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:channel/nothing")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Channel arn:aws:kinesis:us-east-1:000000000000:channel/nothing not found.")
	})
}

func TestChannelListPages(t *testing.T) {
	eachEngineWith(t, withChannels(t), func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		streamARN := onDemandStream(t, c, "pages")
		for i := range 5 {
			if _, err := c.CreateChannel(ctx, s3ChannelInput(fmt.Sprintf("ch-%d", i), streamARN)); err != nil {
				t.Fatal(err)
			}
		}
		var names []string
		p := kinesis.NewListChannelsPaginator(c, &kinesis.ListChannelsInput{MaxResults: aws.Int32(2)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.ChannelSummaries) > 2 {
				t.Errorf("page of %d", len(page.ChannelSummaries))
			}
			for _, cs := range page.ChannelSummaries {
				names = append(names, *cs.ChannelName)
			}
		}
		if strings.Join(names, ",") != "ch-0,ch-1,ch-2,ch-3,ch-4" {
			t.Errorf("listed %v", names)
		}
	})
}

func TestChannelTags(t *testing.T) {
	eachEngineWith(t, withChannels(t), func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		streamARN := onDemandStream(t, c, "tagged")
		in := s3ChannelInput("tagged", streamARN)
		in.Tags = map[string]string{"team": "orders"}
		out, err := c.CreateChannel(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		arn := out.ChannelDescription.ChannelARN
		if _, err := c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"env": "test"}}); err != nil {
			t.Fatalf("TagResource: %v", err)
		}
		if _, err := c.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"team"}}); err != nil {
			t.Fatalf("UntagResource: %v", err)
		}
		tags, err := c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		if len(tags.Tags) != 1 || *tags.Tags[0].Key != "env" || *tags.Tags[0].Value != "test" {
			t.Errorf("tags %+v", tags.Tags)
		}
		missing := aws.String("arn:aws:kinesis:us-east-1:000000000000:channel/nothing")
		_, err = c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: missing})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Channel "+*missing+" not found.")
	})
}

func TestChannelKMS(t *testing.T) {
	eachEngineWith(t, withKMS(t, withChannels(t)), func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		streamARN := onDemandStream(t, c, "secret")
		key := createKMSKey(t, kmsClient(s, "AKIAIOSFODNN7EXAMPLE", "secret", "us-east-1"), nil)

		in := s3ChannelInput("enc", streamARN)
		in.EncryptionConfiguration = &types.ChannelEncryptionConfiguration{EncryptionType: types.ChannelEncryptionTypeKms, KeyId: key.KeyId}
		out, err := c.CreateChannel(ctx, in)
		if err != nil {
			t.Fatalf("CreateChannel with a key: %v", err)
		}
		if e := out.ChannelDescription.EncryptionConfiguration; e == nil || *e.KeyId != *key.KeyId || e.EncryptionType != types.ChannelEncryptionTypeKms {
			t.Errorf("EncryptionConfiguration %+v", e)
		}

		in = s3ChannelInput("no-key", streamARN)
		in.EncryptionConfiguration = &types.ChannelEncryptionConfiguration{EncryptionType: types.ChannelEncryptionTypeKms,
			KeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000")}
		_, err = c.CreateChannel(ctx, in)
		wantPrefix(t, err, "KMSNotFoundException", "")

		in = s3ChannelInput("managed", streamARN)
		in.EncryptionConfiguration = &types.ChannelEncryptionConfiguration{EncryptionType: types.ChannelEncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}
		_, err = c.CreateChannel(ctx, in)
		wantAPIError(t, err, "InvalidArgumentException", 400, "The Amazon Kinesis Data Streams service key (aws/kinesis) cannot be used to encrypt a channel's destination: specify a customer managed key.")
	})
}

func TestChannelJetStreamNeedsS3Endpoint(t *testing.T) {
	skipOnBinary(t, "the binary runs on Pebble, which has the embedded destination")
	s := kinesistest.Start(t, kinesistest.Engines[2], kinesistest.Options{})
	streamARN := onDemandStream(t, s.Client, "js")
	_, err := s.Client.CreateChannel(t.Context(), s3ChannelInput("js", streamARN))
	wantAPIError(t, err, "InvalidArgumentException", 400,
		"Channels need an S3 destination on this server: it runs on NATS JetStream, where there is no embedded one. Start kinesisd with -s3-endpoint.")
}

// TestChannelTablesNeedIcebergWriter: without kinesisd-iceberg (none next to the executable, none on
// $PATH, no -iceberg-writer) the server starts, channels to S3 still work, and CreateChannel refuses
// a channel to S3 Tables.
func TestChannelTablesNeedIcebergWriter(t *testing.T) {
	skipOnBinary(t, "the binary's kinesisd-iceberg is next to it")
	kinesistest.IcebergWriter(t) // built now, while go is on $PATH (Start asks for it)
	t.Setenv("PATH", t.TempDir())
	s := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Configure: func(c *config.Config) { c.IcebergWriter = "" }})
	c := s.Client
	streamARN := onDemandStream(t, c, "nowriter")
	if _, err := c.CreateChannel(t.Context(), s3ChannelInput("to-s3", streamARN)); err != nil {
		t.Fatalf("CreateChannel to S3: %v", err)
	}
	in := s3ChannelInput("to-table", streamARN)
	in.S3DestinationConfiguration = nil
	in.StreamConfigurationList[0].RecordConfiguration = &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeGsrJson,
		GSRSchemaARN: aws.String("arn:aws:glue:us-east-1:000000000000:schema/registry/s")}
	in.S3TablesDestinationConfiguration = &types.S3TablesDestinationConfiguration{
		DeadLetterQueueS3Configuration: &types.DeadLetterQueueS3Configuration{BucketARN: aws.String(testBucketARN), ExpectedBucketOwner: aws.String("000000000000")},
		S3TablesConfigurationList: []types.S3TablesConfiguration{{CompressionType: types.S3TablesCompressionTypeZstd, Namespace: aws.String("ns"),
			TableBucketARN: aws.String("arn:aws:s3tables:us-east-1:000000000000:bucket/tables"), TableName: aws.String("orders")}},
	}
	_, err := c.CreateChannel(t.Context(), in)
	wantAPIError(t, err, "InvalidArgumentException", 400, "Channels to S3 Tables are not available on this server: it found no kinesisd-iceberg, "+
		"the executable that writes Iceberg tables. Install it next to kinesisd or start kinesisd with -iceberg-writer.")
}
