package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/storage/jetstream/natstest"
)

type health struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
	Engine string `json:"engine"`
}

func getHealth(t *testing.T, endpoint string) (int, health) {
	t.Helper()
	resp, err := http.Get(endpoint + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, h
}

// TestHealth: /health is 200 on every engine, and on NATS JetStream 503 naming NATS once the NATS
// server goes away.
func TestHealth(t *testing.T) {
	for _, e := range kinesistest.RunEngines() {
		t.Run(e.Name, func(t *testing.T) {
			s := kinesistest.Start(t, e, kinesistest.Options{})
			code, h := getHealth(t, s.Endpoint)
			wantEngine := "pebble"
			if e.JetStream {
				wantEngine = "jetstream"
			}
			if code != 200 || h.Status != "ok" || h.Engine != wantEngine {
				t.Fatalf("/health = %d %+v, want 200 ok %s", code, h, wantEngine)
			}
			if !e.JetStream {
				return
			}
			natstest.Stop(s.NATS)
			deadline := time.Now().Add(30 * time.Second)
			for {
				code, h = getHealth(t, s.Endpoint)
				if code == http.StatusServiceUnavailable {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/health still %d %+v 30 s after NATS stopped", code, h)
				}
				time.Sleep(100 * time.Millisecond) // polling, as a load balancer does
			}
			if h.Status != "unavailable" || !strings.Contains(h.Reason, "NATS") {
				t.Errorf("/health = %+v, want unavailable with a reason naming NATS", h)
			}
		})
	}
}
