package pebble

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The record log. Records are written once, to append-only segment files in the store's records/
// directory, and Pebble keeps only where they are: one key per span (the records of one shard in
// one Append call) pointing at the span's entry in a segment (spans.go). Before, every record was a
// Pebble key whose value went to the WAL, to a memtable, and again to a blob file when the memtable
// was flushed, and compactions rewrote the keys of every record: a CPU profile of the benchmark's
// write load had Pebble's flushes and compactions at 30% of the server's CPU, and each record byte
// was written to disk twice.
//
// An Append writes its entries with one Write to the active segment and waits for them to be synced,
// then commits the span keys in a synced Pebble batch: a span key never points at bytes that are not
// on disk, and a crash between the two leaves only unreferenced bytes in a segment. One goroutine
// writes and syncs; the calls that arrive while it syncs join the next sync (group commit), as
// Pebble's WAL does. A failed write or sync ends the engine (Fatal), as a failed WAL write or sync
// does: after a failed sync the file's pages may be neither on disk nor still dirty, and after a
// short write the positions of later writes are unknown. A supervisor restarts the server on what
// is durable. (With -disk-reserve, Append refuses before the disk is full: space.go.)
//
// A segment is deleted once no span key points into it and it is not the one being written:
// liveness counts spans per segment, built at Open from the span keys and kept up to date by Append
// (counted before the write, so that a segment cannot go while a write to it is in flight), Trim
// and DropStream (after their deletions are committed). A crash after a commit and before the file's
// deletion leaves a segment nobody points into, which the next Open deletes.

const (
	// logDirName is the directory of the segments, under the store's directory.
	logDirName = "records"
	// segmentSuffix ends a segment's file name; the name is its number, in decimal, six digits at
	// least.
	segmentSuffix = ".seg"
	// segmentTargetSize is the size past which the next write starts a new segment. A segment goes
	// only when all its spans are trimmed, so smaller segments return space sooner after a Trim, and
	// larger ones mean fewer files; 64 MiB is about 0.4 s of the benchmark's load.
	segmentTargetSize = 64 << 20
	// memSegmentSize is segmentTargetSize in memory (-in-memory): a file of Pebble's in-memory file
	// system is one slice that grows by copying as it is written, so smaller segments copy less.
	memSegmentSize = 4 << 20
)

// segment is one file of the record log.
type segment struct {
	id   uint64
	f    vfs.File
	size int64 // bytes written; the writer's alone once the segment is active
}

// logWrite is a buffer to write, and where it went.
type logWrite struct {
	buf   []byte
	spans int    // span keys that will point into it (liveness)
	seg   uint64 // set by the writer
	pos   int64  // set by the writer
}

// logBatch is the writes that one sync covers.
type logBatch struct {
	writes  []*logWrite
	written chan struct{} // closed once the writes are in the file (or failed: err)
	synced  chan struct{} // closed once they are synced (or failed: syncErr)
	err     error
	syncErr error
}

// dataLog is the record log of a store.
type dataLog struct {
	fs     vfs.FS
	dir    string
	target int64 // segment size past which a new one starts
	noSync bool
	log    *slog.Logger
	fatal  func(error) // a failed sync

	mu     sync.Mutex
	cond   *sync.Cond
	queue  *logBatch // the batch that writes join; nil when none is waiting
	closed bool
	wg     sync.WaitGroup

	active   *segment               // the writer goroutine's
	syncedTo atomic.Pointer[logPos] // everything before it is synced

	filesMu  sync.RWMutex
	files    map[uint64]*segment // every segment, by number
	live     map[uint64]int      // span keys, committed or being written, per segment
	activeID uint64              // the segment being written, never deleted
	pinned   int                 // while above 0 (a checkpoint copies the segments), nothing is deleted
}

// openDataLog opens the record log in dir (creating it) and starts a new segment; the caller sets
// the liveness counts (setLive) before any write.
func openDataLog(fs vfs.FS, dir string, target int64, noSync bool, log *slog.Logger, fatal func(error)) (*dataLog, error) {
	l := &dataLog{fs: fs, dir: dir, target: target, noSync: noSync, log: log, fatal: fatal, files: make(map[uint64]*segment), live: make(map[uint64]int)}
	l.cond = sync.NewCond(&l.mu)
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record log: %w", err)
	}
	if err := l.syncDir(fs.PathDir(dir)); err != nil { // the directory itself survives a crash
		return nil, fmt.Errorf("record log: %w", err)
	}
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("record log: %w", err)
	}
	var last uint64
	for _, name := range names {
		id, ok := parseSegmentName(name)
		if !ok {
			continue
		}
		f, err := fs.Open(fs.PathJoin(dir, name))
		if err != nil {
			l.closeFiles()
			return nil, fmt.Errorf("record log: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			l.closeFiles()
			return nil, errors.Join(fmt.Errorf("record log: %w", err), f.Close())
		}
		l.files[id] = &segment{id: id, f: f, size: fi.Size()}
		last = max(last, id)
	}
	if err := l.roll(last + 1); err != nil {
		l.closeFiles()
		return nil, err
	}
	l.wg.Add(1)
	go l.run()
	return l, nil
}

func segmentName(id uint64) string { return fmt.Sprintf("%06d%s", id, segmentSuffix) }

func parseSegmentName(name string) (uint64, bool) {
	num, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(num, 10, 64)
	return id, err == nil && id > 0
}

// roll creates segment id, syncs the directory so that it survives a crash, and makes it the
// active one. Only Open and the writer call it.
func (l *dataLog) roll(id uint64) error {
	f, err := l.fs.Create(l.fs.PathJoin(l.dir, segmentName(id)), vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("record log: new segment: %w", err)
	}
	if err := l.syncDir(l.dir); err != nil {
		return errors.Join(fmt.Errorf("record log: new segment: %w", err), f.Close())
	}
	seg := &segment{id: id, f: f}
	l.filesMu.Lock()
	l.files[id] = seg
	old := l.activeID
	l.activeID = id
	gone := l.collectLocked(old)
	l.filesMu.Unlock()
	l.remove(gone)
	l.active = seg
	return nil
}

func (l *dataLog) syncDir(dir string) error {
	if l.noSync {
		return nil
	}
	d, err := l.fs.OpenDir(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// write writes buf (the entries of spans spans) to the log and returns where, once it is in the
// file, with a function that waits until it is synced. buf must not be used again by the caller. The
// spans are counted live in the segment; a caller whose commit then fails must unref them.
func (l *dataLog) write(buf []byte, spans int) (seg uint64, pos int64, synced func() error, err error) {
	w := &logWrite{buf: buf, spans: spans}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, 0, nil, errors.New("record log: closed")
	}
	b := l.queue
	if b == nil {
		b = &logBatch{written: make(chan struct{}), synced: make(chan struct{})}
		l.queue = b
		l.cond.Signal()
	}
	b.writes = append(b.writes, w)
	l.mu.Unlock()
	<-b.written
	if b.err != nil {
		return 0, 0, nil, b.err
	}
	return w.seg, w.pos, func() error { <-b.synced; return b.syncErr }, nil
}

// run is the writer: it takes the waiting batch, writes it and syncs it, until Close.
func (l *dataLog) run() {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		for l.queue == nil && !l.closed {
			l.cond.Wait()
		}
		b := l.queue
		l.queue = nil
		l.mu.Unlock()
		if b == nil {
			return // closed, nothing left
		}
		if b.err = l.writeBatch(b); b.err != nil {
			b.syncErr = b.err
			close(b.written)
			close(b.synced)
			continue
		}
		close(b.written)
		b.syncErr = l.sync(l.active)
		if b.syncErr == nil {
			l.syncedTo.Store(&logPos{seg: l.active.id, pos: l.active.size})
		}
		close(b.synced)
	}
}

// logPos is a position in the record log.
type logPos struct {
	seg uint64
	pos int64
}

// writeBatch writes b's buffers in order (a segment it leaves for a new one is synced first; the
// caller syncs the active one). On failure every write of the batch fails, and the spans counted for
// them are given back.
func (l *dataLog) writeBatch(b *logBatch) (err error) {
	defer func() {
		if err == nil {
			return
		}
		counts := make(map[uint64]int)
		for _, w := range b.writes {
			if w.seg != 0 {
				counts[w.seg] += w.spans
			}
		}
		l.unref(counts)
	}()
	for _, w := range b.writes {
		seg := l.active
		if seg.size > 0 && seg.size+int64(len(w.buf)) > l.target {
			if err := l.sync(seg); err != nil {
				return err
			}
			if err := l.roll(seg.id + 1); err != nil {
				l.fatal(err)
				return err
			}
			seg = l.active
		}
		l.filesMu.Lock()
		l.live[seg.id] += w.spans
		l.filesMu.Unlock()
		w.seg, w.pos = seg.id, seg.size
		n, err := seg.f.Write(w.buf)
		seg.size += int64(n)
		if err != nil {
			err = fmt.Errorf("record log: write %s: %w", segmentName(seg.id), err)
			l.fatal(err)
			return err
		}
	}
	return nil
}

// sync syncs seg's data; a failure ends the engine.
func (l *dataLog) sync(seg *segment) error {
	if l.noSync {
		return nil
	}
	if err := seg.f.SyncData(); err != nil {
		err = fmt.Errorf("record log: sync %s: %w", segmentName(seg.id), err)
		l.fatal(err)
		return err
	}
	return nil
}

// readAt fills buf from segment seg at pos. errSegmentGone: the segment was deleted (its spans were
// trimmed).
func (l *dataLog) readAt(seg uint64, pos int64, buf []byte) error {
	l.filesMu.RLock()
	defer l.filesMu.RUnlock()
	s := l.files[seg]
	if s == nil {
		return errSegmentGone
	}
	if _, err := s.f.ReadAt(buf, pos); err != nil {
		return fmt.Errorf("record log: read %s at %d: %w", segmentName(seg), pos, err)
	}
	return nil
}

// errSegmentGone is readAt's error for a deleted segment.
var errSegmentGone = errors.New("record log: segment deleted")

// setLive sets the liveness counts found at Open and deletes the segments nobody points into.
func (l *dataLog) setLive(live map[uint64]int) {
	l.filesMu.Lock()
	for id, n := range live {
		l.live[id] += n
	}
	var gone []*segment
	for id := range l.files {
		gone = append(gone, l.collectLocked(id)...)
	}
	l.filesMu.Unlock()
	l.remove(gone)
}

// unref takes the given span counts off their segments and deletes those that are left with none.
func (l *dataLog) unref(counts map[uint64]int) {
	l.filesMu.Lock()
	var gone []*segment
	for id, n := range counts {
		l.live[id] -= n
		gone = append(gone, l.collectLocked(id)...)
	}
	l.filesMu.Unlock()
	l.remove(gone)
}

// collectLocked takes segment id out of the log if nothing points into it and it is not being
// written; the caller removes what it returns.
func (l *dataLog) collectLocked(id uint64) []*segment {
	s := l.files[id]
	if s == nil || id == l.activeID || l.live[id] > 0 || l.pinned > 0 {
		return nil
	}
	delete(l.files, id)
	delete(l.live, id)
	return []*segment{s}
}

// remove closes and deletes segments taken out of the log. No reader holds them: readAt holds
// filesMu while it reads.
func (l *dataLog) remove(segs []*segment) {
	for _, s := range segs {
		err := errors.Join(s.f.Close(), l.fs.Remove(l.fs.PathJoin(l.dir, segmentName(s.id))))
		if err != nil {
			l.log.Warn("deleting a record log segment", "segment", segmentName(s.id), "err", err)
		}
	}
}

// pin stops deletions until unpin.
func (l *dataLog) pin() {
	l.filesMu.Lock()
	l.pinned++
	l.filesMu.Unlock()
}

// segments returns the numbers of the segments, oldest first, and that of the active one.
func (l *dataLog) segments() (ids []uint64, active uint64) {
	l.filesMu.RLock()
	defer l.filesMu.RUnlock()
	for id := range l.files {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, l.activeID
}

func (l *dataLog) unpin() {
	l.filesMu.Lock()
	l.pinned--
	var gone []*segment
	for id := range l.files {
		gone = append(gone, l.collectLocked(id)...)
	}
	l.filesMu.Unlock()
	l.remove(gone)
}

// size returns the bytes of every segment, for Stats.
func (l *dataLog) size() (n uint64) {
	l.filesMu.RLock()
	defer l.filesMu.RUnlock()
	for _, s := range l.files {
		if fi, err := s.f.Stat(); err == nil {
			n += allocated(fi)
		}
	}
	return n
}

// close stops the writer once the waiting batch is written, and closes the files.
func (l *dataLog) close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	l.wg.Wait()
	return l.closeFiles()
}

func (l *dataLog) closeFiles() error {
	l.filesMu.Lock()
	defer l.filesMu.Unlock()
	var err error
	for id, s := range l.files {
		err = errors.Join(err, s.f.Close())
		delete(l.files, id)
	}
	return err
}
