package api_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

const (
	invalidTagChars = "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :."
	illegalTagChars = " because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@',':'."
)

// tagList renders tags as key=value pairs in the order returned.
func tagList(tags []types.Tag) []string {
	out := []string{}
	for _, t := range tags {
		out = append(out, *t.Key+"="+aws.ToString(t.Value))
	}
	return out
}

func listStreamTags(t *testing.T, c *kinesis.Client, in *kinesis.ListTagsForStreamInput) ([]string, bool) {
	t.Helper()
	out, err := c.ListTagsForStream(t.Context(), in)
	if err != nil {
		t.Fatalf("ListTagsForStream: %v", err)
	}
	return tagList(out.Tags), *out.HasMoreTags
}

func TestStreamTags(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("tagged"), ShardCount: aws.Int32(1),
			Tags: map[string]string{"env": "prod"}})
		if err != nil {
			t.Fatal(err)
		}
		name := aws.String("tagged")
		_, err = c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name,
			Tags: map[string]string{"a": "a", "ü0 _.": "a", "/=+-@:": "a", "b": "ü0 _./=+-@:", "c": ""}})
		if err != nil {
			t.Fatal(err)
		}
		all := []string{"/=+-@:=a", "a=a", "b=ü0 _./=+-@:", "c=", "env=prod", "ü0 _.=a"}
		if got, more := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamName: name}); !reflect.DeepEqual(got, all) || more {
			t.Fatalf("tags %q (more %v), want %q", got, more, all)
		}
		// Adding an existing key replaces its value; the ARN names the stream as well as the name.
		arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/tagged")
		if _, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamARN: arn, Tags: map[string]string{"a": "b"}}); err != nil {
			t.Fatal(err)
		}
		all[1] = "a=b"
		pages := []struct {
			start *string
			limit int32
			want  []string
			more  bool
		}{
			{nil, 2, all[:2], true},
			{aws.String("a"), 3, all[2:5], true},
			{aws.String("b"), 4, all[3:], false},
			{aws.String("env"), 50, all[5:], false},
			{aws.String("ü0 _."), 1, []string{}, false},
		}
		for _, p := range pages {
			got, more := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamARN: arn, ExclusiveStartTagKey: p.start, Limit: aws.Int32(p.limit)})
			if !reflect.DeepEqual(got, p.want) || more != p.more {
				t.Errorf("after %v limit %d: %q (more %v), want %q (more %v)", aws.ToString(p.start), p.limit, got, more, p.want, p.more)
			}
		}
		// Remove ignores keys the stream does not carry.
		if _, err := c.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: name, TagKeys: []string{"a", "missing", "ü0 _."}}); err != nil {
			t.Fatal(err)
		}
		rest := []string{"/=+-@:=a", "b=ü0 _./=+-@:", "c=", "env=prod"}
		if got, _ := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamName: name}); !reflect.DeepEqual(got, rest) {
			t.Fatalf("after remove: %q, want %q", got, rest)
		}

		// At most 50 tags; AWS's message still says 10, its limit before.
		many := map[string]string{}
		for i := range 46 {
			many[fmt.Sprintf("k%02d", i)] = "v"
		}
		if _, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: many}); err != nil {
			t.Fatalf("to 50 tags: %v", err)
		}
		_, err = c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"one-more": ""}})
		wantAPIError(t, err, "InvalidArgumentException", 400,
			"Failed to add tags to stream tagged under account 000000000000 because a given stream cannot have more than 10 tags associated with it.")
		if _, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"k00": "replaced"}}); err != nil {
			t.Fatalf("replacing at 50 tags: %v", err)
		}
		if got, _ := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamName: name}); len(got) != 50 || got[4] != "k00=replaced" {
			t.Fatalf("%d tags, fifth %q", len(got), got[4])
		}
	})
}

func TestTagErrors(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "t", 1)
		long := strings.Repeat("a", 129)
		add := func(name string, tags map[string]string) error {
			_, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String(name), Tags: tags})
			return err
		}
		remove := func(name string, keys ...string) error {
			if keys == nil {
				keys = []string{} // the SDK refuses a nil list itself
			}
			_, err := c.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: aws.String(name), TagKeys: keys})
			return err
		}
		list := func(name string, start *string, limit *int32) error {
			_, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String(name), ExclusiveStartTagKey: start, Limit: limit})
			return err
		}
		create := func(name string, tags map[string]string) error {
			_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1), Tags: tags})
			return err
		}
		fiftyOne := map[string]string{}
		keys := []string{}
		for i := range 51 {
			fiftyOne[fmt.Sprint(i)] = ""
			keys = append(keys, fmt.Sprint(i))
		}
		tests := []struct {
			name, code, message string
			err                 error
		}{
			{"empty tags and name", "ValidationException", "3 validation errors detected: " +
				"Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
				add("", map[string]string{})},
			{"long key", "ValidationException", "1 validation error detected: Value '{a=1, " + long + "=3}' at 'tags' failed to satisfy constraint: " +
				"Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]",
				add("t", map[string]string{"a": "1", long: "3"})},
			{"long value", "ValidationException", "1 validation error detected: Value '{c=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: " +
				"Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]",
				add("t", map[string]string{"c": strings.Repeat("v", 257)})},
			{"missing stream", "ResourceNotFoundException", "Stream nope under account 000000000000 not found.", add("nope", map[string]string{"a;": "b"})},
			{"semicolon in key", "InvalidArgumentException", invalidTagChars, add("t", map[string]string{"abc;def": "1"})},
			{"tab in value", "InvalidArgumentException", invalidTagChars, add("t", map[string]string{"a": "abc\tdef"})},
			{"comma in value", "InvalidArgumentException", invalidTagChars, add("t", map[string]string{"a": "abc,def"})},
			{"percent in value", "InvalidArgumentException", "Failed to add tags to stream t under account 000000000000" + illegalTagChars,
				add("t", map[string]string{"a": "abc%def"})},
			{"remove: no keys", "ValidationException", "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: " +
				"Member must have length greater than or equal to 1", remove("t")},
			{"remove: long key", "ValidationException", "1 validation error detected: Value '[a, " + long + ", b]' at 'tagKeys' failed to satisfy constraint: " +
				"Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]",
				remove("t", "a", long, "b")},
			{"remove: 51 keys", "ValidationException", "1 validation error detected: Value '[" + strings.Join(keys, ", ") + "]' at 'tagKeys' " +
				"failed to satisfy constraint: Member must have length less than or equal to 50", remove("t", keys...)},
			{"remove: missing stream", "ResourceNotFoundException", "Stream nope under account 000000000000 not found.", remove("nope", "a")},
			{"remove: comma", "InvalidArgumentException", invalidTagChars, remove("t", "abc,def")},
			{"remove: percent", "InvalidArgumentException", "Failed to remove tags from stream t under account 000000000000" + illegalTagChars,
				remove("t", "abc%def")},
			{"list: bad limit and start", "ValidationException", "4 validation errors detected: " +
				"Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'exclusiveStartTagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
				list("", aws.String(""), aws.Int32(0))},
			{"list: limit 51", "ValidationException", "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: " +
				"Member must have value less than or equal to 50", list("t", nil, aws.Int32(51))},
			{"list: missing stream", "ResourceNotFoundException", "Stream nope under account 000000000000 not found.", list("nope", nil, nil)},
			{"create: empty tags", "ValidationException", "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: " +
				"Member must have length greater than or equal to 1", create("c1", map[string]string{})},
			{"create: bad character", "InvalidArgumentException", invalidTagChars, create("c2", map[string]string{"a": "b;"})},
			{"create: 51 tags", "InvalidArgumentException", "Failed to add tags to stream c3 under account 000000000000 " +
				"because a given stream cannot have more than 10 tags associated with it.", create("c3", fiftyOne)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantAPIError(t, tt.err, tt.code, 400, tt.message) })
		}
		list2, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil || !reflect.DeepEqual(list2.StreamNames, []string{"t"}) {
			t.Fatalf("refused CreateStream calls made streams: %v %v", list2.StreamNames, err)
		}
		if got, _ := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamName: aws.String("t")}); len(got) != 0 {
			t.Fatalf("refused calls left tags %q", got)
		}
	})
}

func TestTagResource(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		createStream(t, c, "res", 1)
		arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/res")
		if _, err := c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"team": "data", "cost": "1"}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if got := tagList(out.Tags); !reflect.DeepEqual(got, []string{"cost=1", "team=data"}) {
			t.Fatalf("ListTagsForResource: %q", got)
		}
		if got, _ := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamName: aws.String("res")}); !reflect.DeepEqual(got, []string{"cost=1", "team=data"}) {
			t.Fatalf("ListTagsForStream after TagResource: %q", got)
		}
		if _, err := c.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"cost", "nothing"}}); err != nil {
			t.Fatal(err)
		}
		if out, err = c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn}); err != nil || !reflect.DeepEqual(tagList(out.Tags), []string{"team=data"}) {
			t.Fatalf("after UntagResource: %v %v", out, err)
		}

		consumer := "arn:aws:kinesis:us-east-1:000000000000:stream/res/consumer/app:1700000000"
		_, err = c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: aws.String(consumer), Tags: map[string]string{"a": "b"}})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Consumer "+consumer+" under account 000000000000 not found.")
		_, err = c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: aws.String(consumer)})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Consumer "+consumer+" under account 000000000000 not found.")
		_, err = c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/gone")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Stream gone under account 000000000000 not found.")
		_, err = c.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:111111111111:stream/res"), TagKeys: []string{"a"}})
		// Another account's stream, without its resource policy: IAM refuses before anything is looked up.
		wantAPIError(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::000000000000:root is not authorized to perform: kinesis:UntagResource "+
			"on resource: arn:aws:kinesis:us-east-1:111111111111:stream/res because no resource-based policy allows the kinesis:UntagResource action")
		_, err = c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: aws.String("arn:aws:sqs:us-east-1:000000000000:queue/q"), Tags: map[string]string{}})
		wantAPIError(t, err, "ValidationException", 400, "2 validation errors detected: "+
			"Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1; "+
			"Value 'arn:aws:sqs:us-east-1:000000000000:queue/q' at 'resourceARN' failed to satisfy constraint: "+
			`Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`)
		_, err = c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"a%": "b"}})
		wantAPIError(t, err, "InvalidArgumentException", 400, "Failed to add tags to stream res under account 000000000000"+illegalTagChars)
	})
}

// TestTagsWhileCreating: "Tags will take effect from the CREATING status of the stream, but you can't make
// any updates to the tags until the stream is in ACTIVE state" (CreateStream).
func TestTagsWhileCreating(t *testing.T) {
	eachEngineWith(t, func(c *config.Config) { c.CreateStreamDelay = time.Second }, func(t *testing.T, s *kinesistest.Server) {
		c, ctx := s.Client, t.Context()
		if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("young"), ShardCount: aws.Int32(1),
			Tags: map[string]string{"team": "a"}}); err != nil {
			t.Fatal(err)
		}
		inUse := "Stream young under account 000000000000 not ACTIVE, instead in state CREATING"
		_, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("young"), Tags: map[string]string{"env": "x"}})
		wantAPIError(t, err, "ResourceInUseException", 400, inUse)
		_, err = c.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: aws.String("young"), TagKeys: []string{"team"}})
		wantAPIError(t, err, "ResourceInUseException", 400, inUse)
		_, err = c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arnOf("young"), Tags: map[string]string{"env": "x"}})
		wantAPIError(t, err, "ResourceInUseException", 400, inUse)
		_, err = c.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: arnOf("young"), TagKeys: []string{"team"}})
		wantAPIError(t, err, "ResourceInUseException", 400, inUse)
		if tags, _ := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamName: aws.String("young")}); fmt.Sprint(tags) != "[team=a]" {
			t.Errorf("tags while creating: %v", tags)
		}
		elapse(t, s, time.Second)
		if _, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("young"), Tags: map[string]string{"env": "x"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: arnOf("young"), TagKeys: []string{"team"}}); err != nil {
			t.Fatal(err)
		}
		if tags, _ := listStreamTags(t, c, &kinesis.ListTagsForStreamInput{StreamName: aws.String("young")}); fmt.Sprint(tags) != "[env=x]" {
			t.Errorf("tags once active: %v", tags)
		}
	})
}
