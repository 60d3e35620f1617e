// Package awsjson is the AWS JSON 1.1 codec: request bodies into the service's inputs, outputs and errors out.
package awsjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"

	"kinesisd/internal/kerr"
)

// ContentType is the media type of AWS JSON 1.1.
const ContentType = "application/x-amz-json-1.1"

// Decode reads body into v. An empty body, malformed JSON or a member of the wrong JSON type is a
// SerializationException with the Java service's wording.
func Decode(body []byte, v any) error {
	if len(body) == 0 {
		return kerr.NewSerialization("")
	}
	err := json.Unmarshal(body, members.Value(v))
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var b64Err base64.CorruptInputError
	switch {
	case errors.As(err, &typeErr) && strings.HasPrefix(typeErr.Value, "number ") && isInteger(typeErr.Type):
		// The service truncates a fraction or exponent given for an integer (kinesalite's recordings
		// have no error for one); encoding/json refuses it, so the body is read again with it floored.
		if fixed, ok := coerce(body, reflect.TypeOf(v)); ok {
			return Decode(fixed, v)
		}
		return kerr.NewSerialization(typeMismatch(typeErr.Value, typeErr.Type))
	case errors.As(err, &typeErr) && typeErr.Value == "string" && isBool(typeErr.Type):
		// The service reads some strings as a Boolean (boolString); encoding/json refuses every
		// string, so the body is read again with those made JSON booleans.
		if fixed, ok := coerce(body, reflect.TypeOf(v)); ok {
			return Decode(fixed, v)
		}
		return kerr.NewSerialization(boolMismatch(body, typeErr))
	case errors.As(err, &typeErr):
		return kerr.NewSerialization(typeMismatch(typeErr.Value, typeErr.Type))
	case errors.As(err, &syntaxErr):
		return kerr.NewSerialization("")
	case errors.As(err, &b64Err):
		return kerr.NewSerialization("Base64 value can not be converted to a Blob: Invalid Base64 character")
	}
	// A member's own decoder (a timestamp) phrases its error as the service does.
	return kerr.NewSerialization(err.Error())
}

var (
	blobType = reflect.TypeFor[[]byte]()
	froms    = map[string]string{
		"string": "class java.lang.String",
		"number": "class com.amazon.coral.value.json.numbers.TruncatingBigNumber",
		"bool":   "class java.lang.Boolean",
	}
)

// typeMismatch phrases "JSON value of kind value where Go type t was expected" as AWS does.
func typeMismatch(value string, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(value) > 7 && value[:7] == "number " {
		value = "number" // "number 1.5": a float where an integer was expected
	}
	switch value {
	case "array":
		return "Start of list found where not expected"
	case "object":
		return "Start of structure or map found where not expected."
	}
	from := froms[value]
	switch {
	case t == blobType:
		return from + " can not be converted to a Blob"
	case t.Kind() == reflect.String:
		return from + " can not be converted to an String"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return from + " can not be converted to an Integer" // every integer member of the model is an Integer
	case t.Kind() == reflect.Bool:
		return from + " can not be converted to an Boolean"
	case t.Kind() == reflect.Slice:
		return "Expected list or null"
	case t.Kind() == reflect.Map:
		return "Expected map or null"
	}
	return "Expected null"
}

// Encode writes v as JSON. A nil v (an operation without output) is an empty body.
func Encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(members.Value(v))
}

// EncodeError writes the AWS JSON error body; an empty message is left out, as AWS leaves it out.
// SerializationException, which the service's protocol layer writes, spells it "Message" (kinesalite's
// recordings).
func EncodeError(code, message string) []byte {
	if code == "SerializationException" {
		b, _ := json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"Message,omitempty"`
		}{code, message})
		return b
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message,omitempty"`
	}{code, message})
	return b
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func isInteger(t reflect.Type) bool {
	k := deref(t).Kind()
	return k >= reflect.Int && k <= reflect.Int64
}

func isBool(t reflect.Type) bool { return deref(t).Kind() == reflect.Bool }

// boolMismatch phrases a string given for a Boolean member as the service does: the string in upper
// case. Every Boolean member of the model is a top-level member.
func boolMismatch(body []byte, typeErr *json.UnmarshalTypeError) string {
	var top map[string]json.RawMessage
	var s string
	if json.Unmarshal(body, &top) != nil || json.Unmarshal(top[typeErr.Field], &s) != nil {
		return typeMismatch(typeErr.Value, typeErr.Type)
	}
	return "'" + strings.ToUpper(s) + "' can not be converted to an Boolean"
}

// boolString reads a string given for a Boolean member as the service does: "true", "yes" and "1" are
// true and "false", "no" and "0" false, in any case; other strings are not Booleans. Source: kinesalite
// notes that AWS converts 'true'/'false'/'1'/'0'/'no'/'yes' (validations/index.js: "seem to convert
// fine") and refuses other strings with their upper case in the message ('23' is recorded in its
// test/helpers.js); dynalite, its sibling on the same Coral JSON layer, converts exactly these,
// compared in upper case.
func boolString(s string) (value, ok bool) {
	switch strings.ToUpper(s) {
	case "TRUE", "YES", "1":
		return true, true
	case "FALSE", "NO", "0":
		return false, true
	}
	return false, false
}

// coerce rewrites body as the service reads it: each number given for an integer member of t floored
// to an integer, each string that boolString reads given for a Boolean member made that JSON boolean.
// It reports whether it changed anything.
func coerce(body []byte, t reflect.Type) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	doc, changed := coerceIn(doc, t)
	if !changed {
		return nil, false
	}
	out, err := json.Marshal(doc)
	return out, err == nil
}

func coerceIn(v any, t reflect.Type) (any, bool) {
	t = deref(t)
	changed := false
	switch x := v.(type) {
	case string:
		if t.Kind() != reflect.Bool {
			return v, false
		}
		if b, ok := boolString(x); ok {
			return b, true
		}
		return v, false
	case json.Number:
		if !isInteger(t) {
			return v, false
		}
		if _, err := x.Int64(); err == nil {
			return v, false // already an integer
		}
		f, err := x.Float64()
		if err != nil || math.Abs(f) >= 1<<63 {
			return v, false
		}
		return json.Number(strconv.FormatInt(int64(math.Floor(f)), 10)), true
	case []any:
		if t.Kind() != reflect.Slice {
			return v, false
		}
		for i := range x {
			var c bool
			x[i], c = coerceIn(x[i], t.Elem())
			changed = changed || c
		}
	case map[string]any:
		for k, e := range x {
			var ft reflect.Type
			switch t.Kind() {
			case reflect.Map:
				ft = t.Elem()
			case reflect.Struct:
				ft = fieldType(t, k)
			}
			if ft != nil {
				var c bool
				x[k], c = coerceIn(e, ft)
				changed = changed || c
			}
		}
	}
	return v, changed
}

// fieldType returns the type of t's field (embedded structs included) whose JSON name is name, as
// encoding/json matches them: exactly, else without regard to case.
func fieldType(t reflect.Type, name string) reflect.Type {
	var fold reflect.Type
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type
		}
		if fold == nil && strings.EqualFold(tag, name) {
			fold = f.Type
		}
	}
	return fold
}

// Parses reports whether body is one JSON value, and an object or an array: a body the service
// parses, before it looks at the operation or the signature. Anything else is answered
// SerializationException without a message.
func Parses(body []byte) bool {
	return Composite(body) && json.Valid(body)
}

// Composite reports whether body's first value starts an object or an array, from its first
// non-space byte alone: a body whose does not cannot parse, whatever follows.
func Composite(body []byte) bool {
	for _, b := range body {
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}
