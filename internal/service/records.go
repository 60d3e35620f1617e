package service

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/iterator"
	"kinesisd/internal/service/seqnum"
	"kinesisd/internal/storage"
)

const (
	putRecordsMax = 500
	keyMaxLen     = 256
)

// recordSeq is the sequence number of the record at offset off of shard index. Sequence numbers run one
// above offsets, so that a shard's StartingSequenceNumber (seqnum.Format(index, 0) for a shard starting
// at offset 0) sorts before every record of the shard and belongs to none.
func recordSeq(index uint32, off uint64) string { return seqnum.Format(index, off+1) }

func timeMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lookupForWrite finds the stream a write names before validation, so that validation can use the
// stream's record size limit; the lookup's own error is reported only after validation passes, as
// AWS orders them. refErr holds the StreamName/StreamARN constraint failures. The stream's write gate
// is held shared from the lookup on: the caller routes and appends, then calls release (reshard.go). A
// pending change that is due takes effect first, so that the write goes to the shards it leaves open.
func (s *Service) lookupForWrite(ctx context.Context, ref StreamRef) (st *stream, release func(), refErr kerr.Validations, lookupErr error) {
	var c checker
	c.streamRef(ref)
	if len(c.v) > 0 {
		return nil, func() {}, c.v, nil
	}
	for attempt := 0; ; attempt++ {
		held, release := s.holdWrites(ctx, ref)
		st, lookupErr = s.dataStream(held, ref)
		// After a few rounds of changes that keep becoming due, the write goes to the shards as they are:
		// as safe (the change closes them after it), only a little late.
		if lookupErr != nil || !st.pendingDue() || attempt == 3 {
			return st, release, nil, lookupErr
		}
		release()
		if _, err := s.applyDue(ctx, st.doc.Name); err != nil {
			return nil, func() {}, nil, internal("apply pending change", err)
		}
	}
}

// sizeLimits are the largest record (data + partition key) and PutRecords request st takes: the
// spec's 1 MiB and 5 MiB, or the stream's MaxRecordSizeInKiB and 10 MiB once that is raised.
func (s *Service) sizeLimits(st *stream) (record, request int) {
	if st == nil || st.doc.MaxRecordKiB <= defaultMaxRecordSizeKiB {
		return s.cfg.MaxRecordSize, s.cfg.MaxPutRecordsSize
	}
	return st.doc.MaxRecordKiB << 10, 10 * mib
}

// routeRecord picks the open shard for a record: by its explicit hash key or partition key, or, on a
// stream whose record distribution is AUTO, the next shard in turn, ignoring both.
func (st *stream) routeRecord(partitionKey string, explicit *string) (*openShard, error) {
	if st.doc.RecordDistribution == distributionAuto && len(st.open) > 0 {
		return &st.open[st.turn.Add(1)%uint64(len(st.open))], nil
	}
	k, err := hashFor(partitionKey, explicit)
	if err != nil {
		return nil, err
	}
	sh := st.route(k)
	if sh == nil {
		return nil, internal("route record", fmt.Errorf("no open shard holds hash key %s", k))
	}
	return sh, nil
}

func isDryRun(b *bool) bool { return b != nil && *b }

// errDryRun is the answer to a DryRun request that passed every check; nothing was changed.
func errDryRun() error {
	return kerr.NewDryRunOperation("Request would have succeeded, but DryRun flag is set.")
}

// placement is where one request record goes.
type placement struct {
	shard *openShard
	slot  int // index in its shard's Append
}

// hashFor returns the hash key of a record: its ExplicitHashKey if given, else MD5 of its partition key.
func hashFor(partitionKey string, explicit *string) (hashKey, error) {
	if explicit == nil {
		return partitionHash(partitionKey), nil
	}
	k, ok := parseHashKey(*explicit)
	if !ok {
		return hashKey{}, kerr.NewInvalidArgument(fmt.Sprintf(
			"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", *explicit))
	}
	return k, nil
}

// PutRecords writes up to 500 records; each result reports its shard and sequence number, or its error.
func (s *Service) PutRecords(ctx context.Context, in *PutRecordsInput) (*PutRecordsOutput, error) {
	st, release, refErr, lookupErr := s.lookupForWrite(ctx, in.StreamRef)
	released := false
	defer func() {
		if !released {
			release() // no reshard between routing and Append (reshard.go)
		}
	}()
	recordMax, requestMax := s.sizeLimits(st)
	var c checker
	switch {
	case in.Records == nil:
		c.v.Add(kerr.Null, "records", "Member must not be null")
	case len(in.Records) < 1:
		c.v.Add(kerr.Quote("[]"), "records", "Member must have length greater than or equal to 1")
	case len(in.Records) > putRecordsMax:
		c.v.Add(kerr.Quote(recordListValue(in.Records)), "records", fmt.Sprintf("Member must have length less than or equal to %d", putRecordsMax))
	}
	for i := range in.Records {
		r := &in.Records[i]
		if plainRecord(r, recordMax) {
			continue // passes every check below; formatting their paths would cost four allocations
		}
		prefix := fmt.Sprintf("records.%d.member.", i+1)
		c.str(prefix+"partitionKey", r.PartitionKey, true, 1, keyMaxLen, nil, "")
		c.str(prefix+"explicitHashKey", r.ExplicitHashKey, false, 0, 0, hashKeyPattern, hashKeyPatternText)
		c.blob(prefix+"data", r.Data, true, recordMax)
	}
	c.v = append(c.v, refErr...)
	if err := c.err(); err != nil {
		return nil, err
	}
	if lookupErr != nil {
		return nil, lookupErr
	}

	total := 0
	places := make([]placement, len(in.Records))
	for i := range in.Records {
		r := &in.Records[i]
		size := len(r.Data) + len(*r.PartitionKey)
		if size > recordMax {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"Record size of %d bytes exceeds the limit of %d bytes for record %d.", size, recordMax, i))
		}
		total += size
		sh, err := st.routeRecord(*r.PartitionKey, r.ExplicitHashKey)
		if err != nil {
			return nil, err
		}
		places[i].shard = sh
	}
	if total > requestMax {
		return nil, kerr.NewInvalidArgument(fmt.Sprintf("Records size exceeds %d MB limit", requestMax/mib))
	}

	if isDryRun(in.DryRun) {
		return nil, errDryRun()
	}

	out := &PutRecordsOutput{Records: make([]PutRecordsResultEntry, len(in.Records)), EncryptionType: st.doc.Encryption}
	todo := make([]int, len(in.Records))
	for i := range todo {
		todo[i] = i
	}
	todo, err := s.writeRecords(ctx, st, in.Records, todo, places, out, true)
	if err != nil {
		return nil, err
	}
	// Records routed to a shard that a resharding through another front-end sealed meanwhile were not
	// written (storage.SealedError): they go again to the shards the stream has now.
	released = true
	release()
	// Once some records of the call are stored, a later failure must not fail the whole call: the
	// client would send it again and store those records twice. The records not written fail one by
	// one instead (InternalFailure, which the SDKs' and KPL's per-record retries take).
	failRest := func(err error) (*PutRecordsOutput, error) {
		if !anyWritten(out) && err != errStillSealed {
			return nil, err
		}
		s.log.Warn("records routed again after a resharding could not be written", "stream", st.doc.Name, "records", len(todo), "err", err)
		for _, i := range todo {
			out.Records[i] = PutRecordsResultEntry{ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure."}
			out.FailedRecordCount++
		}
		return out, nil
	}
	for attempt := 1; len(todo) > 0; attempt++ {
		if attempt > sealedRetries {
			return failRest(errStillSealed)
		}
		s.log.Debug("records routed to sealed shards, routing them again", "stream", st.doc.Name, "records", len(todo), "attempt", attempt)
		if err := clock.Sleep(ctx, sealedBackoff(attempt)); err != nil {
			return failRest(err)
		}
		st, again, _, lookupErr := s.lookupForWrite(ctx, in.StreamRef)
		var left []int
		if lookupErr == nil {
			left, err = s.writeRecords(ctx, st, in.Records, todo, nil, out, false)
		}
		again()
		if lookupErr != nil {
			return failRest(lookupErr)
		}
		if err != nil {
			return failRest(err)
		}
		todo = left
	}
	return out, nil
}

var errStillSealed = errors.New("shards still sealed after every retry")

// anyWritten reports whether some record of out has been stored.
func anyWritten(out *PutRecordsOutput) bool {
	for i := range out.Records {
		if out.Records[i].SequenceNumber != "" {
			return true
		}
	}
	return false
}

// How often, and after how long, a write is routed again when its shard turned out sealed: another
// front-end closed it, and its new document may take a moment to be saved.
const sealedRetries = 6

func sealedBackoff(attempt int) time.Duration { return time.Duration(5<<attempt) * time.Millisecond }

// writeRecords routes the records of recs listed in todo to st's open shards and appends them, in one
// store call, filling their results in out. places, when given, holds their shards already (one
// per todo entry). Records over their shard's write limits (checked when admit is set) fail one by
// one. It returns the records that were routed to a shard found sealed, not written.
func (s *Service) writeRecords(ctx context.Context, st *stream, recs []PutRecordsRequestEntry, todo []int, places []placement, out *PutRecordsOutput, admit bool) ([]int, error) {
	if places == nil {
		places = make([]placement, len(todo))
		for k, i := range todo {
			sh, err := st.routeRecord(*recs[i].PartitionKey, recs[i].ExplicitHashKey)
			if err != nil {
				return nil, err
			}
			places[k].shard = sh
		}
	}
	now := s.now()
	if admit && s.cfg.ThroughputLimits {
		s.writes.mu.Lock()
		for k, i := range todo {
			r, sh := &recs[i], places[k].shard
			if !s.admitWrite(s.writes.window(st.ref(sh.index), now), len(r.Data)+len(*r.PartitionKey)) {
				places[k].shard = nil
				out.Records[i] = PutRecordsResultEntry{ErrorCode: "ProvisionedThroughputExceededException",
					ErrorMessage: throughputExceeded(sh.id, st.doc.Name, s.cfg.Account)}
				out.FailedRecordCount++
			}
		}
		s.writes.mu.Unlock()
	}
	arrival := st.arrivalMilli(now)
	// Two passes: count each shard's records, then fill one backing array cut into per-shard spans,
	// rather than growing a slice per shard record by record. The whole request is one store call:
	// one durable commit.
	byShard := make(map[uint32]int, len(st.open)) // shard index → its Append
	var appends []storage.Append
	var counts []int
	for k := range todo {
		sh := places[k].shard
		if sh == nil {
			continue
		}
		a, ok := byShard[sh.index]
		if !ok {
			a = len(appends)
			byShard[sh.index] = a
			appends = append(appends, storage.Append{Shard: st.ref(sh.index)})
			counts = append(counts, 0)
		}
		counts[a]++
	}
	all := make([]storage.Record, 0, len(todo))
	for a, n := range counts {
		appends[a].Records = all[len(all) : len(all) : len(all)+n]
		all = all[:len(all)+n]
	}
	for k, i := range todo {
		sh := places[k].shard
		if sh == nil {
			continue
		}
		a := byShard[sh.index]
		places[k].slot = len(appends[a].Records)
		appends[a].Records = append(appends[a].Records, storage.Record{
			ArrivalMilli: arrival, PartitionKey: *recs[i].PartitionKey, Data: recs[i].Data,
		})
	}
	if len(appends) == 0 {
		return nil, nil
	}
	var sealed *storage.SealedError
	if err := s.store.Append(ctx, appends); err != nil && !errors.As(err, &sealed) {
		return nil, internal("put records", err)
	}
	s.noteWrites(st, appends, sealed)
	var again []int
	for k, i := range todo {
		p := places[k]
		if p.shard == nil {
			continue
		}
		if sealed != nil && sealed.Sealed(st.ref(p.shard.index)) {
			again = append(again, i)
			continue
		}
		rec := appends[byShard[p.shard.index]].Records[p.slot]
		out.Records[i] = PutRecordsResultEntry{ShardId: p.shard.id, SequenceNumber: recordSeq(p.shard.index, rec.Offset)}
	}
	return again, nil
}

// plainRecord reports whether r passes PutRecords' checks of a record without a closer look: a
// partition key of 1 to keyMaxLen bytes (its length in UTF-16 units is then within bounds too), no
// explicit hash key, and data within max.
func plainRecord(r *PutRecordsRequestEntry, max int) bool {
	return r.PartitionKey != nil && len(*r.PartitionKey) >= 1 && len(*r.PartitionKey) <= keyMaxLen &&
		r.ExplicitHashKey == nil && r.Data != nil && (max <= 0 || len(r.Data) <= max)
}

// recordListValue renders a records list as AWS does in validation messages: Java's List.toString of
// the request entries, each an object name with a hash.
func recordListValue(recs []PutRecordsRequestEntry) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range recs {
		if i > 0 {
			b.WriteString(", ")
		}
		h := fnv.New32a()
		h.Write(recs[i].Data)
		if recs[i].PartitionKey != nil {
			h.Write([]byte(*recs[i].PartitionKey))
		}
		fmt.Fprintf(&b, "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@%08x", h.Sum32())
	}
	b.WriteByte(']')
	return b.String()
}

// PutRecord writes one record. A record routed to a shard that a resharding through another
// front-end sealed meanwhile goes again to the shards the stream has now.
func (s *Service) PutRecord(ctx context.Context, in *PutRecordInput) (*PutRecordOutput, error) {
	for attempt := 0; ; attempt++ {
		out, err := s.putRecord(ctx, in, attempt == 0)
		if !errors.Is(err, storage.ErrSealed) {
			return out, err
		}
		if attempt == sealedRetries {
			return nil, internal("put record", err)
		}
		if err := clock.Sleep(ctx, sealedBackoff(attempt+1)); err != nil {
			return nil, err
		}
	}
}

// putRecord is one attempt of PutRecord; it returns a storage.SealedError as it is.
func (s *Service) putRecord(ctx context.Context, in *PutRecordInput, admit bool) (*PutRecordOutput, error) {
	st, release, refErr, lookupErr := s.lookupForWrite(ctx, in.StreamRef)
	defer release() // no reshard between routing and Append (reshard.go)
	recordMax, _ := s.sizeLimits(st)
	var c checker
	c.str("sequenceNumberForOrdering", in.SequenceNumberForOrdering, false, 0, 0, seqNumPattern, seqNumPatternText)
	c.str("partitionKey", in.PartitionKey, true, 1, keyMaxLen, nil, "")
	c.str("explicitHashKey", in.ExplicitHashKey, false, 0, 0, hashKeyPattern, hashKeyPatternText)
	c.blob("data", in.Data, true, recordMax)
	c.v = append(c.v, refErr...)
	if err := c.err(); err != nil {
		return nil, err
	}
	if lookupErr != nil {
		return nil, lookupErr
	}
	if size := len(in.Data) + len(*in.PartitionKey); size > recordMax {
		return nil, kerr.NewInvalidArgument(fmt.Sprintf(
			"Record size of %d bytes exceeds the limit of %d bytes.", size, recordMax))
	}
	sh, err := st.routeRecord(*in.PartitionKey, in.ExplicitHashKey)
	if err != nil {
		return nil, err
	}
	if isDryRun(in.DryRun) {
		return nil, errDryRun()
	}
	now := s.now()
	if admit && s.cfg.ThroughputLimits {
		s.writes.mu.Lock()
		ok := s.admitWrite(s.writes.window(st.ref(sh.index), now), len(in.Data)+len(*in.PartitionKey))
		s.writes.mu.Unlock()
		if !ok {
			return nil, kerr.NewProvisionedThroughputExceeded(throughputExceeded(sh.id, st.doc.Name, s.cfg.Account))
		}
	}
	appends := []storage.Append{{Shard: st.ref(sh.index), Records: []storage.Record{{
		ArrivalMilli: st.arrivalMilli(now), PartitionKey: *in.PartitionKey, Data: in.Data,
	}}}}
	if err := s.store.Append(ctx, appends); errors.Is(err, storage.ErrSealed) {
		return nil, err
	} else if err != nil {
		return nil, internal("put record", err)
	}
	s.noteWrites(st, appends, nil)
	return &PutRecordOutput{
		ShardId:        sh.id,
		SequenceNumber: recordSeq(sh.index, appends[0].Records[0].Offset),
		EncryptionType: st.doc.Encryption,
	}, nil
}

// Shard iterator types.
const (
	atSequenceNumber    = "AT_SEQUENCE_NUMBER"
	afterSequenceNumber = "AFTER_SEQUENCE_NUMBER"
	trimHorizon         = "TRIM_HORIZON"
	latest              = "LATEST"
	atTimestamp         = "AT_TIMESTAMP"
)

// GetShardIterator returns an iterator positioned in a shard.
func (s *Service) GetShardIterator(ctx context.Context, in *GetShardIteratorInput) (*GetShardIteratorOutput, error) {
	var c checker
	c.str("shardId", in.ShardId, true, 1, 128, namePattern, namePatternText)
	// AWS lists the enum in its own (hash-set) order.
	c.enum("shardIteratorType", in.ShardIteratorType, true, afterSequenceNumber, latest, atTimestamp, atSequenceNumber, trimHorizon)
	c.str("startingSequenceNumber", in.StartingSequenceNumber, false, 0, 0, seqNumPattern, seqNumPatternText)
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return nil, err
	}
	st, err := s.dataStream(ctx, in.StreamRef)
	if err != nil {
		return nil, s.streamWithoutShard(in.StreamRef, *in.ShardId, err)
	}
	index, ok := parseShardID(*in.ShardId)
	if !ok {
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Could not find shard %s in stream %s under account %s.",
			*in.ShardId, st.doc.Name, s.cfg.Account))
	}
	sh := st.shard(index)
	if sh == nil {
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Shard %s in stream %s under account %s does not exist",
			shardID(index), st.doc.Name, s.cfg.Account))
	}
	typ := *in.ShardIteratorType
	hasSeq := in.StartingSequenceNumber != nil
	if needsSeq := typ == atSequenceNumber || typ == afterSequenceNumber; needsSeq != hasSeq && typ != atTimestamp {
		also := "no"
		if hasSeq {
			also = "also a"
		}
		return nil, kerr.NewInvalidArgument(fmt.Sprintf("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "+
			"or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and %s StartingSequenceNumber.", typ, also))
	}
	ref := st.ref(sh.Index)
	now := s.now()
	var offset uint64
	switch typ {
	case trimHorizon:
		if offset, err = s.horizon(ctx, st, sh, now); err != nil {
			return nil, internal("get shard iterator", err)
		}
	case latest:
		if offset, err = s.store.NextOffset(ctx, ref); err != nil {
			return nil, internal("get shard iterator", err)
		}
	case atTimestamp:
		if in.Timestamp == nil {
			return nil, kerr.NewInvalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		if in.Timestamp.Time.After(now) {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d",
				in.Timestamp.UnixMilli(), now.UnixMilli()))
		}
		if offset, err = s.store.OffsetAtTime(ctx, ref, maxTime(in.Timestamp.Time, st.cutoff(now))); err != nil {
			return nil, internal("get shard iterator", err)
		}
	case atSequenceNumber, afterSequenceNumber:
		seq := *in.StartingSequenceNumber
		seqShard, seqOffset, tick, err := seqnum.ParseTick(seq)
		if err != nil {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.",
				seq, shardID(sh.Index), st.doc.Name, s.cfg.Account))
		}
		if seqShard != sh.Index {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s",
				shardID(seqShard), shardID(sh.Index)))
		}
		offset = max(seqStart(typ, seqOffset, tick), sh.StartOffset)
	}
	if isDryRun(in.DryRun) {
		return nil, errDryRun()
	}
	if err := s.admitIterator(st, sh.Index, now); err != nil {
		return nil, err
	}
	token, err := s.sealer.Seal(iterator.Position{
		StreamName: st.doc.Name, StreamID: st.doc.ID, Shard: sh.Index, Offset: offset, Issued: now,
	})
	if err != nil {
		return nil, internal("get shard iterator", err)
	}
	return &GetShardIteratorOutput{ShardIterator: token}, nil
}

// GetRecords reads from the position an iterator holds and returns the iterator for what follows.
func (s *Service) GetRecords(ctx context.Context, in *GetRecordsInput) (*GetRecordsOutput, error) {
	var c checker
	c.integer("limit", in.Limit, false, 1, 10000)
	c.str("shardIterator", in.ShardIterator, true, 1, 512, nil, "")
	c.str("streamARN", in.StreamARN, false, 1, 2048, streamARNPattern, streamARNPatternText)
	c.streamID(in.StreamId)
	if err := c.err(); err != nil {
		return nil, err
	}
	pos, err := s.sealer.Open(*in.ShardIterator)
	if errors.Is(err, iterator.ErrInvalid) {
		return nil, kerr.NewInvalidArgument("Invalid ShardIterator.")
	}
	now := s.now()
	if now.Sub(pos.Issued) > s.cfg.IteratorLife {
		return nil, kerr.NewExpiredIterator(fmt.Sprintf(
			"Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
			javaDate(pos.Issued), javaDate(now), s.cfg.IteratorLife.Milliseconds()))
	}
	ref := StreamRef{StreamName: &pos.StreamName, StreamARN: in.StreamARN}
	st, err := s.dataStream(ctx, ref)
	if err != nil {
		return nil, err
	}
	if st.doc.ID != pos.StreamID {
		return nil, kerr.NewInvalidArgument("Invalid ShardIterator.")
	}
	sh := st.shard(pos.Shard)
	if sh == nil {
		return nil, kerr.NewInvalidArgument("Invalid ShardIterator.")
	}
	if isDryRun(in.DryRun) {
		return nil, errDryRun()
	}
	if err := s.admitRead(st, sh.Index, now); err != nil {
		return nil, err
	}
	limit := getRecordsDefaultLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	shardRef := st.ref(sh.Index)
	next := pos.Offset // where the next read starts
	recs, err := s.store.Read(ctx, shardRef, next, limit, s.cfg.MaxGetRecordsSize)
	if err != nil {
		return nil, internal("get records", err)
	}
	if len(recs) > 0 && timeMilli(recs[0].ArrivalMilli).Before(st.cutoff(now)) {
		// The reader is behind the trim horizon: move it there.
		if next, err = s.horizon(ctx, st, sh, now); err != nil {
			return nil, internal("get records", err)
		}
		if recs, err = s.store.Read(ctx, shardRef, next, limit, s.cfg.MaxGetRecordsSize); err != nil {
			return nil, internal("get records", err)
		}
	}
	// A closed shard ends at EndOffset, whatever its log holds beyond it; once a read finds nothing
	// more before EndOffset (offsets need not be dense), the reader is at the shard's end.
	atEnd := sh.Closed && len(recs) == 0
	for sh.Closed && len(recs) > 0 && recs[len(recs)-1].Offset >= sh.EndOffset {
		recs, atEnd = recs[:len(recs)-1], true
	}
	out := &GetRecordsOutput{Records: make([]Record, len(recs))}
	returned := 0
	for i := range recs {
		returned += recs[i].Size()
	}
	s.noteRead(st, sh.Index, now, returned)
	for i := range recs {
		r := &recs[i]
		if r.Data == nil {
			r.Data = []byte{} // an empty blob is "", never null
		}
		out.Records[i] = Record{
			SequenceNumber:              recordSeq(sh.Index, r.Offset),
			ApproximateArrivalTimestamp: Timestamp{timeMilli(r.ArrivalMilli)},
			Data:                        r.Data,
			PartitionKey:                r.PartitionKey,
			EncryptionType:              st.encryptionAt(r.ArrivalMilli),
		}
		next = r.Offset + 1
	}
	if atEnd {
		next = max(next, sh.EndOffset)
	}
	tail, err := s.store.NextOffset(ctx, shardRef)
	if err != nil {
		return nil, internal("get records", err)
	}
	if next < tail && len(recs) > 0 {
		out.MillisBehindLatest = max(0, now.UnixMilli()-recs[len(recs)-1].ArrivalMilli)
	}
	if sh.Closed && next >= sh.EndOffset {
		out.ChildShards = st.children(sh.Index)
		return out, nil
	}
	token, err := s.sealer.Seal(iterator.Position{
		StreamName: st.doc.Name, StreamID: st.doc.ID, Shard: sh.Index, Offset: next, Issued: now,
	})
	if err != nil {
		return nil, internal("get records", err)
	}
	out.NextShardIterator = &token
	return out, nil
}

// children returns the shards whose parent or adjacent parent is index.
func (st *stream) children(index uint32) []ChildShard {
	var out []ChildShard
	for _, sh := range st.doc.Shards {
		isChild := (sh.Parent != nil && *sh.Parent == index) || (sh.AdjacentParent != nil && *sh.AdjacentParent == index)
		if !isChild {
			continue
		}
		parents := []string{shardID(*sh.Parent)}
		if sh.AdjacentParent != nil {
			parents = append(parents, shardID(*sh.AdjacentParent))
		}
		out = append(out, ChildShard{
			ShardId:      shardID(sh.Index),
			ParentShards: parents,
			HashKeyRange: HashKeyRange{StartingHashKey: sh.StartHash, EndingHashKey: sh.EndHash},
		})
	}
	return out
}

// javaDate renders a time as Java's Date.toString does, which AWS's messages use.
func javaDate(t time.Time) string {
	return t.UTC().Format("Mon Jan 02 15:04:05 MST 2006")
}
