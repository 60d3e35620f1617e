package jetstream

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestNoPeersForPlacement: the error that openBucket tries again on is JetStream's placement error
// (code 10005), however wrapped, and no other.
func TestNoPeersForPlacement(t *testing.T) {
	placement := &jetstream.APIError{Code: 400, ErrorCode: 10005, Description: "no suitable peers for placement, peer offline"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{placement, true},
		{fmt.Errorf("create stream: %w", placement), true},
		{&jetstream.APIError{Code: 400, ErrorCode: 10074, Description: "replicas > 1 not supported in non-clustered mode"}, false},
		{jetstream.ErrStreamNameAlreadyInUse, false},
		{context.DeadlineExceeded, false},
		{errors.New("no suitable peers for placement"), false},
	} {
		if got := noPeersForPlacement(tc.err); got != tc.want {
			t.Errorf("noPeersForPlacement(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
