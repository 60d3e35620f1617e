package service

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Changes that take effect when UPDATING ends. AWS answers SplitShard, MergeShards, UpdateShardCount,
// Start/StopStreamEncryption (and the splits of warm throughput and ON_DEMAND scaling) at once and puts
// the stream in UPDATING; the change itself happens when the stream is ACTIVE again. Until then
// DescribeStream and ListShards show the old shards, the parents stay open and take writes, and
// records are written under the old encryption. So such a request only checks and records the change
// in the stream document (streamDoc.Pending) and sets UPDATING; the change takes effect, in one
// compare-and-set, on the first use of the stream once the update delay has passed (with no delay:
// in the request's own compare-and-set).
//
// Taking effect reads the end of every parent's log, so it needs the stream's write gate held
// exclusively (reshard.go): applyPending runs only inside reshard or applyDue. loadStream applies a
// due change before it returns the stream, except to a caller that holds the stream's gate (a writer
// holding it shared writes to the old shards, which the change closes only after the write; reshard
// applies it itself). Account-wide scans that may run under another stream's gate read with
// peekStream, which never applies, so no two gates are ever waited for at once.

// Pending change kinds.
const (
	pendingSplit   = "split"   // split Shard at HashKey
	pendingMerge   = "merge"   // merge Shard with Adjacent
	pendingRescale = "rescale" // UpdateShardCount to Count shards
	pendingWarm    = "warm"    // split the widest shards until Count are open
	pendingEncrypt = "encrypt" // set Encryption and KeyID
)

// pendingChange is one change recorded by a request, to take effect when the stream's UPDATING ends.
// The shard changes are replayed against the shards as they are then, which are the shards the request
// checked: nothing else changes a stream's shards while it is UPDATING.
type pendingChange struct {
	Kind       string `json:"kind"`
	Shard      uint32 `json:"shard,omitempty"`
	Adjacent   uint32 `json:"adjacent,omitempty"`
	HashKey    string `json:"hashKey,omitempty"`
	Count      int    `json:"count,omitempty"`
	Encryption string `json:"encryption,omitempty"`
	KeyID      string `json:"keyId,omitempty"`
}

// encryptionChange is a point of a stream's encryption history: records arriving at or after AtMilli
// (until the next change) were written under Type. See stream.encryptionAt.
type encryptionChange struct {
	AtMilli int64  `json:"at"`
	Type    string `json:"type"`
}

// schedule records c to take effect when the UPDATING that it starts, at now, ends.
func (d *streamDoc) schedule(c pendingChange, now int64) {
	d.Pending = append(d.Pending, c)
	d.Status, d.StatusMilli = statusUpdating, now
}

// pendingShards is how many open shards the stream's pending changes add at most: they count against
// the account's shard limit from the request on, as AWS counts them.
func (d *streamDoc) pendingShards() int {
	open := d.openCount()
	n := open
	for _, c := range d.Pending {
		switch c.Kind {
		case pendingSplit:
			n++
		case pendingMerge:
			n--
		case pendingRescale:
			n = c.Count
		case pendingWarm:
			n = max(n, c.Count)
		}
	}
	return max(n-open, 0)
}

// updateOver tells whether the UPDATING that d's pending changes wait for has ended at now.
func (s *Service) updateOver(d *streamDoc, now time.Time) bool {
	switch d.Status {
	case statusActive:
		return true
	case statusUpdating:
		return !now.Before(timeMilli(d.StatusMilli).Add(s.cfg.UpdateDelay))
	}
	return false
}

// pendingDue tells whether st, as settled, has pending changes whose UPDATING has ended.
func (st *stream) pendingDue() bool {
	return len(st.doc.Pending) > 0 && st.doc.Status == statusActive
}

// applyPending makes d's pending changes take effect if their UPDATING has ended: shards close at the
// end of what their logs hold now, children open, encryption changes. The caller holds the stream's
// write gate exclusively, so no write lands in a shard after its end is read.
func (s *Service) applyPending(ctx context.Context, d *streamDoc) error {
	now := s.now()
	if len(d.Pending) == 0 || !s.updateOver(d, now) {
		return nil
	}
	ms := now.UnixMilli()
	for _, c := range d.Pending {
		var err error
		switch c.Kind {
		case pendingSplit:
			i := d.shardAt(c.Shard)
			key, ok := parseHashKey(c.HashKey)
			if i < 0 || !ok {
				return fmt.Errorf("pending split of shard %d at %q: no such shard or key", c.Shard, c.HashKey)
			}
			_, _, err = s.splitAt(ctx, d, i, key, ms)
		case pendingMerge:
			lo, hi := d.shardAt(c.Shard), d.shardAt(c.Adjacent)
			if lo < 0 || hi < 0 {
				return fmt.Errorf("pending merge of shards %d and %d: no such shard", c.Shard, c.Adjacent)
			}
			_, err = s.mergePair(ctx, d, lo, hi, ms)
		case pendingRescale:
			err = s.rescale(ctx, d, c.Count, ms)
		case pendingWarm:
			err = s.warmSplit(ctx, d, c.Count, ms)
		case pendingEncrypt:
			d.setEncryption(c.Encryption, c.KeyID, ms)
		default:
			err = fmt.Errorf("unknown pending change %q", c.Kind)
		}
		if err != nil {
			return internal("apply pending change", err)
		}
	}
	d.Pending = nil
	d.Status, d.StatusMilli = statusActive, ms
	return nil
}

// errNothingDue stops applyDue's compare-and-set when another call has applied the change first.
var errNothingDue = errors.New("nothing due")

// applyDue makes the due pending changes of stream name take effect, with its write gate held
// exclusively, and returns the stream as it is then (nil if it is gone).
func (s *Service) applyDue(ctx context.Context, name string) (*stream, error) {
	l := s.gates.get(name)
	l.Lock()
	defer l.Unlock()
	ctx = holdingGate(ctx, name)
	st, err := s.mutateStream(ctx, name, func(d *streamDoc) error {
		if len(d.Pending) == 0 || !s.updateOver(d, s.now()) {
			return errNothingDue
		}
		return s.applyPending(ctx, d)
	})
	if errors.Is(err, errNothingDue) || isStreamNotFound(err) {
		return s.peekStream(ctx, name)
	}
	return st, err
}

// setEncryption sets the stream's encryption from ms (ms) on, keeping the history that GetRecords
// reads each record's EncryptionType from. Records arriving in ms itself may have been written before
// the change, so the new type starts at ms+1 (or just after the previous change, if that is later), and
// writers afterwards stamp their records no earlier (stream.arrivalMilli). History entries whose
// records have all expired are dropped.
func (d *streamDoc) setEncryption(typ, keyID string, ms int64) {
	if len(d.EncryptionChanges) == 0 && d.Encryption != encryptionNone && d.Encryption != "" {
		d.EncryptionChanges = append(d.EncryptionChanges, encryptionChange{AtMilli: 0, Type: d.Encryption})
	}
	d.Encryption, d.KeyID = typ, keyID
	at := ms
	if n := len(d.EncryptionChanges); n > 0 {
		at = max(at, d.EncryptionChanges[n-1].AtMilli) // two changes in one millisecond stay apart
	}
	d.EncryptionChanges = append(d.EncryptionChanges, encryptionChange{AtMilli: at + 1, Type: typ})
	cutoff := d.cutoffMilli(ms)
	for len(d.EncryptionChanges) > 1 && d.EncryptionChanges[1].AtMilli <= cutoff {
		d.EncryptionChanges = d.EncryptionChanges[1:]
	}
}

// encryptionAt is the EncryptionType of a record that arrived at ms (ms): the type of the last
// encryption change at or before it, NONE before the first. GetRecords asks it once a record, and the
// history may hold a change every hour or so for a whole retention period, so it is searched by halves
// (setEncryption keeps it in increasing AtMilli order).
func (st *stream) encryptionAt(ms int64) string {
	h := st.doc.EncryptionChanges
	if len(h) == 0 {
		return st.doc.Encryption
	}
	i := sort.Search(len(h), func(i int) bool { return h[i].AtMilli > ms }) // first change after ms
	if i == 0 {
		return encryptionNone
	}
	return h[i-1].Type
}

// arrivalMilli is the arrival time a record written at now carries: now, or the start of the last
// encryption change if that is later (the change took effect in now's millisecond), so that the record
// reads back under the encryption its PutRecord reported.
func (st *stream) arrivalMilli(now time.Time) int64 {
	ms := now.UnixMilli()
	if h := st.doc.EncryptionChanges; len(h) > 0 {
		ms = max(ms, h[len(h)-1].AtMilli)
	}
	return ms
}
