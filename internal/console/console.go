// Package console is kinesisd's web console: its embedded page, and the endpoints under /console/api/ that the public API cannot give (the live tail, per-stream rates).
package console

import (
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"kinesisd/internal/identity"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"
)

// Prefix is where the console is served; the page's own calls under it go to Prefix+"api/".
const Prefix = "/console/"

//go:embed web
var webFiles embed.FS

// DefaultMaxTails is Options.MaxTails's default.
const DefaultMaxTails = 16

// Options configure a Handler.
type Options struct {
	// Service is the Service of the default account and region; each request runs on the Service of
	// its caller's (Service.For).
	Service *service.Service
	// Auth, when set, verifies the signature of every /console/api/ request (SigV4 for service kinesis,
	// as the API's), so that the endpoints need a listed key as the API does. Nil accepts any request,
	// signed or not, as the API does without -credentials.
	Auth *sigv4.Verifier
	// Keys are the accepted keys with their accounts and principals (with Auth).
	Keys identity.Keys
	// Account and Region are the caller's when a request does not say (its key and its signature's
	// scope do).
	Account, Region string
	// Rates returns the records and bytes written so far by stream name (protocol.Handler.StreamCounts);
	// nil: the rates endpoint answers no streams.
	Rates func() map[string]Count
	// MaxTails bounds the live tails open at once; 0: DefaultMaxTails.
	MaxTails int
	// Log receives the handler's messages; nil discards them.
	Log *slog.Logger
}

// Count is the records and data bytes written to a stream so far.
type Count struct {
	Records uint64 `json:"records"`
	Bytes   uint64 `json:"bytes"`
}

// Handler serves the console: the page's files under Prefix, and its endpoints under Prefix+"api/".
type Handler struct {
	opts  Options
	files http.Handler
	tails chan struct{} // one token per open tail
	log   *slog.Logger
}

// New returns the console's handler.
func New(opts Options) *Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	opts.Account = cmp.Or(opts.Account, "000000000000")
	opts.Region = cmp.Or(opts.Region, "us-east-1")
	return &Handler{
		opts:  opts,
		files: http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.FileServerFS(sub)),
		tails: make(chan struct{}, cmp.Or(opts.MaxTails, DefaultMaxTails)),
		log:   cmp.Or(opts.Log, slog.New(slog.DiscardHandler)),
	}
}

// ServeHTTP answers GET and HEAD requests for the page's files and the endpoints:
//
//   - GET /console/api/config: the server's default account and region, and whether requests must be
//     signed with a listed key (no authentication: it says nothing secret).
//   - GET /console/api/tail?stream=NAME&from=TYPE[&seq=N][&ts=MILLIS]: the live tail, as server-sent
//     events (tail.go).
//   - GET /console/api/rates: the records and data bytes written so far by stream name, and the
//     server's time, for the page to derive records/s and bytes/s.
//   - GET /console/api/subscriptions?stream=NAME: the SubscribeToShard subscriptions open on the
//     stream's consumers (consumer, shard, started), in every front-end.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "InvalidArgumentException", "the console answers GET and HEAD only")
		return
	}
	api, isAPI := strings.CutPrefix(r.URL.Path, Prefix+"api/")
	if !isAPI {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		h.files.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if api == "config" {
		writeJSON(w, map[string]any{"account": h.opts.Account, "region": h.opts.Region, "auth": h.opts.Auth != nil})
		return
	}
	caller, err := h.caller(r)
	if err != nil {
		writeError(w, http.StatusForbidden, authCode(err), err.Error())
		return
	}
	ctx := identity.WithCaller(r.Context(), caller)
	svc := h.opts.Service.For(caller.Account, caller.Region)
	switch api {
	case "tail":
		h.serveTail(w, r.WithContext(ctx), svc)
	case "subscriptions":
		h.serveSubscriptions(w, r.WithContext(ctx), svc)
	case "rates":
		var counts map[string]Count
		if h.opts.Rates != nil {
			counts = h.opts.Rates()
		}
		writeJSON(w, map[string]any{"time": time.Now().UnixMilli(), "streams": counts})
	default:
		writeError(w, http.StatusNotFound, "ResourceNotFoundException", "no console endpoint "+r.URL.Path)
	}
}

// accountKey is an access key id of 12 digits: without -credentials it is its own account.
var accountKey = regexp.MustCompile(`^\d{12}$`)

// caller works out who made r as the API's edge does: with Auth, from a verified signature (the key's
// account and principal, the scope's region); without, from the signature if there is one, else the
// defaults.
func (h *Handler) caller(r *http.Request) (identity.Caller, error) {
	c := identity.Caller{Account: h.opts.Account, Region: h.opts.Region, SecureTransport: r.TLS != nil}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.SourceIP = host
	}
	a, err := sigv4.Parse(r.Header, r.URL.Query())
	if h.opts.Auth != nil {
		if err != nil {
			return c, err
		}
		p, err := h.opts.Auth.Check(r, a, "kinesis")
		if err != nil {
			return c, err
		}
		if err := p.Verify(nil); err != nil { // GET: the body is empty
			return c, err
		}
	}
	if err != nil {
		c.Principal = identity.RootARN(c.Account)
		return c, nil
	}
	c.AccessKeyID = a.AccessKeyID
	if sigv4.ValidRegion(a.Region) {
		c.Region = a.Region
	}
	if k, ok := h.opts.Keys[a.AccessKeyID]; ok {
		c.Account, c.Principal = k.Account, k.ARN()
		return c, nil
	}
	if h.opts.Keys == nil && accountKey.MatchString(a.AccessKeyID) {
		c.Account = a.AccessKeyID
	}
	c.Principal = identity.RootARN(c.Account)
	return c, nil
}

// authCode is the API's error code for a refused signature.
func authCode(err error) string {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		return "AccessDeniedException"
	}
	switch se.Kind {
	case sigv4.Missing:
		return "MissingAuthenticationTokenException"
	case sigv4.Incomplete, sigv4.Both:
		return "IncompleteSignatureException"
	case sigv4.Unrecognized:
		return "UnrecognizedClientException"
	}
	return "InvalidSignatureException"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// writeError answers an error in the API's JSON shape: {"__type": code, "message": message}.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}

// serveSubscriptions answers GET /console/api/subscriptions?stream=NAME: {"subscriptions": [{consumer,
// shard, started (Unix milliseconds)}]}, for a caller allowed kinesis:DescribeStreamSummary on it.
func (h *Handler) serveSubscriptions(w http.ResponseWriter, r *http.Request, svc *service.Service) {
	name := r.URL.Query().Get("stream")
	ctx := r.Context()
	ref := service.StreamRef{StreamName: &name}
	if _, err := svc.Authorize(ctx, "DescribeStreamSummary", &service.DescribeStreamSummaryInput{StreamRef: ref}); err != nil {
		writeServiceError(w, err)
		return
	}
	subs, err := svc.LiveSubscriptions(ctx, name)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	type sub struct {
		Consumer string `json:"consumer"`
		Shard    string `json:"shard"`
		Started  int64  `json:"started"`
	}
	out := make([]sub, len(subs))
	for i, s := range subs {
		out[i] = sub{s.Consumer, s.Shard, s.Started.UnixMilli()}
	}
	writeJSON(w, map[string]any{"subscriptions": out})
}
