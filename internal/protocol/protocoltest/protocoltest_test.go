package protocoltest

import (
	"reflect"
	"testing"

	"kinesisd/internal/service"
)

func TestInputs(t *testing.T) {
	got := make(map[reflect.Type]int)
	for _, newIn := range Inputs() {
		got[reflect.TypeOf(newIn())]++
	}
	tests := []struct {
		name string
		in   any
	}{
		{"an operation with output", new(service.PutRecordsInput)},
		{"an operation without output", new(service.CreateStreamInput)},
		{"an input shared by two operations", new(service.StreamEncryptionInput)},
		{"an event-stream operation", new(service.SubscribeToShardInput)},
		{"an operation without members", new(service.DescribeLimitsInput)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := got[reflect.TypeOf(tt.in)]; n != 1 {
				t.Errorf("%T listed %d times, want once", tt.in, n)
			}
		})
	}
}
