package protocol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"kinesisd/internal/identity"
	"kinesisd/internal/kerr"
	"kinesisd/internal/sigv4"
)

// refusalLogInterval is how often at most a line about refused signatures is logged per access key
// (and about requests over the memory bound): a client retrying with a wrong secret, or a scan, must
// not flood the log.
const refusalLogInterval = 10 * time.Second

// exchange is one API request as the edge handles it: its response writer, wrapped to see the status
// written (for the request log, and to know whether a panic can still be answered), and what the
// request log reports. Reached through http.ResponseController, it unwraps to net/http's writer.
type exchange struct {
	http.ResponseWriter
	status   int // 0 until the header is written
	start    time.Time
	reqID    string
	op       string
	codec    codec           // the request's, once known
	code     string          // the error code answered, if any
	held     int64           // request memory reserved in Handler.mem, released at the end at the latest
	queued   bool            // the reservation waited its turn
	deadline time.Time       // the body's read deadline, once set (readDeadline)
	logging  bool            // a request line will be written
	streamed bool            // SubscribeToShard: its duration is observed at its initial response
	counted  bool            // counted in the requests metric (else finish counts it)
	caller   identity.Caller // once the signature has passed the checks
	call     callLog
}

func (x *exchange) WriteHeader(code int) {
	if x.status == 0 && code >= 200 {
		x.status = code
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	return x.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController net/http's own writer (deadlines, Flush).
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// callLog is what an operation tells the request log: the stream its input names, and the records and
// data bytes it wrote (PutRecord, PutRecords: those stored), read (GetRecords) or delivered
// (SubscribeToShard).
type callLog struct {
	stream         string
	records, bytes int
}

// add counts n records of size data bytes; a nil *callLog ignores them.
func (lg *callLog) add(n, size int) {
	if lg != nil {
		lg.records += n
		lg.bytes += size
	}
}

// finish ends every API request (deferred by ServeHTTP): it recovers a panic, logs it at ERROR with
// the request id, operation and stack and answers 500 InternalFailureException, or, when the response
// had started, aborts the connection (http.ErrAbortHandler) after logging; it gives back the request's
// memory, observes its duration and writes its request line.
func (h *Handler) finish(x *exchange, r *http.Request) {
	p := recover()
	abort := false
	if p != nil {
		if p == http.ErrAbortHandler { // net/http's sentinel, compared as net/http does
			abort = true
		} else {
			h.log.Error("panic serving request", "request_id", x.reqID, "operation", x.op, "panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
			if x.status == 0 {
				c := x.codec
				if c == nil {
					c = jsonCodec
				}
				h.writeError(x, c, kerr.NewInternalFailure(""))
			} else {
				abort = true
				x.code = kerr.NewInternalFailure("").Code()
				h.metrics.error(x.op, x.code)
			}
		}
	}
	h.mem.release(x.held)
	x.held = 0
	if !x.counted {
		h.metrics.request(x.op, r.Proto)
	}
	if !x.streamed {
		h.metrics.observe(x.op, x.start)
	}
	if x.logging {
		h.logRequest(x, r)
	}
	if abort {
		panic(http.ErrAbortHandler)
	}
}

// logRequest writes the request line: at INFO with Options.LogRequests, else at DEBUG. Its account,
// region and principal are the caller's, empty for a request refused before its signature passed.
func (h *Handler) logRequest(x *exchange, r *http.Request) {
	level := slog.LevelDebug
	if h.logRequests {
		level = slog.LevelInfo
	}
	status := x.status
	if status == 0 { // nothing written: net/http answers 200 with an empty body
		status = http.StatusOK
	}
	attrs := [...]slog.Attr{
		slog.String("request_id", x.reqID),
		slog.String("remote", r.RemoteAddr),
		slog.String("operation", x.op),
		slog.String("stream", x.call.stream),
		slog.String("account", x.caller.Account),
		slog.String("region", x.caller.Region),
		slog.String("principal", x.caller.Principal),
		slog.Int("status", status),
		slog.String("error", x.code),
		slog.Int("records", x.call.records),
		slog.Int("bytes", x.call.bytes),
		slog.Duration("duration", time.Since(x.start)),
	}
	n := len(attrs)
	if _, data := dataOps[x.op]; !data {
		attrs[9], attrs[11] = attrs[11], attrs[9] // duration in records' place; records and bytes left out
		n -= 2
	}
	h.log.LogAttrs(context.Background(), level, "request", attrs[:n]...)
}

// dataOps are the operations whose request lines carry records and bytes.
var dataOps = map[string]struct{}{"PutRecord": {}, "PutRecords": {}, "GetRecords": {}, "SubscribeToShard": {}}

// refused logs a refused signature at INFO, whatever the request log's setting, at most once per
// refusalLogInterval per access key: the access key id (from the request; never the secret or the
// signature), the error code and AWS's message as the reason, and how many lines were held back.
func (h *Handler) refused(x *exchange, r *http.Request, a *sigv4.Auth, err error) {
	var ke kerr.Error
	if !errors.As(err, &ke) {
		return
	}
	key := ""
	if a != nil {
		key = truncate(a.AccessKeyID, 128)
	}
	ok, held := h.refusals.allow(key)
	if !ok {
		return
	}
	h.log.LogAttrs(context.Background(), slog.LevelInfo, "signature refused",
		slog.String("request_id", x.reqID), slog.String("remote", r.RemoteAddr), slog.String("operation", x.op),
		slog.String("access_key", key), slog.String("error", ke.Code()), slog.String("reason", ke.Message()),
		slog.Int("suppressed", held))
}

// logLimiter lets one line per key through per interval and counts the lines it held back. It keeps at
// most maxLimiterKeys keys; past that, keys not seen for an interval are dropped, and new keys share
// one entry until there is room.
type logLimiter struct {
	every time.Duration
	now   func() time.Time // time.Now; tests move it

	mu   sync.Mutex
	keys map[string]*limitState
}

type limitState struct {
	last time.Time
	held int
}

const (
	maxLimiterKeys = 1024
	overflowKey    = "\x00other"
)

func newLogLimiter(every time.Duration) *logLimiter {
	return &logLimiter{every: every, now: time.Now, keys: map[string]*limitState{}}
}

// allow reports whether a line for key may be written now, and how many were held back since the last.
func (l *logLimiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s := l.keys[key]
	if s == nil && len(l.keys) >= maxLimiterKeys {
		for k, v := range l.keys {
			if now.Sub(v.last) >= l.every {
				delete(l.keys, k)
			}
		}
		if len(l.keys) >= maxLimiterKeys {
			key = overflowKey
			s = l.keys[key]
		}
	}
	if s == nil {
		l.keys[key] = &limitState{last: now}
		return true, 0
	}
	if now.Sub(s.last) < l.every {
		s.held++
		return false, 0
	}
	held := s.held
	s.last, s.held = now, 0
	return true, held
}

// streamField is a member of an operation's input that names a stream: StreamName, or an ARN
// (StreamARN, ConsumerARN, ResourceARN) whose stream part is the name.
type streamField struct {
	index []int
	arn   bool
}

// streamFields finds the stream-naming members of the input struct type t, most direct first.
func streamFields(t reflect.Type) []streamField {
	var fields []streamField
	for _, name := range []string{"StreamName", "StreamARN", "ConsumerARN", "ResourceARN"} {
		f, ok := t.FieldByName(name)
		if !ok {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.String {
			fields = append(fields, streamField{index: f.Index, arn: name != "StreamName"})
		}
	}
	return fields
}

// streamOf is the stream that in (a pointer to an input struct) names through fields, or "".
func streamOf(in any, fields []streamField) string {
	v := reflect.ValueOf(in).Elem()
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		s := fv.String()
		if s == "" {
			continue
		}
		if f.arn {
			s = streamFromARN(s)
			if s == "" {
				continue
			}
		}
		return truncate(s, 256)
	}
	return ""
}

// streamFromARN is the stream name in a stream or consumer ARN
// (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME[/consumer/…]), or "".
func streamFromARN(arn string) string {
	_, rest, ok := strings.Cut(arn, ":stream/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// truncate cuts s to at most n bytes: client input in the log stays bounded.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
