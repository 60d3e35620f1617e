package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// The API model, read from testdata, and what the validation tests derive from it: for any request
// body, the ValidationException AWS gives (evaluate), and for each member, values that break its
// constraints (probes).

// apiModel is the part of a botocore service model the validation tests read.
type apiModel struct {
	Operations map[string]struct {
		Input *shapeRef `json:"input"`
	} `json:"operations"`
	Shapes map[string]*shape `json:"shapes"`

	patterns map[string]*regexp.Regexp // compiled model patterns
}

type shapeRef struct {
	Shape string `json:"shape"`
}

type shape struct {
	name     string
	Type     string     `json:"type"`
	Min      *int64     `json:"min"`
	Max      *int64     `json:"max"`
	Pattern  string     `json:"pattern"`
	Enum     []string   `json:"enum"`
	Required []string   `json:"required"`
	Members  memberList `json:"members"`
	Member   *shapeRef  `json:"member"`
	Key      *shapeRef  `json:"key"`
	Value    *shapeRef  `json:"value"`
}

type memberRef struct{ Name, Shape string }

// memberList keeps a structure's members in the model's order, which encoding/json's maps lose.
type memberList []memberRef

func (l *memberList) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var r shapeRef
		if err := dec.Decode(&r); err != nil {
			return err
		}
		*l = append(*l, memberRef{Name: tok.(string), Shape: r.Shape})
	}
	return nil
}

// loadModel reads the botocore model and merges the supplement (members and operations the current
// SDK has and the model lacks; see testdata/README.md).
func loadModel(t *testing.T) *apiModel {
	t.Helper()
	f, err := os.Open("testdata/kinesis-2013-12-02.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var m apiModel
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		t.Fatalf("model: %v", err)
	}
	raw, err := os.ReadFile("testdata/kinesis-supplement.json")
	if err != nil {
		t.Fatal(err)
	}
	var sup struct {
		apiModel
		Members map[string]memberList `json:"members"`
	}
	if err := json.Unmarshal(raw, &sup); err != nil {
		t.Fatalf("supplement: %v", err)
	}
	maps.Copy(m.Operations, sup.Operations)
	maps.Copy(m.Shapes, sup.Shapes)
	for name, extra := range sup.Members {
		sh := m.Shapes[name]
		if sh == nil {
			t.Fatalf("supplement adds members to unknown shape %s", name)
		}
		sh.Members = append(sh.Members, extra...)
	}
	for name, sh := range m.Shapes {
		sh.name = name
	}
	m.patterns = map[string]*regexp.Regexp{}
	return &m
}

func (m *apiModel) shape(t *testing.T, name string) *shape {
	t.Helper()
	sh := m.Shapes[name]
	if sh == nil {
		t.Fatalf("model has no shape %s", name)
	}
	return sh
}

// input returns an operation's input shape, nil for an operation without input.
func (m *apiModel) input(t *testing.T, op string) *shape {
	t.Helper()
	o, ok := m.Operations[op]
	if !ok {
		t.Fatalf("model has no operation %s", op)
	}
	if o.Input == nil {
		return nil
	}
	return m.shape(t, o.Input.Shape)
}

// awsMemberOrder is the order in which AWS reports the failures of a structure's members where it is
// not the model's. For the members that kinesalite's tests recorded against AWS (its test/*.js,
// messages with fixed order) that order is AWS's; members added to the API since then (StreamARN,
// StreamId, DryRun, …) and operations kinesalite never had follow kinesisd's placement, which no
// public recording confirms: StreamARN and StreamId right after StreamName.
var awsMemberOrder = map[string][]string{
	// kinesalite: ShardCount, StreamName.
	"CreateStreamInput": {"ShardCount", "StreamName", "StreamModeDetails", "Tags", "WarmThroughputMiBps", "MaxRecordSizeInKiB", "RecordDistributionStrategy"},
	// kinesalite: SequenceNumberForOrdering, PartitionKey, ExplicitHashKey, Data, StreamName.
	"PutRecordInput": {"SequenceNumberForOrdering", "PartitionKey", "ExplicitHashKey", "Data", "StreamName", "StreamARN", "StreamId", "DryRun"},
	// kinesalite: Records, StreamName; an entry's PartitionKey, ExplicitHashKey, Data.
	"PutRecordsInput":        {"Records", "StreamName", "StreamARN", "StreamId", "DryRun"},
	"PutRecordsRequestEntry": {"PartitionKey", "ExplicitHashKey", "Data"},
	// kinesalite: ShardId, ShardIteratorType, StartingSequenceNumber, StreamName.
	"GetShardIteratorInput": {"ShardId", "ShardIteratorType", "StartingSequenceNumber", "Timestamp", "StreamName", "StreamARN", "StreamId", "DryRun"},
	// kinesalite: Limit, ShardIterator.
	"GetRecordsInput": {"Limit", "ShardIterator", "StreamARN", "StreamId", "DryRun"},
	// kinesalite: NewStartingHashKey, StreamName, ShardToSplit.
	"SplitShardInput": {"NewStartingHashKey", "StreamName", "StreamARN", "StreamId", "ShardToSplit"},
	// kinesalite: ShardToMerge, AdjacentShardToMerge, StreamName.
	"MergeShardsInput": {"ShardToMerge", "AdjacentShardToMerge", "StreamName", "StreamARN", "StreamId"},
	// kinesalite: ScalingType, StreamName, TargetShardCount.
	"UpdateShardCountInput": {"ScalingType", "StreamName", "StreamARN", "StreamId", "TargetShardCount"},
	// kinesalite: Tags / TagKeys, StreamName.
	"AddTagsToStreamInput":      {"Tags", "StreamName", "StreamARN", "StreamId"},
	"RemoveTagsFromStreamInput": {"TagKeys", "StreamName", "StreamARN", "StreamId"},
	// kinesalite: Limit, ExclusiveStartTagKey / ExclusiveStartShardId / ExclusiveStartStreamName, StreamName.
	"ListTagsForStreamInput": {"Limit", "ExclusiveStartTagKey", "StreamName", "StreamARN", "StreamId"},
	"DescribeStreamInput":    {"Limit", "ExclusiveStartShardId", "StreamName", "StreamARN", "StreamId"},
	"ListStreamsInput":       {"Limit", "ExclusiveStartStreamName", "NextToken"},
	// kinesalite: RetentionPeriodHours, StreamName.
	"IncreaseStreamRetentionPeriodInput": {"RetentionPeriodHours", "StreamName", "StreamARN", "StreamId"},
	"DecreaseStreamRetentionPeriodInput": {"RetentionPeriodHours", "StreamName", "StreamARN", "StreamId"},
	// kinesalite recorded ListShards in no fixed order; kinesisd's order.
	"ListShardsInput": {"NextToken", "ExclusiveStartShardId", "MaxResults", "StreamCreationTimestamp", "StreamName", "StreamARN", "StreamId", "ShardFilter"},
	// Not in kinesalite; kinesisd's order: the operation's own members before the stream, as AWS has
	// them in most of the operations above.
	"EnableEnhancedMonitoringInput":   {"ShardLevelMetrics", "StreamName", "StreamARN", "StreamId"},
	"DisableEnhancedMonitoringInput":  {"ShardLevelMetrics", "StreamName", "StreamARN", "StreamId"},
	"StartStreamEncryptionInput":      {"EncryptionType", "KeyId", "StreamName", "StreamARN", "StreamId"},
	"StopStreamEncryptionInput":       {"EncryptionType", "KeyId", "StreamName", "StreamARN", "StreamId"},
	"DeleteStreamInput":               {"StreamName", "StreamARN", "StreamId", "EnforceConsumerDeletion"},
	"UpdateStreamWarmThroughputInput": {"StreamName", "StreamARN", "StreamId", "WarmThroughputMiBps"},
	"SubscribeToShardInput":           {"ConsumerARN", "ShardId", "StartingPosition", "StreamId", "DryRun"},
}

// awsEnumOrder is the order in which AWS lists an enum's values where it is not the model's
// (kinesalite's recorded GetShardIterator test).
var awsEnumOrder = map[string][]string{
	"ShardIteratorType": {"AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"},
}

// members returns a structure's members in AWS's order.
func (m *apiModel) members(t *testing.T, sh *shape) []memberRef {
	t.Helper()
	order, ok := awsMemberOrder[sh.name]
	if !ok {
		return sh.Members
	}
	if len(order) != len(sh.Members) {
		t.Fatalf("awsMemberOrder[%s] has %d members, the model %d", sh.name, len(order), len(sh.Members))
	}
	out := make([]memberRef, 0, len(order))
	for _, name := range order {
		i := slices.IndexFunc(sh.Members, func(r memberRef) bool { return r.Name == name })
		if i < 0 {
			t.Fatalf("awsMemberOrder[%s]: the model has no member %s", sh.name, name)
		}
		out = append(out, sh.Members[i])
	}
	return out
}

func (sh *shape) enum() []string {
	if order, ok := awsEnumOrder[sh.name]; ok {
		return order
	}
	return sh.Enum
}

func (sh *shape) required(member string) bool { return slices.Contains(sh.Required, member) }

func (sh *shape) has(member string) bool {
	return slices.ContainsFunc(sh.Members, func(r memberRef) bool { return r.Name == member })
}

// violation is one failure in a ValidationException: value rendered as AWS renders it, or, where
// AWS's rendering cannot be predicted (Java object hashes, hash-map order), a pattern for it.
type violation struct {
	value, valueRE   string
	path, constraint string
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func join(path, member string) string {
	if path == "" {
		return lowerFirst(member)
	}
	return path + "." + lowerFirst(member)
}

func javaLength(s string) int { return len(utf16.Encode([]rune(s))) }

// evaluate returns what AWS reports for value v (absent: !present) of shape sh at path, in order.
// Values are as the tests build them: string, int64, bool, []byte, []any, map[string]any.
func (m *apiModel) evaluate(t *testing.T, sh *shape, path string, v any, present, required bool) []violation {
	t.Helper()
	if !present || v == nil {
		if required {
			return []violation{{value: "null", path: path, constraint: "Member must not be null"}}
		}
		return nil
	}
	var out []violation
	add := func(constraint string) {
		value, re := m.render(t, sh, v)
		out = append(out, violation{value: value, valueRE: re, path: path, constraint: constraint})
	}
	switch sh.Type {
	case "string":
		s := v.(string)
		if len(sh.Enum) > 0 {
			if !slices.Contains(sh.Enum, s) {
				add("Member must satisfy enum value set: [" + strings.Join(sh.enum(), ", ") + "]")
			}
			return out
		}
		if sh.Pattern != "" && !m.fullMatch(t, sh.Pattern, s) {
			add("Member must satisfy regular expression pattern: " + sh.Pattern)
		}
		m.lengths(sh, javaLength(s), add)
	case "integer":
		n := v.(int64)
		if sh.Min != nil && n < *sh.Min {
			add(fmt.Sprintf("Member must have value greater than or equal to %d", *sh.Min))
		}
		if sh.Max != nil && n > *sh.Max {
			add(fmt.Sprintf("Member must have value less than or equal to %d", *sh.Max))
		}
	case "blob":
		m.lengths(blobLimits(sh), len(v.([]byte)), add)
	case "list":
		l := v.([]any)
		m.lengths(sh, len(l), add)
		item := m.shape(t, sh.Member.Shape)
		if item.Type == "structure" {
			for i, x := range l {
				out = append(out, m.evaluate(t, item, fmt.Sprintf("%s.%d.member", path, i+1), x, true, true)...)
			}
			return out
		}
		for _, x := range l {
			if len(m.evaluate(t, item, "", x, true, false)) > 0 {
				add("Member must satisfy constraint: [" + strings.Join(item.constraints(), ", ") + "]")
				break
			}
		}
	case "map":
		mp := v.(map[string]any)
		m.lengths(sh, len(mp), add)
		key, val := m.shape(t, sh.Key.Shape), m.shape(t, sh.Value.Shape)
		for _, part := range []struct {
			name string
			sh   *shape
			bad  func(k string, v any) bool
		}{
			{"Map keys", key, func(k string, _ any) bool { return len(m.evaluate(t, key, "", k, true, false)) > 0 }},
			{"Map value", val, func(_ string, v any) bool { return len(m.evaluate(t, val, "", v, true, false)) > 0 }},
		} {
			for k, x := range mp {
				if part.bad(k, x) {
					add(part.name + " must satisfy constraint: [" + strings.Join(part.sh.constraints(), ", ") + "]")
					break
				}
			}
		}
	case "structure":
		obj := v.(map[string]any)
		for _, mr := range m.members(t, sh) {
			x, ok := obj[mr.Name]
			out = append(out, m.evaluate(t, m.shape(t, mr.Shape), join(path, mr.Name), x, ok, sh.required(mr.Name))...)
		}
	}
	return out
}

// lengths adds the length failures of a string, blob, list or map of length n.
func (m *apiModel) lengths(sh *shape, n int, add func(string)) {
	if sh.Min != nil && int64(n) < *sh.Min {
		add(fmt.Sprintf("Member must have length greater than or equal to %d", *sh.Min))
	}
	if sh.Max != nil && int64(n) > *sh.Max {
		add(fmt.Sprintf("Member must have length less than or equal to %d", *sh.Max))
	}
}

// dataMax is the largest Data blob kinesisd takes on a stream of the default record size: a larger
// one fails validation against this bound. The model's 10485760 is the largest record size a stream
// can be given (UpdateMaxRecordSize); kinesalite's recordings show AWS checking Data against the
// record limit of the time (1048576) as a model constraint.
const dataMax = 1 << 20

func blobLimits(sh *shape) *shape {
	if sh.name != "Data" {
		return sh
	}
	limit := int64(dataMax)
	return &shape{name: sh.name, Type: sh.Type, Min: sh.Min, Max: &limit}
}

// constraints are the texts AWS lists for the constraints of a list item, map key or map value.
func (sh *shape) constraints() []string {
	if len(sh.Enum) > 0 {
		return []string{"Member must satisfy enum value set: [" + strings.Join(sh.enum(), ", ") + "]"}
	}
	var out []string
	if sh.Max != nil {
		out = append(out, fmt.Sprintf("Member must have length less than or equal to %d", *sh.Max))
	}
	if sh.Min != nil {
		out = append(out, fmt.Sprintf("Member must have length greater than or equal to %d", *sh.Min))
	}
	return out
}

// render renders v as AWS does in a validation message: the value in quotes, or a pattern for it.
func (m *apiModel) render(t *testing.T, sh *shape, v any) (value, re string) {
	t.Helper()
	switch sh.Type {
	case "string":
		return "'" + v.(string) + "'", ""
	case "integer":
		return fmt.Sprintf("'%d'", v.(int64)), ""
	case "blob":
		n := len(v.([]byte))
		return fmt.Sprintf("'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]'", n, n), ""
	case "list":
		l := v.([]any)
		if item := m.shape(t, sh.Member.Shape); item.Type == "structure" && len(l) > 0 {
			// Java's List.toString of request objects: class name and identity hash.
			return "", `'\[(com\.amazonaws\.kinesis\.v20131202\.` + item.name + `@[0-9a-f]+(, )?)*\]'`
		}
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = fmt.Sprint(x)
		}
		return "'[" + strings.Join(parts, ", ") + "]'", ""
	case "map":
		mp := v.(map[string]any)
		if len(mp) > 1 {
			return "", `'\{[^']*\}'` // a Java HashMap's toString, in its hash order
		}
		for k, x := range mp {
			return fmt.Sprintf("'{%s=%v}'", k, x), ""
		}
		return "'{}'", ""
	}
	t.Fatalf("render %s value of shape %s", sh.Type, sh.name)
	return "", ""
}

// fullMatch reports whether s matches the Java pattern p as a whole, as the service's checks do.
func (m *apiModel) fullMatch(t *testing.T, p, s string) bool {
	t.Helper()
	re, ok := m.patterns[p]
	if !ok {
		var err error
		if re, err = regexp.Compile(`^(?:` + p + `)$`); err != nil {
			t.Fatalf("model pattern %q: %v", p, err)
		}
		m.patterns[p] = re
	}
	return re.MatchString(s)
}

// validationMessage is the ValidationException message for vs: at most 10, counted as listed.
func validationMessage(vs []violation) (exact string, re *regexp.Regexp) {
	if len(vs) > 10 {
		vs = vs[:10]
	}
	head := fmt.Sprintf("%d validation errors detected: ", len(vs))
	if len(vs) == 1 {
		head = "1 validation error detected: "
	}
	var plain, pat strings.Builder
	plain.WriteString(head)
	pat.WriteString(regexp.QuoteMeta(head))
	loose := false
	for i, v := range vs {
		if i > 0 {
			plain.WriteString("; ")
			pat.WriteString(regexp.QuoteMeta("; "))
		}
		value := regexp.QuoteMeta(v.value)
		if v.valueRE != "" {
			value, loose = v.valueRE, true
		}
		fmt.Fprintf(&plain, "Value %s at '%s' failed to satisfy constraint: %s", v.value, v.path, v.constraint)
		pat.WriteString("Value " + value + regexp.QuoteMeta(fmt.Sprintf(" at '%s' failed to satisfy constraint: %s", v.path, v.constraint)))
	}
	if !loose {
		return plain.String(), nil
	}
	return "", regexp.MustCompile("^" + pat.String() + "$")
}
