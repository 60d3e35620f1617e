package awsjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"kinesisd/internal/protocol/mirror"
	"kinesisd/internal/service"
)

// The service's timestamp and blob members are plain values; their JSON is here. Decode and Encode
// see the service's inputs and outputs through a mirror in which those members are timestamp and
// blob, so that encoding/json finds the methods below.
var members = mirror.New(
	mirror.Swap{From: reflect.TypeFor[service.Timestamp](), To: reflect.TypeFor[timestamp]()},
	mirror.Swap{From: reflect.TypeFor[service.Blob](), To: reflect.TypeFor[blob]()},
)

// timestamp is a timestamp member: in JSON, epoch seconds with a millisecond fraction
// (1506440188.749), never in exponent form.
type timestamp service.Timestamp

// MarshalJSON writes epoch seconds with a three-digit millisecond fraction.
func (t timestamp) MarshalJSON() ([]byte, error) {
	return appendTimestamp(nil, t.Time.UnixMilli()), nil
}

// appendTimestamp appends the epoch milliseconds ms as a timestamp member's JSON, without allocating
// (the GetRecords fast encoder).
func appendTimestamp(dst []byte, ms int64) []byte {
	if ms < 0 {
		return strconv.AppendFloat(dst, float64(ms)/1000, 'f', 3, 64)
	}
	dst = strconv.AppendInt(dst, ms/1000, 10)
	dst = append(dst, '.')
	frac := ms % 1000
	if frac < 100 {
		dst = append(dst, '0')
	}
	if frac < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, frac, 10)
}

// memberError is a member's decoding error whose text is AWS's SerializationException message.
type memberError string

func (e memberError) Error() string { return string(e) }

// UnmarshalJSON reads epoch seconds given as a JSON number, with or without a fraction or exponent.
func (t *timestamp) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		return memberError("class java.lang.String can not be converted to milliseconds since epoch")
	case bytes.Equal(b, []byte("true")) || bytes.Equal(b, []byte("false")):
		return memberError("class java.lang.Boolean can not be converted to milliseconds since epoch")
	case len(b) > 0 && b[0] == '[':
		return memberError("Start of list found where not expected")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return memberError("Start of structure or map found where not expected.")
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}

// blob is a blob member (a record's Data). In JSON it is a base64 string; anything else, or base64
// the service would not read, is refused with the Java service's SerializationException message
// (kinesalite's recordings), where encoding/json would take an array of numbers or sloppy base64.
type blob service.Blob

// UnmarshalJSON reads a base64 string; null leaves the blob nil.
func (b *blob) UnmarshalJSON(raw []byte) error {
	if len(raw) == 0 {
		return memberError("")
	}
	switch raw[0] {
	case 'n':
		return nil
	case '[':
		return memberError("Start of list found where not expected")
	case '{':
		return memberError("Start of structure or map found where not expected.")
	case 't', 'f':
		return memberError("class java.lang.Boolean can not be converted to a Blob")
	case '"':
	default:
		return memberError("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob")
	}
	text := raw[1 : len(raw)-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		text = []byte(s)
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Strict().Decode(out, text)
	if err == nil && len(text)%4 == 0 && !bytes.ContainsAny(text, "\r\n") {
		*b = out[:n]
		return nil
	}
	return memberError(blobError(text))
}

// blobError phrases why text is not base64 as the service does.
func blobError(text []byte) string {
	prefix := "'" + string(text) + "' can not be converted to a Blob: "
	if len(text)%4 != 0 {
		return prefix + fmt.Sprintf("Base64 encoded length is expected a multiple of 4 bytes but found: %d", len(text))
	}
	for i, c := range text {
		alphabet := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
		if !alphabet && (c != '=' || i+1 < len(text) && text[i+1] != '=') {
			return prefix + fmt.Sprintf("Invalid Base64 character: '%c'", c)
		}
	}
	return prefix + "Invalid last non-pad Base64 character dectected" // sic
}
