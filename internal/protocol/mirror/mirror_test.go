package mirror

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type (
	stamp struct{ time.Time }
	Ref   struct{ A, B *string }
	in    struct {
		Ref
		At     *stamp           `json:"At,omitempty"`
		Many   []stamp          `json:"Many"`
		ByName map[string]stamp `json:"ByName,omitempty"`
		N      int              `json:"N"`
		//lint:ignore U1000 an unexported field, which the mirror must keep in its place
		hidden []int
	}
	plain struct{ N int }
)

// wire is stamp with a wire form: epoch milliseconds.
type wire stamp

func (w wire) MarshalJSON() ([]byte, error) { return json.Marshal(w.UnixMilli()) }
func (w *wire) UnmarshalJSON(b []byte) error {
	var ms int64
	err := json.Unmarshal(b, &ms)
	w.Time = time.UnixMilli(ms).UTC()
	return err
}

// selfEncoding holds a swapped type but encodes itself: a mirror would lose its encoding.
type selfEncoding struct{ S stamp }

func (selfEncoding) MarshalJSON() ([]byte, error) { return []byte("{}"), nil }

func TestMirror(t *testing.T) {
	m := New(Swap{From: reflect.TypeFor[stamp](), To: reflect.TypeFor[wire]()})
	a := "a"
	v := in{Ref: Ref{A: &a}, At: &stamp{time.UnixMilli(5)}, Many: []stamp{{time.UnixMilli(6)}}, ByName: map[string]stamp{"k": {time.UnixMilli(7)}}, N: 8}
	const want = `{"A":"a","B":null,"At":5,"Many":[6],"ByName":{"k":7},"N":8}`
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"value", v, want},
		{"pointer", &v, want},
		{"slice", []in{v}, "[" + want + "]"},
		{"nothing swapped", plain{1}, `{"N":1}`},
		{"nil pointer", (*in)(nil), "null"},
		{"nil", nil, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(m.Value(tt.v))
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	var back in
	if err := json.Unmarshal([]byte(want), m.Value(&back)); err != nil {
		t.Fatal(err)
	}
	if *back.A != "a" || back.At.UnixMilli() != 5 || back.Many[0].UnixMilli() != 6 || back.ByName["k"].UnixMilli() != 7 || back.N != 8 {
		t.Errorf("decoded through the mirror: %+v", back)
	}
	if got := m.Value(plain{1}); reflect.TypeOf(got) != reflect.TypeFor[plain]() {
		t.Errorf("a value with nothing to swap came back as %T", got)
	}
}

func TestMirrorRefuses(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"different layout", func() { New(Swap{From: reflect.TypeFor[stamp](), To: reflect.TypeFor[int]()}) }},
		{"self-encoding type", func() {
			New(Swap{From: reflect.TypeFor[stamp](), To: reflect.TypeFor[wire]()}).Type(reflect.TypeFor[selfEncoding]())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.f()
		})
	}
}
