package service

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Blob is a blob member (a record's Data). In JSON it is a base64 string; anything else, or base64
// the service would not read, is refused with the Java service's SerializationException message
// (kinesalite's recordings), where encoding/json would take an array of numbers or sloppy base64.
type Blob []byte

// UnmarshalJSON reads a base64 string; null leaves the blob nil.
func (b *Blob) UnmarshalJSON(raw []byte) error {
	if len(raw) == 0 {
		return wireError("")
	}
	switch raw[0] {
	case 'n':
		return nil
	case '[':
		return wireError("Start of list found where not expected")
	case '{':
		return wireError("Start of structure or map found where not expected.")
	case 't', 'f':
		return wireError("class java.lang.Boolean can not be converted to a Blob")
	case '"':
	default:
		return wireError("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob")
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
	return wireError(blobError(text))
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
