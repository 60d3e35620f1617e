package api_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// consumerDelay is -consumer-delay where tests set it: 10 s of the fake clock in process; against the
// binary, whose clock is real, 1.5 s (the checks made right after a registration still have that long).
var consumerDelay = func() time.Duration {
	if onBinary() {
		return 1500 * time.Millisecond
	}
	return 10 * time.Second
}()

func withConsumerDelay(c *config.Config) { c.ConsumerDelay = consumerDelay }

func streamARN(name string) string { return "arn:aws:kinesis:us-east-1:000000000000:stream/" + name }

func register(t *testing.T, c *kinesis.Client, stream, name string) *types.Consumer {
	t.Helper()
	out, err := c.RegisterStreamConsumer(t.Context(), &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String(streamARN(stream)), ConsumerName: aws.String(name)})
	if err != nil {
		t.Fatalf("RegisterStreamConsumer %s: %v", name, err)
	}
	return out.Consumer
}

func describeByARN(t *testing.T, c *kinesis.Client, arn string) (*types.ConsumerDescription, error) {
	t.Helper()
	out, err := c.DescribeStreamConsumer(t.Context(), &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	return out.ConsumerDescription, nil
}

func consumerCount(t *testing.T, c *kinesis.Client, stream string) int32 {
	t.Helper()
	out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToInt32(out.StreamDescriptionSummary.ConsumerCount)
}

func TestConsumerLifecycle(t *testing.T) {
	eachEngineWith(t, withConsumerDelay, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "s", 1)
		now := serverNow(s)
		reg := register(t, c, "s", "c1")
		if reg.ConsumerCreationTimestamp == nil || !sameServerTime(s, *reg.ConsumerCreationTimestamp, now) {
			t.Fatalf("registered %+v at %v", reg, now)
		}
		now = *reg.ConsumerCreationTimestamp // the same in process; the server's own reading against the binary
		wantARN := fmt.Sprintf("%s/consumer/c1:%d", streamARN("s"), now.Unix())
		if *reg.ConsumerARN != wantARN || *reg.ConsumerName != "c1" || reg.ConsumerStatus != types.ConsumerStatusCreating {
			t.Fatalf("registered %+v, want ARN %s CREATING at %v", reg, wantARN, now)
		}
		d, err := describeByARN(t, c, wantARN)
		if err != nil {
			t.Fatal(err)
		}
		if d.ConsumerStatus != types.ConsumerStatusCreating || *d.StreamARN != streamARN("s") || *d.ConsumerARN != wantARN {
			t.Fatalf("described %+v", d)
		}
		byName, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{
			StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("c1")})
		if err != nil || *byName.ConsumerDescription.ConsumerARN != wantARN {
			t.Fatalf("describe by name: %v %+v", err, byName)
		}
		if n := consumerCount(t, c, "s"); n != 1 {
			t.Errorf("ConsumerCount %d, want 1", n)
		}

		elapseChecking(t, s, consumerDelay, time.Millisecond, func() {
			if d, _ := describeByARN(t, c, wantARN); d.ConsumerStatus != types.ConsumerStatusCreating {
				t.Errorf("status %s before the delay, want CREATING", d.ConsumerStatus)
			}
		})
		if d, _ := describeByARN(t, c, wantARN); d.ConsumerStatus != types.ConsumerStatusActive {
			t.Errorf("status %s after the delay, want ACTIVE", d.ConsumerStatus)
		}
		list, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s"))})
		if err != nil || len(list.Consumers) != 1 || list.Consumers[0].ConsumerStatus != types.ConsumerStatusActive || list.NextToken != nil {
			t.Fatalf("list: %v %+v", err, list)
		}

		if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(wantARN)}); err != nil {
			t.Fatal(err)
		}
		if d, _ := describeByARN(t, c, wantARN); d.ConsumerStatus != types.ConsumerStatusDeleting {
			t.Errorf("status %s after deregistering, want DELETING", d.ConsumerStatus)
		}
		// Deregistering again while DELETING changes nothing.
		if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{
			StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("c1")}); err != nil {
			t.Fatal(err)
		}
		elapse(t, s, consumerDelay)
		_, err = describeByARN(t, c, wantARN)
		wantAPIError(t, err, "ResourceNotFoundException", 400, fmt.Sprintf(
			"Consumer c1 with creation timestamp %d under stream s and account 000000000000 not found.", now.Unix()))
		_, err = c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{
			StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("c1")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Consumer c1 under stream s and account 000000000000 not found.")
		_, err = c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(wantARN)})
		wantAPIError(t, err, "ResourceNotFoundException", 400, fmt.Sprintf(
			"Consumer c1 with creation timestamp %d under stream s and account 000000000000 not found.", now.Unix()))
		if n := consumerCount(t, c, "s"); n != 0 {
			t.Errorf("ConsumerCount %d after deregistration, want 0", n)
		}

		// Registering the name again makes a new consumer with a new ARN; the old ARN stays unknown.
		again := register(t, c, "s", "c1")
		if *again.ConsumerARN == wantARN {
			t.Errorf("re-registration reused ARN %s", wantARN)
		}
		if _, err := describeByARN(t, c, wantARN); err == nil {
			t.Error("the first registration's ARN still describes a consumer")
		}
	})
}

// TestConsumerARNsUnique registers, deregisters and registers one name again within one second of the
// clock: every registration gets its own ARN.
func TestConsumerARNsUnique(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "s", 1)
		freshSecond(t, s) // the registrations fall within one second of the binary's real clock too
		sec := serverNow(s).Unix()
		var arns []string
		for range 3 {
			reg := register(t, c, "s", "same")
			if reg.ConsumerStatus != types.ConsumerStatusActive {
				t.Errorf("status %s with no consumer delay, want ACTIVE", reg.ConsumerStatus)
			}
			if slices.Contains(arns, *reg.ConsumerARN) {
				t.Fatalf("ARN %s given twice", *reg.ConsumerARN)
			}
			arns = append(arns, *reg.ConsumerARN)
			if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: reg.ConsumerARN}); err != nil {
				t.Fatal(err)
			}
		}
		want := fmt.Sprintf("%s/consumer/same:%d", streamARN("s"), sec)
		if arns[0] != want {
			t.Errorf("first ARN %s, want %s", arns[0], want)
		}
		last := register(t, c, "s", "same")
		for _, arn := range arns {
			_, err := describeByARN(t, c, arn)
			wantPrefix(t, err, "ResourceNotFoundException", "Consumer same with creation timestamp ")
		}
		if d, err := describeByARN(t, c, *last.ConsumerARN); err != nil || *d.ConsumerName != "same" {
			t.Fatalf("describe the live registration: %v", err)
		}
	})
}

func TestRegisterStreamConsumerLimits(t *testing.T) {
	eachEngineWith(t, withConsumerDelay, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "a", 1)
		createStream(t, c, "b", 1)
		reg := func(stream, name string) error {
			_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
				StreamARN: aws.String(streamARN(stream)), ConsumerName: aws.String(name)})
			return err
		}
		register(t, c, "a", "dup")
		wantAPIError(t, reg("a", "dup"), "ResourceInUseException", 400,
			"Consumer dup under stream a and account 000000000000 already exists.")

		// At most 5 consumers of the account CREATING at once, across streams.
		for _, n := range []string{"a1", "a2"} {
			register(t, c, "a", n)
		}
		for _, n := range []string{"b1", "b2"} {
			register(t, c, "b", n)
		}
		wantAPIError(t, reg("b", "b3"), "LimitExceededException", 400,
			"This request would exceed the limit on the number of consumers that can simultaneously be in CREATING for the account 000000000000. Limit: 5.")
		elapse(t, s, consumerDelay)
		if err := reg("b", "b3"); err != nil {
			t.Fatalf("register once the others are ACTIVE: %v", err)
		}

		// At most 20 consumers per stream.
		for i := range 16 {
			if i%4 == 0 {
				elapse(t, s, consumerDelay)
			}
			register(t, c, "a", fmt.Sprintf("more%02d", i))
		}
		elapse(t, s, consumerDelay)
		if n := consumerCount(t, c, "a"); n != 19 {
			t.Fatalf("ConsumerCount %d, want 19", n)
		}
		register(t, c, "a", "twentieth")
		wantAPIError(t, reg("a", "one-too-many"), "LimitExceededException", 400,
			"This request would exceed the limit of 20 consumers registered to stream a under account 000000000000.")

		wantAPIError(t, reg("nope", "x"), "ResourceNotFoundException", 400, "Stream nope under account 000000000000 not found.")
		_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
			StreamARN: aws.String("arn:aws:kinesis:us-east-1:111111111111:stream/a"), ConsumerName: aws.String("x")})
		// Another account's stream: without its resource policy, access is denied before anything is looked up.
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::000000000000:root is not authorized to perform: kinesis:RegisterStreamConsumer "+
			"on resource: arn:aws:kinesis:us-east-1:111111111111:stream/a because no resource-based policy allows the kinesis:RegisterStreamConsumer action")
	})
}

func TestRegisterStreamConsumerTags(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "s", 1)
		reg := func(name string, tags map[string]string) error {
			_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
				StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String(name), Tags: tags})
			return err
		}
		if err := reg("tagged", map[string]string{"team": "data", "env": "", "path": "a/b=c+d-e_f.g@h%i j"}); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, reg("bad", map[string]string{"a;b": "1"}), "InvalidArgumentException", 400,
			"Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")
		wantAPIError(t, reg("bad", map[string]string{"k": "tab\there"}), "InvalidArgumentException", 400,
			"Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")
		many := map[string]string{}
		for i := range 51 {
			many[fmt.Sprintf("k%02d", i)] = "v"
		}
		wantAPIError(t, reg("bad", many), "InvalidArgumentException", 400,
			"Failed to register consumer bad under stream s and account 000000000000 because a given consumer cannot have more than 50 tags.")
		list, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s"))})
		if err != nil || len(list.Consumers) != 1 {
			t.Fatalf("a refused registration left a consumer: %v %+v", err, list)
		}
	})
}

func TestConsumerRefs(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "s", 1)
		createStream(t, c, "t", 1)
		arn := *register(t, c, "s", "c").ConsumerARN
		describe := func(in kinesis.DescribeStreamConsumerInput) error {
			_, err := c.DescribeStreamConsumer(ctx, &in)
			return err
		}
		deregister := func(in kinesis.DeregisterStreamConsumerInput) error {
			_, err := c.DeregisterStreamConsumer(ctx, &in)
			return err
		}
		if err := describe(kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(arn),
			StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String("c")}); err != nil {
			t.Errorf("all three agreeing: %v", err)
		}
		tests := []struct {
			name                 string
			streamARN, cname, cn *string
			message              string
		}{
			{"nothing", nil, nil, nil, "Either ConsumerARN or both ConsumerName and StreamARN should be provided."},
			{"stream only", aws.String(streamARN("s")), nil, nil, "Either ConsumerARN or both ConsumerName and StreamARN should be provided."},
			{"name only", nil, aws.String("c"), nil, "Either ConsumerARN or both ConsumerName and StreamARN should be provided."},
			{"other name", nil, aws.String("d"), aws.String(arn),
				"ConsumerName d and ConsumerARN " + arn + " do not name the same consumer."},
			{"other stream", aws.String(streamARN("t")), nil, aws.String(arn),
				"StreamARN " + streamARN("t") + " and ConsumerARN " + arn + " do not name the same stream."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := describe(kinesis.DescribeStreamConsumerInput{StreamARN: tt.streamARN, ConsumerName: tt.cname, ConsumerARN: tt.cn})
				wantAPIError(t, err, "InvalidArgumentException", 400, tt.message)
				err = deregister(kinesis.DeregisterStreamConsumerInput{StreamARN: tt.streamARN, ConsumerName: tt.cname, ConsumerARN: tt.cn})
				wantAPIError(t, err, "InvalidArgumentException", 400, tt.message)
			})
		}
		if d, err := describeByARN(t, c, arn); err != nil || d.ConsumerStatus != types.ConsumerStatusActive {
			t.Fatalf("a refused deregistration changed the consumer: %v %+v", err, d)
		}
		err := describe(kinesis.DescribeStreamConsumerInput{StreamARN: aws.String(streamARN("gone")), ConsumerName: aws.String("c")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream gone under account 000000000000 not found.")
		err = describe(kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(streamARN("gone") + "/consumer/c:1")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Consumer c with creation timestamp 1 under stream gone and account 000000000000 not found.")
		err = describe(kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String("arn:aws:kinesis:eu-west-1:000000000000:stream/s/consumer/c:1")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Consumer c with creation timestamp 1 under stream s and account 000000000000 not found.")
	})
}

func TestListStreamConsumersPaging(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "s", 1)
		names := []string{"g", "e", "a", "c", "f", "b", "d"}
		for _, n := range names {
			register(t, c, "s", n)
		}
		slices.Sort(names)
		var got [][]string
		in := &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), MaxResults: aws.Int32(3)}
		for {
			out, err := c.ListStreamConsumers(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			var page []string
			for _, cs := range out.Consumers {
				page = append(page, *cs.ConsumerName)
			}
			got = append(got, page)
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		if fmt.Sprint(got) != "[[a b c] [d e f] [g]]" {
			t.Errorf("pages %v", got)
		}
		all, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), MaxResults: aws.Int32(10000)})
		if err != nil || len(all.Consumers) != 7 || all.NextToken != nil {
			t.Fatalf("one page: %v %+v", err, all)
		}

		first, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), MaxResults: aws.Int32(2)})
		if err != nil || first.NextToken == nil {
			t.Fatalf("first page: %v", err)
		}
		tok := first.NextToken
		_, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), NextToken: tok,
			StreamCreationTimestamp: aws.Time(time.Now())})
		wantAPIError(t, err, "InvalidArgumentException", 400, "NextToken and StreamCreationTimestamp cannot be provided together.")
		createStream(t, c, "other", 1)
		_, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("other")), NextToken: tok})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Invalid NextToken: "+*tok)
		_, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), NextToken: aws.String("garbage")})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Invalid NextToken: garbage")

		inProcessPart(t, s, "a NextToken expires after 300 s of the fake clock", func() {
			s.Clock.Advance(300 * time.Second)
			if _, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), NextToken: tok}); err != nil {
				t.Fatalf("a token 300 s old: %v", err)
			}
			s.Clock.Advance(time.Second)
			_, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")), NextToken: tok})
			wantAPIError(t, err, "ExpiredNextTokenException", 400, "The NextToken has expired: "+*tok)
		})

		sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
		if err != nil {
			t.Fatal(err)
		}
		created := sum.StreamDescriptionSummary.StreamCreationTimestamp
		if out, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")),
			StreamCreationTimestamp: created}); err != nil || len(out.Consumers) != 7 {
			t.Fatalf("with the stream's creation time: %v", err)
		}
		_, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s")),
			StreamCreationTimestamp: aws.Time(created.Add(-time.Hour))})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream s under account 000000000000 not found.")
		_, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("nope"))})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream nope under account 000000000000 not found.")
	})
}

func TestDeleteStreamWithConsumers(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "s", 1)
		register(t, c, "s", "c")
		_, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s")})
		wantAPIError(t, err, "ResourceInUseException", 400, "DeleteStream can’t delete 000000000000:s because there are consumers "+
			"associated with this data stream. To delete s anyway, set the EnforceConsumerDeletion parameter to true to force "+
			"the deletion of all the consumers that are associated with it.")
		_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s"), EnforceConsumerDeletion: aws.Bool(false)})
		wantAPIError(t, err, "ResourceInUseException", 400, "")
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s"), EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		createStream(t, c, "s", 1)
		if n := consumerCount(t, c, "s"); n != 0 {
			t.Errorf("a new stream of the same name has %d consumers", n)
		}
		// A stream whose consumers were all deregistered deletes without the flag.
		reg := register(t, c, "s", "c")
		if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: reg.ConsumerARN}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s")}); err != nil {
			t.Fatalf("delete after deregistration: %v", err)
		}
	})
}

func TestConsumerRateLimits(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.APIRateLimits = true }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "s", 1)
		var err error
		freshSecond(t, s)
		for i := range 6 {
			_, err = c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
				StreamARN: aws.String(streamARN("s")), ConsumerName: aws.String(fmt.Sprint("c", i))})
			if i < 5 && err != nil {
				t.Fatal(err)
			}
		}
		wantAPIError(t, err, "LimitExceededException", 400, "Rate exceeded for account 000000000000.")
		freshSecond(t, s)
		for i := range 6 {
			_, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s"))})
			if i < 5 && err != nil {
				t.Fatal(err)
			}
		}
		wantAPIError(t, err, "LimitExceededException", 400, "Rate exceeded for stream s under account 000000000000.")
		elapse(t, s, time.Second)
		if _, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("s"))}); err != nil {
			t.Fatalf("next second: %v", err)
		}
	})
}
