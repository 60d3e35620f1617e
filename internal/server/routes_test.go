package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kinesisd/internal/protocol"
	"kinesisd/internal/service"
	"kinesisd/internal/storage/pebble"
)

// TestRoutesHostRule: the Host rule applies only where Start asks for it (a loopback port without
// -credentials); elsewhere a request for any name reaches the API's rules (test/edge covers the rule
// itself over a real loopback port).
func TestRoutesHostRule(t *testing.T) {
	st, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := service.New(t.Context(), service.Config{Store: st, Account: "000000000000", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	api := protocol.New(svc, protocol.Options{})
	s := &Server{}
	for _, tc := range []struct {
		loopbackHosts bool
		host          string
		want          string
	}{
		{true, "evil.example:4567", "is not a loopback name"},
		{true, "127.0.0.1:4567", "Unable to determine service/operation name to be authorized"},
		{false, "evil.example:4567", "Unable to determine service/operation name to be authorized"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = tc.host
		w := httptest.NewRecorder()
		s.routes(api, tc.loopbackHosts).ServeHTTP(w, req)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("loopback hosts %v, Host %s: %d %q, want 403 with %q", tc.loopbackHosts, tc.host, w.Code, w.Body, tc.want)
		}
	}
}
