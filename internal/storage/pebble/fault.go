package pebble

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"kinesisd/internal/storage"
)

// flushFailFatalAfter is how long memtable flushes may keep failing before the engine gives up
// (Fatal). Pebble retries a failed flush at once, without backoff, and keeps accepting writes into
// the memtables it cannot flush until memTableStopWrites of them are full; then every commit waits
// for a flush that never succeeds: the writers would hang. A flush fails on a table write or sync
// error (ENOSPC, EIO); space freed by an operator or by compactions may make a retry succeed, which
// the delay allows for. At the benchmark's rate (about 64 MB/s) the memtables (4 × 32 MiB) fill in
// about 2 s, so writers wait at most this long before the process exits and a supervisor restarts it.
const flushFailFatalAfter = 10 * time.Second

// errFailed is the error of writes after the engine failed (the Fatal hook returned).
var errFailed = errors.New("pebble: the storage engine failed; restart the server")

// fatalPanic is the panic value of pebbleLogger.Fatalf once the Fatal hook has returned.
type fatalPanic struct{ err error }

// faults holds the Fatal hook, the engine's failure (the first fatal error) and the corruption count.
type faults struct {
	log            *slog.Logger
	hook           func(error)
	flushFailAfter time.Duration
	corruptions    atomic.Uint64

	mu            sync.Mutex
	err           error     // the first fatal error; guarded by mu
	flushFailed   time.Time // when the current streak of failed flushes began (zero: none); guarded by mu
	flushLastFail time.Time // the streak's last failure; guarded by mu
	flushLogged   time.Time // when a failed flush was last logged; guarded by mu
}

func (f *faults) init(log *slog.Logger, hook func(error), flushFailAfter time.Duration) {
	f.log, f.hook, f.flushFailAfter = log, hook, flushFailAfter
	if f.flushFailAfter <= 0 {
		f.flushFailAfter = flushFailFatalAfter
	}
}

// fail records err as the engine's failure, logs it and calls the Fatal hook. With no hook it panics.
func (f *faults) fail(err error) {
	f.mu.Lock()
	first := f.err == nil
	if first {
		f.err = err
	}
	f.mu.Unlock()
	if first {
		f.log.Error("storage engine failed", "err", err)
	}
	if f.hook == nil {
		panic(err)
	}
	if first {
		f.hook(err)
	}
}

// failed returns the engine's failure, nil while it runs.
func (f *faults) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return fmt.Errorf("%w: %w", errFailed, f.err)
	}
	return nil
}

// flushEnded follows flushes' outcomes and fails the engine once they have failed, one retry after
// another, for flushFailFatalAfter. Pebble's "empty table" (a flush with nothing to write) is not a
// failure; a failure more than a second after the previous one starts a new streak (Pebble retries at
// once, so a streak is a tight series). It reports whether the failure is worth a log line: the
// first of a streak, then one a second.
func (f *faults) flushEnded(err error) (logIt bool) {
	if err != nil && strings.Contains(err.Error(), "pebble: empty table") {
		err = nil
	}
	now := time.Now()
	f.mu.Lock()
	if err == nil {
		f.flushFailed = time.Time{}
		f.mu.Unlock()
		return false
	}
	if f.flushFailed.IsZero() || now.Sub(f.flushLastFail) > time.Second {
		f.flushFailed = now
	}
	f.flushLastFail = now
	if now.Sub(f.flushLogged) >= time.Second {
		f.flushLogged, logIt = now, true
	}
	since := now.Sub(f.flushFailed)
	f.mu.Unlock()
	if since >= f.flushFailAfter {
		f.fail(fmt.Errorf("pebble: memtable flushes have failed for %s, writes would stall for good: %w", since.Round(time.Millisecond), err))
	}
	return logIt
}

// commit commits b, turning a panic (Pebble's Fatalf after the Fatal hook returned, or any other
// panic of the commit path) into the returned error. A panic that did not come through Fatalf is
// reported to the Fatal hook first.
func (s *Store) commit(b *pebble.Batch) error {
	return s.apply(func() error { return b.Commit(s.wopts) })
}

// apply runs a write to the database (a commit), as commit does.
func (s *Store) apply(write func() error) (err error) {
	if err := s.faults.failed(); err != nil {
		return err
	}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if s.faults.hook == nil {
			panic(r) // the default: a failed engine panics (tests)
		}
		fp, ok := r.(fatalPanic)
		if !ok {
			fp.err = fmt.Errorf("pebble: panic in commit: %v", r)
			s.faults.fail(fp.err)
		}
		err = fmt.Errorf("%w: %w", errFailed, fp.err)
	}()
	return write()
}

// readFailure turns an error or panic of a read into the error Read returns: corruption (Pebble's
// corruption errors, or a panic: Pebble panics on some damaged blocks) wraps storage.ErrCorrupt and
// is counted, once per failed read.
func (s *Store) readFailure(err error, panicked any) error {
	if panicked != nil {
		err = fmt.Errorf("pebble panicked: %v: %w", panicked, pebble.ErrCorruption)
		s.log.Error("read panicked", "err", err)
	}
	if pebble.IsCorruptionError(err) || errors.Is(err, errCorrupt) {
		s.faults.corruptions.Add(1)
		return fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
	}
	return err
}
