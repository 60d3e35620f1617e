package api_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"kinesisd/internal/kinesistest"
)

// The order of AWS's checks: the failures of several members together, in AWS's member order and at
// most 10; messages kinesalite recorded against AWS, word for word; and existence checked only once
// the shape is valid.

// TestValidationMultiple sends, per operation, a request without any member (every required member
// missing) and one with every member broken at once: the ValidationException lists the failures in
// AWS's member order, at most 10 of them.
func TestValidationMultiple(t *testing.T) {
	m := loadModel(t)
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "s", 1)
		tg := target{stream: "s", consumerARN: consumerARNOf("s")}
		for _, op := range m.operations() {
			in := m.input(t, op)
			t.Run(op, func(t *testing.T) {
				if want := m.evaluate(t, in, "", map[string]any{}, true, true); len(want) > 0 {
					t.Run("empty", func(t *testing.T) { wantValidation(t, s, op, map[string]any{}, want) })
				}
				// Each member's first probe; a required member left out only when nothing else breaks it.
				body := m.request(t, in, tg)
				for _, mr := range in.Members {
					ps := m.probes(t, m.shape(t, mr.Shape), in.required(mr.Name), tg)
					if len(ps) > 1 && ps[0].absent {
						ps = ps[1:]
					}
					switch {
					case len(ps) == 0:
					case ps[0].absent:
						delete(body, mr.Name)
					default:
						body[mr.Name] = ps[0].v
					}
				}
				if in.has("DryRun") {
					body["DryRun"] = true // validation comes before the dry run's answer
				}
				if want := m.evaluate(t, in, "", body, true, true); len(want) > 1 {
					t.Run("all broken", func(t *testing.T) { wantValidation(t, s, op, body, want) })
				}
			})
		}

		t.Run("PutRecords more than 10 failures", func(t *testing.T) {
			records := make([]any, 501)
			for i := range records {
				records[i] = map[string]any{"PartitionKey": "", "Data": []byte{}}
			}
			body := map[string]any{"StreamName": "", "Records": records}
			want := m.evaluate(t, m.input(t, "PutRecords"), "", body, true, true)
			if len(want) != 1+501+2 {
				t.Fatalf("evaluate: %d failures, want 504", len(want))
			}
			wantValidation(t, s, "PutRecords", body, want)
		})
	})
}

// TestValidationRecorded replays the validation requests whose messages kinesalite's tests recorded
// against AWS (test/*.js, in their fixed-order form), for both the server and this package's model
// evaluation. Where a member has since become optional (StreamName), AWS no longer reports it missing.
func TestValidationRecorded(t *testing.T) {
	m := loadModel(t)
	name129, key257 := strings.Repeat("a", 129), strings.Repeat("a", 257)
	data := base64.StdEncoding.EncodeToString(make([]byte, 1048577))
	tests := []struct {
		op, body, message string
	}{
		{"PutRecord", `{"StreamName":"","PartitionKey":"","Data":"","ExplicitHashKey":"","SequenceNumberForOrdering":""}`,
			`5 validation errors detected: ` +
				`Value '' at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\d{0,128}); ` +
				`Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1; ` +
				`Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\d{0,38}); ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1`},
		{"PutRecord", `{}`,
			`2 validation errors detected: ` +
				`Value null at 'partitionKey' failed to satisfy constraint: Member must not be null; ` +
				`Value null at 'data' failed to satisfy constraint: Member must not be null`},
		{"CreateStream", `{"StreamName":"","ShardCount":0}`,
			`3 validation errors detected: ` +
				`Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1`},
		{"CreateStream", `{"StreamName":"` + name129 + `","ShardCount":100000000000}`,
			`1 validation error detected: Value '` + name129 + `' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128`},
		{"GetShardIterator", `{"StreamName":"","ShardIteratorType":"","ShardId":"","StartingSequenceNumber":""}`,
			`6 validation errors detected: ` +
				`Value '' at 'shardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; ` +
				`Value '' at 'shardId' failed to satisfy constraint: Member must have length greater than or equal to 1; ` +
				`Value '' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]; ` +
				`Value '' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\d{0,128}); ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1`},
		{"GetShardIterator", `{"StreamName":"` + name129 + `","ShardId":"` + name129 + `","ShardIteratorType":"LATEST"}`,
			`2 validation errors detected: ` +
				`Value '` + name129 + `' at 'shardId' failed to satisfy constraint: Member must have length less than or equal to 128; ` +
				`Value '` + name129 + `' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128`},
		{"PutRecords", `{"StreamName":"` + name129 + `","Records":[{"PartitionKey":"` + key257 + `","Data":"` + data + `","ExplicitHashKey":""}]}`,
			`4 validation errors detected: ` +
				`Value '` + key257 + `' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256; ` +
				`Value '' at 'records.1.member.explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\d{0,38}); ` +
				`Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'records.1.member.data' failed to satisfy constraint: Member must have length less than or equal to 1048576; ` +
				`Value '` + name129 + `' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128`},
		{"PutRecords", `{"StreamName":"","Records":[]}`,
			`3 validation errors detected: ` +
				`Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1; ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; ` +
				`Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1`},
	}
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		for _, tt := range tests {
			t.Run(tt.op, func(t *testing.T) {
				var body map[string]any
				if err := json.Unmarshal([]byte(tt.body), &body); err != nil {
					t.Fatal(err)
				}
				// The model evaluation must agree with the recording.
				if got, _ := validationMessage(m.evaluate(t, m.input(t, tt.op), "", typed(t, m, m.input(t, tt.op), body), true, true)); got != tt.message {
					t.Errorf("model evaluation\n got: %.600s\nwant: %.600s", got, tt.message)
				}
				status, _, resp := rawCall(t, s.Endpoint, tt.op, "application/x-amz-json-1.1", tt.body)
				want, _ := json.Marshal(map[string]string{"__type": "ValidationException", "message": tt.message})
				if status != 400 || resp != string(want) {
					t.Errorf("%d %.600s\nwant %.600s", status, resp, want)
				}
			})
		}
	})
}

// typed converts a decoded JSON body to the values evaluate takes: int64 integers, []byte blobs.
func typed(t *testing.T, m *apiModel, sh *shape, v any) any {
	t.Helper()
	switch sh.Type {
	case "integer":
		return int64(v.(float64))
	case "blob":
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	case "list":
		out := []any{}
		for _, x := range v.([]any) {
			out = append(out, typed(t, m, m.shape(t, sh.Member.Shape), x))
		}
		return out
	case "structure":
		obj := maps.Clone(v.(map[string]any))
		for _, mr := range sh.Members {
			if x, ok := obj[mr.Name]; ok {
				obj[mr.Name] = typed(t, m, m.shape(t, mr.Shape), x)
			}
		}
		return obj
	}
	return v
}

// existence is what each operation answers for a valid request naming a stream that does not exist
// (target "nope"); skip leaves the operation out, for the reason given. The stream and shard messages
// are kinesalite's recordings (test/putRecord.js, listShards.js, getShardIterator.js: AWS names the
// shard when the stream is missing); the consumer operations' are kinesisd's, unconfirmed.
var existence = map[string]struct{ code, message, skip string }{
	"AddTagsToStream":                        {code: rnf, message: streamNope},
	"CreateStream":                           {skip: "creates; ResourceInUseException for an existing stream is in TestValidationExistence"},
	"DecreaseStreamRetentionPeriod":          {code: rnf, message: streamNope},
	"DeleteResourcePolicy":                   {code: rnf, message: streamNope},
	"DeleteStream":                           {code: rnf, message: streamNope},
	"DeregisterStreamConsumer":               {code: rnf, message: streamNope},
	"DescribeStream":                         {code: rnf, message: streamNope},
	"DescribeStreamConsumer":                 {code: rnf, message: streamNope},
	"DescribeStreamSummary":                  {code: rnf, message: streamNope},
	"DisableEnhancedMonitoring":              {code: rnf, message: streamNope},
	"EnableEnhancedMonitoring":               {code: rnf, message: streamNope},
	"GetRecords":                             {skip: "names no stream: a shard iterator"},
	"GetResourcePolicy":                      {code: rnf, message: streamNope},
	"GetShardIterator":                       {code: rnf, message: "Shard shardId-000000000000 in stream nope under account 000000000000 does not exist"},
	"IncreaseStreamRetentionPeriod":          {code: rnf, message: streamNope},
	"ListShards":                             {code: rnf, message: streamNope},
	"ListStreamConsumers":                    {code: rnf, message: streamNope},
	"ListStreams":                            {skip: "names no stream"},
	"ListTagsForResource":                    {code: rnf, message: streamNope},
	"ListTagsForStream":                      {code: rnf, message: streamNope},
	"MergeShards":                            {code: rnf, message: streamNope},
	"PutRecord":                              {code: rnf, message: streamNope},
	"PutRecords":                             {code: rnf, message: streamNope},
	"PutResourcePolicy":                      {code: rnf, message: streamNope},
	"RegisterStreamConsumer":                 {code: rnf, message: streamNope},
	"RemoveTagsFromStream":                   {code: rnf, message: streamNope},
	"SplitShard":                             {code: rnf, message: streamNope},
	"StartStreamEncryption":                  {code: rnf, message: streamNope},
	"StopStreamEncryption":                   {code: rnf, message: streamNope},
	"SubscribeToShard":                       {code: rnf, message: "Consumer c with creation timestamp 1 under stream nope and account 000000000000 not found."},
	"TagResource":                            {code: rnf, message: streamNope},
	"UntagResource":                          {code: rnf, message: streamNope},
	"UpdateAccountSettings":                  {skip: "names no stream"},
	"UpdateMaxRecordSize":                    {code: rnf, message: streamNope},
	"UpdateShardCount":                       {code: rnf, message: streamNope},
	"UpdateStreamMode":                       {code: rnf, message: streamNope},
	"UpdateStreamRecordDistributionStrategy": {code: rnf, message: streamNope},
	"UpdateStreamWarmThroughput":             {code: rnf, message: streamNope},
}

const (
	rnf        = "ResourceNotFoundException"
	streamNope = "Stream nope under account 000000000000 not found."
)

// TestValidationExistence sends each operation a request whose shape is valid, naming a stream that
// does not exist: the answer is the existence error, exactly; TestValidationModel shows the same
// request with a broken member gets the ValidationException instead.
func TestValidationExistence(t *testing.T) {
	m := loadModel(t)
	for _, op := range m.operations() {
		if _, ok := existence[op]; !ok {
			t.Errorf("existence has no entry for %s", op)
		}
	}
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "s", 1)
		for _, op := range m.operations() {
			want := existence[op]
			if want.skip != "" {
				continue
			}
			t.Run(op, func(t *testing.T) {
				body, err := json.Marshal(m.request(t, m.input(t, op), target{stream: "nope", consumerARN: consumerARNOf("nope")}))
				if err != nil {
					t.Fatal(err)
				}
				status, _, resp := rawCall(t, s.Endpoint, op, "application/x-amz-json-1.1", string(body))
				exp, _ := json.Marshal(map[string]string{"__type": want.code, "message": want.message})
				if status != 400 || resp != string(exp) {
					t.Errorf("%s\n got %d %s\nwant %s", body, status, resp, exp)
				}
			})
		}
		t.Run("CreateStream beyond the shard limit", func(t *testing.T) {
			// The model bounds ShardCount below only: a large count is the account's shard limit.
			status, _, resp := rawCall(t, s.Endpoint, "CreateStream", "application/x-amz-json-1.1", `{"StreamName":"big","ShardCount":100000000000}`)
			if prefix := `{"__type":"LimitExceededException","message":"This request would exceed the shard limit`; status != 400 || !strings.HasPrefix(resp, prefix) {
				t.Errorf("got %d %s\nwant %s…", status, resp, prefix)
			}
		})
		t.Run("CreateStream existing", func(t *testing.T) {
			status, _, resp := rawCall(t, s.Endpoint, "CreateStream", "application/x-amz-json-1.1", `{"StreamName":"s","ShardCount":1}`)
			if want := `{"__type":"ResourceInUseException","message":"Stream s under account 000000000000 already exists."}`; status != 400 || resp != want {
				t.Errorf("got %d %s\nwant %s", status, resp, want)
			}
		})
	})
}

// TestValidationConflicts sends members that are each valid but conflict, naming streams that do not
// exist: the conflict is reported (InvalidArgumentException), not the missing stream. The ListShards
// NextToken/StreamName and GetShardIterator messages are kinesalite's recordings; the others are
// kinesisd's wording, unconfirmed.
func TestValidationConflicts(t *testing.T) {
	nope, other := streamARN("nope"), streamARN("other")
	tests := []struct {
		name, op, body, message string
	}{
		{"NextToken with StreamName", "ListShards", `{"StreamName":"nope","NextToken":"x"}`, "NextToken and StreamName cannot be provided together."},
		{"NextToken with ExclusiveStartShardId", "ListShards", `{"NextToken":"x","ExclusiveStartShardId":"shardId-000000000000"}`,
			"NextToken and ExclusiveStartShardId cannot be provided together."},
		{"AFTER_SHARD_ID without ShardId", "ListShards", `{"StreamName":"nope","ShardFilter":{"Type":"AFTER_SHARD_ID"}}`,
			"ShardId must be supplied in a ShardFilter with a Type of AFTER_SHARD_ID"},
		{"AT_TIMESTAMP without Timestamp", "ListShards", `{"StreamName":"nope","ShardFilter":{"Type":"AT_TIMESTAMP"}}`,
			"Timestamp must be supplied in a ShardFilter with a Type of FROM_TIMESTAMP or AT_TIMESTAMP"},
		{"NextToken with StreamCreationTimestamp", "ListStreamConsumers", `{"StreamARN":"` + nope + `","NextToken":"x","StreamCreationTimestamp":1}`,
			"NextToken and StreamCreationTimestamp cannot be provided together."},
		{"StreamName and StreamARN disagree", "DescribeStreamSummary", `{"StreamName":"nope","StreamARN":"` + other + `"}`,
			"StreamName nope and StreamARN " + other + " do not name the same stream."},
		{"StreamName and StreamARN disagree", "PutRecord", `{"StreamName":"nope","StreamARN":"` + other + `","PartitionKey":"k","Data":""}`,
			"StreamName nope and StreamARN " + other + " do not name the same stream."},
		{"neither StreamName nor StreamARN", "DeleteStream", `{}`, "Either StreamName or StreamARN should be provided."},
		{"neither StreamName nor StreamARN", "PutRecords", `{"Records":[{"PartitionKey":"k","Data":""}]}`, "Either StreamName or StreamARN should be provided."},
		// Not kinesalite's "Either NextToken or StreamName should be provided.", recorded before StreamARN
		// existed (see ListShards).
		{"neither NextToken, StreamName nor StreamARN", "ListShards", `{}`, "Either StreamName or StreamARN should be provided."},
		{"no consumer", "DescribeStreamConsumer", `{"StreamARN":"` + nope + `"}`, "Either ConsumerARN or both ConsumerName and StreamARN should be provided."},
		{"consumer name and ARN disagree", "DeregisterStreamConsumer", `{"ConsumerName":"d","ConsumerARN":"` + consumerARNOf("nope") + `"}`,
			"ConsumerName d and ConsumerARN " + consumerARNOf("nope") + " do not name the same consumer."},
	}
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		for _, tt := range tests {
			t.Run(tt.op+"/"+tt.name, func(t *testing.T) {
				status, _, resp := rawCall(t, s.Endpoint, tt.op, "application/x-amz-json-1.1", tt.body)
				want, _ := json.Marshal(map[string]string{"__type": "InvalidArgumentException", "message": tt.message})
				if status != 400 || resp != string(want) {
					t.Errorf("%s\n got %d %s\nwant %s", tt.body, status, resp, want)
				}
			})
		}
	})
}
