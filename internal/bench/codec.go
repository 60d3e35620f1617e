package bench

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/maphash"
	"strconv"
	"strings"
)

// The bench's own codec for the PutRecords and GetRecords bodies. Through the SDK, a client sending
// 100,000+ records/s spends a core of its own on reflection, base64 and copies, on the same machine
// as the server it measures. Here a worker builds its request body once and per request rewrites only
// a 12-byte stamp at the front of each record, and responses are read by a small scanner that slices
// the response buffer instead of allocating.

// stampLen is how many bytes at the front of each record a request rewrites, so that no two records of
// a run carry the same data: worker, request and record index, 4 bytes each. 12 is a multiple of 3, so
// its base64 is the first 16 characters of the record's base64 and the rest need not change.
const stampLen = 12

// putBody is a worker's PutRecords request body.
type putBody struct {
	buf    []byte   // the JSON body
	data   [][]byte // each record's data, stamped for the current request
	dataAt []int    // where each record's base64 data starts in buf
	hashes []uint64 // hashData of each record's base64 in the current request

	cbor    bool   // the body is CBOR (cbor.go)
	scratch []byte // with cbor: a record's base64, to hash
}

// newPutBody builds the body {"StreamName":…,"Records":[{"Data":…,"PartitionKey":…},…]}, the members
// in the order the SDK writes them. It takes over data.
func newPutBody(stream string, data [][]byte, keys []string) *putBody {
	name, _ := json.Marshal(stream) // a string always encodes
	b := &putBody{data: data, dataAt: make([]int, len(data)), hashes: make([]uint64, len(data))}
	size := len(`{"StreamName":,"Records":[]}`) + len(name)
	for i, d := range data {
		size += len(`{"Data":"","PartitionKey":""},`) + base64.StdEncoding.EncodedLen(len(d)) + len(keys[i])
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"StreamName":`...)
	buf = append(buf, name...)
	buf = append(buf, `,"Records":[`...)
	for i, d := range data {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"Data":"`...)
		b.dataAt[i] = len(buf)
		buf = base64.StdEncoding.AppendEncode(buf, d)
		buf = append(buf, `","PartitionKey":`...)
		buf = strconv.AppendQuote(buf, keys[i]) // keys are hex digits: Go and JSON quote them alike
		buf = append(buf, '}')
	}
	b.buf = append(buf, "]}"...)
	return b
}

// stamp writes (worker, request, index) into the front of every record, re-encodes that front in the
// body and rehashes the records' base64. Records shorter than the stamp get its first bytes.
func (b *putBody) stamp(seed maphash.Seed, worker, request uint32) {
	var st [stampLen]byte
	binary.BigEndian.PutUint32(st[0:], worker)
	binary.BigEndian.PutUint32(st[4:], request)
	for i, d := range b.data {
		binary.BigEndian.PutUint32(st[8:], uint32(i))
		n := copy(d, st[:])
		// n is stampLen (a multiple of 3) or all of d: either way its encoding stands alone.
		at := b.dataAt[i]
		base64.StdEncoding.Encode(b.buf[at:], d[:n])
		b.hashes[i] = hashData(seed, b.buf[at:at+base64.StdEncoding.EncodedLen(len(d))])
	}
}

// errSyntax is a response body the scanner cannot read.
var errSyntax = errors.New("response is not the JSON expected")

// scanner reads a JSON response in place. It knows the JSON grammar well enough to skip any value;
// it is not a validator (a server sending malformed JSON can make it read nonsense, not crash).
type scanner struct {
	b   []byte
	i   int
	err error
}

func (s *scanner) fail() {
	if s.err == nil {
		s.err = errSyntax
	}
	s.i = len(s.b)
}

// peek skips white space and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// eat consumes c if it is next.
func (s *scanner) eat(c byte) bool {
	if s.peek() == c && c != 0 {
		s.i++
		return true
	}
	return false
}

func (s *scanner) expect(c byte) {
	if !s.eat(c) {
		s.fail()
	}
}

// str reads a string: a slice of the body when it has no escapes (every string the bench reads, in
// practice), else a decoded copy.
func (s *scanner) str() []byte {
	raw := s.rawStr()
	if s.err != nil || bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	v, ok := unescape(raw)
	if !ok {
		s.fail()
	}
	return v
}

// rawStr reads a string and returns its text as sent, escapes undecoded, as a slice of the body. A
// quote inside a string is escaped, so the first quote not right after a backslash ends it: one
// IndexByte (SIMD) finds it, as a record's base64 is most of a GetRecords response. Only a quote
// after a backslash has the string walked escape by escape.
func (s *scanner) rawStr() []byte {
	if s.peek() != '"' {
		s.fail()
		return nil
	}
	start := s.i + 1
	if end := bytes.IndexByte(s.b[start:], '"'); end >= 0 && s.b[start+end-1] != '\\' {
		s.i = start + end + 1 // s.b[start-1], before an empty string, is the opening quote
		return s.b[start : start+end]
	}
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j]
		}
	}
	s.fail()
	return nil
}

// unescape decodes the text of a JSON string as encoding/json does (invalid UTF-8 reads as U+FFFD),
// or reports false if it is not valid string text.
func unescape(raw []byte) ([]byte, bool) {
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var v string
	if json.Unmarshal(quoted, &v) != nil {
		return nil, false
	}
	return []byte(v), true
}

// dataText is a record's data text (getRecord.data) with its JSON escapes decoded: raw itself when it
// has none, or when they are not valid (a text with a backslash is not base64 and matches nothing).
func dataText(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	if text, ok := unescape(raw); ok {
		return text
	}
	return raw
}

// strOrNull reads a string, or null as nil.
func (s *scanner) strOrNull() []byte {
	if s.peek() == 'n' {
		s.skip()
		return nil
	}
	return s.str()
}

// number reads a number as a float64.
func (s *scanner) number() float64 {
	start := s.i
	s.skip()
	v, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		s.fail()
	}
	return v
}

// skip skips one value of any kind.
func (s *scanner) skip() {
	switch c := s.peek(); c {
	case '"':
		s.str()
	case '{':
		s.object(func([]byte) { s.skip() })
	case '[':
		s.array(s.skip)
	default:
		start := s.i
		s.i = scalarEnd(s.b, s.i)
		if s.i == start {
			s.fail()
		}
	}
}

// scalarEnd returns where the number, true, false or null at b[i:] ends (the scanner reads any run
// of the bytes these are made of as one).
func scalarEnd(b []byte, i int) int {
	for i < len(b) && scalarByte[b[i]] {
		i++
	}
	return i
}

// scalarByte tells the bytes of numbers, true, false and null: - + . 0-9 a-z A-Z.
var scalarByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '-' || c == '+' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	return t
}()

// object reads an object, calling member with each key; member must read the value.
func (s *scanner) object(member func(key []byte)) {
	s.expect('{')
	if s.eat('}') {
		return
	}
	for s.err == nil {
		key := s.str()
		s.expect(':')
		member(key)
		if !s.eat(',') {
			s.expect('}')
			return
		}
	}
}

// array reads an array, calling elem for each element; elem must read it.
func (s *scanner) array(elem func()) {
	s.expect('[')
	if s.eat(']') {
		return
	}
	for s.err == nil {
		elem()
		if !s.eat(',') {
			s.expect(']')
			return
		}
	}
}

// putResult is one entry of a PutRecords response; its slices point into the response body.
type putResult struct {
	seq, shard, code, msg []byte
}

// parsePutRecords reads a PutRecords response into results, reusing its entries.
func parsePutRecords(body []byte, results []putResult) ([]putResult, error) {
	s := &scanner{b: body}
	results = results[:0]
	s.object(func(key []byte) {
		if string(key) != "Records" {
			s.skip()
			return
		}
		s.array(func() {
			var r putResult
			s.object(func(key []byte) {
				switch string(key) {
				case "SequenceNumber":
					r.seq = s.strOrNull()
				case "ShardId":
					r.shard = s.strOrNull()
				case "ErrorCode":
					r.code = s.strOrNull()
				case "ErrorMessage":
					r.msg = s.strOrNull()
				default:
					s.skip()
				}
			})
			results = append(results, r)
		})
	})
	if s.err == nil && s.peek() != 0 {
		s.fail()
	}
	return results, s.err
}

// getRecord is one record of a GetRecords response; its slices point into the response body.
type getRecord struct {
	seq, key []byte
	// data is the Data string's text as sent, escapes undecoded (see dataText): base64, unless the
	// server escaped some of it, which JSON allows ("\/", "\u0041") and no server the bench has met
	// does. Scanning every record's text for a backslash cost the read-back as much as finding its
	// end; the check hashes the text as sent and decodes only one that does not match.
	data []byte
}

// getResult is a GetRecords response.
type getResult struct {
	records   []getRecord
	next      []byte // NextShardIterator; nil once the shard is closed and read to its end
	behind    float64
	hasBehind bool // MillisBehindLatest was sent
}

// parseGetRecords reads a GetRecords response into res, reusing its records.
func parseGetRecords(body []byte, res *getResult) error {
	s := &scanner{b: body}
	*res = getResult{records: res.records[:0]}
	s.object(func(key []byte) {
		switch string(key) {
		case "Records":
			res.records = s.records(res.records)
		case "NextShardIterator":
			res.next = s.strOrNull()
		case "MillisBehindLatest":
			if s.peek() == 'n' {
				s.skip()
				return
			}
			res.behind, res.hasBehind = s.number(), true
		default:
			s.skip()
		}
	})
	if s.err == nil && s.peek() != 0 {
		s.fail()
	}
	return s.err
}

// parseError reads the code and message of an error response: the X-Amzn-ErrorType header
// ("Code:http://…") or the body's __type ("namespace#Code"), and message or Message.
func parseError(header string, body []byte) (code, msg string) {
	s := &scanner{b: body}
	s.object(func(key []byte) {
		switch string(key) {
		case "__type", "code":
			if v := s.strOrNull(); code == "" {
				code = string(v)
			}
		case "message", "Message":
			msg = string(s.strOrNull())
		default:
			s.skip()
		}
	})
	if i := strings.IndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if header != "" {
		code = header
		if i := strings.IndexByte(code, ':'); i >= 0 {
			code = code[:i]
		}
	}
	return code, msg
}

// records reads a JSON array of records (GetRecords' and SubscribeToShardEvent's Records) and appends
// them to dst.
func (s *scanner) records(dst []getRecord) []getRecord {
	s.array(func() {
		var r getRecord
		if !s.plainRecord(&r) {
			s.recordByKey(&r)
		}
		dst = append(dst, r)
	})
	return dst
}

// recordByKey reads a record object member by member into r, in any shape.
func (s *scanner) recordByKey(r *getRecord) {
	s.object(func(key []byte) {
		switch string(key) {
		case "SequenceNumber":
			r.seq = s.str()
		case "Data":
			r.data = s.rawStr()
		case "PartitionKey":
			r.key = s.str()
		default:
			s.skip()
		}
	})
}

// The text around the values of a record as the kinesisd server writes it (awsjson.AppendRecords),
// each from the quote that ends the value before, if a string, to the quote that opens the next.
const (
	plainSeq  = `{"SequenceNumber":"`
	plainTime = `","ApproximateArrivalTimestamp":`
	plainData = `,"Data":"`
	plainKey  = `","PartitionKey":"`
	plainEnd  = `"}`
)

// plainRecord reads a record into r if it is written as the kinesisd server writes it, without white
// space or escapes, its members in this order:
//
//	{"SequenceNumber":"…","ApproximateArrivalTimestamp":…,"Data":"…","PartitionKey":"…"}
//
// It matches the text between the values instead of reading keys, and reads what object would
// read. Otherwise it reports false having read nothing, and object reads the record.
func (s *scanner) plainRecord(r *getRecord) bool {
	s.peek()
	b, i := s.b, s.i
	if !hasAt(b, i, plainSeq) {
		return false
	}
	i += len(plainSeq)
	seq, i, ok := plainStr(b, i)
	if !ok || !hasAt(b, i, plainTime) {
		return false
	}
	i += len(plainTime)
	j := scalarEnd(b, i)
	if j == i || !hasAt(b, j, plainData) {
		return false
	}
	i = j + len(plainData)
	end := bytes.IndexByte(b[i:], '"')
	if end < 0 || b[i+end-1] == '\\' { // b[i-1] is the opening quote
		return false
	}
	data := b[i : i+end]
	if i += end; !hasAt(b, i, plainKey) {
		return false
	}
	key, i, ok := plainStr(b, i+len(plainKey))
	if !ok || !hasAt(b, i, plainEnd) {
		return false
	}
	*r = getRecord{seq: seq, data: data, key: key}
	s.i = i + len(plainEnd)
	return true
}

// plainStr reads the string that starts at b[i] (after its opening quote) if it has no escapes,
// returning it and the index of its closing quote.
func plainStr(b []byte, i int) ([]byte, int, bool) {
	end := bytes.IndexByte(b[i:], '"')
	if end < 0 || bytes.IndexByte(b[i:i+end], '\\') >= 0 {
		return nil, 0, false
	}
	return b[i : i+end], i + end, true
}

// hasAt reports whether b holds text at i.
func hasAt(b []byte, i int, text string) bool {
	return len(b)-i >= len(text) && string(b[i:i+len(text)]) == text
}
