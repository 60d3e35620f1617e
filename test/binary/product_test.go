package binary_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/kinesistest/proc"
)

// startLogged starts bin with env and args and waits until it serves. It returns the process also
// when it ended first (Endpoint is then "", and the log says why).
func startLogged(t *testing.T, bin string, env []string, args ...string) *proc.Proc {
	t.Helper()
	p := proc.Command(t, bin, env, args...)
	p.Ready(30 * time.Second)
	return p
}

// stop ends p with SIGTERM and fails t unless it exits cleanly.
func stop(t *testing.T, p *proc.Proc) {
	t.Helper()
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("kinesisd did not stop cleanly: %v", err)
	}
}

func runBin(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestHelpAndVersion(t *testing.T) {
	bin := buildBinary(t)
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		code, out, _ := runBin(t, bin, args...)
		if code != 0 {
			t.Errorf("kinesisd %v: exit %d, want 0", args, code)
		}
		for _, want := range []string{"-listen", "KINESISD_LISTEN", "-init-streams", "KINESISD_DISK_RESERVE", "kinesisd bench", "kinesisd export", "kinesisd import", "kinesisd health", "kinesisd version", "kinesisd backup"} {
			if !strings.Contains(out, want) {
				t.Errorf("kinesisd %v: help lacks %q", args, want)
			}
		}
	}
	for _, args := range [][]string{{"version"}, {"-version"}} {
		code, out, _ := runBin(t, bin, args...)
		if code != 0 || !regexp.MustCompile(`^kinesisd \S+ \(\S+\)\n$`).MatchString(out) {
			t.Errorf("kinesisd %v: exit %d, output %q, want 'kinesisd VERSION (COMMIT)'", args, code, out)
		}
	}
	for _, sub := range []string{"bench", "export", "import", "health", "backup"} {
		code, out, errOut := runBin(t, bin, sub, "-h")
		if code != 0 || !strings.Contains(out+errOut, "-") {
			t.Errorf("kinesisd %s -h: exit %d, output %q", sub, code, out+errOut)
		}
	}
	code, _, errOut := runBin(t, bin, "-in-memory", "false")
	if code != 2 || !strings.Contains(errOut, "write -in-memory=false") {
		t.Errorf("-in-memory false: exit %d, stderr %q, want 2 and the -in-memory=false hint", code, errOut)
	}
}

// TestHealthAndInitStreams: the port opens with the -init-streams streams ACTIVE, also when new
// streams stay CREATING for a while (-create-stream-delay); /health answers
// 200 with its JSON, also with -credentials; a restart leaves the streams alone and warns about one
// whose definition changed; the JSON log format parses line by line.
func TestHealthAndInitStreams(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	creds := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(creds, []byte("AKIDHEALTH secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startLogged(t, bin, []string{"KINESISD_INIT_STREAMS=audit:1:168h,orders:3,clicks:ON_DEMAND"},
		"-listen", "127.0.0.1:0", "-data", dir, "-log-format", "json", "-credentials", creds, "-create-stream-delay", "300ms")
	if p.Endpoint == "" {
		t.Fatalf("kinesisd did not start: %v\n%s", p.ExitErr(), p.Log())
	}
	resp, err := http.Get(p.Endpoint + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status        string  `json:"status"`
		Engine        string  `json:"engine"`
		Version       string  `json:"version"`
		UptimeSeconds *int64  `json:"uptime_seconds"`
		Reason        *string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || h.Status != "ok" || h.Engine != "pebble" || h.Version == "" || h.UptimeSeconds == nil || h.Reason != nil {
		t.Errorf("/health = %d %+v, want 200 ok pebble with version and uptime", resp.StatusCode, h)
	}
	if code, out, errOut := runBin(t, bin, "health", "-endpoint", p.Endpoint); code != 0 {
		t.Errorf("kinesisd health: exit %d: %s%s", code, out, errOut)
	}

	c := kinesis.New(kinesistest.NewClient(p.Endpoint).Options(), func(o *kinesis.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKIDHEALTH", "secret", "")
	})
	want := map[string]struct {
		mode      types.StreamMode
		shards    int32
		retention int32
	}{"orders": {types.StreamModeProvisioned, 3, 24}, "clicks": {types.StreamModeOnDemand, 4, 24}, "audit": {types.StreamModeProvisioned, 1, 168}}
	for name, w := range want {
		out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := out.StreamDescriptionSummary
		if s.StreamStatus != types.StreamStatusActive || s.StreamModeDetails.StreamMode != w.mode || *s.OpenShardCount != w.shards || *s.RetentionPeriodHours != w.retention {
			t.Errorf("%s: %s %s %d shards %dh, want ACTIVE %s %d shards %dh", name, s.StreamStatus, s.StreamModeDetails.StreamMode, *s.OpenShardCount, *s.RetentionPeriodHours, w.mode, w.shards, w.retention)
		}
	}
	if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	stop(t, p)
	for i, line := range strings.Split(p.Log(), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil || rec["time"] == nil {
			t.Errorf("log line %d is not a JSON record with time, level and msg: %q", i+1, line)
		}
	}

	// Restart: orders now asks for 5 shards; it is left with 3 and warned about.
	p = startLogged(t, bin, []string{"KINESISD_INIT_STREAMS=orders:5,clicks:ON_DEMAND,audit:1:168h"}, "-listen", "127.0.0.1:0", "-data", dir)
	if p.Endpoint == "" {
		t.Fatalf("restart failed: %v\n%s", p.ExitErr(), p.Log())
	}
	c = kinesistest.NewClient(p.Endpoint)
	out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.StreamDescriptionSummary.OpenShardCount != 3 {
		t.Errorf("orders has %d shards after the restart, want 3 (left alone)", *out.StreamDescriptionSummary.OpenShardCount)
	}
	log := p.Log()
	if !regexp.MustCompile(`level=WARN msg="init stream exists with another definition; left as it is" stream=orders .*3 open shards, not 5`).MatchString(log) {
		t.Errorf("no WARN about orders' definition in:\n%s", log)
	}
	if strings.Count(log, "level=WARN") != 1 {
		t.Errorf("want exactly one WARN (orders), got:\n%s", log)
	}
}

// TestInitStreamsPrefixRefused: the ACCOUNT/REGION/ prefix is reserved, and refused with a clear error.
func TestInitStreamsPrefixRefused(t *testing.T) {
	bin := buildBinary(t)
	code, _, errOut := runBin(t, bin, "-in-memory", "-init-streams", "111122223333/eu-west-1/orders:1")
	if code != 2 || !strings.Contains(errOut, "ACCOUNT/REGION/ prefix is not supported yet") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestWarnsOnOpenListen: a listen address beyond loopback without -credentials is warned about,
// naming -credentials; nothing is sent to it.
func TestWarnsOnOpenListen(t *testing.T) {
	bin := buildBinary(t)
	p := startLogged(t, bin, nil, "-in-memory", "-listen", "0.0.0.0:0")
	if p.Endpoint == "" {
		t.Fatalf("kinesisd did not start: %v\n%s", p.ExitErr(), p.Log())
	}
	if !regexp.MustCompile(`level=WARN .*-credentials.*anyone who reaches this port can read and write every stream`).MatchString(p.Log()) {
		t.Errorf("no WARN naming -credentials:\n%s", p.Log())
	}
	stop(t, p)
	q := startLogged(t, bin, nil, "-in-memory", "-listen", "127.0.0.1:0")
	stop(t, q)
	if strings.Contains(q.Log(), "level=WARN") {
		t.Errorf("a loopback listen was warned about:\n%s", q.Log())
	}
}
