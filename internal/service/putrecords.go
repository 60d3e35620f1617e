package service

// PutRecord and PutRecords: routing records to shards under the stream's write gate, and appending them.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/service/hashkey"
	"kinesisd/internal/service/seqnum"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

const (
	putRecordsMax = 500
	keyMaxLen     = 256
)

// lookupForWrite finds the stream a write names before validation, so that validation can use the
// stream's record size limit; the lookup's own error is reported only after validation passes, as
// AWS orders them. refErr holds the StreamName/StreamARN constraint failures. The stream's write gate
// is held shared from the lookup on (stream.States.HoldWrites): the caller routes and appends, then
// calls release. A pending change that is due takes effect first, so that the write goes to the
// shards it leaves open.
func (s *Service) lookupForWrite(ctx context.Context, ref StreamRef) (st *stream.Stream, release func(), refErr kerr.Validations, lookupErr error) {
	var c checker
	c.streamRef(ref)
	if len(c.v) > 0 {
		return nil, func() {}, c.v, nil
	}
	name, err := s.streamName(ref)
	if err != nil {
		return nil, func() {}, nil, err
	}
	for attempt := 0; ; attempt++ {
		w := s.streams.HoldWrites(name)
		st, err := w.Load(ctx)
		switch {
		case err != nil:
			w.Release()
			return nil, func() {}, nil, internal("find stream", err)
		case st == nil || !st.Live():
			w.Release()
			return nil, func() {}, nil, s.streams.NotFound(name)
		case !st.PendingDue() || attempt == 3:
			// After a few rounds of changes that keep becoming due, the write goes to the shards as they
			// are: as safe (the change closes them after it), only a little late.
			return st, w.Release, nil, nil
		}
		w.Release()
		if _, err := s.streams.ApplyDue(ctx, name); err != nil {
			return nil, func() {}, nil, internal("apply pending change", err)
		}
	}
}

// sizeLimits are the largest record (data + partition key) and PutRecords request st takes: the
// spec's 1 MiB and 5 MiB, or the stream's MaxRecordSizeInKiB and 10 MiB once that is raised.
func (s *Service) sizeLimits(st *stream.Stream) (record, request int) {
	if st == nil || st.Doc.MaxRecordKiB <= defaultMaxRecordSizeKiB {
		return s.cfg.MaxRecordSize, s.cfg.MaxPutRecordsSize
	}
	return st.Doc.MaxRecordKiB << 10, 10 * mib
}

// routeRecord picks the open shard for a record: by its explicit hash key or partition key, or, on a
// stream whose record distribution is AUTO, the next shard in turn, ignoring both.
func routeRecord(st *stream.Stream, partitionKey string, explicit *string) (*stream.Open, error) {
	if st.Doc.RecordDistribution == stream.DistributionAuto && len(st.OpenShards()) > 0 {
		return st.NextInTurn(), nil
	}
	k, err := hashFor(partitionKey, explicit)
	if err != nil {
		return nil, err
	}
	sh := st.Route(k)
	if sh == nil {
		return nil, internal("route record", fmt.Errorf("no open shard holds hash key %s", k))
	}
	return sh, nil
}

// placement is where one request record goes.
type placement struct {
	shard *stream.Open
	slot  int // index in its shard's Append
}

// hashFor returns the hash key of a record: its ExplicitHashKey if given, else MD5 of its partition key.
func hashFor(partitionKey string, explicit *string) (hashkey.Key, error) {
	if explicit == nil {
		return hashkey.Of(partitionKey), nil
	}
	k, ok := hashkey.Parse(*explicit)
	if !ok {
		return hashkey.Key{}, kerr.NewInvalidArgument(fmt.Sprintf(
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

	mem := getPutMem(len(in.Records))
	kept := false // handed to the output, which gives it back (Release)
	defer func() {
		if !kept {
			mem.free()
		}
	}()
	total := 0
	places := mem.places
	for i := range in.Records {
		r := &in.Records[i]
		size := len(r.Data) + len(*r.PartitionKey)
		if size > recordMax {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf(
				"Record size of %d bytes exceeds the limit of %d bytes for record %d.", size, recordMax, i))
		}
		total += size
		sh, err := routeRecord(st, *r.PartitionKey, r.ExplicitHashKey)
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

	out := &PutRecordsOutput{Records: mem.results, EncryptionType: st.Doc.Encryption}
	todo, err := s.writeRecords(ctx, st, in.Records, mem.todo, places, out, mem)
	if err != nil {
		return nil, err
	}
	kept, out.release = true, mem.free
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
		s.log.Warn("records routed again after a resharding could not be written", "stream", st.Doc.Name, "records", len(todo), "err", err)
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
		s.log.Debug("records routed to sealed shards, routing them again", "stream", st.Doc.Name, "records", len(todo), "attempt", attempt)
		if err := clock.Sleep(ctx, sealedBackoff(attempt)); err != nil {
			return failRest(err)
		}
		st, again, _, lookupErr := s.lookupForWrite(ctx, in.StreamRef)
		var left []int
		if lookupErr == nil {
			left, err = s.writeRecords(ctx, st, in.Records, todo, nil, out, nil)
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
// per todo entry). mem is the call's memory on its first attempt, nil on the next ones: records over
// their shard's write limits are checked on the first (they fail one by one), and only the first
// writes the results' sequence numbers into mem (the next ones would overwrite the first's). It
// returns the records that were routed to a shard found sealed, not written.
func (s *Service) writeRecords(ctx context.Context, st *stream.Stream, recs []PutRecordsRequestEntry, todo []int, places []placement, out *PutRecordsOutput, mem *putMem) ([]int, error) {
	admit := mem != nil
	if places == nil {
		places = make([]placement, len(todo))
		for k, i := range todo {
			sh, err := routeRecord(st, *recs[i].PartitionKey, recs[i].ExplicitHashKey)
			if err != nil {
				return nil, err
			}
			places[k].shard = sh
		}
	}
	now := s.now()
	if admit && s.cfg.ThroughputLimits {
		s.writes.Lock()
		for k, i := range todo {
			r, sh := &recs[i], places[k].shard
			if !s.admitWrite(s.writes.Window(st.Ref(sh.Index), now), len(r.Data)+len(*r.PartitionKey)) {
				places[k].shard = nil
				out.Records[i] = PutRecordsResultEntry{ErrorCode: "ProvisionedThroughputExceededException",
					ErrorMessage: throughputExceeded(sh.ID, st.Doc.Name, s.cfg.Account)}
				out.FailedRecordCount++
			}
		}
		s.writes.Unlock()
	}
	arrival := st.ArrivalMilli(now)
	dk, err := s.writeKey(ctx, st)
	if err != nil {
		return nil, err
	}
	// Two passes: count each shard's records, then fill one backing array cut into per-shard spans,
	// rather than growing a slice per shard record by record. The whole request is one store call:
	// one durable commit.
	byShard := make(map[uint32]int, len(st.OpenShards())) // shard index → its Append
	var appends []storage.Append
	var counts []int
	for k := range todo {
		sh := places[k].shard
		if sh == nil {
			continue
		}
		a, ok := byShard[sh.Index]
		if !ok {
			a = len(appends)
			byShard[sh.Index] = a
			appends = append(appends, storage.Append{Shard: st.Ref(sh.Index)})
			counts = append(counts, 0)
		}
		counts[a]++
	}
	var all []storage.Record
	if mem != nil {
		all = resize(mem.records, len(todo))[:0]
		mem.records = all
	} else {
		all = make([]storage.Record, 0, len(todo))
	}
	for a, n := range counts {
		appends[a].Records = all[len(all) : len(all) : len(all)+n]
		all = all[:len(all)+n]
	}
	for k, i := range todo {
		sh := places[k].shard
		if sh == nil {
			continue
		}
		a := byShard[sh.Index]
		places[k].slot = len(appends[a].Records)
		data := recs[i].Data
		if dk != nil {
			data = dk.Seal(data)
		}
		appends[a].Records = append(appends[a].Records, storage.Record{
			ArrivalMilli: arrival, PartitionKey: *recs[i].PartitionKey, Data: data,
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
	written := func(p placement) bool {
		return p.shard != nil && (sealed == nil || !sealed.Sealed(st.Ref(p.shard.Index)))
	}
	var seqs seqText
	if mem != nil {
		seqs.b = mem.seqs[:0]
	}
	seqs.grow(len(todo))
	for k := range todo {
		if p := places[k]; written(p) {
			rec := &appends[byShard[p.shard.Index]].Records[p.slot]
			seqs.add(p.shard.Index, p.shard.SeqCreated, rec.Offset, rec.ArrivalMilli)
		}
	}
	numbers := seqs.numbers()
	if mem != nil {
		mem.seqs = seqs.b // kept, grown, for the next call once this one's output is released
	}
	var again []int
	for k, i := range todo {
		p := places[k]
		switch {
		case written(p):
			out.Records[i] = PutRecordsResultEntry{ShardId: p.shard.ID, SequenceNumber: numbers[:seqnum.Len]}
			numbers = numbers[seqnum.Len:]
		case p.shard != nil:
			again = append(again, i)
		}
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
	if v := in.SequenceNumberForOrdering; v != nil {
		if _, ok := parseSeq(*v); !ok {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf("ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is invalid.",
				*v, st.Doc.Name, s.cfg.Account))
		}
	}
	if size := len(in.Data) + len(*in.PartitionKey); size > recordMax {
		return nil, kerr.NewInvalidArgument(fmt.Sprintf(
			"Record size of %d bytes exceeds the limit of %d bytes.", size, recordMax))
	}
	sh, err := routeRecord(st, *in.PartitionKey, in.ExplicitHashKey)
	if err != nil {
		return nil, err
	}
	if isDryRun(in.DryRun) {
		return nil, errDryRun()
	}
	now := s.now()
	if admit && s.cfg.ThroughputLimits {
		s.writes.Lock()
		ok := s.admitWrite(s.writes.Window(st.Ref(sh.Index), now), len(in.Data)+len(*in.PartitionKey))
		s.writes.Unlock()
		if !ok {
			return nil, kerr.NewProvisionedThroughputExceeded(throughputExceeded(sh.ID, st.Doc.Name, s.cfg.Account))
		}
	}
	dk, err := s.writeKey(ctx, st)
	if err != nil {
		return nil, err
	}
	data := in.Data
	if dk != nil {
		data = dk.Seal(data)
	}
	appends := []storage.Append{{Shard: st.Ref(sh.Index), Records: []storage.Record{{
		ArrivalMilli: st.ArrivalMilli(now), PartitionKey: *in.PartitionKey, Data: data,
	}}}}
	if err := s.store.Append(ctx, appends); errors.Is(err, storage.ErrSealed) {
		return nil, err
	} else if err != nil {
		return nil, internal("put record", err)
	}
	s.noteWrites(st, appends, nil)
	return &PutRecordOutput{
		ShardId:        sh.ID,
		SequenceNumber: recordSeq(sh.Index, sh.SeqCreated, appends[0].Records[0].Offset, appends[0].Records[0].ArrivalMilli),
		EncryptionType: st.Doc.Encryption,
	}, nil
}

// putMem is the memory of one PutRecords call.
type putMem struct {
	places  []placement
	todo    []int
	records []storage.Record // the records handed to the store, in per-shard spans
	results []PutRecordsResultEntry
	seqs    []byte // the results' sequence numbers (seqText)
}

var putMems = sync.Pool{New: func() any { return new(putMem) }}

// getPutMem returns memory for a call of n records: places and results of length n (zeroed), todo
// 0..n-1.
func getPutMem(n int) *putMem {
	m := putMems.Get().(*putMem)
	m.places = resize(m.places, n)
	m.results = resize(m.results, n)
	m.todo = resize(m.todo, n)
	for i := range m.todo {
		m.todo[i] = i
	}
	return m
}

// free gives m back to the pool, cleared of what it points to (request data, strings); a call too
// large to keep is dropped.
func (m *putMem) free() {
	if cap(m.results) > pooledMax || cap(m.records) > pooledMax {
		return
	}
	clear(m.places[:cap(m.places)])
	clear(m.records[:cap(m.records)])
	clear(m.results[:cap(m.results)])
	m.records = m.records[:0]
	m.seqs = m.seqs[:0]
	putMems.Put(m)
}
