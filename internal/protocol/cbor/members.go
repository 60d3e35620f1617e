package cbor

import (
	"math"
	"reflect"
	"time"

	"kinesisd/internal/protocol/mirror"
	"kinesisd/internal/service"
)

// The service's timestamp members are plain values; their CBOR is here. The encoder writes
// service.Timestamp itself (appendTimestamp); Decode sees the service's inputs through a mirror in
// which timestamp members are timestamp, so that fxamacker/cbor finds its UnmarshalCBOR.
var (
	timestampType = reflect.TypeFor[service.Timestamp]()
	members       = mirror.New(mirror.Swap{From: timestampType, To: reflect.TypeFor[timestamp]()})
)

// appendTimestamp appends a timestamp as the Java SDK's CBOR protocol carries it: tag 1 holding an
// integer count of epoch milliseconds (not seconds, as RFC 8949 would have it), in shortest form.
func appendTimestamp(dst []byte, ms int64) []byte { return appendInt(append(dst, 0xc1), ms) }

func encodeTimestamp(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) {
	return appendTimestamp(dst, v.Interface().(service.Timestamp).UnixMilli()), nil
}

// timestamp is a timestamp member as Decode reads it.
type timestamp service.Timestamp

// memberError is a member's decoding error whose text is AWS's SerializationException message.
type memberError string

func (e memberError) Error() string { return string(e) }

// UnmarshalCBOR reads epoch milliseconds, under tag 1 as the Java SDK sends them or untagged, as an
// integer or a float of any width. Null leaves the timestamp unset.
func (t *timestamp) UnmarshalCBOR(b []byte) error {
	major, info, arg, rest, ok := head(b)
	if ok && major == 6 && arg == 1 {
		major, info, arg, _, ok = head(rest)
	}
	var ms float64
	switch {
	case !ok:
		return memberError("Start of structure or map found where not expected.")
	case major == 0 && arg <= math.MaxInt64:
		t.Time = time.UnixMilli(int64(arg)).UTC()
		return nil
	case major == 1 && arg <= math.MaxInt64:
		t.Time = time.UnixMilli(-1 - int64(arg)).UTC()
		return nil
	case major == 3:
		return memberError("class java.lang.String can not be converted to milliseconds since epoch")
	case major == 7 && (info == 20 || info == 21):
		return memberError("class java.lang.Boolean can not be converted to milliseconds since epoch")
	case major == 7 && (info == 22 || info == 23): // null, undefined
		return nil
	case major == 7 && info == 25:
		ms = halfToFloat(uint16(arg))
	case major == 7 && info == 26:
		ms = float64(math.Float32frombits(uint32(arg)))
	case major == 7 && info == 27:
		ms = math.Float64frombits(arg)
	default:
		return memberError("Start of structure or map found where not expected.")
	}
	if math.IsNaN(ms) || math.Abs(ms) >= 1<<62 {
		return memberError("Start of structure or map found where not expected.")
	}
	t.Time = time.UnixMilli(int64(math.Round(ms))).UTC()
	return nil
}

// head splits the head of a CBOR data item: major type, additional information, its argument (for
// floats, their bits) and what follows the head.
func head(b []byte) (major, info byte, arg uint64, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, nil, false
	}
	major, info = b[0]>>5, b[0]&0x1f
	n := 0
	switch {
	case info < 24:
		return major, info, uint64(info), b[1:], true
	case info <= 27:
		n = 1 << (info - 24)
	default:
		return 0, 0, 0, nil, false
	}
	if len(b) < 1+n {
		return 0, 0, 0, nil, false
	}
	for _, c := range b[1 : 1+n] {
		arg = arg<<8 | uint64(c)
	}
	return major, info, arg, b[1+n:], true
}

// halfToFloat widens an IEEE 754 half-precision float.
func halfToFloat(h uint16) float64 {
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(frac, -24)
	case 31:
		f = math.Inf(1)
		if frac != 0 {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(frac+1024, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}
