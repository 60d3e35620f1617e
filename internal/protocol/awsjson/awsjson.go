// Package awsjson is the AWS JSON 1.1 codec: request bodies into the service's inputs, outputs and errors out.
package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"kinesisd/internal/kerr"
)

// ContentType is the media type of AWS JSON 1.1.
const ContentType = "application/x-amz-json-1.1"

// Decode reads body into v. An empty body is an empty object. Malformed JSON or a member of the wrong
// JSON type is a SerializationException, as AWS answers them.
func Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return kerr.NewSerialization(typeMismatch(typeErr))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return kerr.NewSerialization("Start of structure or map found where not expected.")
	}
	// Errors from a member's own decoder (a bad base64 blob, a timestamp that is not a number).
	return kerr.NewSerialization(fmt.Sprintf("Unable to parse request: %s", cleanMessage(err)))
}

// typeMismatch phrases a JSON type mismatch as the Java service does.
func typeMismatch(e *json.UnmarshalTypeError) string {
	from := map[string]string{
		"string": "class java.lang.String",
		"number": "class com.amazon.coral.value.json.numbers.TruncatingBigNumber",
		"bool":   "class java.lang.Boolean",
		"array":  "class java.util.ArrayList",
		"object": "class java.util.LinkedHashMap",
	}[e.Value]
	if from == "" {
		from = "class java.lang.Object"
	}
	var to string
	switch e.Type.Kind().String() {
	case "string":
		to = "String"
	case "int", "int64", "int32":
		to = "Integer"
	case "bool":
		to = "Boolean"
	case "slice":
		if e.Type.Elem().Kind().String() == "uint8" {
			to = "Blob"
		} else {
			to = "List"
		}
	case "map":
		to = "Map"
	default:
		to = "Structure"
	}
	if e.Value == "array" || e.Value == "object" {
		if to == "List" || to == "Map" || to == "Structure" {
			return "Start of structure or map found where not expected."
		}
	}
	return fmt.Sprintf("%s can not be converted to an %s", from, to)
}

func cleanMessage(err error) string {
	msg := err.Error()
	msg, _ = trimPrefix(msg, "json: ")
	return msg
}

func trimPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// Encode writes v as JSON. A nil v (an operation without output) is an empty body.
func Encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// EncodeError writes the AWS JSON error body.
func EncodeError(code, message string) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, message})
	return b
}
