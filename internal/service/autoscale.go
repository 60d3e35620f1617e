package service

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"time"

	"kinesisd/internal/storage"
)

// ON_DEMAND scaling: every append to an ON_DEMAND stream is counted per shard over a sliding window of
// the service clock (cfg.OnDemandWindow). A shard whose average over the window passes 80% of a shard's
// write capacity (ShardRecordsPerSecond records or ShardBytesPerSecond bytes a second) is split at the
// midpoint of its hash-key range, within the account's shard limit, when the UPDATING it starts ends
// (pending.go; the shard takes writes until then, and a second split waits). The split runs on its own
// goroutine, after the write that triggered it has returned, so writes never wait for it; one trigger
// makes one split attempt, and a failed attempt waits a tenth of the window before the next.

const scaleThreshold = 0.8

// autoscaler holds the write load of ON_DEMAND shards. Lock order: a stream's write gate, then mu.
type autoscaler struct {
	mu    sync.Mutex
	loads map[storage.ShardRef]*shardLoad
	wg    sync.WaitGroup // running splits
}

// shardLoad is one shard's writes in the window, in buckets of a sixtieth of the window.
type shardLoad struct {
	buckets        []loadBucket // oldest first
	records, bytes int64        // totals over buckets
	splitting      bool         // a split is under way
	retryAfter     int64        // ms: no attempt before this after a failed one
}

type loadBucket struct {
	slot           int64 // time / bucket width
	records, bytes int64
}

var (
	errNoSplit   = errors.New("no split")
	errShardGone = errors.New("shard closed or gone")
)

// noteWrites is told of every successful append, for the ON_DEMAND scaling of streams.
func (s *Service) noteWrites(st *stream, appends []storage.Append, sealed *storage.SealedError) {
	if st.doc.Mode != streamModeOnDemand {
		return
	}
	now := s.now()
	window := s.cfg.OnDemandWindow
	width := max(window.Milliseconds()/60, 1)
	slot := now.UnixMilli() / width
	oldest := (now.UnixMilli() - window.Milliseconds()) / width
	secs := window.Seconds()
	maxRecords := scaleThreshold * float64(s.cfg.ShardRecordsPerSecond) * secs
	maxBytes := scaleThreshold * float64(s.cfg.ShardBytesPerSecond) * secs

	a := &s.scaler
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.loads == nil {
		a.loads = make(map[storage.ShardRef]*shardLoad)
	}
	for _, ap := range appends {
		if sealed != nil && sealed.Sealed(ap.Shard) {
			continue // not written
		}
		l := a.loads[ap.Shard]
		if l == nil {
			l = &shardLoad{}
			a.loads[ap.Shard] = l
		}
		var n, b int64
		for i := range ap.Records {
			n++
			b += int64(ap.Records[i].Size())
		}
		if k := len(l.buckets); k > 0 && l.buckets[k-1].slot == slot {
			l.buckets[k-1].records += n
			l.buckets[k-1].bytes += b
		} else {
			l.buckets = append(l.buckets, loadBucket{slot, n, b})
		}
		l.records += n
		l.bytes += b
		for len(l.buckets) > 0 && l.buckets[0].slot <= oldest {
			l.records -= l.buckets[0].records
			l.bytes -= l.buckets[0].bytes
			l.buckets = l.buckets[1:]
		}
		hot := float64(l.records) > maxRecords || float64(l.bytes) > maxBytes
		if !hot || l.splitting || now.UnixMilli() < l.retryAfter {
			continue
		}
		l.splitting = true
		ref := ap.Shard
		a.wg.Go(func() { s.autoSplit(st.doc.Name, ref) })
	}
}

// autoSplit splits a hot ON_DEMAND shard at its midpoint.
func (s *Service) autoSplit(name string, ref storage.ShardRef) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := s.now().UnixMilli()
	_, err := s.reshard(ctx, name, func(doc *streamDoc) error {
		i := doc.shardAt(ref.Shard)
		if doc.ID != ref.StreamID || i < 0 || doc.Shards[i].Closed {
			return errShardGone
		}
		if doc.Mode != streamModeOnDemand || doc.Status != statusActive {
			return errNoSplit
		}
		start, _ := parseHashKey(doc.Shards[i].StartHash)
		end, _ := parseHashKey(doc.Shards[i].EndHash)
		if start == end {
			return errNoSplit
		}
		if s.checkShardLimit(ctx, 1) != nil {
			return errNoSplit
		}
		doc.schedule(pendingChange{Kind: pendingSplit, Shard: ref.Shard, HashKey: midpoint(start, end).String()}, now)
		return nil
	})
	a := &s.scaler
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil || errors.Is(err, errShardGone) || isStreamNotFound(err) {
		// Closed or closing (or gone): a write to it while the split waits starts a new count, whose
		// split attempt finds the stream UPDATING or the shard closed.
		delete(a.loads, ref)
		return
	}
	if !errors.Is(err, errNoSplit) {
		s.log.Error("on-demand split", "stream", name, "shard", shardID(ref.Shard), "err", err)
	}
	if l := a.loads[ref]; l != nil {
		l.splitting = false
		l.retryAfter = s.now().UnixMilli() + max(s.cfg.OnDemandWindow.Milliseconds()/10, 1)
	}
}

// midpoint is the first key of the upper half of [start, end] (start < end).
func midpoint(start, end hashKey) hashKey {
	sum := new(big.Int).Add(start.big(), end.big())
	sum.Add(sum, big.NewInt(1))
	return fromBig(sum.Rsh(sum, 1))
}

// WaitScaling waits for the ON_DEMAND splits under way; the server calls it before closing the store.
func (s *Service) WaitScaling() { s.scaler.wg.Wait() }
