package iceberg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
)

// allTypes is a schema with one column of each type the converter fills,
// plus a nested one it leaves null.
func allTypes() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "b", Type: iceberg.PrimitiveTypes.Bool},
		iceberg.NestedField{ID: 2, Name: "i", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 3, Name: "l", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 4, Name: "f", Type: iceberg.PrimitiveTypes.Float32},
		iceberg.NestedField{ID: 5, Name: "d", Type: iceberg.PrimitiveTypes.Float64},
		iceberg.NestedField{ID: 6, Name: "dec", Type: iceberg.DecimalTypeOf(10, 3)},
		iceberg.NestedField{ID: 7, Name: "s", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 8, Name: "bin", Type: iceberg.PrimitiveTypes.Binary},
		iceberg.NestedField{ID: 9, Name: "date", Type: iceberg.PrimitiveTypes.Date},
		iceberg.NestedField{ID: 10, Name: "ts", Type: iceberg.PrimitiveTypes.Timestamp},
		iceberg.NestedField{ID: 11, Name: "tstz", Type: iceberg.PrimitiveTypes.TimestampTz},
		iceberg.NestedField{ID: 12, Name: "tsns", Type: iceberg.PrimitiveTypes.TimestampTzNs},
		iceberg.NestedField{ID: 13, Name: "list", Type: &iceberg.ListType{ElementID: 14, Element: iceberg.PrimitiveTypes.Int64}},
		iceberg.NestedField{ID: 15, Name: "req", Type: iceberg.PrimitiveTypes.String, Required: true},
	)
}

// convertTests are single-member records (plus the required column) and the
// value the member converts to, as text, or the start of the reason it is
// rejected for. They seed FuzzConvert.
var convertTests = []struct {
	name   string
	member string // `"col": value`
	want   string // fmt of the converted value
	reject string // part of the reason; "" accepted
}{
	{"bool", `"b": true`, "true", ""},
	{"bool from number", `"b": 1`, "", "a number cannot be converted to boolean"},
	{"int", `"i": -2147483648`, "-2147483648", ""},
	{"int too big", `"i": 2147483648`, "", "out of range"},
	{"int integral float", `"i": 4.2e1`, "42", ""},
	{"int fraction", `"i": 4.5`, "", "not an integer"},
	{"int from string", `"i": "4"`, "", "a string cannot be converted to int"},
	{"long", `"l": 9223372036854775807`, "9223372036854775807", ""},
	{"long too big", `"l": 9223372036854775808`, "", "not an integer in range"},
	{"long huge exponent", `"l": 1e999999999`, "", "not an integer"},
	{"float", `"f": 0.25`, "0.25", ""},
	{"float overflow", `"f": 1e39`, "", "does not fit a float"},
	{"double", `"d": -1.5e300`, "-1.5e+300", ""},
	{"double from bool", `"d": false`, "", "a boolean cannot be converted to double"},
	{"decimal", `"dec": 1234567.891`, "1234567891", ""},
	{"decimal string", `"dec": "-0.5"`, "-500", ""},
	{"decimal exponent", `"dec": 1.5e2`, "150000", ""},
	{"decimal too precise", `"dec": 0.0001`, "", "more than 3 fractional digits"},
	{"decimal too large", `"dec": 12345678`, "", "more than 10 digits"},
	{"decimal huge exponent", `"dec": 1e999999999`, "", "not a decimal"},
	{"decimal not a number", `"dec": "1/2"`, "", "not a decimal"},
	{"string", `"s": "héllo\n"`, "héllo\n", ""},
	{"string from object", `"s": {"a": [1, null]}`, `{"a": [1, null]}`, ""},
	{"string from number", `"s": 1.50`, "1.50", ""},
	{"binary", `"bin": "aGk="`, "[104 105]", ""},
	{"binary not base64", `"bin": "???"`, "", "base64"},
	{"date", `"date": "2026-12-05"`, "20792", ""},
	{"date epoch days", `"date": 20792`, "20792", ""},
	{"date bad", `"date": "05/12/2026"`, "", "YYYY-MM-DD"},
	{"timestamp rfc3339", `"ts": "2026-12-05T10:00:00.5+02:00"`, "1796457600500000", ""},
	{"timestamp no offset", `"ts": "2026-12-05T08:00:00.5"`, "1796457600500000", ""},
	{"timestamp space", `"ts": "2026-12-05 08:00:00.5Z"`, "1796457600500000", ""},
	{"timestamptz seconds", `"tstz": 1796457600`, "1796457600000000", ""},
	{"timestamptz fractional seconds", `"tstz": 1796457600.25`, "1796457600250000", ""},
	{"timestamptz millis", `"tstz": 1796457600500`, "1796457600500000", ""},
	{"timestamptz micros", `"tstz": 1796457600500001`, "1796457600500001", ""},
	{"timestamptz nanos", `"tstz": 1796457600500001999`, "1796457600500001", ""},
	{"timestamptz negative", `"tstz": -86400`, "-86400000000", ""},
	{"timestamp before 1970", `"ts": "1969-12-31T23:59:59.9999995Z"`, "-1", ""},
	{"timestamptz negative fraction", `"tstz": -1.5`, "-1500000", ""},
	{"timestamptz seconds overflow", `"tstz": 9999999999`, "", "out of range"},
	{"timestamptz far", `"tstz": "9999-12-31T23:59:59Z"`, "", "out of range"},
	{"timestamptz not a time", `"tstz": "soon"`, "", "not an RFC 3339 timestamp"},
	{"timestamptz from bool", `"tstz": true`, "", "a boolean cannot be converted to a timestamp"},
	{"timestamptz_ns nanos", `"tsns": 1796457600500001999`, "1796457600500001999", ""},
	{"timestamptz_ns string", `"tsns": "2026-12-05T08:00:00.000000001Z"`, "1796457600000000001", ""},
	{"nested column", `"list": [1, 2]`, "", "cannot be filled from JSON"},
	{"nested column null", `"list": null`, "<nil>", ""},
	{"null", `"l": null`, "<nil>", ""},
	{"unknown member", `"zzz": 1`, "", ""},
	{"required null", `"req": null`, "", `required column "req" is missing or null`},
}

func TestConvert(t *testing.T) {
	c, err := newConverter(allTypes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range convertTests {
		t.Run(tt.name, func(t *testing.T) {
			col, _, _ := strings.Cut(tt.member, ":")
			col = strings.Trim(col, `"`)
			data := `{"req": "r", ` + tt.member + `}`
			row, err := c.convert([]byte(data))
			switch {
			case tt.reject != "" && err == nil:
				t.Fatalf("%s accepted as %v, want rejected for %q", data, row, tt.reject)
			case tt.reject != "" && !strings.Contains(err.Error(), tt.reject):
				t.Fatalf("%s rejected for %q, want %q", data, err, tt.reject)
			case tt.reject == "" && err != nil:
				t.Fatalf("%s rejected: %v", data, err)
			case err != nil || tt.want == "":
				return
			}
			i, ok := c.byName[col]
			if !ok {
				t.Fatalf("no column %q", col)
			}
			if got := show(row[i]); got != tt.want {
				t.Fatalf("%s = %s, want %s", data, got, tt.want)
			}
			rec := c.build(memory.DefaultAllocator, [][]any{row})
			defer rec.Release()
			if rec.NumRows() != 1 {
				t.Fatalf("%d rows", rec.NumRows())
			}
		})
	}
}

// show is a converted value as text; a decimal as its unscaled integer.
func show(v any) string {
	if d, ok := v.(decimal128.Num); ok {
		return d.BigInt().String()
	}
	return fmt.Sprint(v)
}

func TestConvertNotObject(t *testing.T) {
	c, err := newConverter(allTypes())
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{``, ` `, `null`, `[]`, `"{}"`, `1`, `{`, `{"req": "r"} {}`, `{"req": "r",}`, "\xff"} {
		if row, err := c.convert([]byte(data)); err == nil {
			t.Errorf("%q accepted as %v", data, row)
		}
	}
}

func TestInferSchema(t *testing.T) {
	tests := []struct {
		data, source, want string
	}{
		{`{"b": true, "n": 1, "x": 1.5, "s": "a", "o": {}, "a": [], "z": null}`, "",
			"1: b: optional boolean 2: n: optional long 3: x: optional double 4: s: optional string 5: o: optional string 6: a: optional string 7: z: optional string"},
		{`{"n": 1e3, "big": 99999999999999999999}`, "", "1: n: optional double 2: big: optional double"},
		{`{"at": "2026-12-05T00:00:00Z", "k": "v"}`, "at", "1: at: optional timestamptz 2: k: optional string"},
		{`{"k": "v"}`, "at", "1: k: optional string 2: at: optional timestamptz"},
		{`{"k": 1, "k": "v", "": 1, "a.b": 2}`, "", "1: k: optional string"},
		{`{"": 1}`, "", "error"},
		{`[1]`, "", "error"},
	}
	for _, tt := range tests {
		sc, err := inferSchema([]byte(tt.data), tt.source)
		got := "error"
		if err == nil {
			var fs []string
			for _, f := range sc.Fields() {
				fs = append(fs, f.String())
			}
			got = strings.Join(fs, " ")
		}
		if got != tt.want {
			t.Errorf("inferSchema(%s, %q) =\n %s\nwant\n %s", tt.data, tt.source, got, tt.want)
		}
	}
}

// FuzzConvert checks that conversion never panics, that a record it accepts
// is a JSON object, builds into one Arrow row, and converts the same again.
func FuzzConvert(f *testing.F) {
	for _, tt := range convertTests {
		f.Add([]byte(`{"req": "r", ` + tt.member + `}`))
	}
	f.Add([]byte(`{"req": "r", "b": false, "i": 1, "l": 2, "f": 3, "d": 4, "dec": "5.5", "s": "x", "bin": "", "date": 0, "ts": 0, "tstz": 0, "tsns": 0}`))
	f.Add([]byte(`[{"req": "r"}]`))
	c, err := newConverter(allTypes())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		row, err := c.convert(data)
		if err != nil {
			return
		}
		if _, err := inferSchema(data, "ts"); err != nil {
			t.Fatalf("%q converts but infers no schema: %v", data, err)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			t.Fatalf("%q accepted but is not a JSON object", data)
		}
		again, err := c.convert(data)
		if err != nil || fmt.Sprint(again) != fmt.Sprint(row) {
			t.Fatalf("%q converts to %v, then %v (%v)", data, row, again, err)
		}
		rec := c.build(memory.DefaultAllocator, [][]any{row})
		defer rec.Release()
		if rec.NumRows() != 1 || rec.NumCols() != int64(len(c.cols)) {
			t.Fatalf("%q built %d rows of %d columns", data, rec.NumRows(), rec.NumCols())
		}
		for i, v := range row {
			if (v == nil) != rec.Column(i).IsNull(0) {
				t.Fatalf("%q column %s: value %v, null %t", data, c.cols[i].name, v, rec.Column(i).IsNull(0))
			}
			if ts, ok := v.(arrow.Timestamp); ok && c.cols[i].name == "tstz" && (ts.ToTime(arrow.Microsecond).Year() < 1677 || ts.ToTime(arrow.Microsecond).Year() > 2262) {
				t.Fatalf("%q column tstz out of range: %v", data, time.UnixMicro(int64(ts)))
			}
		}
	})
}

// FuzzMembers checks convert's JSON scanner against encoding/json: for a
// valid object, members yields the members json.Unmarshal finds (of a name
// given twice, the last value), with their values' bytes as they are; and
// unquote decodes every string literal as json.Unmarshal does.
func FuzzMembers(f *testing.F) {
	for _, tt := range convertTests {
		f.Add([]byte(`{"req": "r", ` + tt.member + `}`))
	}
	f.Add([]byte(` {"req": "r\u00e9", "s": {"a":[1,"]}\""]}, "s": "dup", "b\u0061d": true, "i" : 5 , "x":null}`))
	f.Add([]byte("{\"\xff\":\"\xfe\", \"\\ud800\": \"\\\"\"}"))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(data, &want) != nil || want == nil {
			return
		}
		got := map[string]json.RawMessage{}
		members(bytes.TrimLeft(data, " \t\r\n"), func(name, raw []byte) {
			got[string(name)] = raw
			if raw[0] != '"' {
				return
			}
			var s string
			jerr := json.Unmarshal(raw, &s)
			u, err := unquote(raw)
			if u != s || (err == nil) != (jerr == nil) {
				t.Fatalf("%q: unquote(%q) = %q, %v; encoding/json: %q, %v", data, raw, u, err, s, jerr)
			}
		})
		if len(got) != len(want) {
			t.Fatalf("%q: members %q, encoding/json %q", data, got, want)
		}
		for name, raw := range want {
			if !bytes.Equal(got[name], raw) {
				t.Fatalf("%q: member %q is %q, encoding/json %q", data, name, got[name], raw)
			}
		}
	})
}
