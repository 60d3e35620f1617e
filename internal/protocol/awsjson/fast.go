package awsjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"kinesisd/internal/protocol/keytext"
	"kinesisd/internal/service"
)

// The PutRecords and GetRecords bodies are the hot path: encoding/json spends most of a PutRecords
// request validating and unquoting half a megabyte of base64. The fast paths below handle the plain
// shapes every SDK sends in one pass; anything else (escapes in strings, numbers, unknown members,
// malformed input) makes the decoder give up, and the caller decodes with encoding/json, which also
// phrases the errors. FuzzPutRecordsFast holds the two to the same result.

// DecodePutRecords decodes a PutRecords body into in, by the fast path when it can. On the fast path
// the records' Data are slices of buf's spare capacity when it has room for
// base64.StdEncoding.DecodedLen(len(body)) bytes, so that the caller can recycle one buffer per
// request (it must not reuse buf while in is in use); of a new buffer otherwise. Every string is a
// copy: in never points into body. The records and their key pointers are mem's when mem is not nil
// (the caller frees it once in is no longer used).
func DecodePutRecords(body []byte, in *service.PutRecordsInput, buf []byte, mem *keytext.Memory) error {
	var fast service.PutRecordsInput
	if decodePutRecordsFast(body, &fast, buf, mem) {
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
	buf []byte          // decoded blobs, sliced out in turn
	mem *keytext.Memory // the records' memory (nil: new)
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

// raw returns the text of a string up to its first quote, which is the closing quote unless the string
// has escapes: then the text holds a backslash, which every caller refuses (plain, a member name that
// matches nothing, base64). bytes.IndexByte finds the quote many bytes at a time, which matters for
// the 1,368 characters of a 1 KiB record's Data.
func (s *scanner) raw() []byte {
	if s.next() != '"' {
		s.bad = true
		return nil
	}
	start := s.i + 1
	n := bytes.IndexByte(s.b[start:], '"')
	if n < 0 {
		s.bad = true
		return nil
	}
	s.i = start + n + 1
	return s.b[start : start+n]
}

// text returns a string member's text if it is plain (no escape, no control character) valid UTF-8,
// else sets bad.
func (s *scanner) text() []byte {
	r := s.raw()
	if s.bad {
		return nil
	}
	for _, c := range r {
		if c == '\\' || c < 0x20 {
			s.bad = true
			return nil
		}
	}
	if !utf8.Valid(r) {
		s.bad = true
		return nil
	}
	return r
}

// str reads a string member; null gives nil.
func (s *scanner) str() *string {
	if s.null() {
		return nil
	}
	r := s.text()
	if s.bad {
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
	if s.next() != '"' {
		s.bad = true
		return nil
	}
	s.i++
	q := bytes.IndexByte(s.b[s.i:], '"') // base64 has no backslash: the first quote ends it
	if q < 0 {
		s.bad = true
		return nil
	}
	r := s.b[s.i : s.i+q]
	s.i += q + 1
	start := len(s.buf)
	n, ok := decodeBase64(s.buf[start:cap(s.buf)], r) // room enough: see decodePutRecordsFast
	if !ok {
		s.bad = true
		return nil
	}
	s.buf = s.buf[:start+n]
	return s.buf[start : start+n : start+n]
}

// open consumes the opening c of an object or array and reports whether a member or element follows
// (false for an empty one, or when something is bad).
func (s *scanner) open(c, end byte) bool {
	s.expect(c)
	if s.bad {
		return false
	}
	if s.next() == end {
		s.i++
		return false
	}
	return true
}

// more consumes the comma after a member or element (true: another follows) or the closing end
// (false), and reports false when something is bad.
func (s *scanner) more(end byte) bool {
	if s.bad {
		return false
	}
	switch s.next() {
	case ',':
		s.i++
		return true
	case end:
		s.i++
		return false
	}
	s.bad = true
	return false
}

// name reads a member name and its colon. A name with an escape matches no member and is refused.
func (s *scanner) name() []byte {
	n := s.raw()
	s.expect(':')
	return n
}

// decodePutRecordsFast is written as loops over open/more rather than with callbacks so that a record
// costs no allocation beyond its share of three per request (records, key spans, key string): the
// decoded data goes to buf, the partition keys into one string. buf has room for every blob
// (decodeBase64 wants len/4*3 bytes for a text of len characters; the texts are in body).
func decodePutRecordsFast(body []byte, in *service.PutRecordsInput, buf []byte, mem *keytext.Memory) bool {
	if need := base64.StdEncoding.DecodedLen(len(body)); cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	s := &scanner{b: body, buf: buf[:0], mem: mem}
	for more := s.open('{', '}'); more; more = s.more('}') {
		switch string(s.name()) {
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
	}
	s.ws()
	return !s.bad && s.i == len(s.b)
}

func (s *scanner) records() []service.PutRecordsRequestEntry {
	if s.null() {
		return nil
	}
	recs := s.mem.Records(500)
	keys := keytext.Make(500)
	for more := s.open('[', ']'); more; more = s.more(']') {
		var r service.PutRecordsRequestEntry
		key, hash := keytext.None(), keytext.None()
		for m := s.open('{', '}'); m; m = s.more('}') {
			switch string(s.name()) {
			case "Data":
				r.Data = s.blob()
			case "PartitionKey":
				key = s.key()
			case "ExplicitHashKey":
				hash = s.key()
			default:
				s.bad = true
			}
		}
		recs = append(recs, r)
		keys = keys.Add(key, hash)
	}
	if s.bad {
		return nil
	}
	keys.Set(s.b, recs, s.mem)
	return recs
}

// key reads a string member (null gives none): where its text lies in the body.
func (s *scanner) key() keytext.Span {
	if s.null() {
		return keytext.None()
	}
	r := s.text()
	if s.bad {
		return keytext.None()
	}
	end := s.i - 1 // before the closing quote
	return keytext.Span{Start: end - len(r), End: end}
}

// AppendGetRecords appends a GetRecords output to b as encoding/json would write it, without
// reflection.
func AppendGetRecords(b []byte, out *service.GetRecordsOutput) ([]byte, error) {
	b = append(b, `{"Records":[`...)
	b = AppendRecords(b, out.Records)
	return appendGetRecordsEnd(b, out)
}

// WriteGetRecords writes what AppendGetRecords appends to w, in pieces: buf (empty, with room for a
// few records) is filled to about its capacity, written and reused, so that a reply of 10,000
// records needs a buffer of a few hundred KiB rather than one of 14 MB. It returns the buffer, grown
// if a record needed more room, for its owner to recycle, and w's first error.
func WriteGetRecords(w io.Writer, buf []byte, out *service.GetRecordsOutput) ([]byte, error) {
	b := append(buf[:0], `{"Records":[`...)
	for i := range out.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, &out.Records[i])
		if len(b) >= cap(b)/4*3 {
			if _, err := w.Write(b); err != nil {
				return b, err
			}
			b = b[:0]
		}
	}
	b, err := appendGetRecordsEnd(b, out)
	if err == nil {
		_, err = w.Write(b)
	}
	return b, err
}

// appendGetRecordsEnd appends what follows the records of a GetRecords output.
func appendGetRecordsEnd(b []byte, out *service.GetRecordsOutput) ([]byte, error) {
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

// RecordsLen is the length of recs as AppendRecords writes them, or more, for sizing its buffer: it
// can be less only when partition keys need escaping (then append grows the buffer).
func RecordsLen(recs []service.Record) int {
	size := 0
	for i := range recs {
		r := &recs[i]
		size += base64.StdEncoding.EncodedLen(len(r.Data)) + len(r.PartitionKey) + len(r.SequenceNumber) +
			len(r.EncryptionType) + 128
	}
	return size
}

// AppendRecords appends recs to b as the elements of a JSON list of records (GetRecords' and
// SubscribeToShardEvent's Records), separated by commas and without the brackets, as encoding/json
// writes them, without reflection.
func AppendRecords(b []byte, recs []service.Record) []byte {
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, &recs[i])
	}
	return b
}

// appendRecord appends one record's object.
func appendRecord(b []byte, r *service.Record) []byte {
	b = append(b, `{"SequenceNumber":`...)
	b = appendString(b, r.SequenceNumber)
	b = append(b, `,"ApproximateArrivalTimestamp":`...)
	b = appendTimestamp(b, r.ApproximateArrivalTimestamp.UnixMilli())
	if r.Data == nil {
		b = append(b, `,"Data":null,"PartitionKey":`...)
	} else {
		b = append(b, `,"Data":"`...)
		b = appendBase64(b, r.Data)
		b = append(b, `","PartitionKey":`...)
	}
	b = appendString(b, r.PartitionKey)
	if r.EncryptionType != "" {
		b = append(b, `,"EncryptionType":`...)
		b = appendString(b, r.EncryptionType)
	}
	b = append(b, '}')
	return b
}

// SubscribeEventLen is the length of ev as AppendSubscribeEvent writes it, or more (as RecordsLen; and
// child shards are not counted: an event has them once in a shard's life).
func SubscribeEventLen(ev *service.SubscribeToShardEvent) int {
	size := 96 + RecordsLen(ev.Records)
	if ev.ContinuationSequenceNumber != nil {
		size += len(*ev.ContinuationSequenceNumber)
	}
	return size
}

// AppendSubscribeEvent appends a SubscribeToShardEvent to b as encoding/json would write it, without
// reflection.
func AppendSubscribeEvent(b []byte, ev *service.SubscribeToShardEvent) ([]byte, error) {
	if ev.Records == nil {
		b = append(b, `{"Records":null`...)
	} else {
		b = append(b, `{"Records":[`...)
		b = AppendRecords(b, ev.Records)
		b = append(b, ']')
	}
	if ev.ContinuationSequenceNumber != nil {
		b = append(b, `,"ContinuationSequenceNumber":`...)
		b = appendString(b, *ev.ContinuationSequenceNumber)
	}
	b = append(b, `,"MillisBehindLatest":`...)
	b = strconv.AppendInt(b, ev.MillisBehindLatest, 10)
	if len(ev.ChildShards) > 0 {
		children, err := json.Marshal(ev.ChildShards)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"ChildShards":`...)
		b = append(b, children...)
	}
	return append(b, '}'), nil
}

// PutRecordsLen is an upper bound of the length of out in JSON, for sizing the buffer
// AppendPutRecords writes into.
func PutRecordsLen(out *service.PutRecordsOutput) int {
	size := 96 + len(out.EncryptionType)
	for i := range out.Records {
		r := &out.Records[i]
		size += len(r.SequenceNumber) + len(r.ShardId) + len(r.ErrorCode) + 2*len(r.ErrorMessage) + 80
	}
	return size
}

// AppendPutRecords appends a PutRecords output to b as encoding/json would write it, without
// reflection: a reply to 500 records is 500 entries, which encoding/json walks field by field.
func AppendPutRecords(b []byte, out *service.PutRecordsOutput) []byte {
	b = append(b, `{"FailedRecordCount":`...)
	b = strconv.AppendInt(b, int64(out.FailedRecordCount), 10)
	b = append(b, `,"Records":`...)
	if out.Records == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range out.Records {
			r := &out.Records[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			comma := false
			for _, f := range [...]struct{ name, value string }{
				{`"SequenceNumber":`, r.SequenceNumber}, {`"ShardId":`, r.ShardId},
				{`"ErrorCode":`, r.ErrorCode}, {`"ErrorMessage":`, r.ErrorMessage},
			} {
				if f.value == "" {
					continue
				}
				if comma {
					b = append(b, ',')
				}
				b = append(b, f.name...)
				b = appendString(b, f.value)
				comma = true
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if out.EncryptionType != "" {
		b = append(b, `,"EncryptionType":`...)
		b = appendString(b, out.EncryptionType)
	}
	return append(b, '}')
}

// plainJSON holds the bytes encoding/json writes as they are in a string: printable ASCII but the
// quote, the backslash and the characters it escapes for HTML. One lookup a byte is faster than the
// comparisons (two sequence numbers and a partition key a record).
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

// appendString appends s as a JSON string: plain ASCII as it is, anything else as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
