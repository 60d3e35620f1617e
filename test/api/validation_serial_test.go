package api_test

import (
	"encoding/json"
	"maps"
	"testing"

	"kinesisd/internal/kinesistest"
)

// Members of the wrong JSON type: SerializationException, with the Java service's words, before any
// validation.

// wrongType is a JSON value of the wrong type for a member and AWS's message for it.
type wrongType struct{ json, message string }

const (
	listHere   = "Start of list found where not expected"
	objectHere = "Start of structure or map found where not expected."
	bigNumber  = "class com.amazon.coral.value.json.numbers.TruncatingBigNumber"
)

// wrongTypes are the wrong values for a member of model type typ, with the messages kinesalite's
// tests recorded against AWS (test/helpers.js, assertType).
func wrongTypes(typ string) []wrongType {
	numbers := func(to string) []wrongType {
		var out []wrongType
		for _, n := range []string{"23", "-2147483648", "2147483648", "34.56"} {
			out = append(out, wrongType{n, bigNumber + " can not be converted to " + to})
		}
		return out
	}
	switch typ {
	case "string":
		return append(numbers("an String"),
			wrongType{"true", "class java.lang.Boolean can not be converted to an String"},
			wrongType{"[]", listHere}, wrongType{"{}", objectHere})
	case "integer":
		return []wrongType{
			{`"23"`, "class java.lang.String can not be converted to an Integer"},
			{"true", "class java.lang.Boolean can not be converted to an Integer"},
			{"[]", listHere}, {"{}", objectHere}}
	case "boolean":
		return append(numbers("an Boolean")[:3], // AWS takes a fraction for a Boolean
			wrongType{`"23"`, "'23' can not be converted to an Boolean"},
			wrongType{`"maybe"`, "'MAYBE' can not be converted to an Boolean"},
			wrongType{"[]", listHere}, wrongType{"{}", objectHere})
	case "blob":
		return append(numbers("a Blob"),
			wrongType{"true", "class java.lang.Boolean can not be converted to a Blob"},
			wrongType{"[]", listHere}, wrongType{"{}", objectHere},
			wrongType{`"23456"`, "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5"},
			wrongType{`"=+/="`, "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"})
	case "timestamp":
		return []wrongType{
			{`"23"`, "class java.lang.String can not be converted to milliseconds since epoch"},
			{"true", "class java.lang.Boolean can not be converted to milliseconds since epoch"},
			{"[]", listHere}, {"{}", objectHere}}
	case "list":
		return []wrongType{{`"23"`, "Expected list or null"}, {"true", "Expected list or null"}, {"23", "Expected list or null"},
			{"34.56", "Expected list or null"}, {"{}", objectHere}}
	case "map":
		return []wrongType{{`"23"`, "Expected map or null"}, {"true", "Expected map or null"}, {"23", "Expected map or null"},
			{"34.56", "Expected map or null"}, {"[]", listHere}}
	case "structure":
		return []wrongType{{`"23"`, "Expected null"}, {"true", "Expected null"}, {"23", "Expected null"}, {"[]", listHere}}
	}
	return nil
}

// serialCase is a request body with one member of the wrong type.
type serialCase struct {
	name, body, message string
}

// serialCases puts each wrong value of each member of in (and of its structures, list items and map
// values, one level down) into an otherwise valid request.
func (m *apiModel) serialCases(t *testing.T, in *shape, tg target) []serialCase {
	t.Helper()
	var out []serialCase
	base := m.request(t, in, tg)
	encode := func(body map[string]any) string {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, mr := range in.Members {
		sh := m.shape(t, mr.Shape)
		put := func(name string, v json.RawMessage, message string) {
			body := maps.Clone(base)
			body[mr.Name] = v
			out = append(out, serialCase{name: mr.Name + name, body: encode(body), message: message})
		}
		for _, w := range wrongTypes(sh.Type) {
			put(" "+w.json, json.RawMessage(w.json), w.message)
		}
		switch sh.Type {
		case "structure":
			for _, child := range sh.Members {
				for _, w := range wrongTypes(m.shape(t, child.Shape).Type) {
					obj := m.valid(t, sh, tg).(map[string]any)
					obj[child.Name] = json.RawMessage(w.json)
					b, _ := json.Marshal(obj)
					put("."+child.Name+" "+w.json, b, w.message)
				}
			}
		case "list":
			item := m.shape(t, sh.Member.Shape)
			for _, w := range wrongTypes(item.Type) {
				put(".item "+w.json, json.RawMessage("["+w.json+"]"), w.message)
			}
			if item.Type == "structure" {
				for _, child := range item.Members {
					for _, w := range wrongTypes(m.shape(t, child.Shape).Type) {
						obj := m.valid(t, item, tg).(map[string]any)
						obj[child.Name] = json.RawMessage(w.json)
						b, _ := json.Marshal([]any{obj})
						put(".item."+child.Name+" "+w.json, b, w.message)
					}
				}
			}
		case "map":
			for _, w := range wrongTypes(m.shape(t, sh.Value.Shape).Type) {
				put(".value "+w.json, json.RawMessage(`{"k":`+w.json+`}`), w.message)
			}
		}
	}
	return out
}

// TestValidationSerialization sends every member of every operation values of the wrong JSON type in
// an otherwise valid request: SerializationException with AWS's message.
func TestValidationSerialization(t *testing.T) {
	m := loadModel(t)
	eachEngine(t, func(t *testing.T, s *kinesistest.Server) {
		createStream(t, s.Client, "s", 1)
		tg := target{stream: "s", consumerARN: consumerARNOf("s")}
		for _, op := range m.operations() {
			in := m.input(t, op)
			t.Run(op, func(t *testing.T) {
				for _, sc := range m.serialCases(t, in, tg) {
					t.Run(sc.name, func(t *testing.T) {
						status, _, resp := rawCall(t, s.Endpoint, op, "application/x-amz-json-1.1", sc.body)
						want, _ := json.Marshal(struct {
							Type    string `json:"__type"`
							Message string
						}{"SerializationException", sc.message})
						if status != 400 || resp != string(want) {
							t.Errorf("%s\n got %d %s\nwant %s", sc.body, status, resp, want)
						}
					})
				}
			})
		}

		// Numbers AWS converts rather than refuses (kinesalite's recordings have no error for them).
		for _, tt := range []struct{ op, body string }{
			{"ListStreams", `{"Limit":1.9}`},
			{"ListStreams", `{"Limit":1e2}`},
		} {
			status, _, resp := rawCall(t, s.Endpoint, tt.op, "application/x-amz-json-1.1", tt.body)
			var got struct {
				Type string `json:"__type"`
			}
			if json.Unmarshal([]byte(resp), &got) == nil && got.Type == "SerializationException" {
				t.Errorf("%s %s: %d %s", tt.op, tt.body, status, resp)
			}
		}

		// A wrong type wins over broken members: the body does not decode, so nothing is validated.
		status, _, resp := rawCall(t, s.Endpoint, "PutRecords", "application/x-amz-json-1.1", `{"StreamName":"","Records":"x"}`)
		if want := `{"__type":"SerializationException","Message":"Expected list or null"}`; status != 400 || resp != want {
			t.Errorf("wrong type and broken member: %d %s\nwant %s", status, resp, want)
		}
	})
}
