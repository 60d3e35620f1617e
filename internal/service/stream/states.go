package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/storage"
)

// Config is what States needs.
type Config struct {
	Store   storage.Store
	Clock   clock.Clock
	Log     *slog.Logger
	Account string // the account and region whose streams these are
	Region  string
	// CreateDelay, DeleteDelay and UpdateDelay are how long a stream stays CREATING, DELETING and
	// UPDATING; ConsumerDelay how long a consumer stays CREATING and DELETING.
	CreateDelay, DeleteDelay, UpdateDelay, ConsumerDelay time.Duration
	// Purged is called after a deleted stream's document and records are gone, for what else the
	// service keeps of it (nil: nothing).
	Purged func(ctx context.Context, streamID uint64)
}

// States holds the streams of one account: it loads, caches, settles and changes their documents. It
// is safe for concurrent use.
type States struct {
	cfg   Config
	mu    sync.Mutex         // guards cache
	cache map[string]*Stream // decoded documents by meta key, as stored (not settled)
	gates gates
}

// New returns the States of cfg.Account over cfg.Store.
func New(cfg Config) *States {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &States{cfg: cfg, cache: make(map[string]*Stream)}
}

// MetaPrefix is the prefix of every stream document's meta key, "stream/<account>/<region>/<name>"
// (export and import copy them).
const MetaPrefix = "stream/"

func (s *States) key(name string) string {
	return MetaPrefix + s.cfg.Account + "/" + s.cfg.Region + "/" + name
}

// MoveIntoRegion moves the stream documents written before streams lived per region,
// "stream/<account>/<name>", to region: their records, consumers and leases follow them (they are
// keyed by the stream's incarnation id). A move interrupted halfway is finished the next time.
func MoveIntoRegion(ctx context.Context, store storage.Store, region string) error {
	entries, err := store.ListMeta(ctx, MetaPrefix)
	if err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	for _, e := range entries {
		account, name, ok := strings.Cut(strings.TrimPrefix(e.Key, MetaPrefix), "/")
		if !ok || strings.Contains(name, "/") {
			continue // a key of today's layout (or not a stream's)
		}
		_, err := store.PutMeta(ctx, MetaPrefix+account+"/"+region+"/"+name, e.Value, 0)
		if err != nil && !errors.Is(err, storage.ErrConflict) { // conflict: moved before, not yet deleted
			return fmt.Errorf("move stream %s into %s: %w", name, region, err)
		}
		if err := store.DeleteMeta(ctx, e.Key, e.Version); err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("move stream %s into %s: %w", name, region, err)
		}
	}
	return nil
}

// NotFound is the API's error for a stream of this account that does not exist.
func (s *States) NotFound(name string) error { return kerr.StreamNotFound(name, s.cfg.Account) }

// Load returns the stream named name as it stands now, or nil when there is none: state transitions
// whose delay has passed are applied, and pending changes whose UPDATING has ended take effect first
// (which takes the stream's write gate: never call it while holding the gate; see Writes).
func (s *States) Load(ctx context.Context, name string) (*Stream, error) {
	st, err := s.Peek(ctx, name)
	if err != nil || st == nil || !st.PendingDue() {
		return st, err
	}
	return s.ApplyDue(ctx, name)
}

// Peek is Load leaving pending changes as they are: for reads that need no shards, and for callers
// holding a write gate.
func (s *States) Peek(ctx context.Context, name string) (*Stream, error) {
	raw, version, err := s.cfg.Store.GetMeta(ctx, s.key(name))
	if errors.Is(err, storage.ErrNotFound) {
		s.forget(s.key(name)) // purged, perhaps by another front-end
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load stream %s: %w", name, err)
	}
	st, err := s.cached(s.key(name), raw, version)
	if err != nil {
		return nil, fmt.Errorf("decode stream %s: %w", name, err)
	}
	return s.settle(ctx, st)
}

// Cached returns the stream named name as this process last read it, without reading the store, or
// nil when it has not read it (or it is gone). It may be a change behind: for checks that tolerate that
// (a resource policy, as IAM's own policy changes take a moment to apply), never for changes.
func (s *States) Cached(name string) *Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache[s.key(name)]
}

// cached decodes a stored document, or returns the decoding already cached for its version.
func (s *States) cached(key string, raw []byte, version uint64) (*Stream, error) {
	s.mu.Lock()
	c := s.cache[key]
	s.mu.Unlock()
	if c != nil && c.Version == version {
		return c, nil
	}
	st, err := Decode(raw, version)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[key] = st
	s.mu.Unlock()
	return st, nil
}

// Scan calls fn with each of the account's streams as Peek returns them, in name order, from one
// listing of the store, until fn returns false. It never waits for a gate, so it may run under one.
func (s *States) Scan(ctx context.Context, fn func(*Stream) bool) error {
	prefix := s.key("")
	entries, err := s.cfg.Store.ListMeta(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	for _, e := range entries {
		st, err := s.cached(e.Key, e.Value, e.Version)
		if err == nil {
			st, err = s.settle(ctx, st)
		}
		if err != nil {
			return fmt.Errorf("stream %s: %w", strings.TrimPrefix(e.Key, prefix), err)
		}
		if st != nil && !fn(st) {
			return nil
		}
	}
	return nil
}

// Each calls fn with each of the account's streams as Load returns them, skipping those gone
// meanwhile, until fn returns an error, which Each returns.
func (s *States) Each(ctx context.Context, fn func(*Stream) error) error {
	var names []string
	err := s.Scan(ctx, func(st *Stream) bool {
		names = append(names, st.Doc.Name)
		return true
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		st, err := s.Load(ctx, name)
		if err != nil {
			return err
		}
		if st == nil {
			continue
		}
		if err := fn(st); err != nil {
			return err
		}
	}
	return nil
}

// settle applies the state transitions whose delay has passed: CREATING and UPDATING become ACTIVE,
// and a DELETING stream goes (nil), its data with it. Transitions are computed from the clock when a
// stream is read, so no timer is needed and tests drive them with a fake clock. (Pending changes are
// not settle's: they need the write gate.)
func (s *States) settle(ctx context.Context, st *Stream) (*Stream, error) {
	var delay time.Duration
	switch st.Doc.Status {
	case StatusCreating:
		delay = s.cfg.CreateDelay
	case StatusUpdating:
		delay = s.cfg.UpdateDelay
	case StatusDeleting:
		delay = s.cfg.DeleteDelay
	default:
		return st, nil
	}
	if s.cfg.Clock.Now().Before(Milli(st.Doc.StatusMilli).Add(delay)) {
		return st, nil
	}
	if st.Doc.Status == StatusDeleting {
		return nil, s.purge(ctx, st)
	}
	settled := *st
	settled.Doc.Status = StatusActive
	return &settled, nil
}

// purge removes a deleted stream's document and records, then tells cfg.Purged.
func (s *States) purge(ctx context.Context, st *Stream) error {
	err := s.cfg.Store.DeleteMeta(ctx, s.key(st.Doc.Name), st.Version)
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return nil // someone else purged it (or recreated the name) first
	}
	if err != nil {
		return fmt.Errorf("purge stream %s: %w", st.Doc.Name, err)
	}
	if err := s.cfg.Store.DropStream(ctx, st.Doc.ID); err != nil {
		// The stream is gone from the API already; its records are unreachable (new incarnations get new
		// ids). Log rather than fail an operation that has taken effect.
		s.cfg.Log.Error("drop stream data", "stream", st.Doc.Name, "err", err)
	}
	s.forget(s.key(st.Doc.Name))
	if s.cfg.Purged != nil {
		s.cfg.Purged(ctx, st.Doc.ID)
	}
	return nil
}

// forget drops a purged stream's decoding from the cache, so that the cache holds only streams that
// exist (names come and go: test suites create and delete streams under new names all day).
func (s *States) forget(key string) {
	s.mu.Lock()
	delete(s.cache, key)
	s.mu.Unlock()
}

// Create saves a new stream's document; storage.ErrConflict if the name is taken.
func (s *States) Create(ctx context.Context, d *Doc) error {
	return s.save(ctx, d, 0)
}

func (s *States) save(ctx context.Context, d *Doc, version uint64) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = s.cfg.Store.PutMeta(ctx, s.key(d.Name), raw, version)
	return err
}

// Mutate applies change to the current document of stream name and saves it with compare-and-set,
// retrying from a fresh read when another change got in first. change sees a private copy of the
// settled document (due pending changes applied) and returns a kerr error to refuse; then nothing is
// written. It returns the stream as saved (nil if it is gone), or the API's ResourceNotFoundException.
func (s *States) Mutate(ctx context.Context, name string, change func(d *Doc) error) (*Stream, error) {
	return s.mutate(ctx, name, s.Load, change)
}

func (s *States) mutate(ctx context.Context, name string, load func(context.Context, string) (*Stream, error), change func(d *Doc) error) (*Stream, error) {
	for {
		st, err := load(ctx, name)
		if err != nil {
			return nil, Internal("load stream", err)
		}
		if st == nil {
			return nil, s.NotFound(name)
		}
		d, err := st.Doc.Clone()
		if err != nil {
			return nil, Internal("copy stream", err)
		}
		if err := change(&d); err != nil {
			return nil, err
		}
		err = s.save(ctx, &d, st.Version)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, Internal("save stream", err)
		}
		return load(ctx, name)
	}
}

// Reshard is Mutate with the stream's write gate held exclusively, for changes that take effect when
// UPDATING ends (pending.go): a pending change that is due takes effect before change sees the
// document, and what change schedules takes effect at once when there is no update delay. Taking
// effect is a second compare-and-set after the one that records the change: the shards it closes are
// sealed in the store before the document saying so is saved, and should this front-end stop in
// between, the recorded change is what lets the next user of the stream, here or elsewhere, finish the
// job (sealing again returns the same ends). A shard sealed for a change that no document records
// would refuse every write for good.
func (s *States) Reshard(ctx context.Context, name string, change func(d *Doc) error) (*Stream, error) {
	gt := s.lockExclusive(name)
	defer s.unlockExclusive(name, gt)
	st, err := s.mutate(ctx, name, s.Peek, func(d *Doc) error {
		if err := s.applyDue(ctx, d); err != nil {
			return err
		}
		return change(d)
	})
	if err != nil || st == nil || !st.Doc.due(s.cfg.Clock.Now(), s.cfg.UpdateDelay) {
		return st, err
	}
	return s.applyDueLocked(ctx, name)
}

// ApplyDue makes the due pending changes of stream name take effect, with its write gate held
// exclusively, and returns the stream as it is then (nil if it is gone).
func (s *States) ApplyDue(ctx context.Context, name string) (*Stream, error) {
	gt := s.lockExclusive(name)
	defer s.unlockExclusive(name, gt)
	return s.applyDueLocked(ctx, name)
}

// errNothingDue stops applyDueLocked's compare-and-set when another call has applied the change first.
var errNothingDue = errors.New("nothing due")

func (s *States) applyDueLocked(ctx context.Context, name string) (*Stream, error) {
	st, err := s.mutate(ctx, name, s.Peek, func(d *Doc) error {
		if !d.due(s.cfg.Clock.Now(), s.cfg.UpdateDelay) {
			return errNothingDue
		}
		return s.applyDue(ctx, d)
	})
	var nf *kerr.ResourceNotFound
	if errors.Is(err, errNothingDue) || errors.As(err, &nf) {
		return s.Peek(ctx, name)
	}
	return st, err
}

// applyDue applies d's pending changes if their UPDATING has ended.
func (s *States) applyDue(ctx context.Context, d *Doc) error {
	now := s.cfg.Clock.Now()
	if !d.due(now, s.cfg.UpdateDelay) {
		return nil
	}
	if err := (reshaper{ctx, s.cfg.Store, now.UnixMilli()}).applyPending(d); err != nil {
		return Internal("reshard", err)
	}
	return nil
}

func (s *States) lockExclusive(name string) *gate {
	gt := s.gates.acquire(name)
	gt.Lock()
	return gt
}

func (s *States) unlockExclusive(name string, gt *gate) {
	gt.Unlock()
	s.gates.release(name, gt)
}

// Writes is a stream's write gate held shared: until Release, no resharding closes the stream's shards
// in this process, so records routed to them may be appended.
type Writes struct {
	s    *States
	name string
	gt   *gate
}

// HoldWrites takes the write gate of stream name, shared. The caller loads the stream with
// Writes.Load, routes and appends, then calls Release.
func (s *States) HoldWrites(name string) *Writes {
	gt := s.gates.acquire(name)
	gt.RLock()
	return &Writes{s: s, name: name, gt: gt}
}

// Load is Peek under the gate: the stream with its shards as they are (a due pending change cannot
// take effect while the gate is held; see Stream.PendingDue).
func (w *Writes) Load(ctx context.Context) (*Stream, error) { return w.s.Peek(ctx, w.name) }

// Release gives the gate back.
func (w *Writes) Release() {
	w.gt.RUnlock()
	w.s.gates.release(w.name, w.gt)
}

// Internal wraps an unexpected failure; the edge logs it and answers InternalFailureException. A write
// the store refused for lack of disk space (storage.ErrNoSpace: nothing written, retryable) is answered
// as InternalFailureException too (HTTP 500, which the SDKs retry), with a message that says so instead
// of a log line per request.
func Internal(op string, err error) error {
	if errors.Is(err, storage.ErrNoSpace) {
		return kerr.NewInternalFailure(DiskFullMessage)
	}
	var ke kerr.Error
	if errors.As(err, &ke) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// DiskFullMessage is InternalFailureException's message for a write refused by storage.ErrNoSpace.
const DiskFullMessage = "The server's disk is full: writes are refused until space is freed."
