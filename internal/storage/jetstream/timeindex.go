package jetstream

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"kinesisd/internal/storage"
)

// The time index. OffsetAtTime needs the first record with ArrivalMilli >= t, and arrival times are
// ours (the service's clock), not JetStream's message timestamps, and not monotonic along a shard's
// log. So every record carries, in its envelope, maxArr: the running maximum of ArrivalMilli over the
// shard's log up to and including itself. maxArr never decreases along the log, so the first record
// with maxArr >= t is found by binary search over sequences, one direct get per probe, and no record
// before it has ArrivalMilli >= t (each one's maxArr is below t and at least its own arrival). That
// record's own arrival is >= t too, unless the running maximum was raised by records that were never
// stored (a failed Append): then the answer is a little further on, and a forward scan finds it.
//
// The running maximum is kept per shard by the appending process, seeded from the shard's last
// stored record on first use and advanced under the stream's publish lock in the order the messages
// are written (append.go), so it is exact for the appends of one process, across restarts too.
// Several front-ends appending to one shard at the same moment each keep their own maximum; if their
// clocks or their records interleave so that one writes a lower maxArr after another's higher one,
// OffsetAtTime may answer a later record than the first at t (the README says so). Making it exact
// across front-ends needs an order per writer, for instance one subject per shard and writer, each
// searched on its own and the earliest answer taken; the index is left approximate there for now.

// seedMaxArr loads the running maximum of ref, and its ordinal counter, from its last stored record,
// unless this process already has them.
func (s *Store) seedMaxArr(ctx context.Context, st *streamState, ref storage.ShardRef) error {
	st.pubMu.Lock()
	_, ok := st.maxArr[ref.Shard]
	st.pubMu.Unlock()
	if ok {
		return nil
	}
	m, err := s.last(ctx, st.name, s.shardSubject(ref))
	if err != nil {
		return fmt.Errorf("load time index of %v: %w", ref, err)
	}
	v := int64(noArrival)
	var ord uint64 // ordinal.go: of the last record, or the floor Trim kept
	if m != nil {
		if v, err = envelopeMaxArr(m.Data); err != nil {
			return fmt.Errorf("load time index of %v: %w", ref, err)
		}
		ord = envelopeOrdinal(m.Data)
	} else if ord, err = s.floor(ctx, ref); err != nil {
		return err
	}
	st.pubMu.Lock()
	if cur, ok := st.maxArr[ref.Shard]; !ok || cur < v {
		st.maxArr[ref.Shard] = v
	}
	st.ordinal[ref.Shard] = max(st.ordinal[ref.Shard], ord)
	st.pubMu.Unlock()
	return nil
}

// OffsetAtTime implements storage.Store with a binary search over the running maximum (see above).
func (s *Store) OffsetAtTime(ctx context.Context, ref storage.ShardRef, t time.Time) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	off, err := s.offsetAtTime(ctx, ref, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("offset at time %v: %w", ref, err)
	}
	return off, nil
}

// probe is a record found by a direct get: its sequence, running maximum and contents.
type probe struct {
	seq    uint64
	maxArr int64
	rec    storage.Record
}

func parseProbe(m *nats.Msg) (probe, error) {
	seq, err := msgSeq(m)
	if err != nil {
		return probe{}, err
	}
	r, maxArr, err := parseEnvelope(m.Data)
	return probe{seq: seq, maxArr: maxArr, rec: r}, err
}

func (s *Store) offsetAtTime(ctx context.Context, ref storage.ShardRef, ms int64) (uint64, error) {
	name, subj := s.streamName(ref.StreamID), s.shardSubject(ref)
	m, err := s.next(ctx, name, subj, 1)
	if err != nil {
		return 0, err
	}
	if m == nil {
		return s.nextOffset(ctx, ref)
	}
	lo, err := parseProbe(m)
	if err != nil {
		return 0, err
	}
	if lo.rec.ArrivalMilli >= ms {
		return lo.seq, nil // the usual TRIM_HORIZON case: one request
	}
	if m, err = s.last(ctx, name, subj); err != nil {
		return 0, err
	}
	if m == nil { // trimmed meanwhile
		return s.nextOffset(ctx, ref)
	}
	hi, err := parseProbe(m)
	if err != nil {
		return 0, err
	}
	if hi.maxArr < ms {
		return s.nextOffset(ctx, ref) // no record at or after ms
	}
	// Find the smallest sequence q in (lo.seq, hi.seq] whose next record has maxArr >= ms; cand is
	// that record. The predicate only turns from false to true as q grows.
	cand := hi
	for a, b := lo.seq+1, hi.seq; a < b; {
		mid := a + (b-a)/2
		if m, err = s.next(ctx, name, subj, mid); err != nil {
			return 0, err
		}
		if m == nil { // trimmed meanwhile: start over on what remains
			return s.offsetAtTime(ctx, ref, ms)
		}
		p, err := parseProbe(m)
		if err != nil {
			return 0, err
		}
		if p.maxArr >= ms {
			b, cand = mid, p
		} else {
			a = p.seq + 1 // every q up to p.seq selects p
		}
	}
	if cand.rec.ArrivalMilli >= ms {
		return cand.seq, nil
	}
	// The running maximum ran ahead of the stored records (see above): scan forward.
	for from := cand.seq + 1; ; {
		msgs, more, err := s.getBatch(ctx, name, subj, from, 256, 1<<20)
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			p, err := parseProbe(m)
			if err != nil {
				return 0, err
			}
			if p.rec.ArrivalMilli >= ms {
				return p.seq, nil
			}
			from = p.seq + 1
		}
		if len(msgs) == 0 || !more {
			return s.nextOffset(ctx, ref)
		}
	}
}
