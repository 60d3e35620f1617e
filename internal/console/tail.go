package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service"
)

// The live tail: every shard of a stream read as records arrive, sent to the page as server-sent
// events. Each shard has a reader goroutine that reads through the service's tail reads (decrypted as
// GetRecords returns records, outside the per-shard read limits, no consumer registered) and waits on
// the store's append notification when it has caught up; the request's goroutine writes what they
// read. A closed shard's reader ends at the shard's end and the tail starts its children, so a tail
// follows splits and merges. Everything stops when the page goes (the request's context), when the
// stream is deleted, and when the server shuts down.

const (
	// tailReadLimit is the most records one read of a shard returns.
	tailReadLimit = 1000
	// tailPoll is how long a caught-up reader waits before reading again without an append
	// notification (a store shared by several front-ends announces appends best effort).
	tailPoll = time.Second
	// tailPing is how often an idle tail writes a comment, so that a page that went is noticed.
	tailPing = 15 * time.Second
	// tailQueue is how many read batches may wait for the writer: readers block beyond it, so that a
	// slow page holds back its own tail and nothing else.
	tailQueue = 16
)

// tailEvent is what a shard reader hands the writer.
type tailEvent struct {
	shard    service.TailShard
	records  []service.Record
	end      bool // the shard is closed and read to its end
	children []service.TailShard
	err      error
}

// wireRecord is a record as the page receives it.
type wireRecord struct {
	Seq     string     `json:"seq"`
	Key     string     `json:"pk"`
	Arrival int64      `json:"t"` // ApproximateArrivalTimestamp, Unix milliseconds
	Data    []byte     `json:"data"`
	User    []wireUser `json:"user,omitempty"` // a KPL aggregated record's user records
	AggErr  string     `json:"aggErr,omitempty"`
}

type wireUser struct {
	Key  string `json:"pk"`
	Hash string `json:"ehk,omitempty"`
	Data []byte `json:"data"`
}

// serveTail answers GET /console/api/tail?stream=NAME&from=TYPE[&seq=N][&ts=MILLIS]. TYPE is LATEST
// (the default), TRIM_HORIZON, AT_SEQUENCE_NUMBER (seq: that record's shard from it, the other open
// shards from LATEST) or AT_TIMESTAMP (ts, Unix milliseconds). The answer is text/event-stream:
//
//   - event "shards": {"shards": [ids]} the shards being read, at the start and whenever children are
//     added;
//   - event "records": {"shard": id, "records": [{seq, pk, t, data (base64), user: [{pk, ehk, data}]}]};
//   - event "end": {"shard": id, "children": [ids]} a closed shard was read to its end;
//   - event "error": {"__type": code, "message": text}, after which the stream ends.
func (h *Handler) serveTail(w http.ResponseWriter, r *http.Request, svc *service.Service) {
	ctx := r.Context()
	q := r.URL.Query()
	name, typ := q.Get("stream"), q.Get("from")
	if typ == "" {
		typ = "LATEST"
	}
	if _, err := svc.Authorize(ctx, "GetShardIterator", &service.GetShardIteratorInput{StreamRef: service.StreamRef{StreamName: &name}}); err != nil {
		writeServiceError(w, err)
		return
	}
	var seq *string
	var at *time.Time
	switch typ {
	case "LATEST", "TRIM_HORIZON":
	case "AT_SEQUENCE_NUMBER":
		s := q.Get("seq")
		seq = &s
	case "AT_TIMESTAMP":
		ms, err := strconv.ParseInt(q.Get("ts"), 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "InvalidArgumentException", "ts must be Unix milliseconds")
			return
		}
		t := time.UnixMilli(ms)
		at = &t
	default:
		writeError(w, http.StatusBadRequest, "InvalidArgumentException", "from must be LATEST, TRIM_HORIZON, AT_SEQUENCE_NUMBER or AT_TIMESTAMP")
		return
	}
	ts, err := svc.TailOpen(ctx, name)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	starts, err := tailStarts(ctx, svc, ts, typ, seq, at)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	select {
	case h.tails <- struct{}{}:
		defer func() { <-h.tails }()
	default:
		writeError(w, http.StatusServiceUnavailable, "LimitExceededException", "too many console tails are open; close one")
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	ctx, cancel := context.WithCancel(ctx)
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()
	events := make(chan tailEvent, tailQueue)
	started := map[uint32]bool{}
	var ids []string
	for _, st := range starts {
		started[st.shard.Index] = true
		ids = append(ids, st.shard.ID)
		readers.Go(func() { readShard(ctx, svc, ts, st.shard, st.from, events) })
	}
	out := &sse{w: w}
	out.event("shards", map[string]any{"shards": ids})
	ended := svc.TailsEnded()
	ping := time.NewTicker(tailPing)
	defer ping.Stop()
	for {
		if out.err == nil && len(events) == 0 {
			out.err = rc.Flush()
		}
		if out.err != nil {
			return // the page went
		}
		select {
		case <-ctx.Done():
			return
		case <-ended:
			out.event("error", map[string]string{"__type": "ShutdownException", "message": "the server is shutting down"})
			rc.Flush()
			return
		case <-ping.C:
			out.comment("ping")
		case ev := <-events:
			switch {
			case ev.err != nil:
				code, msg := "InternalFailureException", "the tail failed"
				var ke kerr.Error
				if errors.As(ev.err, &ke) {
					code, msg = ke.Code(), ke.Message()
				} else if ctx.Err() == nil {
					h.log.Error("console tail", "stream", name, "shard", ev.shard.ID, "err", ev.err)
				}
				out.event("error", map[string]string{"__type": code, "message": msg})
				rc.Flush()
				return
			case len(ev.records) > 0:
				out.event("records", map[string]any{"shard": ev.shard.ID, "records": wireRecords(ev.records)})
			}
			if ev.end {
				var children, added []string
				for _, c := range ev.children {
					children = append(children, c.ID)
					if !started[c.Index] {
						started[c.Index] = true
						added = append(added, c.ID)
						readers.Go(func() { readShard(ctx, svc, ts, c, 0, events) }) // from the child's start
					}
				}
				out.event("end", map[string]any{"shard": ev.shard.ID, "children": children})
				if len(added) > 0 {
					out.event("shards", map[string]any{"shards": added})
				}
			}
		}
	}
}

// tailStart is where the tail of one shard begins.
type tailStart struct {
	shard service.TailShard
	from  uint64
}

// tailStarts are the shards a tail from typ reads first, each with its first offset: the open
// shards from LATEST; every shard for TRIM_HORIZON and AT_TIMESTAMP (closed ones still hold records
// within retention); for AT_SEQUENCE_NUMBER, the number's shard from it and the other open shards
// from LATEST.
func tailStarts(ctx context.Context, svc *service.Service, ts *service.TailStream, typ string, seq *string, at *time.Time) ([]tailStart, error) {
	var seqShard = -1
	if typ == "AT_SEQUENCE_NUMBER" {
		if idx, ok := service.SequenceShard(*seq); ok {
			seqShard = int(idx)
		}
	}
	var out []tailStart
	for _, sh := range ts.Shards {
		t, s, a := typ, (*string)(nil), at
		switch {
		case typ == "AT_SEQUENCE_NUMBER" && int(sh.Index) == seqShard:
			s = seq
		case typ == "AT_SEQUENCE_NUMBER" || typ == "LATEST":
			if sh.Closed {
				continue
			}
			t = "LATEST"
		}
		from, err := svc.TailStart(ctx, ts, sh.Index, t, s, a)
		if err != nil {
			return nil, err
		}
		out = append(out, tailStart{shard: sh, from: from})
	}
	if typ == "AT_SEQUENCE_NUMBER" && seqShard < 0 {
		// Let the service say why the number is refused, in GetShardIterator's words.
		if len(ts.Shards) > 0 {
			_, err := svc.TailStart(ctx, ts, ts.Shards[0].Index, typ, seq, nil)
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// readShard reads shard sh of ts from offset from until ctx ends, the shard ends, or a read fails,
// handing each batch to events.
func readShard(ctx context.Context, svc *service.Service, ts *service.TailStream, sh service.TailShard, from uint64, events chan<- tailEvent) {
	send := func(ev tailEvent) bool {
		select {
		case events <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	poll := time.NewTimer(tailPoll)
	defer poll.Stop()
	for {
		woke := svc.TailWait(ts, sh.Index) // before the read, so that an append during it is not missed
		b, err := svc.TailRead(ctx, ts, sh.Index, from, tailReadLimit)
		if err != nil {
			if ctx.Err() == nil {
				send(tailEvent{shard: sh, err: err})
			}
			return
		}
		from = b.Next
		if len(b.Records) > 0 || b.End {
			if !send(tailEvent{shard: sh, records: b.Records, end: b.End, children: b.Children}) || b.End {
				return
			}
		}
		if len(b.Records) == tailReadLimit {
			continue // more at once
		}
		poll.Reset(tailPoll)
		select {
		case <-ctx.Done():
			return
		case <-woke:
		case <-poll.C:
		}
	}
}

// wireRecords are recs as the page receives them, KPL aggregated records with their user records.
func wireRecords(recs []service.Record) []wireRecord {
	out := make([]wireRecord, len(recs))
	for i := range recs {
		r := &recs[i]
		out[i] = wireRecord{Seq: r.SequenceNumber, Key: r.PartitionKey, Arrival: r.ApproximateArrivalTimestamp.Time.UnixMilli(), Data: r.Data}
		users, err := Deaggregate(r.Data)
		switch {
		case errors.Is(err, errNotAggregated):
		case err != nil:
			out[i].AggErr = err.Error()
		default:
			out[i].User = make([]wireUser, len(users))
			for j, u := range users {
				out[i].User[j] = wireUser{Key: u.PartitionKey, Hash: u.ExplicitHashKey, Data: u.Data}
			}
		}
	}
	return out
}

// sse writes server-sent events, keeping the first write error.
type sse struct {
	w   http.ResponseWriter
	buf bytes.Buffer
	err error
}

// event writes one event of type name whose data is v in JSON (one line: JSON escapes newlines).
func (s *sse) event(name string, v any) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	s.buf.WriteString("event: " + name + "\ndata: ")
	if err := json.NewEncoder(&s.buf).Encode(v); err != nil { // ends with a newline
		s.err = err
		return
	}
	s.buf.WriteString("\n")
	_, s.err = s.w.Write(s.buf.Bytes())
}

// comment writes a comment line, which EventSource and the page ignore.
func (s *sse) comment(text string) {
	if s.err == nil {
		_, s.err = s.w.Write([]byte(": " + text + "\n\n"))
	}
}

// writeServiceError answers a service error with its code and status, as the API would.
func writeServiceError(w http.ResponseWriter, err error) {
	var ke kerr.Error
	if errors.As(err, &ke) {
		writeError(w, ke.HTTPStatus(), ke.Code(), ke.Message())
		return
	}
	writeError(w, http.StatusInternalServerError, "InternalFailureException", "the console could not read the stream")
}
