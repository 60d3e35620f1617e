package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"kinesisd/internal/service"
)

// parsesCases are bodies and whether the service parses them (an object or a list, and nothing after).
var parsesCases = []struct {
	body   string
	parses bool
}{
	{"{}", true}, {" \r\n\t{ }\n", true}, {"[]", true}, {`{"StreamName":"s","Limit":5}`, true}, {`[1,"a",null]`, true},
	{"", false}, {" ", false}, {"hello", false}, {"5", false}, {`"s"`, false}, {"null", false}, {"true", false},
	{`{"a":`, false}, {"{} {}", false}, {"{}x", false}, {"{,}", false}, {"\xbf\xff", false}, {"[", false},
}

func TestParses(t *testing.T) {
	for _, tc := range parsesCases {
		if got := Parses([]byte(tc.body)); got != tc.parses {
			t.Errorf("Parses(%q) = %v, want %v", tc.body, got, tc.parses)
		}
		if Parses([]byte(tc.body)) && !Composite([]byte(tc.body)) {
			t.Errorf("%q parses but is not composite", tc.body)
		}
	}
}

// FuzzParses: Composite is a necessary condition of Parses, Parses is JSON's validity with an object
// or list at the top, and a composite body a decoder of this package accepts parses: the edge checks
// Composite on every body and the whole of Parses only when the operation's decoder refuses one.
func FuzzParses(f *testing.F) {
	for _, tc := range parsesCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		parses := Parses(body)
		if parses && !Composite(body) {
			t.Fatalf("%q parses without being composite", body)
		}
		var v any
		valid := json.Unmarshal(body, &v) == nil
		_, obj := v.(map[string]any)
		_, list := v.([]any)
		if parses != (valid && (obj || list)) {
			t.Fatalf("Parses(%q) = %v; valid %v, top %T", body, parses, valid, v)
		}
		if !Composite(body) {
			return // refused before any decoder sees it ("null" decodes as nothing)
		}
		in := new(service.PutRecordsInput)
		if DecodePutRecords(body, in, make([]byte, base64.StdEncoding.DecodedLen(len(body))), nil) == nil && !parses {
			t.Fatalf("PutRecords decoded %q, which does not parse", body)
		}
		if Decode(body, new(service.DescribeStreamSummaryInput)) == nil && !parses {
			t.Fatalf("DescribeStreamSummary decoded %q, which does not parse", body)
		}
	})
}
