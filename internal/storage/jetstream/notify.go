package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"

	"github.com/nats-io/nats.go"

	"kinesisd/internal/storage"
)

// Wait implements storage.Store. The channel closes after the next Append to ref by this process
// has been acknowledged, or when another process sharing the cluster announces one (best effort, on
// core NATS), and also on DropStream and Close, so that waiters re-check.
func (s *Store) Wait(ref storage.ShardRef) <-chan struct{} {
	if err := s.enter(context.Background()); err != nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	defer s.leave()
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	ch := s.waiters[ref]
	if ch == nil {
		ch = make(chan struct{})
		s.waiters[ref] = ch
	}
	return ch
}

// wake closes the waiters' channel of ref.
func (s *Store) wake(ref storage.ShardRef) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	if ch := s.waiters[ref]; ch != nil {
		close(ch)
		delete(s.waiters, ref)
	}
}

// wakeStream closes the waiters' channels of every shard of incarnation id.
func (s *Store) wakeStream(id uint64) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	for ref, ch := range s.waiters {
		if ref.StreamID == id {
			close(ch)
			delete(s.waiters, ref)
		}
	}
}

// onNotify handles another process's announcement (announce in append.go): origin (8 bytes), the
// incarnation and the shards, as uvarints. This process's own announcements are skipped: its waiters
// were woken when the acknowledgement came, and a late echo would wake a waiter that came after.
func (s *Store) onNotify(m *nats.Msg) {
	p := m.Data
	if len(p) < 8 || binary.BigEndian.Uint64(p) == s.origin {
		return
	}
	p = p[8:]
	id, n := binary.Uvarint(p)
	if n <= 0 {
		return
	}
	for p = p[n:]; len(p) > 0; p = p[n:] {
		var shard uint64
		if shard, n = binary.Uvarint(p); n <= 0 {
			return
		}
		s.wake(storage.ShardRef{StreamID: id, Shard: uint32(shard)})
	}
}

func putUint64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// randomID returns a random non-zero id.
func randomID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// isNetError reports whether err is a network failure (connection refused, unreachable, timeout).
func isNetError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr)
}
