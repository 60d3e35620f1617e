package cbor

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"

	fxcbor "github.com/fxamacker/cbor/v2"
)

// The encoder writes outputs the way Jackson's CBORGenerator writes them (and AWS replies): maps and
// arrays of indefinite length (0xbf … 0xff, 0x9f … 0xff), text and byte strings of definite length,
// integers in their shortest form. fxamacker/cbor writes structs only as definite-length maps, so the
// encoder is ours: a plan per type, built once by reflection over the json tags the service's outputs
// carry (name, omitempty, "-", embedded structs flattened), as encoding/json reads them.

// encodeFunc appends v's encoding to dst.
type encodeFunc func(c *Codec, dst []byte, v reflect.Value) ([]byte, error)

var (
	marshalerType     = reflect.TypeFor[fxcbor.Marshaler]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
)

// Encode writes v, an operation's output. A nil v (an operation without output) is an empty body.
func (c *Codec) Encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	return c.plan(rv.Type())(c, make([]byte, 0, 512), rv)
}

// plan returns the encoder of t, building it on first use. A recursive type finds a forwarder that
// waits for its plan, as encoding/json does it.
func (c *Codec) plan(t reflect.Type) encodeFunc {
	if f, ok := c.plans.Load(t); ok {
		return f.(encodeFunc)
	}
	var (
		wg   sync.WaitGroup
		real encodeFunc
	)
	wg.Add(1)
	f, loaded := c.plans.LoadOrStore(t, encodeFunc(func(c *Codec, dst []byte, v reflect.Value) ([]byte, error) {
		wg.Wait()
		return real(c, dst, v)
	}))
	if loaded {
		return f.(encodeFunc)
	}
	real = c.build(t)
	wg.Done()
	c.plans.Store(t, real)
	return real
}

func (c *Codec) build(t reflect.Type) encodeFunc {
	switch {
	case t == timestampType:
		return encodeTimestamp
	case t.Implements(marshalerType):
		return encodeMarshaler
	case t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		// A type with its own JSON form and no CBOR one (or one only on the pointer) would be written
		// wrong: fail loudly instead.
		return func(*Codec, []byte, reflect.Value) ([]byte, error) {
			return nil, fmt.Errorf("cbor: %s has no value MarshalCBOR method", t)
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) {
			if v.Bool() {
				return append(dst, 0xf5), nil
			}
			return append(dst, 0xf4), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) { return appendInt(dst, v.Int()), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) {
			return appendHead(dst, 0x00, v.Uint()), nil
		}
	case reflect.Float32, reflect.Float64:
		return func(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) {
			return appendHead(append(dst, 0xfb), 0xff, math.Float64bits(v.Float())), nil
		}
	case reflect.String:
		return func(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) { return appendText(dst, v.String()), nil }
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) {
				b := v.Bytes()
				return append(appendHead(dst, 0x40, uint64(len(b))), b...), nil
			}
		}
		return c.sequence(t)
	case reflect.Array:
		return c.sequence(t)
	case reflect.Map:
		return c.mapOf(t)
	case reflect.Pointer:
		elem := c.plan(t.Elem())
		return func(c *Codec, dst []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(dst, 0xf6), nil
			}
			return elem(c, dst, v.Elem())
		}
	case reflect.Interface:
		return func(c *Codec, dst []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(dst, 0xf6), nil
			}
			return c.plan(v.Elem().Type())(c, dst, v.Elem())
		}
	case reflect.Struct:
		return c.structOf(t)
	}
	return func(*Codec, []byte, reflect.Value) ([]byte, error) {
		return nil, fmt.Errorf("cbor: cannot encode %s", t)
	}
}

func encodeMarshaler(_ *Codec, dst []byte, v reflect.Value) ([]byte, error) {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return append(dst, 0xf6), nil
	}
	b, err := v.Interface().(fxcbor.Marshaler).MarshalCBOR()
	return append(dst, b...), err
}

// sequence writes a list (nil included) as an indefinite-length array.
func (c *Codec) sequence(t reflect.Type) encodeFunc {
	elem := c.plan(t.Elem())
	return func(c *Codec, dst []byte, v reflect.Value) ([]byte, error) {
		dst = append(dst, 0x9f)
		var err error
		for i := range v.Len() {
			if dst, err = elem(c, dst, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(dst, 0xff), nil
	}
}

// mapOf writes a map with string keys, in key order, as an indefinite-length map.
func (c *Codec) mapOf(t reflect.Type) encodeFunc {
	if t.Key().Kind() != reflect.String {
		return func(*Codec, []byte, reflect.Value) ([]byte, error) {
			return nil, fmt.Errorf("cbor: cannot encode %s: keys are not strings", t)
		}
	}
	elem := c.plan(t.Elem())
	return func(c *Codec, dst []byte, v reflect.Value) ([]byte, error) {
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		dst = append(dst, 0xbf)
		var err error
		for _, k := range keys {
			dst = appendText(dst, k.String())
			if dst, err = elem(c, dst, v.MapIndex(k)); err != nil {
				return nil, err
			}
		}
		return append(dst, 0xff), nil
	}
}

// field is one member of a struct's encoding.
type field struct {
	index     []int
	key       []byte // the member name, encoded
	omitEmpty bool
	enc       encodeFunc
}

// structOf writes a struct as an indefinite-length map of its members in declaration order.
func (c *Codec) structOf(t reflect.Type) encodeFunc {
	fields := c.fields(t, nil)
	return func(c *Codec, dst []byte, v reflect.Value) ([]byte, error) {
		dst = append(dst, 0xbf)
		var err error
		for _, f := range fields {
			fv, ferr := v.FieldByIndexErr(f.index)
			if ferr != nil || f.omitEmpty && isEmpty(fv) {
				continue // a member of a nil embedded pointer, or empty and omitted
			}
			dst = append(dst, f.key...)
			if dst, err = f.enc(c, dst, fv); err != nil {
				return nil, err
			}
		}
		return append(dst, 0xff), nil
	}
}

// fields lists t's members as encoding/json names them, embedded structs flattened.
func (c *Codec) fields(t reflect.Type, prefix []int) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(slices.Clone(prefix), i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, c.fields(ft, index)...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{
			index:     index,
			key:       appendText(nil, name),
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"),
			enc:       c.plan(sf.Type),
		})
	}
	return out
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// appendHead appends a head of major type major (its top three bits) with argument n in shortest form.
// With major 0xff it appends n's eight bytes alone (the bits of a float64).
func appendHead(dst []byte, major byte, n uint64) []byte {
	switch {
	case major == 0xff:
	case n < 24:
		return append(dst, major|byte(n))
	case n <= math.MaxUint8:
		return append(dst, major|24, byte(n))
	case n <= math.MaxUint16:
		return append(dst, major|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, major|27)
	}
	return append(dst, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendInt(dst []byte, n int64) []byte {
	if n < 0 {
		return appendHead(dst, 0x20, uint64(-(n + 1)))
	}
	return appendHead(dst, 0x00, uint64(n))
}

func appendText(dst []byte, s string) []byte {
	return append(appendHead(dst, 0x60, uint64(len(s))), s...)
}
