package cbor

import (
	"unicode/utf8"

	"kinesisd/internal/protocol/keytext"
	"kinesisd/internal/service"
)

// PutRecords requests are the hot path, and fxamacker/cbor decodes them by reflection: a new slice
// for every record's data, a string and a pointer for every key. The fast path below reads the shapes
// the Java SDK and the KPL send (maps and arrays of definite or indefinite length, definite strings,
// null) in one pass, the records' data left in the body; anything else (a duplicate or unknown member,
// a tag, an indefinite string, malformed input) makes it give up, and Decode, which also phrases the
// errors, reads the body. FuzzPutRecordsFast holds the two to the same result.

// DecodePutRecords decodes a PutRecords body into in, by the fast path when it can. On the fast path
// the records' Data are slices of body: the caller must keep body, unchanged, while in is in use.
// Every string is a copy. The records and their key pointers are mem's when mem is not nil (the
// caller frees it once in is no longer used).
func (c *Codec) DecodePutRecords(body []byte, in *service.PutRecordsInput, mem *keytext.Memory) error {
	var fast service.PutRecordsInput
	if decodePutRecordsFast(body, &fast, mem) {
		*in = fast
		return nil
	}
	return c.Decode(body, in)
}

// reader reads a CBOR body; any call that meets something outside the fast path sets bad.
type reader struct {
	b   []byte
	i   int
	bad bool
	mem *keytext.Memory // the records' memory (nil: new)
}

// head reads a data item's head: its major type, and its argument, or -1 for an indefinite length
// (major types 2 to 5). Simple values (major 7) are not read by head.
func (r *reader) head() (major byte, n int) {
	if r.i >= len(r.b) {
		r.bad = true
		return 0, 0
	}
	c := r.b[r.i]
	r.i++
	major, info := c>>5, c&0x1f
	switch {
	case info < 24:
		return major, int(info)
	case info == 31 && major >= 2 && major <= 5:
		return major, -1
	case info > 27:
		r.bad = true
		return 0, 0
	}
	size := 1 << (info - 24) // 1, 2, 4 or 8 bytes
	if len(r.b)-r.i < size {
		r.bad = true
		return 0, 0
	}
	var arg uint64
	for _, b := range r.b[r.i : r.i+size] {
		arg = arg<<8 | uint64(b)
	}
	r.i += size
	if arg > uint64(len(r.b)) { // no length or count of this body is larger
		r.bad = true
		return 0, 0
	}
	return major, int(arg)
}

// null consumes a null (0xf6) if one comes next.
func (r *reader) null() bool {
	if r.i < len(r.b) && r.b[r.i] == 0xf6 {
		r.i++
		return true
	}
	return false
}

// bytes reads a definite string of major type major and returns it, a slice of the body.
func (r *reader) bytes(major byte) []byte {
	m, n := r.head()
	if r.bad || m != major || n < 0 || len(r.b)-r.i < n {
		r.bad = true
		return nil
	}
	s := r.b[r.i : r.i+n : r.i+n]
	r.i += n
	return s
}

// text reads a definite text string, which must be valid UTF-8.
func (r *reader) text() []byte {
	s := r.bytes(3)
	if !r.bad && !utf8.Valid(s) {
		r.bad = true
	}
	return s
}

// str reads a text member; null gives nil.
func (r *reader) str() *string {
	if r.null() {
		return nil
	}
	s := r.text()
	if r.bad {
		return nil
	}
	v := string(s)
	return &v
}

func (r *reader) boolean() *bool {
	if r.null() {
		return nil
	}
	if r.i < len(r.b) && (r.b[r.i] == 0xf4 || r.b[r.i] == 0xf5) {
		v := r.b[r.i] == 0xf5
		r.i++
		return &v
	}
	r.bad = true
	return nil
}

// open reads the head of a map or an array (major type major) and returns its count, -1 when it is
// of indefinite length.
func (r *reader) open(major byte) int {
	m, n := r.head()
	if m != major {
		r.bad = true
	}
	return n
}

// more reports whether the map or array being read, of count n (-1: indefinite) with k members or
// elements read, has another; it consumes the break of an indefinite one.
func (r *reader) more(n, k int) bool {
	if r.bad {
		return false
	}
	if n >= 0 {
		return k < n
	}
	switch {
	case r.i >= len(r.b):
		r.bad = true // no break
		return false
	case r.b[r.i] == 0xff:
		r.i++
		return false
	}
	return true
}

// seen marks member bit in *set and reports whether it was already there: a duplicate member, which
// the fast path leaves to Decode.
func seen(set *uint8, bit uint8) bool {
	dup := *set&bit != 0
	*set |= bit
	return dup
}

// decodePutRecordsFast reads body into in, and reports whether it could.
func decodePutRecordsFast(body []byte, in *service.PutRecordsInput, mem *keytext.Memory) bool {
	r := &reader{b: body, mem: mem}
	var members uint8
	n := r.open(5)
	for k := 0; r.more(n, k); k++ {
		switch name := r.text(); {
		case r.bad:
		case string(name) == "StreamName" && !seen(&members, 1):
			in.StreamName = r.str()
		case string(name) == "StreamARN" && !seen(&members, 2):
			in.StreamARN = r.str()
		case string(name) == "StreamId" && !seen(&members, 4):
			in.StreamId = r.str()
		case string(name) == "DryRun" && !seen(&members, 8):
			in.DryRun = r.boolean()
		case string(name) == "Records" && !seen(&members, 16):
			in.Records = r.records()
		default:
			r.bad = true
		}
	}
	return !r.bad && r.i == len(r.b)
}

// textSpan reads a text member (null gives none): where it lies in the body.
func (r *reader) textSpan() keytext.Span {
	if r.null() {
		return keytext.None()
	}
	s := r.text()
	return keytext.Span{Start: r.i - len(s), End: r.i}
}

func (r *reader) records() []service.PutRecordsRequestEntry {
	if r.null() {
		return nil
	}
	n := r.open(4)
	if r.bad {
		return nil
	}
	size := n
	if size < 0 || size > 500 {
		size = 500 // the most a request may hold: more is refused, after the decoding
	}
	recs := r.mem.Records(size)
	keys := keytext.Make(size)
	for k := 0; r.more(n, k); k++ {
		var rec service.PutRecordsRequestEntry
		key, hash := keytext.None(), keytext.None()
		var members uint8
		m := r.open(5)
		for j := 0; r.more(m, j); j++ {
			switch name := r.text(); {
			case r.bad:
			case string(name) == "Data" && !seen(&members, 1):
				if !r.null() {
					rec.Data = r.bytes(2)
				}
			case string(name) == "PartitionKey" && !seen(&members, 2):
				key = r.textSpan()
			case string(name) == "ExplicitHashKey" && !seen(&members, 4):
				hash = r.textSpan()
			default:
				r.bad = true
			}
		}
		recs = append(recs, rec)
		keys = keys.Add(key, hash)
	}
	if r.bad {
		return nil
	}
	keys.Set(r.b, recs, r.mem)
	return recs
}

// Members of a PutRecords reply, encoded.
var (
	keyFailedRecordCount = appendText(nil, "FailedRecordCount")
	keyShardID           = appendText(nil, "ShardId")
	keyErrorCode         = appendText(nil, "ErrorCode")
	keyErrorMessage      = appendText(nil, "ErrorMessage")
)

// PutRecordsLen is an upper bound of the length of out in CBOR, for sizing the buffer
// AppendPutRecords writes into.
func PutRecordsLen(out *service.PutRecordsOutput) int {
	size := 64 + len(out.EncryptionType)
	for i := range out.Records {
		r := &out.Records[i]
		size += len(r.SequenceNumber) + len(r.ShardId) + len(r.ErrorCode) + len(r.ErrorMessage) + 80
	}
	return size
}

// AppendPutRecords appends what Encode(out) returns to b, without reflection: a reply to 500 records
// is 500 entries, which the reflective encoder walks member by member into a buffer grown from 512
// bytes.
func AppendPutRecords(b []byte, out *service.PutRecordsOutput) []byte {
	b = append(b, 0xbf)
	b = append(b, keyFailedRecordCount...)
	b = appendInt(b, int64(out.FailedRecordCount))
	b = append(b, keyRecords...)
	b = append(b, 0x9f)
	for i := range out.Records {
		r := &out.Records[i]
		b = append(b, 0xbf)
		for _, m := range [...]struct {
			key   []byte
			value string
		}{{keySequenceNumber, r.SequenceNumber}, {keyShardID, r.ShardId}, {keyErrorCode, r.ErrorCode}, {keyErrorMessage, r.ErrorMessage}} {
			if m.value != "" {
				b = append(b, m.key...)
				b = appendText(b, m.value)
			}
		}
		b = append(b, 0xff)
	}
	b = append(b, 0xff)
	if out.EncryptionType != "" {
		b = append(b, keyEncryptionType...)
		b = appendText(b, out.EncryptionType)
	}
	return append(b, 0xff)
}
