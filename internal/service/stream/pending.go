package stream

import (
	"fmt"
	"time"

	"kinesisd/internal/service/hashkey"
)

// Changes that take effect when UPDATING ends. AWS answers SplitShard, MergeShards, UpdateShardCount,
// Start/StopStreamEncryption (and the splits of warm throughput and ON_DEMAND scaling) at once and puts
// the stream in UPDATING; the change itself happens when the stream is ACTIVE again. Until then
// DescribeStream and ListShards show the old shards, the parents stay open and take writes, and
// records are written under the old encryption. So such a request only checks and records the change
// in the stream document (Doc.Pending, through Doc.Schedule) and sets UPDATING; the change takes
// effect, in one compare-and-set, on the first use of the stream once the update delay has passed
// (with no delay: right after the request's own compare-and-set).
//
// Taking effect reads the end of every parent's log, so it needs the stream's write gate held
// exclusively (gates.go): it runs only inside States.Reshard and States.ApplyDue. States.Load applies
// a due change before it returns the stream; a writer holding the gate shared loads through its
// Writes handle, which never applies (it writes to the old shards, which the change closes only after
// the write). Account-wide scans that may run under another stream's gate use States.Scan, which
// never applies either, so no two gates are ever waited for at once.

// Change kinds.
const (
	ChangeSplit   = "split"   // split Shard at HashKey
	ChangeMerge   = "merge"   // merge Shard with Adjacent
	ChangeRescale = "rescale" // UpdateShardCount to Count shards
	ChangeWarm    = "warm"    // split the widest shards until Count are open
	ChangeEncrypt = "encrypt" // set Encryption, KeyID and KeyARN, and add DataKey
)

// Schedule records c to take effect when the UPDATING that it starts, at now (ms), ends.
func (d *Doc) Schedule(c Change, now int64) {
	d.Pending = append(d.Pending, c)
	d.Status, d.StatusMilli = StatusUpdating, now
}

// PendingShards is how many open shards the stream's pending changes add at most: they count against
// the account's shard limit from the request on, as AWS counts them.
func (d *Doc) PendingShards() int {
	open := d.OpenCount()
	n := open
	for _, c := range d.Pending {
		switch c.Kind {
		case ChangeSplit:
			n++
		case ChangeMerge:
			n--
		case ChangeRescale:
			n = c.Count
		case ChangeWarm:
			n = max(n, c.Count)
		}
	}
	return max(n-open, 0)
}

// updateOver tells whether the UPDATING that d's pending changes wait for has ended at now, UPDATING
// lasting delay.
func (d *Doc) updateOver(now time.Time, delay time.Duration) bool {
	switch d.Status {
	case StatusActive:
		return true
	case StatusUpdating:
		return !now.Before(Milli(d.StatusMilli).Add(delay))
	}
	return false
}

// due tells whether d has pending changes whose UPDATING has ended at now.
func (d *Doc) due(now time.Time, delay time.Duration) bool {
	return len(d.Pending) > 0 && d.updateOver(now, delay)
}

// applyPending makes d's pending changes take effect, at r's moment: shards close at the end of what
// their logs hold now, children open, encryption changes. The caller holds the stream's write gate
// exclusively, so no write lands in a shard after its end is read.
func (r reshaper) applyPending(d *Doc) error {
	for _, c := range d.Pending {
		var err error
		switch c.Kind {
		case ChangeSplit:
			i := d.ShardAt(c.Shard)
			key, ok := hashkey.Parse(c.HashKey)
			if i < 0 || !ok {
				return fmt.Errorf("pending split of shard %d at %q: no such shard or key", c.Shard, c.HashKey)
			}
			_, _, err = r.split(d, i, key)
		case ChangeMerge:
			lo, hi := d.ShardAt(c.Shard), d.ShardAt(c.Adjacent)
			if lo < 0 || hi < 0 {
				return fmt.Errorf("pending merge of shards %d and %d: no such shard", c.Shard, c.Adjacent)
			}
			_, err = r.merge(d, lo, hi)
		case ChangeRescale:
			err = r.rescale(d, c.Count)
		case ChangeWarm:
			err = r.warm(d, c.Count)
		case ChangeEncrypt:
			d.setEncryption(c, r.now)
		default:
			err = fmt.Errorf("unknown pending change %q", c.Kind)
		}
		if err != nil {
			return fmt.Errorf("apply pending change: %w", err)
		}
	}
	d.Pending = nil
	d.Status, d.StatusMilli = StatusActive, r.now
	return nil
}
