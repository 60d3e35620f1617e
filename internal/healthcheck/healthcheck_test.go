package healthcheck

import (
	"bytes"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	healthy := `{"status":"ok","engine":"pebble","version":"v1.2.3","uptime_seconds":7}`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(healthy + "\n"))
	})
	mux.HandleFunc("GET /unavailable/health", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable","reason":"NATS JetStream unreachable","engine":"jetstream"}`))
	})
	mux.HandleFunc("GET /forbidden/health", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<AccessDeniedException><Message>Unable to determine service/operation name to be authorized</Message></AccessDeniedException>`))
	})
	mux.HandleFunc("GET /redirect/health", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok/health", http.StatusFound)
	})
	mux.HandleFunc("GET /hang/health", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client gives up
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"healthy", []string{"-endpoint", srv.URL + "/ok"}, nil, 0, healthy, ""},
		{"trailing slash", []string{"-endpoint", srv.URL + "/ok/"}, nil, 0, healthy, ""},
		{"bare host:port is http", []string{"-endpoint", strings.TrimPrefix(srv.URL, "http://") + "/ok"}, nil, 0, healthy, ""},
		{"endpoint from KINESISD_HEALTH_ENDPOINT", nil, map[string]string{"KINESISD_HEALTH_ENDPOINT": srv.URL + "/ok"}, 0, healthy, ""},
		{"flag wins over the variable", []string{"-endpoint", srv.URL + "/ok"}, map[string]string{"KINESISD_HEALTH_ENDPOINT": srv.URL + "/unavailable"}, 0, healthy, ""},
		{"503 with its reason", []string{"-endpoint", srv.URL + "/unavailable"}, nil, 1, "", "503 Service Unavailable: NATS JetStream unreachable"},
		{"403 from a server without /health", []string{"-endpoint", srv.URL + "/forbidden"}, nil, 1, "", "403 Forbidden: <AccessDeniedException>"},
		{"redirect is not followed", []string{"-endpoint", srv.URL + "/redirect"}, nil, 1, "", "302 Found"},
		{"connection refused", []string{"-endpoint", "http://" + refused}, nil, 1, "", "connection refused"},
		{"timeout", []string{"-endpoint", srv.URL + "/hang", "-timeout", "100ms"}, nil, 1, "", "Timeout exceeded"},
		{"help", []string{"-h"}, nil, 0, "-endpoint", ""},
		{"unknown flag", []string{"-nope"}, nil, 2, "", "flag provided but not defined: -nope"},
		{"argument", []string{"now"}, nil, 2, "", `unexpected argument "now"`},
		{"bad timeout", []string{"-timeout", "0s"}, nil, 2, "", "-timeout: 0s is not positive"},
		{"bad scheme", []string{"-endpoint", "ftp://x"}, nil, 2, "", "not an http or https URL"},
		{"tls flag on http", []string{"-endpoint", srv.URL, "-tls-insecure"}, nil, 2, "", "need an https endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) || tt.wantStdout == "" && stdout.Len() > 0 {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) || tt.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(notPEM, []byte("nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"untrusted certificate", []string{"-endpoint", srv.URL}, 1, "certificate"},
		{"insecure", []string{"-endpoint", srv.URL, "-tls-insecure"}, 0, ""},
		{"trusted CA", []string{"-endpoint", srv.URL, "-tls-ca", ca}, 0, ""},
		{"CA file without a certificate", []string{"-endpoint", srv.URL, "-tls-ca", notPEM}, 1, "no PEM certificate"},
		{"missing CA file", []string{"-endpoint", srv.URL, "-tls-ca", filepath.Join(t.TempDir(), "none")}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
		})
	}
}

func TestDefaultEndpoint(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set", nil, "http://127.0.0.1:4567"},
		{"health endpoint", map[string]string{"KINESISD_HEALTH_ENDPOINT": "http://kinesis:4567", "KINESISD_LISTEN": "0.0.0.0:1"}, "http://kinesis:4567"},
		{"container listen", map[string]string{"KINESISD_LISTEN": "0.0.0.0:4567"}, "http://127.0.0.1:4567"},
		{"other port", map[string]string{"KINESISD_LISTEN": "0.0.0.0:9000"}, "http://127.0.0.1:9000"},
		{"empty host", map[string]string{"KINESISD_LISTEN": ":9000"}, "http://127.0.0.1:9000"},
		{"IPv6 wildcard", map[string]string{"KINESISD_LISTEN": "[::]:9000"}, "http://[::1]:9000"},
		{"named host", map[string]string{"KINESISD_LISTEN": "localhost:9000"}, "http://localhost:9000"},
		{"TLS", map[string]string{"KINESISD_LISTEN": "0.0.0.0:4567", "KINESISD_TLS": "true"}, "https://127.0.0.1:4567"},
		{"port 0 cannot be asked", map[string]string{"KINESISD_LISTEN": "127.0.0.1:0"}, "http://127.0.0.1:4567"},
		{"malformed listen", map[string]string{"KINESISD_LISTEN": "nowhere"}, "http://127.0.0.1:4567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := defaultEndpoint(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("defaultEndpoint = %q, want %q", got, tt.want)
			}
		})
	}
}
