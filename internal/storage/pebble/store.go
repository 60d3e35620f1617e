// Package pebble is the embedded storage engine: the storage.Store contract over Pebble v2, on disk or on Pebble's in-memory file system.
package pebble

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/bufpool"
	"kinesisd/internal/storage"
)

var (
	_ storage.Store          = (*Store)(nil)
	_ storage.OffsetAppender = (*Store)(nil)
	_ storage.StatsReporter  = (*Store)(nil)
	_ storage.HealthReporter = (*Store)(nil)
	_ storage.Checkpointer   = (*Store)(nil)
)

// Options configure Open.
type Options struct {
	// Dir is the database directory. Required unless InMemory or FS is set.
	Dir string
	// InMemory keeps everything in memory (Pebble's vfs.NewMem): nothing survives Close.
	InMemory bool
	// FS, when set, overrides the file system (tests use vfs.NewCrashableMem); Dir is then a path in it.
	FS vfs.FS
	// Logger receives the engine's and Pebble's messages. Nil discards them.
	Logger *slog.Logger
	// NoSync commits without waiting for fsync. For tests only: it breaks the durability contract, and
	// the crash test proves that it does.
	NoSync bool
	// DiskReserve, in bytes, is the free space of the data directory's file system below which Append
	// and AppendAt refuse with storage.ErrNoSpace (0: no reserve). See spaceWatcher for how it is
	// checked and how large it must be.
	DiskReserve int64
	// Fatal is called once when the engine cannot go on: Pebble reports a broken invariant or a failed
	// WAL write or sync (its Logger.Fatalf), a commit panics, or memtable flushes keep failing (see
	// flushFailFatalAfter). The server logs the error and exits, so that a supervisor restarts it on
	// what is durable: continuing could acknowledge writes that are not, and Pebble's commit pipeline
	// is wedged after such a failure. Nil panics instead (tests). If Fatal returns (tests), the commit
	// that hit the failure returns an error and every later write fails; but Pebble also fails from
	// its background goroutines (a MANIFEST write of a flush), where the panic that follows a
	// returning hook ends the process: in a server, Fatal must exit.
	Fatal func(error)
	// AcceptWALLoss lets Open start on a write-ahead log that is damaged before records that were
	// acknowledged (storage.ErrCorrupt otherwise), dropping what follows the damage; Open logs at ERROR
	// what was dropped and keeps a copy of the damaged file (walcheck.go).
	AcceptWALLoss bool
	// TailCache is the memory, in bytes of records, that the tail cache (tail.go) keeps of the shards'
	// latest records for the readers at their ends: 0 is the default (32 MiB); below 0, no cache.
	TailCache int64

	// indexEvery is the time-index interval in offsets (tests shrink it); 0 means defaultIndexEvery.
	indexEvery uint64
	// onCompacted, if set, is called after each background compaction (tests wait on it).
	onCompacted func(start, end []byte, err error)
	// spaceInterval is how often the free space is checked; 0 means defaultSpaceInterval.
	spaceInterval time.Duration
	// flushFailAfter is how long flushes may fail before Fatal; 0 means flushFailFatalAfter.
	flushFailAfter time.Duration
	// segmentSize is the record log's segment size; 0 means segmentTargetSize.
	segmentSize int64
}

const (
	// defaultIndexEvery: one time-index checkpoint per this many offsets of a shard. The cost is one
	// 22-byte key per interval in an append batch (under 0.01% of 256 records of 1 KiB); OffsetAtTime
	// then reads at most about this many records (plus one Append's worth) after a binary search over
	// checkpoints.
	defaultIndexEvery = 256

	// valueSepMinSize: values at least this large go to blob files when memtables are flushed, so that
	// compactions (which this workload needs: the shards of a stream interleave in every flush)
	// rewrite keys and small handles instead of payloads. A Kinesis record is typically ≥ 1 KiB, where
	// the handle (a few bytes) and the extra block read on Read are a small fraction of the value;
	// below that, keeping values inline in the sstable costs little and reads stay one block.
	valueSepMinSize = 1 << 10

	// The settings below were chosen under the project's benchmark (PutRecords of 500 × 1 KiB random
	// records from 8 clients, 2 cores, server and client on one machine); see the commit messages for
	// the measurements.

	// memTableSize bounds the memory that holds appends until they are flushed. Pebble keeps up to
	// memTableStopWrites of them (one being filled, the rest waiting for or in a flush) and recycles
	// one more, so the worst case is 5 × 16 MiB = 80 MiB of the process's memory. The release builds
	// have no cgo, so Pebble's "manual" memory (memtables, cache blocks) is ordinary Go heap and counts
	// against -memory-limit. Side by side under the bench load (issue 21), 16 MiB memtables and a 16
	// MiB cache with a 128 MiB limit against 32, 32 and 192: records/s 174-176k against 164-176k,
	// p99 60-74 ms against 82-93 ms, RSS 144-146 MiB against 207-210 MiB, read-back 366-405k against
	// 409-425k records/s. A flush costs about the same per byte either way.
	memTableSize       = 16 << 20
	memTableStopWrites = 4

	// cacheSize is the block cache: sstable blocks (keys) and blob blocks (values) read by Read. Reads
	// of a shard are sequential and mostly of recent records (which the tail cache serves), so a
	// small cache loses little.
	cacheSize = 16 << 20

	// blockSize is the target size of sstable and blob-file blocks (Pebble's default is 4 KiB). A
	// Read walks a shard's records in order, fetching each value from a blob file: with 32 KiB blocks
	// that is one block read (a pread, a checksum, a cache insertion) per ~30 records of 1 KiB instead
	// of per ~4. Server CPU per record read back went from 2.5 to 2.1-2.3 us, and per record written
	// (flushes write fewer, larger blocks) from 7.0-7.5 to 6.5-6.7 us.
	blockSize = 32 << 10

	// l0TargetFileSize is the target size of flush output. With the default (2 MiB), Pebble splits a
	// flush wherever its keys overlap more than 10 × 2 MiB of the next level, and value-separated
	// tables count the values they reference: each 64 MiB flush became ~37 tiny L0 tables, each
	// created and synced, and 10 compactions per flush followed. Tables here hold keys and blob
	// handles only (~40 bytes per record), so a flush is one table of about 1 MiB.
	l0TargetFileSize = 64 << 20

	// maxBlobReferenceDepth: Pebble rewrites values into new blob files when a compaction's output
	// could reference more than this many overlapping blob files (the default the engine had, 10, is
	// reached after a few compactions), to restore locality for random reads. Here keys are offsets
	// appended in order and every flush writes each shard's new offsets contiguously to one blob file,
	// so a Read of consecutive offsets touches one or two blob files however deep the references
	// are: rewriting bought nothing and took a fifth of the engine's CPU (a CPU profile of
	// BenchmarkAppend's load with random data: compactions writing new blob files).
	maxBlobReferenceDepth = 1 << 20

	// l0StopWrites is the number of L0 sublevels at which Pebble stops writes until compactions catch
	// up (default 12). L0 tables here are keys only (~1 MiB per flush), so more of them cost little
	// read amplification, while a stall holds every PutRecords in flight for its length.
	l0StopWrites = 32
)

// Store is the Pebble engine. It implements storage.Store and the optional abilities
// storage.OffsetAppender (appendat.go), StatsReporter and HealthReporter (stats.go) and Checkpointer
// (checkpoint.go); not Retainer.
type Store struct {
	db          *pebble.DB
	log         *slog.Logger
	wopts       *pebble.WriteOptions
	indexEvery  uint64
	onCompacted func(start, end []byte, err error)
	fs          vfs.FS
	dir         string
	lock        *pebble.Lock // the directory's lock, held from before the WAL check until Close

	records   *dataLog      // the record log (datalog.go)
	entryBufs bufpool.Pool  // the buffers ReadLent reads entries into (lend.go)
	acked     atomic.Uint64 // highest Pebble sequence number whose synced commit returned (walcheck.go)
	space     spaceWatcher  // the disk reserve (space.go)
	faults    faults        // the Fatal hook, the engine's failure and corruption count (fault.go)

	// Lock order: gate → metaMu; gate → trimMu → shardsMu → shard.mu. compactMu is a leaf.
	gate storage.Gate // every operation is inside it (enter/leave); Close closes it

	metaMu      sync.Mutex // serialises metadata compare-and-set
	lastVersion uint64     // last metadata version handed out; guarded by metaMu

	shardsMu sync.RWMutex
	shards   map[storage.ShardRef]*shard

	trimMu sync.Mutex // serialises Trim and DropStream so that trim floors only grow

	tailBudget  *tailBudget   // the tail cache's memory (tail.go); nil when it is off
	cachedReads atomic.Uint64 // Read calls the tail cache answered
	engineReads atomic.Uint64 // Read calls that iterated Pebble

	compactMu      sync.Mutex
	compactPending map[string][]byte // start key → end key of ranges waiting for compaction
	compactKick    chan struct{}
	stop           context.CancelFunc
	wg             sync.WaitGroup
}

// Open opens (creating if needed) the database described by opts.
func Open(opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "storage/pebble")
	fs := opts.FS
	switch {
	case fs != nil:
	case opts.InMemory:
		fs = vfs.NewMem()
	case opts.Dir == "":
		return nil, errors.New("pebble: Options.Dir is required unless InMemory is set")
	default:
		fs = vfs.Default
	}

	s := &Store{
		log:            log,
		wopts:          pebble.Sync,
		indexEvery:     opts.indexEvery,
		onCompacted:    opts.onCompacted,
		fs:             fs,
		dir:            opts.Dir,
		shards:         make(map[storage.ShardRef]*shard),
		compactPending: make(map[string][]byte),
		compactKick:    make(chan struct{}, 1),
	}
	s.faults.init(log, opts.Fatal, opts.flushFailAfter)
	switch {
	case opts.TailCache == 0:
		s.tailBudget = &tailBudget{max: defaultTailCache}
	case opts.TailCache > 0:
		s.tailBudget = &tailBudget{max: opts.TailCache}
	}
	if opts.NoSync {
		s.wopts = pebble.NoSync
	}
	if s.indexEvery == 0 {
		s.indexEvery = defaultIndexEvery
	}
	// Lock the directory before checkWAL reads (and, accepting a loss, rewrites) the WAL: another
	// process may be running on it. Pebble's Open then uses this lock (Options.Lock).
	if err := fs.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pebble: open %q: %w", opts.Dir, err)
	}
	lock, err := pebble.LockDirectory(opts.Dir, fs)
	if err != nil && lockHeld(err) {
		return nil, fmt.Errorf("pebble: open %q: %w (%w)", opts.Dir, ErrLocked, err)
	}
	if err != nil {
		return nil, fmt.Errorf("pebble: open %q: %w", opts.Dir, err)
	}
	s.lock = lock
	if err := s.checkWAL(opts.AcceptWALLoss); err != nil {
		return nil, errors.Join(err, lock.Close())
	}

	cache := pebble.NewCache(cacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		FS:                          fs,
		Lock:                        lock,
		Cache:                       cache,
		Logger:                      pebbleLogger{log: log, faults: &s.faults},
		EventListener:               eventListener(log, &s.faults, s.space.poke),
		FormatMajorVersion:          pebble.FormatValueSeparation,
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: memTableStopWrites,
		L0StopWritesThreshold:       l0StopWrites,
		// Compactions move keys only (values are in blob files) and are short; a second one may run
		// while the first waits on its fsync, so that L0 drains during bursts.
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
	}
	po.TargetFileSizes[0] = l0TargetFileSize
	for i := 1; i < len(po.TargetFileSizes); i++ {
		po.TargetFileSizes[i] = max(po.TargetFileSizes[i-1], 2<<20<<i) // Pebble's default below L0, at least L0's
	}
	for i := range po.Levels {
		po.Levels[i].BlockSize = blockSize
	}
	po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           valueSepMinSize,
			MaxBlobReferenceDepth: maxBlobReferenceDepth,
			RewriteMinimumAge:     5 * time.Minute,
			TargetGarbageRatio:    0.2,
		}
	}
	db, err := openDB(opts.Dir, po)
	if err != nil {
		err = errors.Join(err, lock.Close())
		if errors.Is(err, pebble.ErrCorruption) {
			s.faults.corruptions.Add(1)
			return nil, fmt.Errorf("pebble: open %q: %w: %w", opts.Dir, storage.ErrCorrupt, err)
		}
		return nil, fmt.Errorf("pebble: open %q: %w", opts.Dir, err)
	}
	s.db = db
	err = s.checkFormat()
	if err == nil {
		s.lastVersion, err = s.loadVersion()
	}
	if err == nil {
		segmentSize := cmp.Or(opts.segmentSize, segmentTargetSize)
		if opts.InMemory && opts.segmentSize == 0 {
			segmentSize = memSegmentSize
		}
		err = s.openRecords(segmentSize, opts.NoSync)
	}
	if err != nil {
		if pebble.IsCorruptionError(err) || errors.Is(err, errCorrupt) {
			s.faults.corruptions.Add(1)
			err = fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
		}
		return nil, errors.Join(err, db.Close(), lock.Close())
	}
	s.space.init(s, opts.DiskReserve, opts.spaceInterval)
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.wg.Add(2)
	go s.compactLoop(ctx)
	go s.space.loop(ctx, &s.wg)
	log.Info("store open", "dir", opts.Dir, "in_memory", opts.InMemory, "format", db.FormatMajorVersion().String(),
		"no_sync", opts.NoSync, "disk_reserve", opts.DiskReserve)
	return s, nil
}

// openRecords opens the record log, drops the span keys of unacknowledged writes that a crash left
// pointing at nothing (checkSpans) and deletes the segments that no span key points into.
func (s *Store) openRecords(segmentSize int64, noSync bool) error {
	fatal := func(err error) {
		defer func() { _ = recover() }() // no Fatal hook (tests): the engine is failed all the same
		s.faults.fail(err)
	}
	l, err := openDataLog(s.fs, s.fs.PathJoin(s.dir, logDirName), segmentSize, noSync, s.log, fatal)
	if err != nil {
		return fmt.Errorf("pebble: open %q: %w", s.dir, err)
	}
	s.records = l
	live, err := s.checkSpans()
	if err != nil {
		s.records = nil
		return errors.Join(fmt.Errorf("pebble: open %q: %w", s.dir, err), l.close())
	}
	l.setLive(live)
	return nil
}

// openDB is pebble.Open, with a panic (Pebble panics on some corrupt files) turned into an error.
func openDB(dir string, po *pebble.Options) (db *pebble.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked: %v: %w", r, pebble.ErrCorruption)
		}
	}()
	return pebble.Open(dir, po)
}

// enter admits an operation; it must be paired with leave.
func (s *Store) enter(ctx context.Context) error { return s.gate.Enter(ctx) }

func (s *Store) leave() { s.gate.Leave() }

// Close waits for operations in flight, stops background compaction, wakes every Wait channel and
// closes the database. Later calls return storage.ErrClosed.
func (s *Store) Close() error {
	return s.gate.Close(func() error {
		s.stop()
		s.wg.Wait()
		s.shardsMu.Lock()
		for _, sh := range s.shards {
			sh.wakeAll()
		}
		s.shards = nil
		s.shardsMu.Unlock()
		// The record log is synced to its end once its writer stops: say so, so that the next Open
		// checks no span key (checkSpans).
		err := s.records.close()
		if at := s.records.syncedTo.Load(); at != nil && err == nil && s.faults.failed() == nil {
			err = s.apply(func() error { return s.db.Set(logSyncedKey, encodeLogPos(*at), s.wopts) })
		}
		if err := errors.Join(err, s.db.Close(), s.lock.Close()); err != nil {
			return fmt.Errorf("pebble: close: %w", err)
		}
		s.log.Info("store closed")
		return nil
	})
}

// Wait implements storage.Store: the channel closes once records appended after the call are
// visible (and also on DropStream and Close, so that waiters re-check).
func (s *Store) Wait(ref storage.ShardRef) <-chan struct{} {
	if err := s.enter(context.Background()); err != nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	defer s.leave()
	sh := s.getShard(ref)
	sh.noteRead()
	return sh.waitChan()
}

// scheduleCompact asks the background loop to compact [start, end). Requests for the same start
// coalesce, keeping the larger end.
func (s *Store) scheduleCompact(start, end []byte) {
	s.compactMu.Lock()
	if old, ok := s.compactPending[string(start)]; !ok || string(end) > string(old) {
		s.compactPending[string(start)] = end
	}
	s.compactMu.Unlock()
	select {
	case s.compactKick <- struct{}{}:
	default:
	}
}

// compactLoop runs the compactions asked for by Trim and DropStream until ctx ends (Close).
func (s *Store) compactLoop(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.compactKick:
		}
		s.compactMu.Lock()
		todo := s.compactPending
		s.compactPending = make(map[string][]byte)
		s.compactMu.Unlock()
		for start, end := range todo {
			if ctx.Err() != nil {
				return
			}
			err := s.db.Compact(ctx, []byte(start), end, false)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("compaction after trim failed", "start", fmt.Sprintf("%x", start), "err", err)
			}
			if s.onCompacted != nil {
				s.onCompacted([]byte(start), end, err)
			}
		}
	}
}

// pebbleLogger routes Pebble's messages to slog, and its fatal errors to the Fatal hook.
type pebbleLogger struct {
	log    *slog.Logger
	faults *faults
}

// Infof is Pebble's routine chatter (WAL replay, compactions): debug level.
func (l pebbleLogger) Infof(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...))
}

// Fatalf is Pebble reporting a broken invariant or a failed WAL write or sync: it must not return
// (after a failed commit Pebble would return success to the writer), and continuing could
// acknowledge writes that are not durable. The Fatal hook runs first; if it returns, Fatalf panics,
// and the commit that called it turns the panic into its error (Store.commit).
func (l pebbleLogger) Fatalf(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	l.faults.fail(err)
	panic(fatalPanic{err})
}
