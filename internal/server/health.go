package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"kinesisd/internal/storage"
	"kinesisd/internal/version"
)

// healthBody is GET /health's answer.
type healthBody struct {
	Status        string `json:"status"` // ok or unavailable
	Reason        string `json:"reason,omitempty"`
	Engine        string `json:"engine"`
	Version       string `json:"version"`
	UptimeSeconds int64  `json:"uptime_seconds"`
}

// serveHealth answers GET and HEAD /health, unauthenticated also with -credentials: 200 when the
// server can serve, 503 with the reason while it cannot (shutting down, the store unhealthy).
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	body := healthBody{Status: "ok", Engine: s.engine, Version: version.Version(), UptimeSeconds: int64(time.Since(s.started).Seconds())}
	switch hr, ok := s.store.(storage.HealthReporter); {
	case s.closing.Load():
		body.Status, body.Reason = "unavailable", "shutting down"
	case ok:
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := hr.Health(ctx); err != nil {
			body.Status, body.Reason = "unavailable", err.Error()
		}
	}
	status := http.StatusOK
	if body.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(body)
	}
}
