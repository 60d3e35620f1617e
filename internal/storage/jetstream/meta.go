package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"kinesisd/internal/clock"
	"kinesisd/internal/storage"
)

// openBucket binds the metadata bucket, creating it the first time. The bucket's stream is created
// here rather than by jetstream.CreateKeyValue for one setting: AllowDirect off. Direct gets may be
// answered by any replica, also one a little behind, and a front-end must read the metadata another
// front-end has just written (a stream created on one is described on the other); with AllowDirect
// off, Get asks the stream leader. Everything else is what CreateKeyValue sets for a bucket with
// history 1.
func (s *Store) openBucket(ctx context.Context) (jetstream.KeyValue, error) {
	bucket := s.bucketName()
	cfg := jetstream.StreamConfig{
		Name:              "KV_" + bucket,
		Description:       "kinesisd metadata",
		Subjects:          []string{"$KV." + bucket + ".>"},
		MaxMsgsPerSubject: 1,
		MaxBytes:          -1,
		MaxMsgSize:        -1,
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		Storage:           jetstream.FileStorage,
		Replicas:          s.replicas,
		AllowRollup:       true,
		DenyDelete:        true,
		Duplicates:        2 * time.Minute,
		Discard:           jetstream.DiscardNew,
		AllowDirect:       false,
	}
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	// A cluster that has just formed (or lost a node a moment ago) may not yet count every peer as
	// online: placement fails until it does, so it is tried again within the timeout.
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		_, err := s.js.CreateStream(ctx, cfg)
		if err == nil || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			break
		}
		if !noPeersForPlacement(err) || clock.Sleep(ctx, wait) != nil {
			return nil, fmt.Errorf("jetstream: create metadata bucket %s (%d replicas): %w", bucket, s.replicas, err)
		}
	}
	// Created a moment ago, by this process or another starting beside it, the bucket may have no
	// leader yet: its first Get would go unanswered until it times out.
	if err := s.waitLeader(ctx, cfg.Name); err != nil {
		return nil, fmt.Errorf("jetstream: metadata bucket %s: %w", bucket, err)
	}
	kv, err := s.js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("jetstream: bind metadata bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// noPeersForPlacement reports whether err is JetStream's "no suitable peers for placement" (error code
// 10005): too few servers online for the replicas asked, for now.
func noPeersForPlacement(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10005
}

// GetMeta implements storage.Store.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	// A read: an attempt that got no answer (the bucket's leader changing) is made again, as api does.
	wait := firstAttemptWait
	for {
		actx, acancel := context.WithTimeout(ctx, wait)
		e, err := s.kv.Get(actx, encodeKey(key))
		acancel()
		if err == nil {
			return e.Value(), e.Revision(), nil
		}
		if ctx.Err() != nil || !apiRetryable(err) {
			return nil, 0, metaErr("get", key, err)
		}
		if err := clock.Sleep(ctx, 20*time.Millisecond); err != nil {
			return nil, 0, metaErr("get", key, err)
		}
		wait = min(2*wait, maxAttemptWait)
	}
}

// PutMeta implements storage.Store: Create (version 0) or Update with the revision as the expected
// last sequence of the key's subject, which JetStream checks atomically.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte, version uint64) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	var rev uint64
	var err error
	if version == 0 {
		rev, err = s.kv.Create(ctx, encodeKey(key), value)
	} else {
		rev, err = s.kv.Update(ctx, encodeKey(key), value, version)
	}
	if err != nil {
		return 0, metaErr("put", key, err)
	}
	return rev, nil
}

// DeleteMeta implements storage.Store. The delete marker is written only if the key's last revision
// is version; when it is not, a Get tells ErrNotFound from ErrConflict (that answer may be a moment
// old, the refusal itself is atomic). A delete marker's revision is never handed out as a version,
// so no caller can hold one to delete an absent key with.
func (s *Store) DeleteMeta(ctx context.Context, key string, version uint64) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	enc := encodeKey(key)
	if version != 0 { // version 0 would delete unconditionally
		err := s.kv.Delete(ctx, enc, jetstream.LastRevision(version))
		if err == nil {
			return nil
		}
		if !errors.Is(metaErr("delete", key, err), storage.ErrConflict) {
			return metaErr("delete", key, err)
		}
	}
	if _, err := s.kv.Get(ctx, enc); err != nil {
		return metaErr("delete", key, err)
	}
	return fmt.Errorf("delete meta %q: %w", key, storage.ErrConflict)
}

// ListMeta implements storage.Store: a watch over the keys under the prefix's complete segments
// (keys.go) delivers the last value of each, then the keys are decoded, filtered and sorted.
//
// The watch's consumer may be placed on any replica of the bucket, and one a little behind the
// leader would list what the bucket held a moment ago (a stream another front-end has just created
// missing from ListStreams). So with replicas the listing is checked with the leader: if the bucket
// holds a message under the filter past the last one the watch delivered (delete markers included),
// the replica was behind, and the listing is made again.
func (s *Store) ListMeta(ctx context.Context, prefix string) ([]storage.MetaEntry, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	pause := 10 * time.Millisecond
	for {
		out, last, err := s.listOnce(ctx, prefix)
		if err != nil || s.replicas == 1 {
			return out, err
		}
		bucket := s.bucketName()
		m, err := s.leaderGet(ctx, "KV_"+bucket, directGet{Seq: last + 1, NextFor: "$KV." + bucket + "." + listFilter(prefix)})
		if err != nil {
			return nil, fmt.Errorf("list meta %q: %w", prefix, err)
		}
		if m == nil {
			return out, nil
		}
		if err := clock.Sleep(ctx, pause); err != nil {
			return nil, fmt.Errorf("list meta %q: the replicas stay behind the leader: %w", prefix, err)
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// listOnce lists the keys under prefix with one watch, and returns the highest revision it delivered
// (of a value or a delete marker).
func (s *Store) listOnce(ctx context.Context, prefix string) ([]storage.MetaEntry, uint64, error) {
	w, err := s.kv.Watch(ctx, listFilter(prefix))
	if err != nil {
		return nil, 0, fmt.Errorf("list meta %q: %w", prefix, err)
	}
	defer w.Stop()
	var out []storage.MetaEntry
	var last uint64
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // the initial values are all delivered
				slices.SortFunc(out, func(a, b storage.MetaEntry) int { return strings.Compare(a.Key, b.Key) })
				return out, last, nil
			}
			last = max(last, e.Revision())
			if e.Operation() != jetstream.KeyValuePut {
				continue
			}
			key, err := decodeKey(e.Key())
			if err != nil {
				s.log.Warn("metadata key not written by kinesisd, skipped", "key", e.Key())
				continue
			}
			if strings.HasPrefix(key, prefix) && !strings.HasPrefix(key, floorPrefix) {
				out = append(out, storage.MetaEntry{Key: key, Value: e.Value(), Version: e.Revision()})
			}
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("list meta %q: %w", prefix, ctx.Err())
		}
	}
}

// metaErr maps the key-value errors onto the contract's sentinels.
func metaErr(op, key string, err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return fmt.Errorf("%s meta %q: %w", op, key, storage.ErrNotFound)
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch),
		errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant):
		return fmt.Errorf("%s meta %q: %w", op, key, storage.ErrConflict)
	}
	return fmt.Errorf("%s meta %q: %w", op, key, err)
}
