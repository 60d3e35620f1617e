package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// Spans: the records of one shard written by one Append (or AppendAt) call, as one entry of the
// record log (datalog.go) and one Pebble key pointing at it.
//
// Entry, in a segment:
//
//	body length u32, CRC-32C of the body u32,
//	body: stream u64, shard u32, record count u32, then per record: offset (uvarint, the first one
//	whole, the others as the difference from the one before), uvarint length of the record value,
//	the record value (valueFormat, arrival i64, uvarint len(pk), pk, data: as a record key's value)
//
// Span key 's' stream shard kindSpan first-offset → valueFormat, segment u64, position u64, entry
// length u32, last offset u64.
//
// The checksum covers the whole body, and a read checks that the entry is of the shard its key
// says: a damaged segment or a key pointing at the wrong place reads as storage.ErrCorrupt.

const (
	entryHeaderLen = 8
	entryFixedLen  = 8 + 4 + 4
	spanValueLen   = 1 + 8 + 8 + 4 + 8
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// spanRef is a span key's value.
type spanRef struct {
	seg  uint64
	pos  int64
	n    uint32 // entry length, header included
	last uint64 // offset of the span's last record
}

func spanKey(ref storage.ShardRef, first uint64) []byte { return offsetKey(ref, kindSpan, first) }

func putSpanValue(b []byte, r spanRef) {
	b[0] = valueFormat
	binary.BigEndian.PutUint64(b[1:9], r.seg)
	binary.BigEndian.PutUint64(b[9:17], uint64(r.pos))
	binary.BigEndian.PutUint32(b[17:21], r.n)
	binary.BigEndian.PutUint64(b[21:29], r.last)
}

func decodeSpanValue(v []byte) (spanRef, error) {
	if len(v) != spanValueLen || v[0] != valueFormat {
		return spanRef{}, fmt.Errorf("%w: span value %x", errCorrupt, v)
	}
	return spanRef{
		seg:  binary.BigEndian.Uint64(v[1:9]),
		pos:  int64(binary.BigEndian.Uint64(v[9:17])),
		n:    binary.BigEndian.Uint32(v[17:21]),
		last: binary.BigEndian.Uint64(v[21:29]),
	}, nil
}

// entryLen is the size of the entry of recs (their Offsets set, increasing).
func entryLen(recs []storage.Record) int {
	n := entryHeaderLen + entryFixedLen
	prev := uint64(0)
	for i := range recs {
		r := &recs[i]
		v := recordValueLen(r)
		n += uvarintLen(r.Offset-prev) + uvarintLen(uint64(v)) + v
		prev = r.Offset
	}
	return n
}

// appendEntry appends the entry of recs (their Offsets set, increasing) to dst.
func appendEntry(dst []byte, ref storage.ShardRef, recs []storage.Record) []byte {
	if cap(dst)-len(dst) < entryHeaderLen+entryFixedLen+len(recs)*(2*binary.MaxVarintLen64+recordHeaderLen) {
		dst = slices.Grow(dst, entryLen(recs))
	}
	start := len(dst)
	dst = dst[:start+entryHeaderLen]
	dst = binary.BigEndian.AppendUint64(dst, ref.StreamID)
	dst = binary.BigEndian.AppendUint32(dst, ref.Shard)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(recs)))
	prev := uint64(0)
	for i := range recs {
		r := &recs[i]
		v := recordValueLen(r)
		dst = binary.AppendUvarint(dst, r.Offset-prev)
		dst = binary.AppendUvarint(dst, uint64(v))
		n := len(dst)
		dst = dst[:n+v]
		putRecordValue(dst[n:], r)
		prev = r.Offset
	}
	body := dst[start+entryHeaderLen:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(body, crc32c))
	return dst
}

// eachEntryRecord checks entry (as read from a segment) and calls fn for each of its records in
// offset order until fn returns false. pk and data alias entry.
func eachEntryRecord(entry []byte, ref storage.ShardRef, fn func(off uint64, arr int64, pk, data []byte) bool) error {
	if len(entry) < entryHeaderLen+entryFixedLen {
		return fmt.Errorf("%w: span entry of %d bytes", errCorrupt, len(entry))
	}
	body := entry[entryHeaderLen:]
	if n := binary.BigEndian.Uint32(entry); int(n) != len(body) {
		return fmt.Errorf("%w: span entry length %d, want %d", errCorrupt, n, len(body))
	}
	if crc32.Checksum(body, crc32c) != binary.BigEndian.Uint32(entry[4:]) {
		return fmt.Errorf("%w: span entry checksum", errCorrupt)
	}
	if binary.BigEndian.Uint64(body) != ref.StreamID || binary.BigEndian.Uint32(body[8:]) != ref.Shard {
		return fmt.Errorf("%w: span entry of another shard", errCorrupt)
	}
	count := binary.BigEndian.Uint32(body[12:])
	rest := body[entryFixedLen:]
	off := uint64(0)
	for range count {
		d, w := binary.Uvarint(rest)
		if w <= 0 {
			return fmt.Errorf("%w: span entry offset", errCorrupt)
		}
		off += d
		rest = rest[w:]
		v, w := binary.Uvarint(rest)
		if w <= 0 || v > uint64(len(rest)-w) {
			return fmt.Errorf("%w: span entry record length", errCorrupt)
		}
		arr, pk, data, err := decodeRecordValue(rest[w : w+int(v)])
		if err != nil {
			return err
		}
		rest = rest[w+int(v):]
		if !fn(off, arr, pk, data) {
			return nil
		}
	}
	return nil
}

// scanSpans calls fn for the records of ref's spans in [from, vis), in offset order, until fn
// returns false. A span whose segment was deleted is skipped if the shard's trim floor has passed it
// (a Trim between the iterator's start and the read); otherwise that is corruption. The entries are
// read into buffers of lend, or fresh ones when it is nil.
func (s *Store) scanSpans(ctx context.Context, ref storage.ShardRef, from, vis uint64, lend *lender, fn func(off uint64, arr int64, pk, data []byte) bool) error {
	lo, hi := kindBounds(ref, kindSpan)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	ok := it.SeekLT(spanKey(ref, from+1)) // the last span starting at or below from
	if !ok {
		ok = it.First()
	}
	more := true
	for ; ok && more; ok = it.Next() {
		var first uint64
		if first, err = keyOffset(it.Key()); err != nil {
			break
		}
		if first >= vis {
			break
		}
		var v []byte
		var sp spanRef
		if v, err = it.ValueAndErr(); err != nil {
			break
		}
		if sp, err = decodeSpanValue(v); err != nil {
			break
		}
		if sp.last < from {
			continue
		}
		entry := lend.get(int(sp.n))
		err = s.records.readAt(sp.seg, sp.pos, entry)
		if errors.Is(err, errSegmentGone) && sp.last < s.trimFloor(ref) {
			err = nil
			continue
		}
		if err != nil {
			break
		}
		err = eachEntryRecord(entry, ref, func(off uint64, arr int64, pk, data []byte) bool {
			switch {
			case off < from:
				return true
			case off >= vis:
				more = false
				return false
			}
			more = fn(off, arr, pk, data)
			return more
		})
		if err != nil {
			break
		}
	}
	return errors.Join(err, it.Close())
}

// trimFloor returns ref's trim floor.
func (s *Store) trimFloor(ref storage.ShardRef) uint64 {
	sh, err := s.lockShard(ref)
	if err != nil {
		return 0
	}
	defer sh.mu.Unlock()
	return sh.floor
}

// readSpans is Read from the record log: the records of ref in [from, vis). Their Data alias the
// entries read (one buffer per span, lend's when it is not nil); their partition keys share one
// string.
func (s *Store) readSpans(ctx context.Context, ref storage.ShardRef, from, vis uint64, maxRecords, maxBytes int, lend *lender) ([]storage.Record, error) {
	var (
		out    []storage.Record
		pkEnds []int
		pks    []byte
		total  int
	)
	if lend != nil {
		out, pkEnds, pks = lend.recs[:0], lend.pkEnds[:0], lend.pks[:0]
	} else {
		out = make([]storage.Record, 0, min(maxRecords, 512))
	}
	err := s.scanSpans(ctx, ref, from, vis, lend, func(off uint64, arr int64, pk, data []byte) bool {
		size := len(pk) + len(data)
		if len(out) > 0 && total+size > maxBytes {
			return false
		}
		total += size
		pks = append(pks, pk...)
		pkEnds = append(pkEnds, len(pks))
		out = append(out, storage.Record{Offset: off, ArrivalMilli: arr, Data: data[:len(data):len(data)]})
		return len(out) < maxRecords
	})
	if err != nil {
		return nil, err
	}
	var all string
	if lend != nil {
		// The keys stay in the lender's buffer, which only its release hands to another read.
		lend.recs, lend.pkEnds, lend.pks = out, pkEnds, pks
		all = unsafe.String(unsafe.SliceData(pks), len(pks))
	} else {
		all = string(pks)
	}
	prev := 0
	for i, end := range pkEnds {
		out[i].PartitionKey = all[prev:end]
		prev = end
	}
	return out, nil
}

// spanSegments adds to counts the segment of each span key in [lo, hi) (DropStream counts a stream's,
// Trim a shard's).
func (s *Store) spanSegments(lo, hi []byte, counts map[uint64]int) error {
	return s.eachSpanKey(lo, hi, func(_ []byte, sp spanRef) error {
		counts[sp.seg]++
		return nil
	})
}

// eachSpanKey calls fn for each span key in [lo, hi), skipping the other kinds of keys of each shard
// by seeking past them. key is only valid during the call.
func (s *Store) eachSpanKey(lo, hi []byte, fn func(key []byte, sp spanRef) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	seek := make([]byte, kindPrefixLen)
	for ok := it.First(); ok; {
		k := it.Key()
		if len(k) < kindPrefixLen || k[0] != spaceShard {
			ok = it.Next()
			continue
		}
		switch kind := k[shardPrefixLen]; {
		case kind < kindSpan:
			copy(seek, k[:shardPrefixLen])
			seek[shardPrefixLen] = kindSpan
			ok = it.SeekGE(seek)
		case kind > kindSpan:
			if next := prefixEnd(k[:shardPrefixLen]); next != nil {
				ok = it.SeekGE(next)
			} else {
				ok = false
			}
		default:
			var v []byte
			var sp spanRef
			if v, err = it.ValueAndErr(); err == nil {
				sp, err = decodeSpanValue(v)
			}
			if err == nil && len(k) != offsetKeyLen {
				err = fmt.Errorf("%w: span key %x", errCorrupt, k)
			}
			if err == nil {
				err = fn(k, sp)
			}
			if err != nil {
				return errors.Join(err, it.Close())
			}
			ok = it.Next()
		}
	}
	return it.Close()
}

// spanTrimEnd returns the key below which ref's span keys are of spans that end below floor: a span
// that starts below floor and ends at or above it stays, whole.
func (s *Store) spanTrimEnd(ref storage.ShardRef, floor uint64) ([]byte, error) {
	lo, hi := kindBounds(ref, kindSpan)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	end := spanKey(ref, floor)
	if it.SeekLT(end) {
		var v []byte
		var sp spanRef
		if v, err = it.ValueAndErr(); err == nil {
			sp, err = decodeSpanValue(v)
		}
		if err == nil && sp.last >= floor {
			end = append([]byte(nil), it.Key()...)
		}
	}
	return end, errors.Join(err, it.Close())
}

func encodeLogPos(at logPos) []byte {
	b := make([]byte, 17)
	b[0] = valueFormat
	binary.BigEndian.PutUint64(b[1:9], at.seg)
	binary.BigEndian.PutUint64(b[9:17], uint64(at.pos))
	return b
}

func decodeLogPos(v []byte) (logPos, error) {
	if len(v) != 17 || v[0] != valueFormat {
		return logPos{}, fmt.Errorf("%w: record log position %x", errCorrupt, v)
	}
	return logPos{seg: binary.BigEndian.Uint64(v[1:9]), pos: int64(binary.BigEndian.Uint64(v[9:17]))}, nil
}

// checkSpans runs at Open: it counts the span keys per segment (the record log's liveness), and
// drops the span keys that point past the synced position the last batches recorded at bytes that
// are not a valid entry of their shard: an Append's span keys are committed while its entries sync
// (commitSpans), so a crash can leave keys of a call that was never acknowledged pointing at bytes
// that never reached the disk. A store without the position (none written yet) has every key checked.
func (s *Store) checkSpans() (map[uint64]int, error) {
	var synced logPos
	v, closer, err := s.db.Get(logSyncedKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		synced, err = decodeLogPos(v)
		closer.Close()
		if err != nil {
			return nil, err
		}
	}
	live := make(map[uint64]int)
	var drop [][]byte
	err = s.eachSpanKey([]byte{spaceShard}, []byte{spaceShard + 1}, func(key []byte, sp spanRef) error {
		if sp.seg > synced.seg || sp.seg == synced.seg && sp.pos+int64(sp.n) > synced.pos {
			ref := storage.ShardRef{StreamID: binary.BigEndian.Uint64(key[1:9]), Shard: binary.BigEndian.Uint32(key[9:13])}
			entry := make([]byte, sp.n)
			err := s.records.readAt(sp.seg, sp.pos, entry)
			if err == nil {
				err = eachEntryRecord(entry, ref, func(uint64, int64, []byte, []byte) bool { return true })
			}
			if err != nil {
				drop = append(drop, slices.Clone(key))
				return nil
			}
		}
		live[sp.seg]++
		return nil
	})
	if err != nil || len(drop) == 0 {
		return live, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, k := range drop {
		if err := b.Delete(k, nil); err != nil {
			return nil, err
		}
	}
	if err := s.commit(b); err != nil {
		return nil, err
	}
	s.log.Warn("dropped the span keys of writes that were not acknowledged before a crash and never reached the record log",
		"spans", len(drop))
	return live, nil
}
