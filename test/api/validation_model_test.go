package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// Validation of every operation's members, derived from the API model (model_test.go): each member's
// constraints are broken one at a time and together, and the ValidationException must be the one AWS
// gives, before any existence check, and change nothing.

// noValidation are the operations these tests leave out, and why.
var noValidation = map[string]string{
	"DescribeLimits":          "no input members",
	"DescribeAccountSettings": "no input members",
}

// target is what the requests of one run name: a stream, and a consumer of it.
type target struct {
	stream, consumerARN string
}

func consumerARNOf(stream string) string { return streamARN(stream) + "/consumer/c:1" }

// valid returns a value of shape sh that passes its constraints, naming tg where it names anything.
func (m *apiModel) valid(t *testing.T, sh *shape, tg target) any {
	t.Helper()
	switch sh.name {
	case "StreamName":
		return tg.stream
	case "StreamARN", "ResourceARN":
		return streamARN(tg.stream)
	case "ConsumerARN":
		return tg.consumerARN
	case "ConsumerName":
		return "new-consumer"
	case "ShardId":
		return "shardId-000000000000"
	case "HashKey":
		return "1"
	case "KeyId":
		return "alias/aws/kinesis"
	case "Policy":
		return `{"Version":"2012-10-17","Statement":[]}`
	case "RetentionPeriodHours":
		return int64(48)
	case "PositiveIntegerObject":
		return int64(2)
	case "ShardIteratorType":
		return "LATEST"
	case "EncryptionType":
		return "KMS"
	case "StreamMode":
		return "ON_DEMAND"
	}
	switch sh.Type {
	case "string":
		if len(sh.Enum) > 0 {
			return sh.Enum[0]
		}
		return m.sample(t, sh, 1)
	case "integer":
		if sh.Min != nil {
			return *sh.Min
		}
		return int64(1)
	case "boolean":
		return false
	case "timestamp":
		return int64(1_700_000_000)
	case "blob":
		return []byte("x")
	case "list":
		return []any{m.valid(t, m.shape(t, sh.Member.Shape), tg)}
	case "map":
		return map[string]any{"k": "v"}
	case "structure":
		obj := map[string]any{}
		for _, mr := range sh.Members {
			if sh.required(mr.Name) {
				obj[mr.Name] = m.valid(t, m.shape(t, mr.Shape), tg)
			}
		}
		return obj
	}
	t.Fatalf("no valid value for %s shape %s", sh.Type, sh.name)
	return nil
}

// request is a valid request body for an operation: its required members, and the stream and
// consumer of tg where the operation can name them, so that a request that wrongly passed
// validation would act on them.
func (m *apiModel) request(t *testing.T, in *shape, tg target) map[string]any {
	t.Helper()
	body := m.valid(t, in, tg).(map[string]any)
	switch {
	case in.has("StreamName"):
		body["StreamName"] = tg.stream
	case in.has("StreamARN"):
		body["StreamARN"] = streamARN(tg.stream)
	}
	if in.has("ConsumerName") && !in.required("ConsumerName") { // DescribeStreamConsumer, DeregisterStreamConsumer
		body["StreamARN"], body["ConsumerName"] = streamARN(tg.stream), "c"
	}
	return body
}

// sample returns a string of n characters for sh that matches its pattern where one can.
func (m *apiModel) sample(t *testing.T, sh *shape, n int64) string {
	t.Helper()
	pad := func(prefix, unit string) string {
		if int64(len(prefix)) >= n {
			return prefix
		}
		return prefix + strings.Repeat(unit, int(n)-len(prefix))
	}
	switch sh.Pattern {
	case "", `[a-zA-Z0-9_.-]+`:
		return strings.Repeat("a", int(n))
	case `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`, `arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`:
		return pad(streamARN("s"), "a")
	case `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`:
		return pad(consumerARNOf("s"), "1")
	case `[a-z0-9]{20}-[a-z0-9]{3}`:
		if n == 24 {
			return strings.Repeat("a", 20) + "-aaa"
		}
		return strings.Repeat("a", int(n))
	case `0|([1-9]\d{0,38})`, `0|([1-9]\d{0,128})`:
		return pad("1", "0")
	}
	t.Fatalf("no sample string for pattern %q of %s", sh.Pattern, sh.name)
	return ""
}

// badPatterns are values of plausible length that miss sh's pattern.
func badPatterns(sh *shape) []string {
	out := []string{"a b"}
	switch sh.Pattern {
	case `[a-zA-Z0-9_.-]+`:
		out = append(out, "a/b")
	case `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`:
		out = append(out, "arn:aws:kinesis:us-east-1:123:stream/s", "arn:aws:sqs:us-east-1:000000000000:stream/s")
	case `arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`:
		out = append(out, "arn:aws:kinesis:us-east-1:000000000000:table/s")
	case `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`:
		out = append(out, streamARN("s"), streamARN("s")+"/consumer/c")
	case `[a-z0-9]{20}-[a-z0-9]{3}`:
		out = append(out, strings.Repeat("A", 20)+"-AAA")
	case `0|([1-9]\d{0,38})`:
		out = append(out, "01", "-1", "1"+strings.Repeat("0", 39))
	case `0|([1-9]\d{0,128})`:
		out = append(out, "01", "1.5")
	}
	return out
}

// probe is one way to break a member: a value, or leaving it out.
type probe struct {
	name   string
	v      any
	absent bool
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// probes returns the values that break shape sh's constraints (and its members', for a list, map
// or structure), and leaving it out where it is required.
func (m *apiModel) probes(t *testing.T, sh *shape, required bool, tg target) []probe {
	t.Helper()
	var out []probe
	if required {
		out = append(out, probe{name: "missing", absent: true})
	}
	add := func(name string, v any) { out = append(out, probe{name: name, v: v}) }
	switch sh.Type {
	case "string":
		if len(sh.Enum) > 0 {
			add("not in enum", "BOGUS")
			add("lower case", strings.ToLower(sh.Enum[0]))
			break
		}
		if sh.Min != nil && *sh.Min > 0 {
			add("empty", "")
		}
		if sh.Max != nil {
			add(fmt.Sprintf("%d long", *sh.Max+1), m.sample(t, sh, *sh.Max+1))
		}
		if sh.Pattern != "" {
			for _, s := range badPatterns(sh) {
				add("pattern "+short(s), s)
			}
		}
	case "integer":
		if sh.Min != nil {
			add(fmt.Sprint(*sh.Min-1), *sh.Min-1)
		}
		if sh.Max != nil {
			add(fmt.Sprint(*sh.Max+1), *sh.Max+1)
		}
	case "blob":
		if lim := blobLimits(sh); lim.Max != nil {
			add(fmt.Sprintf("%d bytes", *lim.Max+1), make([]byte, *lim.Max+1))
		}
	case "list":
		item := m.shape(t, sh.Member.Shape)
		if sh.Min != nil && *sh.Min > 0 {
			add("empty", []any{})
		}
		if sh.Max != nil {
			l := make([]any, *sh.Max+1)
			for i := range l {
				l[i] = m.valid(t, item, tg)
			}
			add(fmt.Sprintf("%d items", len(l)), l)
		}
		for _, p := range m.probes(t, item, false, tg) {
			if item.Type == "structure" { // the second entry broken
				add("2."+p.name, []any{m.valid(t, item, tg), p.v})
			} else {
				add("item "+p.name, []any{p.v})
			}
		}
	case "map":
		key, val := m.shape(t, sh.Key.Shape), m.shape(t, sh.Value.Shape)
		if sh.Min != nil && *sh.Min > 0 {
			add("empty", map[string]any{})
		}
		if sh.Max != nil {
			mp := map[string]any{}
			for i := range *sh.Max + 1 {
				mp[fmt.Sprintf("k%d", i)] = m.valid(t, val, tg)
			}
			add(fmt.Sprintf("%d entries", len(mp)), mp)
		}
		for _, p := range m.probes(t, key, false, tg) {
			add("key "+p.name, map[string]any{p.v.(string): m.valid(t, val, tg)})
		}
		for _, p := range m.probes(t, val, false, tg) {
			add("value "+p.name, map[string]any{"k": p.v})
		}
	case "structure":
		for _, mr := range sh.Members {
			for _, p := range m.probes(t, m.shape(t, mr.Shape), sh.required(mr.Name), tg) {
				obj := m.valid(t, sh, tg).(map[string]any)
				if p.absent {
					delete(obj, mr.Name)
				} else {
					obj[mr.Name] = p.v
				}
				add(mr.Name+"."+p.name, obj)
			}
		}
	}
	return out
}

// validationCase is one request that must fail validation with want.
type validationCase struct {
	name string
	body map[string]any
	want []violation
}

// memberCases breaks each member of an operation's input in turn, in a request for tg.
func (m *apiModel) memberCases(t *testing.T, in *shape, tg target) []validationCase {
	t.Helper()
	base := m.request(t, in, tg)
	if vs := m.evaluate(t, in, "", base, true, true); len(vs) > 0 {
		t.Fatalf("%s: the valid request %v fails: %+v", in.name, base, vs)
	}
	var out []validationCase
	for _, mr := range in.Members {
		for _, p := range m.probes(t, m.shape(t, mr.Shape), in.required(mr.Name), tg) {
			body := maps.Clone(base)
			if p.absent {
				delete(body, mr.Name)
			} else {
				body[mr.Name] = p.v
			}
			want := m.evaluate(t, in, "", body, true, true)
			if len(want) == 0 {
				t.Errorf("%s %s %s: the probe breaks nothing", in.name, mr.Name, p.name)
				continue
			}
			out = append(out, validationCase{name: mr.Name + "/" + p.name, body: body, want: want})
		}
	}
	return out
}

// operations are the model's operations these tests cover, sorted.
func (m *apiModel) operations() []string {
	var ops []string
	for op := range m.Operations {
		if _, skip := noValidation[op]; !skip {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	return ops
}

// wantValidation sends body to op and checks AWS's ValidationException for want.
func wantValidation(t *testing.T, s *kinesistest.Server, op string, body map[string]any, want []violation) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	status, _, resp := rawCall(t, s.Endpoint, op, "application/x-amz-json-1.1", string(raw))
	var got struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(resp), &got); err != nil {
		t.Fatalf("%s: %d %s", op, status, short(resp))
	}
	if status != 400 || got.Type != "ValidationException" {
		t.Fatalf("%s %s\ngot %d %s: %.300s", op, short(string(raw)), status, got.Type, got.Message)
	}
	exact, re := validationMessage(want)
	if re == nil && got.Message != exact || re != nil && !re.MatchString(got.Message) {
		if re != nil {
			exact = re.String()
		}
		t.Errorf("%s message\n got: %.2000s\nwant: %.2000s", op, got.Message, exact)
	}
}

// state is everything about stream s and the account that a request could change, as the
// service reports it.
func state(t *testing.T, s *kinesistest.Server) (string, snapshot) {
	t.Helper()
	arn := streamARN("s")
	var b strings.Builder
	for _, r := range []struct{ op, body string }{
		{"ListStreams", `{}`},
		{"DescribeStream", `{"StreamName":"s"}`},
		{"DescribeStreamSummary", `{"StreamName":"s"}`},
		{"ListShards", `{"StreamName":"s"}`},
		{"ListTagsForStream", `{"StreamName":"s"}`},
		{"ListStreamConsumers", `{"StreamARN":"` + arn + `"}`},
		{"GetResourcePolicy", `{"ResourceARN":"` + arn + `"}`},
		{"DescribeAccountSettings", `{}`},
	} {
		status, _, body := rawCall(t, s.Endpoint, r.op, "application/x-amz-json-1.1", r.body)
		if status != 200 {
			t.Fatalf("%s: %d %s", r.op, status, body)
		}
		fmt.Fprintf(&b, "%s: %s\n", r.op, body)
	}
	return b.String(), takeSnapshot(t, s, "s", 2)
}

// TestValidationModel breaks every constraint of every member of every operation, one at a time, on
// a request for an existing stream and on one for a stream that does not exist: each gets AWS's
// ValidationException, and nothing changes.
func TestValidationModel(t *testing.T) {
	m := loadModel(t)
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		c := s.Client
		createStream(t, c, "s", 2)
		for i := range 6 {
			if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("s"), Data: []byte{byte(i)}, PartitionKey: aws.String(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		consumer := *register(t, c, "s", "c").ConsumerARN
		if _, err := c.AddTagsToStream(t.Context(), &kinesis.AddTagsToStreamInput{StreamName: aws.String("s"), Tags: map[string]string{"team": "a"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutResourcePolicy(t.Context(), &kinesis.PutResourcePolicyInput{ResourceARN: aws.String(streamARN("s")),
			Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
			t.Fatal(err)
		}
		if s.Clock != nil { // a minute on in process; against the binary the real clock moves by itself
			s.Clock.Advance(time.Minute)
		}
		beforeAPI, beforeRecords := state(t, s)

		targets := []target{{"s", consumer}, {"nope", consumerARNOf("nope")}}
		for _, op := range m.operations() {
			in := m.input(t, op)
			t.Run(op, func(t *testing.T) {
				for _, tg := range targets {
					if op == "CreateStream" {
						if tg.stream != "s" {
							continue
						}
						tg.stream = "created-by-mistake"
					}
					for _, vc := range m.memberCases(t, in, tg) {
						t.Run(tg.stream+"/"+vc.name, func(t *testing.T) { wantValidation(t, s, op, vc.body, vc.want) })
					}
				}
			})
		}

		afterAPI, afterRecords := state(t, s)
		if afterAPI != beforeAPI {
			t.Errorf("failed requests changed the service:\nbefore:\n%s\nafter:\n%s", beforeAPI, afterAPI)
		}
		if err := beforeRecords.equal(afterRecords); err != nil {
			t.Errorf("failed requests changed the records: %v", err)
		}
		if _, err := c.DescribeStreamConsumer(t.Context(), &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(consumer)}); err != nil {
			t.Errorf("consumer: %v", err)
		}
		var rnf *types.ResourceNotFoundException
		if _, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("created-by-mistake")}); !errors.As(err, &rnf) {
			t.Errorf("CreateStream with bad members created the stream: %v", err)
		}
	})
}
