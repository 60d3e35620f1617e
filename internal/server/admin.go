package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"kinesisd/internal/sigv4"
	"kinesisd/internal/storage"
)

// backupRequest and backupResponse are the bodies of POST /admin/backup (backup.Path).
type backupRequest struct {
	Dir string `json:"dir"`
}

type backupResponse struct {
	Dir        string `json:"dir"`
	DurationMs int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// serveBackup makes an online backup of the store into a directory on the server's machine. With
// -credentials the request must carry a valid signature of a listed key (for service kinesis, in any
// region); without, it is accepted from loopback addresses only.
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, resp backupResponse) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(resp)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(http.StatusMethodNotAllowed, backupResponse{Error: "use POST"})
		return
	}
	var pending *sigv4.Pending
	if s.auth != nil {
		a, err := sigv4.Parse(r.Header, r.URL.Query())
		if err == nil {
			pending, err = s.auth.Check(r, a, "kinesis")
		}
		if err != nil {
			reply(http.StatusForbidden, backupResponse{Error: err.Error()})
			return
		}
	} else if !fromLoopback(r) {
		reply(http.StatusForbidden, backupResponse{Error: "admin requests are accepted from loopback only unless the server runs with -credentials"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		reply(http.StatusBadRequest, backupResponse{Error: "read body: " + err.Error()})
		return
	}
	if pending != nil {
		if err := pending.Verify(body); err != nil {
			reply(http.StatusForbidden, backupResponse{Error: err.Error()})
			return
		}
	}
	var req backupRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Dir == "" {
		reply(http.StatusBadRequest, backupResponse{Error: `want {"dir": "/path/on/the/server"}`})
		return
	}
	cp, ok := s.store.(storage.Checkpointer)
	if !ok {
		reply(http.StatusNotImplemented, backupResponse{Error: fmt.Sprintf("the %s engine has no online backup: back up the NATS servers (JetStream stream snapshots) instead", s.engine)})
		return
	}
	start := time.Now()
	if err := cp.Checkpoint(r.Context(), req.Dir); err != nil {
		s.log.Error("backup failed", "dir", req.Dir, "err", err)
		reply(http.StatusInternalServerError, backupResponse{Dir: req.Dir, Error: err.Error()})
		return
	}
	d := time.Since(start)
	s.log.Info("backup written", "dir", req.Dir, "duration", d.Round(time.Millisecond).String())
	reply(http.StatusOK, backupResponse{Dir: req.Dir, DurationMs: d.Milliseconds()})
}

// fromLoopback reports whether r came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errNotLoopback is the warning for a listen address anyone on the network may reach.
var errNotLoopback = errors.New("without -credentials anyone who reaches this port can read and write every stream: give -credentials FILE, or listen on 127.0.0.1")

// loopbackOnly reports whether addr (host:port) can be reached from this machine only.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
