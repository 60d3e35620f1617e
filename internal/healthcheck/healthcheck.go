// Package healthcheck is `kinesisd health`, a client that exits 0 when a kinesisd answers GET /health with 200.
package healthcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the server's default -listen address as a URL.
const DefaultEndpoint = "http://127.0.0.1:4567"

// maxBody bounds what is read of the answer: /health's is a small JSON document.
const maxBody = 64 << 10

// Main runs `kinesisd health` with args (those after "health") and returns the exit status: 0 when
// the server answered 200, 1 when it did not (the reason on stderr), 2 on bad flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, os.Getenv, stdout, stderr)
}

type options struct {
	endpoint    string
	timeout     time.Duration
	tlsInsecure bool
	tlsCA       string
}

// run is Main with the environment passed in.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "kinesisd health: %v\n\nusage of kinesisd health:\n%s", err, usage())
		return 2
	}
	body, err := check(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "kinesisd health: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, body)
	return 0
}

func newFlagSet(o *options, defaultEndpoint string) *flag.FlagSet {
	fs := flag.NewFlagSet("kinesisd health", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.endpoint, "endpoint", defaultEndpoint, "URL of the server (KINESISD_HEALTH_ENDPOINT; without it, derived from KINESISD_LISTEN and KINESISD_TLS when set); GET <endpoint>/health is asked")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	fs.BoolVar(&o.tlsInsecure, "tls-insecure", false, "with an https endpoint, accept any certificate (such as the self-signed one of -tls)")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "with an https endpoint, PEM file of the CAs trusted for the server's certificate")
	return fs
}

func usage() string {
	var b strings.Builder
	b.WriteString("kinesisd health [-endpoint URL] [-timeout D] [-tls-insecure | -tls-ca FILE]\n\n" +
		"Asks a kinesisd for GET /health: exits 0 when it answers 200 (its JSON on stdout), 1 otherwise\n" +
		"(the reason on stderr). For a container HEALTHCHECK, or any supervisor.\n\n")
	fs := newFlagSet(&options{}, DefaultEndpoint)
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

func parseFlags(args []string, getenv func(string) string) (*options, error) {
	o := &options{}
	fs := newFlagSet(o, defaultEndpoint(getenv))
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("-timeout: %v is not positive", o.timeout)
	}
	endpoint, err := normalize(o.endpoint)
	if err != nil {
		return nil, fmt.Errorf("-endpoint: %w", err)
	}
	o.endpoint = endpoint
	if (o.tlsInsecure || o.tlsCA != "") && !strings.HasPrefix(o.endpoint, "https://") {
		return nil, fmt.Errorf("-tls-insecure and -tls-ca need an https endpoint, not %s", o.endpoint)
	}
	return o, nil
}

// defaultEndpoint is KINESISD_HEALTH_ENDPOINT, else the address the server itself reads from
// KINESISD_LISTEN (a wildcard host asked on loopback), so that a container whose port was changed by
// the environment is still checked where it listens; else DefaultEndpoint.
func defaultEndpoint(getenv func(string) string) string {
	if e := getenv("KINESISD_HEALTH_ENDPOINT"); e != "" {
		return e
	}
	listen := getenv("KINESISD_LISTEN")
	if listen == "" {
		return DefaultEndpoint
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" {
		return DefaultEndpoint
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if tlsOn, _ := strconv.ParseBool(getenv("KINESISD_TLS")); tlsOn {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// normalize accepts a URL or a bare host:port (taken as http) and drops a trailing slash.
func normalize(endpoint string) (string, error) {
	if endpoint == "" {
		return "", errors.New("empty")
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return "", fmt.Errorf("%q: not an http or https URL", endpoint)
	}
	return strings.TrimSuffix(endpoint, "/"), nil
}

// check asks endpoint/health and returns the body of a 200, or an error with the reason.
func check(ctx context.Context, o *options) (string, error) {
	transport := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if strings.HasPrefix(o.endpoint, "https://") {
		cfg := &tls.Config{InsecureSkipVerify: o.tlsInsecure}
		if o.tlsCA != "" {
			pem, err := os.ReadFile(o.tlsCA)
			if err != nil {
				return "", fmt.Errorf("-tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return "", fmt.Errorf("-tls-ca: no PEM certificate in %s", o.tlsCA)
			}
			cfg.RootCAs = pool
		}
		transport.TLSClientConfig = cfg
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   o.timeout,
		// A redirect is not a healthy answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := o.endpoint + "/health"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err // *url.Error: "Get "<url>": <cause>"
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	text := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s%s", url, resp.Status, reason(text))
	}
	if err != nil {
		return "", fmt.Errorf("GET %s: reading the answer: %w", url, err)
	}
	return text, nil
}

// reason is what an unhealthy answer says: the "reason" (or "status") of /health's JSON, else the
// start of the body.
func reason(body string) string {
	var doc struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	switch {
	case json.Unmarshal([]byte(body), &doc) == nil && doc.Reason != "":
		return ": " + doc.Reason
	case doc.Status != "":
		return ": " + doc.Status
	case body == "":
		return ""
	case len(body) > 200:
		return ": " + body[:200] + "…"
	default:
		return ": " + body
	}
}
