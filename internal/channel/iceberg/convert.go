package iceberg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// column is one top-level column of the table, as the converter fills it.
type column struct {
	name     string
	typ      iceberg.Type
	required bool
}

// converter turns JSON records into rows of one table schema. It holds no
// per-record state: convert may be called for any record, and only build
// touches Arrow memory.
type converter struct {
	cols   []column
	byName map[string]int
	arrow  *arrow.Schema
}

func newConverter(sc *iceberg.Schema) (*converter, error) {
	as, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	c := &converter{byName: map[string]int{}, arrow: as}
	for _, f := range sc.Fields() {
		if f.Required && !supported(f.Type) {
			return nil, fmt.Errorf("required column %q has type %s, which records cannot fill", f.Name, f.Type)
		}
		c.byName[f.Name] = len(c.cols)
		c.cols = append(c.cols, column{name: f.Name, typ: f.Type, required: f.Required})
	}
	return c, nil
}

func supported(t iceberg.Type) bool {
	switch t.(type) {
	case iceberg.BooleanType, iceberg.Int32Type, iceberg.Int64Type, iceberg.Float32Type, iceberg.Float64Type,
		iceberg.DecimalType, iceberg.StringType, iceberg.BinaryType, iceberg.DateType,
		iceberg.TimestampType, iceberg.TimestampTzType, iceberg.TimestampNsType, iceberg.TimestampTzNsType:
		return true
	}
	return false
}

// errNotObject is the reason given for a record that is not one JSON object.
var errNotObject = errors.New("record is not a JSON object")

// fields parses a record as one JSON object; with ordered, it returns its
// member names in order too (the first of duplicated names wins the
// position, the last its value).
func fields(data []byte, ordered bool) (names []string, values map[string]json.RawMessage, err error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, nil, errNotObject
	}
	if err := json.Unmarshal(data, &values); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errNotObject, err)
	}
	if !ordered {
		return nil, values, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errNotObject, err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errNotObject, err)
		}
		name, _ := tok.(string)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errNotObject, err)
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names, values, nil
}

// convert parses one record into the values of a row, in column order; nil
// is null. Members that name no column are ignored; of a name given twice,
// the last value counts.
func (c *converter) convert(data []byte) ([]any, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errNotObject
	}
	if !json.Valid(data) {
		var v map[string]json.RawMessage
		err := json.Unmarshal(data, &v) // for the reason
		return nil, fmt.Errorf("%w: %v", errNotObject, err)
	}
	raws := make([][]byte, len(c.cols))
	members(trimmed, func(name []byte, raw []byte) {
		if i, ok := c.byName[string(name)]; ok {
			raws[i] = raw
		}
	})
	row := make([]any, len(c.cols))
	for i, col := range c.cols {
		raw := raws[i]
		if raw == nil || string(raw) == "null" {
			if col.required {
				return nil, fmt.Errorf("required column %q is missing or null", col.name)
			}
			continue
		}
		v, err := value(col.typ, raw)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", col.name, err)
		}
		row[i] = v
	}
	return row, nil
}

// members calls fn with the name (unquoted) and the value (as it is) of each
// member of obj, one JSON object, valid, without leading space.
func members(obj []byte, fn func(name, raw []byte)) {
	i := 1
	for {
		i = skipSpace(obj, i)
		if obj[i] == '}' {
			return
		}
		end := skipValue(obj, i) // the name
		name := obj[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 || !utf8.Valid(name) {
			s, _ := unquote(obj[i:end])
			name = []byte(s)
		}
		i = skipSpace(obj, end) + 1 // past ':'
		i = skipSpace(obj, i)
		end = skipValue(obj, i)
		fn(name, obj[i:end])
		i = skipSpace(obj, end)
		if obj[i] == '}' {
			return
		}
		i++ // past ','
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

// unquote returns the string a JSON string literal holds, as
// encoding/json decodes it (invalid UTF-8 becomes U+FFFD); one without
// escapes and with valid UTF-8, the common case, is sliced directly.
func unquote(lit []byte) (string, error) {
	if inner := lit[1 : len(lit)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}

// skipString returns the end of the valid JSON string that starts at b[i].
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexAny(b[i:], `"\\`)
		i += j
		if b[i] == '"' {
			return i + 1
		}
		i += 2
	}
}

// value converts one JSON value (not null) to the Go value build appends
// for an Iceberg type.
func value(t iceberg.Type, raw json.RawMessage) (any, error) {
	kind := raw[0]
	isNumber := kind == '-' || (kind >= '0' && kind <= '9')
	var str string
	if kind == '"' {
		var err error
		if str, err = unquote(raw); err != nil {
			return nil, err
		}
	}
	switch t := t.(type) {
	case iceberg.BooleanType:
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	case iceberg.Int32Type:
		if isNumber {
			n, err := integer(string(raw), math.MinInt32, math.MaxInt32)
			return int32(n), err
		}
	case iceberg.Int64Type:
		if isNumber {
			return integer(string(raw), math.MinInt64, math.MaxInt64)
		}
	case iceberg.Float32Type:
		if isNumber {
			f, err := strconv.ParseFloat(string(raw), 32)
			if err != nil {
				return nil, fmt.Errorf("%s does not fit a float", raw)
			}
			return float32(f), nil
		}
	case iceberg.Float64Type:
		if isNumber {
			f, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return nil, fmt.Errorf("%s does not fit a double", raw)
			}
			return f, nil
		}
	case iceberg.DecimalType:
		switch {
		case isNumber:
			return decimal(string(raw), t)
		case kind == '"':
			return decimal(str, t)
		}
	case iceberg.StringType:
		if kind == '"' {
			return str, nil
		}
		// Numbers, booleans, objects and arrays keep their JSON text.
		return string(raw), nil
	case iceberg.BinaryType:
		if kind == '"' {
			b, err := base64.StdEncoding.DecodeString(str)
			if err != nil {
				return nil, fmt.Errorf("binary wants base64: %v", err)
			}
			return b, nil
		}
	case iceberg.DateType:
		switch {
		case kind == '"':
			d, err := time.Parse(time.DateOnly, str)
			if err != nil {
				return nil, fmt.Errorf("date wants YYYY-MM-DD: %v", err)
			}
			return arrow.Date32(d.Unix() / 86400), nil
		case isNumber:
			n, err := integer(string(raw), math.MinInt32, math.MaxInt32)
			return arrow.Date32(n), err
		}
	case iceberg.TimestampType, iceberg.TimestampTzType:
		return timestamp(kind, str, raw, time.Microsecond)
	case iceberg.TimestampNsType, iceberg.TimestampTzNsType:
		return timestamp(kind, str, raw, time.Nanosecond)
	default:
		return nil, fmt.Errorf("type %s cannot be filled from JSON", t)
	}
	return nil, fmt.Errorf("%s cannot be converted to %s", describe(kind), t)
}

func describe(kind byte) string {
	switch kind {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// integer parses a JSON number that has an integral value within [lo, hi]:
// 42, 4.2e1 and 42.0 are 42; 4.5 is refused rather than rounded.
func integer(lit string, lo, hi int64) (int64, error) {
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		if n < lo || n > hi {
			return 0, fmt.Errorf("%s is out of range", lit)
		}
		return n, nil
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("%.40s is not an integer in range", lit)
	}
	n := r.Num().Int64()
	if n < lo || n > hi {
		return 0, fmt.Errorf("%.40s is out of range", lit)
	}
	return n, nil
}

// maxExponent bounds the exponent of a number parsed exactly, so that a
// literal such as 1e999999999 cannot make big.Rat allocate without end.
const maxExponent = 400

// decimal parses a decimal literal exactly: more fractional digits than the
// scale, or more digits than the precision, is refused rather than rounded.
func decimal(lit string, t iceberg.DecimalType) (decimal128.Num, error) {
	if i := strings.IndexAny(lit, "eE"); i >= 0 {
		if e, err := strconv.Atoi(strings.TrimPrefix(lit[i+1:], "+")); err != nil || e > maxExponent || e < -maxExponent {
			return decimal128.Num{}, fmt.Errorf("%.40s is not a decimal", lit)
		}
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok || strings.ContainsAny(lit, "/") {
		return decimal128.Num{}, fmt.Errorf("%.40s is not a decimal", lit)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale())), nil)))
	if !r.IsInt() {
		return decimal128.Num{}, fmt.Errorf("%.40s has more than %d fractional digits", lit, t.Scale())
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Precision())), nil)
	if new(big.Int).Abs(r.Num()).Cmp(limit) >= 0 {
		return decimal128.Num{}, fmt.Errorf("%.40s has more than %d digits", lit, t.Precision())
	}
	return decimal128.FromBigInt(r.Num()), nil
}

// Layouts accepted for timestamps besides RFC 3339: without an offset, the
// time is UTC.
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"}

// timestamp converts an RFC 3339 string or an epoch number to a count of
// unit since the epoch. An epoch number's unit is read from its magnitude:
// below 1e10 seconds (up to the year 2286), below 1e13 milliseconds, below
// 1e16 microseconds, else nanoseconds.
func timestamp(kind byte, str string, raw json.RawMessage, unit time.Duration) (arrow.Timestamp, error) {
	switch {
	case kind == '"':
		for _, layout := range timestampLayouts {
			if ts, err := time.Parse(layout, str); err == nil {
				// Outside 1678..2262 UnixNano overflows; such times are refused.
				if ts.Year() < 1678 || ts.Year() > 2261 {
					return 0, fmt.Errorf("%q is out of range", str)
				}
				return arrow.Timestamp(floorDiv(ts.UnixNano(), int64(unit))), nil
			}
		}
		return 0, fmt.Errorf("%q is not an RFC 3339 timestamp", str)
	case kind == '-' || (kind >= '0' && kind <= '9'):
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			var per int64 // nanoseconds per unit of n
			switch a := n; {
			case a > -1e10 && a < 1e10:
				per = 1e9
			case a > -1e13 && a < 1e13:
				per = 1e6
			case a > -1e16 && a < 1e16:
				per = 1e3
			default:
				per = 1
			}
			if n > math.MaxInt64/per || n < math.MinInt64/per {
				return 0, fmt.Errorf("%s is out of range", raw)
			}
			return arrow.Timestamp(floorDiv(n*per, int64(unit))), nil
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%.40s is out of range", raw)
		}
		var nanos float64
		switch a := math.Abs(f); {
		case a < 1e10:
			nanos = f * 1e9
		case a < 1e13:
			nanos = f * 1e6
		case a < 1e16:
			nanos = f * 1e3
		default:
			nanos = f
		}
		if math.Abs(nanos) >= 9.2e18 {
			return 0, fmt.Errorf("%.40s is out of range", raw)
		}
		return arrow.Timestamp(math.Round(nanos / float64(unit))), nil // the nearest: a float is inexact
	}
	return 0, fmt.Errorf("%s cannot be converted to a timestamp", describe(kind))
}

// floorDiv is a/b rounded down, so that instants before 1970 truncate to
// the earlier unit as after it.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// build appends rows to a new Arrow record of the converter's schema. The
// caller releases it.
func (c *converter) build(mem memory.Allocator, rows [][]any) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, c.arrow)
	defer b.Release()
	for i := range c.cols {
		fb := b.Field(i)
		fb.Reserve(len(rows))
		bb, ok := fb.(interface{ ReserveData(int) })
		if !ok {
			continue
		}
		n := 0
		for _, row := range rows {
			switch v := row[i].(type) {
			case string:
				n += len(v)
			case []byte:
				n += len(v)
			}
		}
		bb.ReserveData(n)
	}
	for _, row := range rows {
		for i, v := range row {
			appendValue(b.Field(i), v)
		}
	}
	return b.NewRecordBatch()
}

func appendValue(fb array.Builder, v any) {
	if v == nil {
		fb.AppendNull()
		return
	}
	switch fb := fb.(type) {
	case *array.BooleanBuilder:
		fb.Append(v.(bool))
	case *array.Int32Builder:
		fb.Append(v.(int32))
	case *array.Int64Builder:
		fb.Append(v.(int64))
	case *array.Float32Builder:
		fb.Append(v.(float32))
	case *array.Float64Builder:
		fb.Append(v.(float64))
	case *array.Decimal128Builder:
		fb.Append(v.(decimal128.Num))
	case *array.StringBuilder:
		fb.Append(v.(string))
	case *array.BinaryBuilder:
		fb.Append(v.([]byte))
	case *array.Date32Builder:
		fb.Append(v.(arrow.Date32))
	case *array.TimestampBuilder:
		fb.Append(v.(arrow.Timestamp))
	default:
		panic(fmt.Sprintf("iceberg: no conversion into %T", fb))
	}
}

// inferSchema builds the schema of a table created on first delivery: one
// optional column per top-level member of the first record, in its order,
// typed by its JSON value (true/false boolean, an integral number long, any
// other number double, anything else string, objects and arrays as their JSON
// text); the partition source column, if any, is timestamptz. Members whose
// names are empty or contain a dot are left out.
func inferSchema(data []byte, partitionSource string) (*iceberg.Schema, error) {
	names, members, err := fields(data, true)
	if err != nil {
		return nil, err
	}
	var cols []iceberg.NestedField
	add := func(name string, t iceberg.Type) {
		cols = append(cols, iceberg.NestedField{ID: len(cols) + 1, Name: name, Type: t})
	}
	hasSource := false
	for _, name := range names {
		if name == "" || strings.Contains(name, ".") || !utf8.ValidString(name) {
			continue
		}
		raw := members[name]
		switch {
		case name == partitionSource:
			hasSource = true
			add(name, iceberg.PrimitiveTypes.TimestampTz)
		case string(raw) == "true" || string(raw) == "false":
			add(name, iceberg.PrimitiveTypes.Bool)
		case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
			if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
				add(name, iceberg.PrimitiveTypes.Int64)
			} else {
				add(name, iceberg.PrimitiveTypes.Float64)
			}
		default:
			add(name, iceberg.PrimitiveTypes.String)
		}
	}
	if partitionSource != "" && !hasSource {
		add(partitionSource, iceberg.PrimitiveTypes.TimestampTz)
	}
	if len(cols) == 0 {
		return nil, errors.New("record has no member to make a column of")
	}
	return iceberg.NewSchema(0, cols...), nil
}
