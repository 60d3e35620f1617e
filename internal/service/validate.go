package service

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"

	"kinesisd/internal/kerr"
)

// Validation follows the API model's constraints and AWS's message for each: the failures of one
// request are collected in member order and reported together as one ValidationException.

var (
	namePattern      = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	streamARNPattern = regexp.MustCompile(`^arn:aws.*:kinesis:.*:\d{12}:stream/\S+$`)
	streamIDPattern  = regexp.MustCompile(`^[a-z0-9]{20}-[a-z0-9]{3}$`)
	hashKeyPattern   = regexp.MustCompile(`^(0|([1-9]\d{0,38}))$`)
	seqNumPattern    = regexp.MustCompile(`^(0|([1-9]\d{0,128}))$`)
)

const (
	namePatternText      = "[a-zA-Z0-9_.-]+"
	streamARNPatternText = `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`
	streamIDPatternText  = `[a-z0-9]{20}-[a-z0-9]{3}`
	hashKeyPatternText   = `0|([1-9]\d{0,38})`
	seqNumPatternText    = `0|([1-9]\d{0,128})`
)

// checker collects the violations of one request.
type checker struct{ v kerr.Validations }

func (c *checker) err() error { return c.v.Err() }

// javaLen is a string's length as the service counts it: UTF-16 code units.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// str checks a string member: presence, length bounds and pattern (nil: none).
func (c *checker) str(path string, val *string, required bool, min, max int, pattern *regexp.Regexp, patternText string) {
	if val == nil {
		if required {
			c.v.Add(kerr.Null, path, "Member must not be null")
		}
		return
	}
	n := javaLen(*val)
	if pattern != nil && !pattern.MatchString(*val) {
		c.v.Add(kerr.Quote(*val), path, "Member must satisfy regular expression pattern: "+patternText)
	}
	if n < min {
		c.v.Add(kerr.Quote(*val), path, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if max > 0 && n > max {
		c.v.Add(kerr.Quote(*val), path, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// integer checks an integer member against inclusive bounds.
func (c *checker) integer(path string, val *int64, required bool, min, max int64) {
	if val == nil {
		if required {
			c.v.Add(kerr.Null, path, "Member must not be null")
		}
		return
	}
	if *val < min {
		c.v.Add(kerr.Quote(fmt.Sprint(*val)), path, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if *val > max {
		c.v.Add(kerr.Quote(fmt.Sprint(*val)), path, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

// enum checks a string member against its enum values.
func (c *checker) enum(path string, val *string, required bool, values ...string) {
	if val == nil {
		if required {
			c.v.Add(kerr.Null, path, "Member must not be null")
		}
		return
	}
	for _, v := range values {
		if *val == v {
			return
		}
	}
	c.v.Add(kerr.Quote(*val), path, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// blob checks a blob member; AWS renders blob values as the Java buffer's toString.
func (c *checker) blob(path string, val []byte, required bool, max int) {
	if val == nil {
		if required {
			c.v.Add(kerr.Null, path, "Member must not be null")
		}
		return
	}
	if max > 0 && len(val) > max {
		c.v.Add(blobValue(len(val)), path, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

func blobValue(n int) string {
	return fmt.Sprintf("'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]'", n, n)
}

// streamRef checks the StreamName / StreamARN / StreamId members' constraints.
func (c *checker) streamRef(ref StreamRef) {
	c.str("streamName", ref.StreamName, false, 1, 128, namePattern, namePatternText)
	c.str("streamARN", ref.StreamARN, false, 1, 2048, streamARNPattern, streamARNPatternText)
	c.streamID(ref.StreamId)
}

// streamID checks a StreamId member (reserved by the API; its value is not used).
func (c *checker) streamID(id *string) {
	c.str("streamId", id, false, 1, 24, streamIDPattern, streamIDPatternText)
}

// accountPattern is an account id: 12 digits.
var accountPattern = regexp.MustCompile(`^\d{12}$`)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
