// Package protocoltest holds what the codecs' tests share: the input of every operation of the service.
package protocoltest

import (
	"context"
	"reflect"
	"strings"

	"kinesisd/internal/service"
)

// Inputs returns a constructor for the input of every operation: the *…Input that each method of
// service.Service takes after its context. It is derived from the methods rather than listed, so that
// an operation added to the service is fuzzed by every codec without a list to keep up (the awsjson
// and cbor tests each kept one).
func Inputs() []func() any {
	var inputs []func() any
	seen := make(map[reflect.Type]bool)
	svc := reflect.TypeFor[*service.Service]()
	ctx := reflect.TypeFor[context.Context]()
	for i := range svc.NumMethod() {
		m := svc.Method(i).Type // receiver first
		if m.NumIn() != 3 || m.In(1) != ctx {
			continue
		}
		in := m.In(2)
		if in.Kind() != reflect.Pointer || in.Elem().Kind() != reflect.Struct ||
			!strings.HasSuffix(in.Elem().Name(), "Input") || seen[in] {
			continue
		}
		seen[in] = true
		inputs = append(inputs, func() any { return reflect.New(in.Elem()).Interface() })
	}
	return inputs
}
