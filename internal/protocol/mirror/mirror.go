// Package mirror gives a codec the service's input and output types with some leaf types swapped for
// the codec's own, of the same memory layout, so that reflection decoders and encoders (encoding/json,
// fxamacker/cbor) find the codec's wire methods where the service's types carry none.
//
// A service type is plain (service.Timestamp wraps a time.Time, service.Blob is a []byte); the codec
// declares a type with the same underlying type and its wire methods (type timestamp
// service.Timestamp), and a Mirror made of those pairs turns a *service.GetShardIteratorInput into a
// pointer to a struct that is GetShardIteratorInput field for field, tag for tag, except that the
// Timestamp field is the codec's type. The value is not copied: the mirror points at the same memory,
// which is sound because the two types have the same layout (checked when a mirror type is built).
package mirror

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// Mirror swaps leaf types in the types of values. Its methods are safe for concurrent use.
type Mirror struct {
	swap  map[reflect.Type]reflect.Type
	types sync.Map // reflect.Type → its mirror type, built on first use
}

// Swap is one leaf type and the codec's type that stands in for it; their underlying types must be
// the same.
type Swap struct{ From, To reflect.Type }

// New returns a Mirror of swaps.
func New(swaps ...Swap) *Mirror {
	m := &Mirror{swap: make(map[reflect.Type]reflect.Type, len(swaps))}
	for _, s := range swaps {
		if s.From.Kind() != s.To.Kind() || s.From.Size() != s.To.Size() || !s.From.ConvertibleTo(s.To) {
			panic(fmt.Sprintf("mirror: %s cannot stand in for %s", s.To, s.From))
		}
		m.swap[s.From] = s.To
	}
	return m
}

// Value returns v with its type mirrored: for a non-nil pointer, a pointer of the mirror type to the
// same memory (what is decoded into it lands in v); for any other value, a copy of the mirror type.
// A v with nothing to swap is returned as it is.
func (m *Mirror) Value(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return v
	}
	t := rv.Type()
	mt := m.Type(t)
	if mt == t {
		return v
	}
	if t.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Zero(mt).Interface()
		}
		return reflect.NewAt(mt.Elem(), rv.UnsafePointer()).Interface()
	}
	p := reflect.New(t)
	p.Elem().Set(rv)
	return reflect.NewAt(mt, p.UnsafePointer()).Elem().Interface()
}

// Type returns t's mirror: t with every swapped type inside it (through pointers, slices, arrays,
// map values and struct fields) replaced; t itself when there is none.
func (m *Mirror) Type(t reflect.Type) reflect.Type {
	if mt, ok := m.types.Load(t); ok {
		return mt.(reflect.Type)
	}
	mt := m.build(t)
	m.types.Store(t, mt)
	return mt
}

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (m *Mirror) build(t reflect.Type) reflect.Type {
	if to, ok := m.swap[t]; ok {
		return to
	}
	var mt reflect.Type
	switch t.Kind() {
	case reflect.Pointer:
		if e := m.Type(t.Elem()); e != t.Elem() {
			mt = reflect.PointerTo(e)
		}
	case reflect.Slice:
		if e := m.Type(t.Elem()); e != t.Elem() {
			mt = reflect.SliceOf(e)
		}
	case reflect.Array:
		if e := m.Type(t.Elem()); e != t.Elem() {
			mt = reflect.ArrayOf(t.Len(), e)
		}
	case reflect.Map:
		if e := m.Type(t.Elem()); e != t.Elem() {
			mt = reflect.MapOf(t.Key(), e)
		}
	case reflect.Struct:
		mt = m.structOf(t)
	}
	if mt == nil {
		return t
	}
	// A mirror type is unnamed and has no methods: a named type that encodes itself would lose its
	// encoding. (An unnamed type's methods are its element's, which is swapped or checked itself.)
	for _, i := range []reflect.Type{jsonMarshaler, jsonUnmarshaler, textMarshaler, textUnmarshaler} {
		if t.Name() != "" && (t.Implements(i) || reflect.PointerTo(t).Implements(i)) {
			panic(fmt.Sprintf("mirror: %s implements %s and holds a swapped type", t, i))
		}
	}
	return mt
}

// structOf returns the mirror of struct type t, nil when none of its fields changes.
func (m *Mirror) structOf(t reflect.Type) reflect.Type {
	fields := make([]reflect.StructField, t.NumField())
	changed := false
	for i := range fields {
		f := t.Field(i)
		if ft := m.Type(f.Type); ft != f.Type {
			f.Type, changed = ft, true
		}
		f.Offset, f.Index = 0, nil
		fields[i] = f
	}
	if !changed {
		return nil
	}
	mt := reflect.StructOf(fields)
	if mt.Size() != t.Size() || mt.Align() != t.Align() {
		panic(fmt.Sprintf("mirror: %s and its mirror differ in layout", t))
	}
	for i := range fields {
		if mt.Field(i).Offset != t.Field(i).Offset {
			panic(fmt.Sprintf("mirror: %s.%s moves in the mirror", t, t.Field(i).Name))
		}
	}
	return mt
}
