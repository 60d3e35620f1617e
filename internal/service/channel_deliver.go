package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"kinesisd/internal/channel/s3dest"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Delivery: RunChannels (one loop per process) looks at every channel each second; for each ACTIVE or
// UPDATING channel it takes the channel's lease (one front-end delivers a channel at a time; the
// lease is renewed while it delivers, and taken over once its holder has not renewed it for
// channelLeaseTTL) and runs the channel's delivery until the channel goes or the lease is lost.
//
// A delivery reads the stream's shards from where the destination says it stands (its position: the
// next offset of every shard), parents drained before their children, and writes one object per run
// of records of one shard once the run is big enough (deliverMaxBytes, deliverMaxRecords) or its first
// record is nearly DataFreshnessInSeconds old (passCost: early enough for the write to end in time). Exactly once: an object's key is made of its first record
// (s3dest.Key), so a run delivered again after a crash starts at the same record and replaces the
// object it wrote before (a superset: runs only grow); after the objects it writes the position
// (positionKey) in the destination; a restart, or another front-end taking over, resumes from there.
// An S3 Tables destination keeps its position in the snapshot that commits the records, one snapshot
// for the due runs of all the shards (a commit is a Parquet file, a manifest and a snapshot: costly).

const (
	// deliverMaxBytes and deliverMaxRecords bound one object (or one table commit): a run of records
	// this big is delivered without waiting for its freshness.
	deliverMaxBytes   = 8 << 20
	deliverMaxRecords = 50000
	// tableMaxBytes and tableMaxRecords bound one table commit, which holds the due runs of several
	// shards (tableBytes): a commit writes a Parquet file, a manifest and a snapshot, which costs the
	// writer about 22 ms besides its records (fitted from Appends of 2,000 to 32,000 JSON records of
	// 1 KiB), so fewer, larger commits deliver more. The Iceberg writer's process takes a large
	// Append in frames of at most 4 MiB (icebergproc), so the bound is not gob's.
	tableMaxBytes   = 32 << 20
	tableMaxRecords = 2 * deliverMaxRecords
	// channelScanEvery is how often RunChannels looks for channels to start or stop, and how often a
	// delivery with nothing due rereads its channel (a changed freshness, a deletion).
	channelScanEvery = time.Second
	// channelLeaseTTL is how long a lease stays its holder's without renewal; channelLeaseRenew is how
	// often a delivery renews it.
	channelLeaseTTL   = 10 * time.Second
	channelLeaseRenew = 2 * time.Second
	// retryMin and retryMax bound the backoff after a failed write to the destination.
	retryMin, retryMax = 200 * time.Millisecond, 5 * time.Second
)

// channelsRefused is why CreateChannel refuses a channel to S3 (tables false) or to S3 Tables, or "".
func (s *Service) channelsRefused(tables bool) string {
	if tables && s.cfg.ChannelObjects != nil && s.cfg.ChannelTables == nil {
		return cmp.Or(s.cfg.TablesOff, "Channels to S3 Tables need an Iceberg catalog on this server: it runs on NATS JetStream, where there is no embedded one. Start kinesisd with -iceberg-catalog.")
	}
	if s.cfg.ChannelObjects == nil {
		return cmp.Or(s.cfg.ChannelsOff, "Channels are not available on this server: it has no S3 destination.")
	}
	return ""
}

// countGap counts in Expired the offsets (or, on a store with sparse offsets, the ordinals) [low,
// high) of shard that were not counted before (a retried delivery reads its position again, and finds
// the same gap), and returns how many.
func (c *ChannelStats) countGap(shard uint32, low, high uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expiredUpTo == nil {
		c.expiredUpTo = make(map[uint32]uint64)
	}
	low = max(low, c.expiredUpTo[shard])
	if high <= low {
		return 0
	}
	c.expiredUpTo[shard] = high
	c.Expired.Add(int64(high - low))
	return high - low
}

// ChannelStatsAll returns the figures of every channel delivered in this process since it started.
func (s *Service) ChannelStatsAll() []*ChannelStats {
	r := s.channels.run.Load()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*ChannelStats, 0, len(r.stats))
	for _, st := range r.stats {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *ChannelStats) int { return strings.Compare(a.Channel, b.Channel) })
	return out
}

// RunChannels delivers the channels of every account and region until ctx ends. Call it once per
// process, on the root Service.
func (s *Service) RunChannels(ctx context.Context) {
	r := &deliveries{owner: rand.Text(), run: make(map[string]*delivery), stats: make(map[string]*ChannelStats)}
	s.channels.run.Store(r)
	defer func() {
		r.mu.Lock()
		for _, d := range r.run {
			d.cancel()
		}
		r.mu.Unlock()
		r.wg.Wait()
	}()
	t := time.NewTicker(channelScanEvery)
	defer t.Stop()
	for {
		if err := s.scanChannels(ctx, r); err != nil && ctx.Err() == nil {
			s.log.Warn("channels: scan", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scanChannels starts the deliveries of the channels that should run and whose lease is free.
func (s *Service) scanChannels(ctx context.Context, r *deliveries) error {
	entries, err := s.store.ListMeta(ctx, "channel/")
	if err != nil {
		return err
	}
	for _, e := range entries {
		parts := strings.Split(strings.TrimPrefix(e.Key, "channel/"), "/")
		if len(parts) != 3 {
			continue
		}
		r.mu.Lock()
		running := r.run[e.Key]
		r.mu.Unlock()
		if running != nil {
			continue
		}
		scope := s.For(parts[0], parts[1])
		d, _, err := scope.loadChannel(ctx, parts[2])
		if err != nil || d == nil || (d.Status != channelActive && d.Status != channelUpdating) {
			continue
		}
		if ok, err := scope.takeChannelLease(ctx, d.ID, r.owner); err != nil || !ok {
			continue
		}
		dctx, cancel := context.WithCancel(ctx)
		dv := &delivery{cancel: cancel, done: make(chan struct{})}
		r.mu.Lock()
		stats := r.stats[e.Key]
		if stats == nil {
			stats = &ChannelStats{Account: parts[0], Region: parts[1], Channel: d.Name}
			r.stats[e.Key] = stats
		}
		r.run[e.Key] = dv
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer close(dv.done)
			defer func() {
				r.mu.Lock()
				delete(r.run, e.Key)
				r.mu.Unlock()
				cancel()
			}()
			scope.deliverChannel(dctx, d.ID, r.owner, stats)
		}()
	}
	return nil
}

// channelLease is a channel's delivery lease as stored.
type channelLease struct {
	Owner        string `json:"owner"`
	RenewedMilli int64  `json:"renewed"`
}

func (s *Service) channelLeaseKey(id string) string {
	return "channel-lease/" + s.cfg.Account + "/" + s.cfg.Region + "/" + id
}

// takeChannelLease takes or renews the lease of channel id for owner: it is taken when there is none,
// when it is owner's, or when its holder has not renewed it for channelLeaseTTL.
func (s *Service) takeChannelLease(ctx context.Context, id, owner string) (bool, error) {
	if !s.cfg.ChannelLeases {
		return true, nil
	}
	key := s.channelLeaseKey(id)
	for {
		raw, version, err := s.store.GetMeta(ctx, key)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return false, err
		}
		now := time.Now()
		if err == nil {
			var l channelLease
			if json.Unmarshal(raw, &l) == nil && l.Owner != owner && now.Sub(time.UnixMilli(l.RenewedMilli)) < channelLeaseTTL {
				return false, nil
			}
		}
		b, _ := json.Marshal(channelLease{Owner: owner, RenewedMilli: now.UnixMilli()})
		_, err = s.store.PutMeta(ctx, key, b, version)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		return err == nil, err
	}
}

// dropChannelLease deletes owner's lease of channel id, if it still is owner's.
func (s *Service) dropChannelLease(ctx context.Context, id, owner string) {
	if !s.cfg.ChannelLeases {
		return
	}
	key := s.channelLeaseKey(id)
	raw, version, err := s.store.GetMeta(ctx, key)
	if err != nil {
		return
	}
	var l channelLease
	if json.Unmarshal(raw, &l) == nil && l.Owner == owner {
		_ = s.store.DeleteMeta(ctx, key, version)
	}
}

// channelPosition is where a channel stands in its stream: the stream incarnation and the next offset
// to deliver of every shard it has started (the others start at their beginning).
type channelPosition struct {
	StreamID uint64            `json:"streamId"`
	Next     map[uint32]uint64 `json:"next"`
	// Ordinal is, on a store with shardOrdinals, the ordinal of the record at Next of each shard where
	// it is known (a position written before ordinals were kept has none: then nothing is counted).
	Ordinal map[uint32]uint64 `json:"ordinal,omitempty"`
}

// setOrdinal sets the ordinal of shard's Next; 0 forgets it.
func (p *channelPosition) setOrdinal(shard uint32, ord uint64) {
	if ord == 0 {
		delete(p.Ordinal, shard)
		return
	}
	if p.Ordinal == nil {
		p.Ordinal = make(map[uint32]uint64)
	}
	p.Ordinal[shard] = ord
}

// after returns the ordinal after ords[i], or 0 when it is unknown.
func ordinalAfter(ords []uint64, i int) uint64 {
	if i < 0 || i >= len(ords) || ords[i] == 0 {
		return 0
	}
	return ords[i] + 1
}

// positionKey is the destination object that holds a channel's position.
func positionKey(channelID string) string {
	return ".kinesisd/channels/" + channelID + "/position.json"
}

// destination is where one channel writes: its objects or its table.
type destination struct {
	s      *Service
	d      *channelDoc
	format string
}

// position reads where the destination stands.
func (dst *destination) position(ctx context.Context) (channelPosition, error) {
	var raw []byte
	if dst.d.Tables != nil {
		p, ok, err := dst.s.cfg.ChannelTables.Position(ctx, dst.table())
		if err != nil || !ok {
			return channelPosition{}, err
		}
		raw = []byte(p)
	} else {
		b, err := dst.s.cfg.ChannelObjects.Get(ctx, s3dest.BucketName(*dst.d.S3.StorageConfiguration.BucketARN), positionKey(dst.d.ID), dst.storageOptions())
		if errors.Is(err, fs.ErrNotExist) {
			return channelPosition{}, nil
		}
		if err != nil {
			return channelPosition{}, err
		}
		raw = b
	}
	var p channelPosition
	if err := json.Unmarshal(raw, &p); err != nil {
		return channelPosition{}, fmt.Errorf("channel %s: decode position: %w", dst.d.ID, err)
	}
	return p, nil
}

// storageOptions are the options of requests to an S3 destination's bucket.
func (dst *destination) storageOptions() s3dest.ObjectOptions {
	sto := dst.d.S3.StorageConfiguration
	return s3dest.ObjectOptions{ExpectedBucketOwner: deref(sto.ExpectedBucketOwner), StorageClass: deref(sto.StorageClass)}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (dst *destination) table() Table {
	t := dst.d.Tables.S3TablesConfigurationList[0]
	out := Table{Bucket: *t.TableBucketARN, Namespace: *t.Namespace, Name: *t.TableName, Compression: *t.CompressionType}
	if t.PartitionSpec != nil {
		for _, f := range t.PartitionSpec.PartitionFields {
			out.HourPartitions = append(out.HourPartitions, *f.SourceName)
		}
	}
	return out
}

// shardRun is one shard's records due for delivery, and where the shard stands after them.
type shardRun struct {
	shard  uint32
	recs   []s3dest.Record
	next   uint64 // the shard's next offset after recs
	ord    uint64 // the ordinal at next, 0 if unknown
	oldest time.Time
}

// fields are the key fields of run's objects: made of its first record, so that a run delivered again
// starts at the same record and replaces them.
func (dst *destination) fields(run *shardRun) s3dest.KeyFields {
	first := run.recs[0]
	return s3dest.KeyFields{Channel: dst.d.Name, Stream: dst.d.Stream, ShardID: stream.ShardID(run.shard), FirstSequence: first.SequenceNumber, Arrival: first.Arrival}
}

// writeDead writes rejected records of one run (whose key fields are f) to the dead-letter location
// dlq and returns the bytes written.
func (dst *destination) writeDead(ctx context.Context, dlq *DeadLetterQueueS3Configuration, f s3dest.KeyFields, rejected []s3dest.Rejected) (int, error) {
	objects := dst.s.cfg.ChannelObjects
	if objects == nil {
		return 0, errors.New("no object store for the dead-letter location")
	}
	body := s3dest.EncodeDeadLetters(rejected)
	prefix := "error/"
	if dlq.ErrorOutputPrefix != nil {
		prefix = *dlq.ErrorOutputPrefix
	}
	f.Extension = "json"
	if err := objects.Put(ctx, s3dest.BucketName(*dlq.BucketARN), s3dest.Key(prefix+s3dest.DefaultTemplate, f), body, s3dest.ObjectOptions{ExpectedBucketOwner: deref(dlq.ExpectedBucketOwner)}); err != nil {
		return 0, err
	}
	return len(body), nil
}

// deliver writes runs and then pos, the position after them, and returns how many records went to
// the dead-letter location and the bytes written. An S3 destination takes one run (an object, then
// the position object); a table takes the runs of any shards, committed as one snapshot that keeps
// pos.
func (dst *destination) deliver(ctx context.Context, runs []shardRun, pos channelPosition) (dead int, written int, err error) {
	posRaw, err := json.Marshal(pos)
	if err != nil {
		return 0, 0, err
	}
	if dst.d.Tables != nil {
		return dst.appendTable(ctx, runs, string(posRaw))
	}
	if len(runs) != 1 {
		return 0, 0, fmt.Errorf("channel %s: %d runs for one object", dst.d.ID, len(runs))
	}
	run := &runs[0]
	fields := dst.fields(run)
	objects := dst.s.cfg.ChannelObjects
	sto := dst.d.S3.StorageConfiguration
	body, rejected := s3dest.Encode(dst.format, run.recs)
	if len(rejected) < len(run.recs) {
		if body, err = s3dest.Compress(*sto.CompressionType, body); err != nil {
			return 0, 0, err
		}
		fields.Extension = s3dest.Extension(dst.format, *sto.CompressionType)
		template := ""
		if sto.OutputKeyTemplate != nil {
			template = *sto.OutputKeyTemplate
		}
		if err := objects.Put(ctx, s3dest.BucketName(*sto.BucketARN), s3dest.Key(template, fields), body, dst.storageOptions()); err != nil {
			return 0, 0, err
		}
		written += len(body)
	}
	if len(rejected) > 0 {
		n, err := dst.writeDead(ctx, dst.d.S3.DeadLetterQueueS3Configuration, dst.fields(run), rejected)
		if err != nil {
			return 0, 0, err
		}
		written += n
	}
	if err := objects.Put(ctx, s3dest.BucketName(*sto.BucketARN), positionKey(dst.d.ID), posRaw, dst.storageOptions()); err != nil {
		return 0, 0, err
	}
	return len(rejected), written, nil
}

// appendTable commits the records of runs (of distinct shards) to the channel's table as one
// snapshot that keeps position. The dead letters are written before the commit (from within Append):
// after it, a crash would lose them, as the table's position has moved past their records. They are
// written run by run, each under a key made of its run's first record like an S3 destination's, so
// that a run delivered again after a crash, whichever runs of other shards it goes with then,
// replaces its dead-letter object.
func (dst *destination) appendTable(ctx context.Context, runs []shardRun, position string) (dead int, written int, err error) {
	recs := runs[0].recs
	if len(runs) > 1 {
		n := 0
		for i := range runs {
			n += len(runs[i].recs)
		}
		recs = make([]s3dest.Record, 0, n)
		for i := range runs {
			recs = append(recs, runs[i].recs...)
		}
	}
	dlq := dst.d.Tables.DeadLetterQueueS3Configuration
	writeDead := func(rejected []s3dest.Rejected) error {
		placed := 0
		for i := range runs {
			id := stream.ShardID(runs[i].shard)
			var mine []s3dest.Rejected
			for _, r := range rejected {
				if r.Record.ShardID == id {
					mine = append(mine, r)
				}
			}
			if len(mine) == 0 {
				continue
			}
			placed += len(mine)
			n, err := dst.writeDead(ctx, dlq, dst.fields(&runs[i]), mine)
			if err != nil {
				return err
			}
			written += n
		}
		if placed != len(rejected) {
			return fmt.Errorf("channel %s: %d rejected records of no shard delivered", dst.d.ID, len(rejected)-placed)
		}
		return nil
	}
	rejected, err := dst.s.cfg.ChannelTables.Append(ctx, dst.table(), recs, position, writeDead)
	if err != nil {
		return 0, 0, err
	}
	for _, r := range recs { // the records' data, as the writer does not say what its Parquet files take
		written += len(r.Data)
	}
	return len(rejected), written, nil
}

// deliverChannel runs the delivery of channel id while it exists and owner holds its lease.
func (s *Service) deliverChannel(ctx context.Context, id, owner string, stats *ChannelStats) {
	defer s.dropChannelLease(context.WithoutCancel(ctx), id, owner)
	log := s.log.With("channel", stats.Channel, "id", id, "account", s.cfg.Account)
	backoff := retryMin
	fail := func(what string, err error) bool {
		if ctx.Err() != nil {
			return false
		}
		stats.Errors.Add(1)
		log.Warn("channel delivery: "+what+", retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, retryMax)
		return true
	}
	var pos channelPosition
	var cost passCost
	loaded := false
	lastLease := time.Now()
	for ctx.Err() == nil {
		d, _, err := s.loadChannel(ctx, id)
		if err != nil {
			if fail("read channel", err) {
				continue
			}
			return
		}
		if d == nil || d.Status == channelDeleting || d.Status == channelCreating {
			return
		}
		if time.Since(lastLease) >= channelLeaseRenew {
			ok, err := s.takeChannelLease(ctx, id, owner)
			if err == nil && !ok {
				log.Info("channel delivery: lease taken over by another front-end")
				return
			}
			lastLease = time.Now()
		}
		dst := &destination{s: s, d: d, format: *d.Record.RecordFormatType}
		if !loaded {
			if pos, err = dst.position(ctx); err != nil {
				if fail("read position", err) {
					continue
				}
				return
			}
			loaded = true
			log.Info("channel delivery started", "stream", d.Stream, "position", pos.Next)
		}
		st, err := s.streams.Load(ctx, d.Stream)
		if err != nil {
			if fail("read stream", err) {
				continue
			}
			return
		}
		if st == nil || st.Doc.ID != d.StreamID {
			log.Error("channel delivery: the channel's stream is gone")
			return
		}
		if pos.StreamID != st.Doc.ID {
			pos = channelPosition{StreamID: st.Doc.ID, Next: map[uint32]uint64{}}
		}
		began := time.Now()
		wake, err := s.deliverDue(ctx, st, dst, &pos, stats, log, cost.margin(d.freshness()))
		if err == nil && wake.IsZero() {
			cost.note(time.Since(began))
		}
		if err != nil {
			if fail("write", err) {
				loaded = false // the position is read again from the destination
				continue
			}
			return
		}
		backoff = retryMin
		if wake.IsZero() {
			continue // delivered something: look again at once
		}
		t := time.NewTimer(min(max(wake.Sub(s.now()), 10*time.Millisecond), channelScanEvery))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// passCost follows how long the recent passes of deliverDue that delivered something took, so that a
// run falls due early enough for the pass that writes it to end within the freshness. A pass writes
// the due runs of every shard one after another (to a table, in one commit at the end of the pass),
// so under load the last run of a pass is written that long after the pass began: at freshness 10 s,
// with a fixed margin of 1 s, TestChannelBench saw lags of 9.1-10.4 s to the embedded buckets and
// 12-12.6 s to an Iceberg table (then committed shard by shard).
type passCost struct{ recent time.Duration }

// note records a pass that delivered and took d: the estimate follows a longer pass at once and
// forgets an eighth of itself with each shorter one.
func (c *passCost) note(d time.Duration) { c.recent = max(d, c.recent-c.recent/8) }

// margin is how long before its freshness ends a run falls due: a tenth of the freshness (at most a
// second) for the wake-up and the read, plus twice the recent pass, and at most half the freshness.
func (c *passCost) margin(fresh time.Duration) time.Duration {
	return min(min(fresh/10, time.Second)+2*c.recent, fresh/2)
}

// deliverDue delivers every run of records that is due (its first record is older than the
// freshness less margin, or it is big enough), parents before children: a child is read once the
// position its parents' last records were delivered with is written (pos, as it stood when the pass
// began or after its last write). To an S3 destination each run is an object, followed by the
// position; to a table, the due runs of all the shards are one commit (up to tableMaxBytes and
// tableMaxRecords). Returning without an error, it leaves in pos the position written and the records
// skipped (expired) since. It returns the zero time when it delivered something, else when the next
// run falls due.
func (s *Service) deliverDue(ctx context.Context, st *stream.Stream, dst *destination, pos *channelPosition, stats *ChannelStats, log interface {
	Error(string, ...any)
}, margin time.Duration) (time.Time, error) {
	now := s.now()
	next := now.Add(channelScanEvery)
	shards := slices.Clone(st.Doc.Shards)
	slices.SortFunc(shards, func(a, b stream.Shard) int { return int(a.Index) - int(b.Index) })
	drained := func(sh *stream.Shard) bool {
		n, ok := pos.Next[sh.Index]
		return sh.Closed && ok && n >= sh.EndOffset
	}
	// work is the position after the runs of batch (not yet written) and the records skipped.
	work := pos.clone()
	var batch []shardRun
	batchBytes, batchRecords := 0, 0
	delivered := false
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.deliverRuns(ctx, dst, batch, work.clone(), stats); err != nil {
			return err
		}
		*pos = work.clone()
		batch, batchBytes, batchRecords = nil, 0, 0
		delivered = true
		return nil
	}
	for i := range shards {
		sh := &shards[i]
		if drained(sh) {
			continue
		}
		ready := true
		for _, p := range []*uint32{sh.Parent, sh.AdjacentParent} {
			if p == nil {
				continue
			}
			if ps := st.Shard(*p); ps != nil && !drained(ps) && !st.Expired(ps, now) {
				ready = false
			}
		}
		if !ready {
			continue
		}
		ref := st.Ref(sh.Index)
		from, started := work.Next[sh.Index]
		if !started { // a shard the channel has not read yet: from its oldest record still retained
			from = sh.StartOffset
		}
		recs, ords, err := s.readShard(ctx, ref, from, deliverMaxRecords, deliverMaxBytes)
		if err != nil {
			return time.Time{}, err
		}
		if n, first, firstOrd, err := s.deletedBefore(ctx, st, sh, dst.d, &work, from, started, recs, ords, stats); err != nil {
			return time.Time{}, err
		} else if n > 0 {
			// Retention deleted records the channel had not read: they are counted, and it goes on
			// from the first record left (the trim horizon).
			log.Error("channel delivery: records expired from the stream and were deleted before they were delivered",
				"channel", dst.d.Name, "stream", st.Doc.Name, "shard", stream.ShardID(sh.Index), "records", n, "from", from, "to", first)
			from = first
			work.Next[sh.Index] = from
			work.setOrdinal(sh.Index, firstOrd)
		}
		if len(recs) > 0 && stream.Milli(recs[0].ArrivalMilli).Before(st.Cutoff(now)) {
			// Behind the retention horizon: what is still readable of it is counted (the records that
			// arrived while the channel existed), then skipped.
			horizon, err := s.horizon(ctx, st, sh, now)
			if err != nil {
				return time.Time{}, err
			}
			// Skipped: the records read below the horizon, and no further (those past them are read and
			// counted next, rather than jumped over uncounted).
			n, skipped := 0, 0
			for _, r := range recs {
				if r.Offset < horizon {
					skipped++
					if r.ArrivalMilli >= dst.d.CreatedMilli {
						n++
					}
				}
			}
			stats.Expired.Add(int64(n))
			if n > 0 {
				log.Error("channel delivery: records expired from the stream before they were delivered",
					"stream", st.Doc.Name, "shard", stream.ShardID(sh.Index), "records", n, "from", from, "to", horizon)
			}
			from = horizon
			if skipped == len(recs) {
				from = min(horizon, recs[len(recs)-1].Offset+1)
			}
			work.Next[sh.Index] = from
			work.setOrdinal(sh.Index, ordinalAfter(ords, skipped-1))
			if recs, ords, err = s.readShard(ctx, ref, from, deliverMaxRecords, deliverMaxBytes); err != nil {
				return time.Time{}, err
			}
		}
		for sh.Closed && len(recs) > 0 && recs[len(recs)-1].Offset >= sh.EndOffset {
			recs = recs[:len(recs)-1]
		}
		if ords != nil {
			ords = ords[:len(recs)]
		}
		if len(recs) == 0 {
			if sh.Closed && (!started || from < sh.EndOffset) {
				work.Next[sh.Index] = sh.EndOffset
				delivered = true
			}
			continue
		}
		size := 0
		for j := range recs {
			size += recs[j].Size()
		}
		oldest := stream.Milli(recs[0].ArrivalMilli)
		// Due before its freshness ends, so that the pass that writes it is done by then.
		due := oldest.Add(dst.d.freshness() - margin)
		full := size >= deliverMaxBytes/2 || len(recs) >= deliverMaxRecords || sh.Closed
		if !full && now.Before(due) {
			next = minTime(next, due)
			continue
		}
		out, err := s.channelRecords(ctx, st, sh, recs)
		if err != nil {
			return time.Time{}, err
		}
		run := shardRun{shard: sh.Index, recs: out, next: recs[len(recs)-1].Offset + 1, ord: ordinalAfter(ords, len(recs)-1), oldest: oldest}
		n := tableBytes(out)
		if batchBytes+n > tableMaxBytes || batchRecords+len(out) > tableMaxRecords {
			if err := flush(); err != nil { // before work moves past run
				return time.Time{}, err
			}
		}
		work.Next[sh.Index] = run.next
		work.setOrdinal(sh.Index, run.ord)
		batch = append(batch, run)
		batchBytes += n
		batchRecords += len(out)
		if dst.d.Tables == nil {
			if err := flush(); err != nil {
				return time.Time{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return time.Time{}, err
	}
	*pos = work
	if delivered {
		return time.Time{}, nil
	}
	return next, nil
}

// deletedBefore finds the records of shard sh that retention deleted before the channel read them:
// those between where it reads (from; for a shard it has not started, where the shard's log stood
// when the channel was created, as the records before it are not the channel's to count) and the
// first record still stored (recs[0], read from from, or the end of the log). It counts them in stats
// (once) and returns how many, and the offset and ordinal (0 if none) of that first record.
//
// With dense offsets the count is the offsets in between. A store whose offsets are sparse
// (Config.SparseOffsets) cannot tell deleted records from gaps: there the ordinals of shardOrdinals
// count them (ords, of recs; pos.Ordinal for a started shard, ShardOrdinals for one the channel has
// not started, 1 for a shard born after the channel), and where an ordinal is unknown (a store
// without them, a position or records from before they were kept), nothing is counted.
func (s *Service) deletedBefore(ctx context.Context, st *stream.Stream, sh *stream.Shard, d *channelDoc, pos *channelPosition, from uint64, started bool,
	recs []storage.Record, ords []uint64, stats *ChannelStats) (n, first, firstOrd uint64, err error) {
	if s.cfg.SparseOffsets {
		return s.deletedBetweenOrdinals(ctx, st, sh, d, pos, started, recs, ords, stats)
	}
	low := from
	if !started {
		v, ok := d.ShardStarts[sh.Index]
		switch {
		case ok:
			low = max(from, v)
		case d.ShardStarts == nil:
			return 0, 0, 0, nil // a channel from before ShardStarts: where its records begin is unknown
		}
		// not in ShardStarts: a shard born after the channel, all its records the channel's
	}
	if len(recs) > 0 {
		first = recs[0].Offset
	} else if first, err = s.logEnd(ctx, st, sh); err != nil {
		return 0, 0, 0, err
	}
	if first <= low {
		return 0, 0, 0, nil
	}
	return stats.countGap(sh.Index, low, first), first, 0, nil
}

// deletedBetweenOrdinals is deletedBefore on a store with sparse offsets.
func (s *Service) deletedBetweenOrdinals(ctx context.Context, st *stream.Stream, sh *stream.Shard, d *channelDoc, pos *channelPosition, started bool,
	recs []storage.Record, ords []uint64, stats *ChannelStats) (n, first, firstOrd uint64, err error) {
	o := s.ordinals()
	if o == nil {
		return 0, 0, 0, nil
	}
	var low uint64 // the ordinal of the first record the channel has not read
	switch _, existed := d.ShardStarts[sh.Index]; {
	case started:
		low = pos.Ordinal[sh.Index]
	case existed:
		low = d.ShardOrdinals[sh.Index]
	case d.ShardStarts != nil: // a shard born after the channel: all its records the channel's
		low = 1
	}
	if low == 0 {
		return 0, 0, 0, nil
	}
	if len(recs) > 0 {
		first, firstOrd = recs[0].Offset, ords[0]
	} else {
		next, ok, err := o.NextOrdinal(ctx, st.Ref(sh.Index))
		if err != nil || !ok {
			return 0, 0, 0, err
		}
		if first, err = s.logEnd(ctx, st, sh); err != nil {
			return 0, 0, 0, err
		}
		firstOrd = next
	}
	if firstOrd <= low {
		return 0, 0, 0, nil
	}
	return stats.countGap(sh.Index, low, firstOrd), first, firstOrd, nil
}

// logEnd is the offset after the last record of shard sh: where its next record goes, or its end.
func (s *Service) logEnd(ctx context.Context, st *stream.Stream, sh *stream.Shard) (uint64, error) {
	next, err := s.store.NextOffset(ctx, st.Ref(sh.Index))
	if err != nil {
		return 0, err
	}
	if sh.Closed {
		next = min(next, sh.EndOffset)
	}
	return next, nil
}

// deliverRuns writes runs and then the position after them, and counts them. The lag is the oldest
// run's.
func (s *Service) deliverRuns(ctx context.Context, dst *destination, runs []shardRun, after channelPosition, stats *ChannelStats) error {
	dead, written, err := dst.deliver(ctx, runs, after)
	if err != nil {
		return err
	}
	oldest := runs[0].oldest
	for i := range runs {
		stats.Records.Add(int64(len(runs[i].recs)))
		oldest = minTime(oldest, runs[i].oldest)
	}
	stats.Bytes.Add(int64(written))
	stats.DeadLettered.Add(int64(dead))
	stats.Objects.Add(1)
	stats.LagMilli.Store(s.now().Sub(oldest).Milliseconds())
	return nil
}

// tableBytes is about the bytes recs take in a request to the Iceberg writer.
func tableBytes(recs []s3dest.Record) int {
	n := 0
	for i := range recs {
		r := &recs[i]
		n += len(r.Data) + len(r.PartitionKey) + len(r.SequenceNumber) + len(r.ShardID) + 24
	}
	return n
}

// clone returns a copy of p that shares no map with it.
func (p *channelPosition) clone() channelPosition {
	return channelPosition{StreamID: p.StreamID, Next: maps(p.Next), Ordinal: maps(p.Ordinal)}
}

func maps(m map[uint32]uint64) map[uint32]uint64 {
	out := make(map[uint32]uint64, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// channelRecords turns stored records of shard sh into the records a channel delivers: opened where
// the stream sealed them, numbered and stamped.
func (s *Service) channelRecords(ctx context.Context, st *stream.Stream, sh *stream.Shard, recs []storage.Record) ([]s3dest.Record, error) {
	keys := opener{s: s, st: st}
	out := make([]s3dest.Record, len(recs))
	id := stream.ShardID(sh.Index)
	for i := range recs {
		r := &recs[i]
		data, err := keys.open(ctx, r.Data, r.ArrivalMilli)
		if err != nil {
			return nil, err
		}
		out[i] = s3dest.Record{
			Data: data, PartitionKey: r.PartitionKey, ShardID: id, Arrival: stream.Milli(r.ArrivalMilli),
			SequenceNumber: recordSeq(sh.Index, sh.SeqCreated, r.Offset, r.ArrivalMilli),
		}
	}
	return out, nil
}
