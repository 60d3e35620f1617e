package pebble

import (
	"context"

	"kinesisd/internal/bufpool"
	"kinesisd/internal/storage"
)

// lender hands out the buffers that the entries of one ReadLent are read into, and takes them all
// back into the store's pool at release. Its nil value hands out fresh buffers (Read's).
type lender struct {
	pool *bufpool.Pool
	lent [][]byte
}

// get returns a buffer of length n, counted as lent when l is not nil.
func (l *lender) get(n int) []byte {
	if l == nil {
		return make([]byte, n)
	}
	b := l.pool.Get(n)[:n]
	l.lent = append(l.lent, b)
	return b
}

// release puts every lent buffer back into the pool; a second call does nothing.
func (l *lender) release() {
	for i, b := range l.lent {
		l.pool.Put(b)
		l.lent[i] = nil
	}
	l.lent = l.lent[:0]
}

// ReadLent implements storage.Lender: Read, with the entries read into buffers of the store's pool
// that release takes back. Records from the tail cache are shared, not lent: release leaves them.
func (s *Store) ReadLent(ctx context.Context, ref storage.ShardRef, from uint64, maxRecords, maxBytes int) ([]storage.Record, func(), error) {
	l := &lender{pool: &s.entryBufs}
	recs, err := s.read(ctx, ref, from, maxRecords, maxBytes, l)
	if err != nil {
		l.release() // no record handed out
		return nil, nil, err
	}
	return recs, l.release, nil
}

var _ storage.Lender = (*Store)(nil)
