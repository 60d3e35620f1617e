package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"kinesisd/internal/service"
)

// The PutRecords and GetRecords bodies are the hot path: encoding/json spends most of a PutRecords
// request validating and unquoting half a megabyte of base64. The fast paths below handle the plain
// shapes every SDK sends in one pass; anything else (escapes in strings, numbers, unknown members,
// malformed input) makes the decoder give up, and the caller decodes with encoding/json, which also
// phrases the errors. FuzzPutRecordsFast holds the two to the same result.

// DecodePutRecords decodes a PutRecords body into in, by the fast path when it can.
func DecodePutRecords(body []byte, in *service.PutRecordsInput) error {
	var fast service.PutRecordsInput
	if decodePutRecordsFast(body, &fast) {
		*in = fast
		return nil
	}
	return Decode(body, in)
}

// scanner reads a JSON body; any call that meets something outside the fast path sets bad.
type scanner struct {
	b   []byte
	i   int
	bad bool
	buf []byte // decoded blobs, sliced out in turn
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte without consuming it (0 at the end).
func (s *scanner) next() byte {
	s.ws()
	if s.i >= len(s.b) {
		s.bad = true
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) {
	if s.next() != c {
		s.bad = true
		return
	}
	s.i++
}

// raw returns the bytes of a string without escapes, or sets bad.
func (s *scanner) raw() []byte {
	if s.next() != '"' {
		s.bad = true
		return nil
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j]
		case c == '\\' || c < 0x20:
			s.bad = true
			return nil
		}
	}
	s.bad = true
	return nil
}

// str reads a string member; null gives nil.
func (s *scanner) str() *string {
	if s.null() {
		return nil
	}
	r := s.raw()
	if s.bad || !utf8.Valid(r) {
		s.bad = true
		return nil
	}
	v := string(r)
	return &v
}

// null consumes a JSON null if one comes next.
func (s *scanner) null() bool {
	if s.next() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) boolean() *bool {
	if s.null() {
		return nil
	}
	for _, lit := range []string{"true", "false"} {
		if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
			s.i += len(lit)
			v := lit == "true"
			return &v
		}
	}
	s.bad = true
	return nil
}

// blob reads a base64 string member into the shared buffer; null gives nil.
func (s *scanner) blob() []byte {
	if s.null() {
		return nil
	}
	r := s.raw()
	if s.bad {
		return nil
	}
	start := len(s.buf)
	n, err := base64.StdEncoding.Strict().Decode(s.buf[start:cap(s.buf)], r)
	if err != nil {
		s.bad = true
		return nil
	}
	s.buf = s.buf[:start+n]
	return s.buf[start : start+n : start+n]
}

// object calls member for each member name of an object until it closes or something is bad.
func (s *scanner) object(member func(name string)) {
	s.expect('{')
	if s.next() == '}' {
		s.i++
		return
	}
	for !s.bad {
		name := s.raw()
		s.expect(':')
		if s.bad {
			return
		}
		member(string(name))
		switch s.next() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.bad = true
		}
	}
}

func decodePutRecordsFast(body []byte, in *service.PutRecordsInput) bool {
	s := &scanner{b: body, buf: make([]byte, 0, base64.StdEncoding.DecodedLen(len(body)))}
	s.object(func(name string) {
		switch name {
		case "StreamName":
			in.StreamName = s.str()
		case "StreamARN":
			in.StreamARN = s.str()
		case "StreamId":
			in.StreamId = s.str()
		case "DryRun":
			in.DryRun = s.boolean()
		case "Records":
			in.Records = s.records()
		default:
			s.bad = true
		}
	})
	s.ws()
	return !s.bad && s.i == len(s.b)
}

func (s *scanner) records() []service.PutRecordsRequestEntry {
	if s.null() {
		return nil
	}
	s.expect('[')
	recs := make([]service.PutRecordsRequestEntry, 0, 500)
	if s.next() == ']' {
		s.i++
		return recs
	}
	for !s.bad {
		var r service.PutRecordsRequestEntry
		s.object(func(name string) {
			switch name {
			case "Data":
				r.Data = s.blob()
			case "PartitionKey":
				r.PartitionKey = s.str()
			case "ExplicitHashKey":
				r.ExplicitHashKey = s.str()
			default:
				s.bad = true
			}
		})
		recs = append(recs, r)
		switch s.next() {
		case ',':
			s.i++
		case ']':
			s.i++
			return recs
		default:
			s.bad = true
		}
	}
	return nil
}

// EncodeGetRecords writes a GetRecords output as encoding/json would, without reflection.
func EncodeGetRecords(out *service.GetRecordsOutput) ([]byte, error) {
	size := 128
	for i := range out.Records {
		size += base64.StdEncoding.EncodedLen(len(out.Records[i].Data)) + len(out.Records[i].PartitionKey) + 160
	}
	b := make([]byte, 0, size)
	b = append(b, `{"Records":[`...)
	for i := range out.Records {
		r := &out.Records[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"SequenceNumber":`...)
		b = appendString(b, r.SequenceNumber)
		b = append(b, `,"ApproximateArrivalTimestamp":`...)
		ts, _ := r.ApproximateArrivalTimestamp.MarshalJSON()
		b = append(b, ts...)
		b = append(b, `,"Data":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Data)
		b = append(b, `","PartitionKey":`...)
		b = appendString(b, r.PartitionKey)
		if r.EncryptionType != "" {
			b = append(b, `,"EncryptionType":`...)
			b = appendString(b, r.EncryptionType)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if out.NextShardIterator != nil {
		b = append(b, `,"NextShardIterator":`...)
		b = appendString(b, *out.NextShardIterator)
	}
	b = append(b, `,"MillisBehindLatest":`...)
	b = strconv.AppendInt(b, out.MillisBehindLatest, 10)
	if len(out.ChildShards) > 0 {
		children, err := json.Marshal(out.ChildShards)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"ChildShards":`...)
		b = append(b, children...)
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string: plain ASCII as it is, anything else as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
