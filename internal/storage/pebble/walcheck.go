package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/storage"
)

// WAL damage. Pebble replays each write-ahead log until the first chunk that fails its checksum and
// stops there. At the end of the newest log that is what a crash leaves (a write cut short, zeros
// of a preallocated file, old data of a recycled one), and Pebble starts without a word (one debug
// line, "stopped reading at offset"). Damage in the middle of the log (a flipped byte, a bad sector)
// looks the same to it, and the records after it, acknowledged long ago, are silently lost.
//
// Pebble has its own answer (FormatWALSyncChunks, on in this store's format): every chunk carries the
// offset up to which the log was synced when the chunk was written, and a valid chunk after the damage
// that vouches for a synced offset past it makes replay fail with ErrCorruption. In Pebble v2.1.7 that
// offset only counts the bytes of partly filled blocks written by a flush, not full blocks: with
// large batches (PutRecords of 500 × 1 KiB records) it stays near the start of the file, so the check
// never fires (measured: 16 bytes flipped at 10–90% of the newest WAL after a crash under such load
// lost 1,000–12,000 acknowledged records of 100,000, Open succeeding).
//
// So the engine vouches for its own writes: each batch of Append and AppendAt carries, as Pebble
// LogData (written to the WAL only, never to tables), the highest Pebble sequence number whose synced
// commit had returned when the batch was built. Before Open, checkWAL reads every log file: at the
// first damage it notes the sequence number the next batch would have had, and looks past the damage
// for valid batches of the same log. If one of them vouches for that sequence number (or Pebble's own
// synced offset vouches for the damaged offset), records that were acknowledged are behind the
// damage: Open fails with storage.ErrCorrupt, naming the file and offset, unless AcceptWALLoss. Valid
// batches after the damage that nobody vouches for are a torn tail: a machine crash may keep some
// unsynced pages of the log and not earlier ones, and those writes were never acknowledged (the crash
// test's clones do exactly that); they are dropped with a warning. What stays undetected is damage
// to the last few batches written before a crash, the ones whose commits were still in flight when
// the last batches were built.

// ackMagic marks the engine's LogData: ackMagic, then the vouched sequence number (u64, big-endian).
var ackMagic = []byte("kdAK")

// walBlockSize and the header sizes are Pebble's WAL format (record package): 32 KiB blocks of
// chunks, each with a checksum (u32), a length (u16), an encoding byte, the log number (u32) and,
// for WAL-sync chunks, the synced offset (u64).
const (
	walBlockSize        = 32 << 10
	walLegacyHeaderLen  = 7
	walRecyclableHdrLen = walLegacyHeaderLen + 4
	walSyncHeaderLen    = walRecyclableHdrLen + 8
	walBatchHeaderLen   = 12 // batchrepr.HeaderLen: sequence number u64, count u32
)

// A chunk's place in its record (chunkPos).
const (
	chunkFull = 1 + iota
	chunkFirst
	chunkMiddle
	chunkLast
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// vouch adds the engine's LogData to b: the highest sequence number acknowledged so far. A store that
// commits without sync (tests) vouches for nothing: its acknowledged writes are not durable.
func (s *Store) vouch(b *pebble.Batch) error {
	if s.wopts != pebble.Sync {
		return nil
	}
	var d [12]byte
	copy(d[:], ackMagic)
	binary.BigEndian.PutUint64(d[4:], s.acked.Load())
	return b.LogData(d[:], nil)
}

// acknowledged notes that b's synced commit returned: its sequence numbers are durable.
func (s *Store) acknowledged(b *pebble.Batch) {
	n := b.Count()
	if n == 0 {
		return
	}
	last := uint64(b.SeqNum()) + uint64(n) - 1
	for {
		cur := s.acked.Load()
		if cur >= last || s.acked.CompareAndSwap(cur, last) {
			return
		}
	}
}

// walScan is what scanWAL found in one log file.
type walScan struct {
	damage        int64  // offset of the first damaged chunk; -1: none
	recordStart   int64  // offset of the first chunk of the record the damage cut (the place to cut the file)
	next          uint64 // sequence number of the first batch not replayed (the one after the last valid batch before the damage)
	vouched       bool   // a valid chunk after the damage vouches for data at or past it
	batchesAfter  int    // valid batches after the damage
	recordsAfter  int    // kinesisd records in them (at most, for the sparse spans of AppendAt)
	bytesAfter    int64  // their bytes
	size          int64  // the file's size
	pebbleVouched bool   // the vouching came from Pebble's synced offset
}

// checkWAL reads every write-ahead log of the store before Pebble replays them (see the comment at
// the top of this file). With accept, damage before acknowledged records is logged at ERROR, the
// damaged file kept as CORRUPT-<name>-<unix time> and the log cut before the damage, so that Pebble
// replays what precedes it and the store opens.
func (s *Store) checkWAL(accept bool) error {
	names, err := s.fs.List(s.dir)
	if err != nil {
		return nil // no directory yet: a new store
	}
	for _, name := range names {
		num, ok := strings.CutSuffix(name, ".log")
		if !ok {
			continue
		}
		logNum, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			continue
		}
		path := s.fs.PathJoin(s.dir, name)
		sc, err := scanWAL(s.fs, path, uint32(logNum))
		if err != nil {
			return fmt.Errorf("pebble: check write-ahead log %s: %w", path, err)
		}
		if sc.damage < 0 || sc.batchesAfter == 0 {
			continue
		}
		attrs := []any{"file", path, "offset", sc.damage, "file_bytes", sc.size, "batches_after", sc.batchesAfter,
			"records_after", sc.recordsAfter, "bytes_after", sc.bytesAfter}
		if !sc.vouched {
			s.log.Warn("write-ahead log ends in a torn write: dropping batches after it that were not acknowledged", attrs...)
			continue
		}
		s.faults.corruptions.Add(1)
		if !accept {
			return fmt.Errorf("pebble: the write-ahead log is corrupt: %s at offset %d, before %d batches (%d records, %d bytes) "+
				"that were acknowledged or follow acknowledged ones; to start anyway and drop them, accept the loss "+
				"(-accept-wal-loss): %w", path, sc.damage, sc.batchesAfter, sc.recordsAfter, sc.bytesAfter, storage.ErrCorrupt)
		}
		kept, err := cutWAL(s.fs, path, sc.recordStart)
		if err != nil {
			return fmt.Errorf("pebble: cut the corrupt write-ahead log %s: %w", path, err)
		}
		s.log.Error("the write-ahead log is corrupt: accepting the loss of what follows the damage", append(attrs,
			"replayed_bytes", sc.recordStart, "copy", kept)...)
	}
	return nil
}

// cutWAL keeps the file at path as CORRUPT-<name>-<unix time> in its directory and writes its first
// n bytes back at path, synced. It returns the kept copy's path.
func cutWAL(fs vfs.FS, path string, n int64) (string, error) {
	dir := fs.PathDir(path)
	kept := fs.PathJoin(dir, fmt.Sprintf("CORRUPT-%s-%d", fs.PathBase(path), time.Now().Unix()))
	if err := fs.Rename(path, kept); err != nil {
		return "", err
	}
	src, err := fs.Open(kept)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dst, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(dst, io.LimitReader(src, n))
	err = errors.Join(err, dst.Sync(), dst.Close())
	if err == nil {
		var d vfs.File
		if d, err = fs.OpenDir(dir); err == nil {
			err = errors.Join(d.Sync(), d.Close())
		}
	}
	return kept, err
}

// scanWAL reads the log file at path chunk by chunk, as Pebble's record reader does, and goes on past
// the first damaged chunk to find the valid batches of the same log after it.
func scanWAL(fs vfs.FS, path string, logNum uint32) (walScan, error) {
	sc := walScan{damage: -1}
	f, err := fs.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return sc, nil
		}
		return sc, err
	}
	defer f.Close()
	var (
		buf      = make([]byte, walBlockSize)
		rec      []byte // the record being assembled
		recStart = int64(-1)
	)
	for block := int64(0); ; block++ {
		n, err := io.ReadFull(f, buf)
		if err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return sc, err
		}
		sc.size += int64(n)
		b := buf[:n]
	chunks:
		for p := 0; p+walLegacyHeaderLen <= n; {
			at := block*walBlockSize + int64(p)
			enc, hdr, length, valid := chunkAt(b, p, logNum)
			if !valid {
				if hdr > 0 && p+hdr <= n && binary.LittleEndian.Uint32(b[p+7:]) == logNum+1 && sc.damage < 0 {
					return sc, nil // the EOF trailer of a log closed cleanly: nothing after it is this log's
				}
				if sc.damage < 0 && !zeros(b[p:]) || sc.damage < 0 && n-p >= walSyncHeaderLen {
					// Not the zero padding at the end of a block: the first damage (or the end of the log).
					sc.damage = at
					sc.recordStart = at
					if recStart >= 0 {
						sc.recordStart = recStart
					}
				}
				rec, recStart = rec[:0], -1
				if sc.damage < 0 {
					break chunks // zero padding, or the end of the log
				}
				// Look for the next valid chunk of this log in the block: batches are small (a span key
				// per shard), so the newest block often holds all that follows the damage.
				if q := nextChunk(b, p+1, logNum); q > 0 {
					p = q
					continue
				}
				break chunks // Pebble's reader also goes on at the next block
			}
			if sc.damage >= 0 && hdr == walSyncHeaderLen && binary.LittleEndian.Uint64(b[p+11:]) > uint64(sc.damage) {
				sc.vouched, sc.pebbleVouched = true, true
			}
			pos := chunkPos(enc)
			payload := b[p+hdr : p+hdr+length]
			switch {
			case pos == chunkFull || pos == chunkFirst:
				rec, recStart = append(rec[:0], payload...), at
			case recStart >= 0:
				rec = append(rec, payload...)
			}
			if (pos == chunkFull || pos == chunkLast) && recStart >= 0 {
				sc.batch(rec)
				rec, recStart = rec[:0], -1
			}
			p += hdr + length
		}
	}
	return sc, nil
}

// chunkAt reads the header of the chunk at p in block b (p+walLegacyHeaderLen <= len(b)): its
// encoding byte, its header's length (0 for an encoding that is neither recyclable nor WAL-sync, the
// only ones this store's logs use), the length of its payload, and whether it is valid: whole within
// b, of log logNum, its checksum right.
func chunkAt(b []byte, p int, logNum uint32) (enc byte, hdr, length int, valid bool) {
	length = int(binary.LittleEndian.Uint16(b[p+4:]))
	enc = b[p+6]
	switch {
	case enc >= 9 && enc <= 12:
		hdr = walSyncHeaderLen
	case enc >= 5 && enc <= 8:
		hdr = walRecyclableHdrLen
	}
	valid = hdr > 0 && p+hdr+length <= len(b) && binary.LittleEndian.Uint32(b[p+7:]) == logNum &&
		maskCRC(crc32.Checksum(b[p+6:p+hdr+length], castagnoli)) == binary.LittleEndian.Uint32(b[p:])
	return enc, hdr, length, valid
}

// chunkPos is a chunk's place in its record, from its encoding byte: chunkFull, chunkFirst, chunkMiddle
// or chunkLast.
func chunkPos(enc byte) byte { return (enc-1)%4 + 1 }

// nextChunk returns the position of the first valid chunk of log logNum in b at or after from that
// starts a record (full or first), 0 if there is none. Its checksum makes a false find as unlikely as
// a corrupt chunk passing it.
func nextChunk(b []byte, from int, logNum uint32) int {
	for q := from; q+walRecyclableHdrLen <= len(b); q++ {
		if pos := chunkPos(b[q+6]); pos != chunkFull && pos != chunkFirst {
			continue // the checksum is left for the chunks that could start a record
		}
		if _, _, _, valid := chunkAt(b, q, logNum); valid {
			return q
		}
	}
	return 0
}

// batch takes in one valid WAL record (a batch): before the damage it moves next past the batch;
// after it, it counts the batch and checks whether the batch vouches for the damaged part.
func (sc *walScan) batch(rec []byte) {
	h, ok := batchrepr.ReadHeader(rec)
	if !ok || len(rec) < walBatchHeaderLen {
		return
	}
	if sc.damage < 0 {
		if h.Count > 0 {
			sc.next = uint64(h.SeqNum) + uint64(h.Count)
		}
		return
	}
	if sc.next == 0 && h.SeqNum > 0 {
		// The damage hit the log's first batch: vouching for the last sequence number before this batch
		// (the damaged part's greatest) is needed, which errs towards a torn tail.
		sc.next = uint64(h.SeqNum) - 1
	}
	sc.batchesAfter++
	sc.bytesAfter += int64(len(rec))
	r := batchrepr.Read(rec)
	for {
		kind, key, value, ok, err := r.Next()
		if !ok || err != nil {
			return
		}
		isShardKey := kind == pebble.InternalKeyKindSet && len(key) == offsetKeyLen && key[0] == spaceShard
		switch {
		case kind == pebble.InternalKeyKindLogData && len(key) == 12 && string(key[:4]) == string(ackMagic):
			if sc.next > 0 && binary.BigEndian.Uint64(key[4:]) >= sc.next {
				sc.vouched = true
			}
		case isShardKey && key[shardPrefixLen] == kindRecord:
			sc.recordsAfter++
		case isShardKey && key[shardPrefixLen] == kindSpan:
			// A span's records, at most last − first + 1 of them (AppendAt's are sparse).
			if sp, err := decodeSpanValue(value); err == nil {
				sc.recordsAfter += int(sp.last - binary.BigEndian.Uint64(key[kindPrefixLen:]) + 1)
			}
		}
	}
}

// maskCRC is the masking of Pebble's record checksums (internal/crc: the LevelDB mask).
func maskCRC(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

// zeros reports whether b is all zero.
func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
