package awsjson

import (
	"errors"
	"strings"
	"testing"

	"kinesisd/internal/kerr"
)

type input struct {
	Name  *string           `json:"Name"`
	Limit *int64            `json:"Limit"`
	Flag  *bool             `json:"Flag"`
	Data  []byte            `json:"Data"`
	List  []string          `json:"List"`
	Tags  map[string]string `json:"Tags"`
	Inner *struct {
		X *string `json:"X"`
	} `json:"Inner"`
}

var decodeTests = []struct {
	body    string
	message string // "" with ok false: a SerializationException without message
	ok      bool
}{
	{`{}`, "", true},
	{`{"Name":"a","Limit":5,"Flag":true,"Data":"AAE=","List":["x"],"Tags":{"a":"b"},"Inner":{"X":"y"}}`, "", true},
	{``, "", false},
	{`{`, "", false},
	{`nope`, "", false},
	{`[]`, "Start of list found where not expected", false},
	{`{"Name":5}`, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String", false},
	{`{"Name":true}`, "class java.lang.Boolean can not be converted to an String", false},
	{`{"Name":[]}`, "Start of list found where not expected", false},
	{`{"Name":{}}`, "Start of structure or map found where not expected.", false},
	{`{"Limit":"5"}`, "class java.lang.String can not be converted to an Integer", false},
	{`{"Limit":false}`, "class java.lang.Boolean can not be converted to an Integer", false},
	{`{"Data":5}`, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob", false},
	{`{"Data":"!!"}`, "Base64 value can not be converted to a Blob: Invalid Base64 character", false},
	{`{"List":"x"}`, "Expected list or null", false},
	{`{"Tags":"x"}`, "Expected map or null", false},
	{`{"Inner":"x"}`, "Expected null", false},
	{`{"Flag":"maybe"}`, "'MAYBE' can not be converted to an Boolean", false},
	{`{"Flag":"23"}`, "'23' can not be converted to an Boolean", false},
	{`{"Flag":"yes"}`, "", true},
	{`{"Flag":"yes","Limit":"5"}`, "class java.lang.String can not be converted to an Integer", false},
	{`{"Flag":"maybe","Limit":1.5}`, "'MAYBE' can not be converted to an Boolean", false},
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeTests {
		var in input
		err := Decode([]byte(tt.body), &in)
		if tt.ok {
			if err != nil {
				t.Errorf("Decode(%s): %v", tt.body, err)
			}
			continue
		}
		var se *kerr.Serialization
		if !errors.As(err, &se) {
			t.Errorf("Decode(%s) = %v, want SerializationException", tt.body, err)
			continue
		}
		if se.Message() != tt.message {
			t.Errorf("Decode(%s) message %q, want %q", tt.body, se.Message(), tt.message)
		}
	}
}

// TestDecodeFloorsIntegers: a fraction or exponent given for an integer member is floored, as the
// service truncates numbers, and elsewhere (a timestamp) left alone.
func TestDecodeFloorsIntegers(t *testing.T) {
	type stamp struct {
		At float64 `json:"At"`
	}
	tests := []struct {
		body string
		want int64
	}{
		{`{"Limit":1.9}`, 1},
		{`{"Limit":1e2}`, 100},
		{`{"Limit":-0.5}`, -1},
		{`{"Inner":{"X":"y"},"Limit":2.0}`, 2},
	}
	for _, tt := range tests {
		var in input
		if err := Decode([]byte(tt.body), &in); err != nil || in.Limit == nil || *in.Limit != tt.want {
			t.Errorf("Decode(%s) = %v, Limit %v, want %d", tt.body, err, in.Limit, tt.want)
		}
	}
	var s stamp
	if err := Decode([]byte(`{"At":1.5}`), &s); err != nil || s.At != 1.5 {
		t.Errorf("a float member: %v %v", err, s.At)
	}
	var in input
	err := Decode([]byte(`{"Limit":1e400}`), &in)
	var se *kerr.Serialization
	if !errors.As(err, &se) {
		t.Errorf("a number no integer holds: %v", err)
	}
}

// TestDecodeBooleanStrings: the strings the service reads as a Boolean, in any case, and others it
// refuses.
func TestDecodeBooleanStrings(t *testing.T) {
	tests := []struct {
		flag string
		want bool
		ok   bool
	}{
		{`"true"`, true, true},
		{`"TRUE"`, true, true},
		{`"True"`, true, true},
		{`"yes"`, true, true},
		{`"YeS"`, true, true},
		{`"1"`, true, true},
		{`"false"`, false, true},
		{`"FALSE"`, false, true},
		{`"no"`, false, true},
		{`"No"`, false, true},
		{`"0"`, false, true},
		{`true`, true, true},
		{`false`, false, true},
		{`""`, false, false},
		{`"t"`, false, false},
		{`"y"`, false, false},
		{`"on"`, false, false},
		{`"2"`, false, false},
		{`" true"`, false, false},
		{`"truex"`, false, false},
	}
	for _, tt := range tests {
		var in input
		body := `{"Name":"n","Flag":` + tt.flag + `,"Limit":2.5}`
		err := Decode([]byte(body), &in)
		if !tt.ok {
			var se *kerr.Serialization
			if !errors.As(err, &se) || !strings.HasSuffix(se.Message(), "can not be converted to an Boolean") {
				t.Errorf("Decode(%s) = %v, want the Boolean SerializationException", body, err)
			}
			continue
		}
		if err != nil || in.Flag == nil || *in.Flag != tt.want || in.Limit == nil || *in.Limit != 2 || in.Name == nil || *in.Name != "n" {
			t.Errorf("Decode(%s) = %v, Flag %v Limit %v, want Flag %v", body, err, in.Flag, in.Limit, tt.want)
		}
	}
}

func TestEncodeError(t *testing.T) {
	if got := string(EncodeError("UnknownOperationException", "")); got != `{"__type":"UnknownOperationException"}` {
		t.Errorf("no message: %s", got)
	}
	if got := string(EncodeError("ResourceNotFoundException", `Stream "a" x`)); got != `{"__type":"ResourceNotFoundException","message":"Stream \"a\" x"}` {
		t.Errorf("with message: %s", got)
	}
	if got := string(EncodeError("SerializationException", "Expected null")); got != `{"__type":"SerializationException","Message":"Expected null"}` {
		t.Errorf("SerializationException: %s", got)
	}
}

func FuzzDecode(f *testing.F) {
	for _, tt := range decodeTests {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in input
		err := Decode(body, &in)
		var ke kerr.Error
		if err != nil && !errors.As(err, &ke) {
			t.Fatalf("Decode error %v is not a kerr.Error", err)
		}
	})
}
