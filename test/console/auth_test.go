package console_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/kinesistest"
	"kinesisd/internal/kinesistest/proc"
)

// TestConsoleCredentials runs the binary with -credentials: the page asks for a key, refuses a wrong
// secret with the server's answer, and works with the right one (the tail included, whose endpoint
// refuses unsigned requests).
func TestConsoleCredentials(t *testing.T) {
	skipUnlessEnabled(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	// The page's key, and the key kinesistest's SDK client signs with.
	// A key of another account, for the page's account selector.
	if err := os.WriteFile(creds, []byte("AKIDCONSOLE console-secret\nAKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"+
		"AKIDOTHER other-secret 111122223333\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := proc.Start(t, bin, filepath.Join(dir, "data"), "-in-memory", "-credentials", creds)
	client := kinesistest.NewClient(p.Endpoint)

	resp, err := http.Get(p.Endpoint + "/console/api/tail?stream=x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned tail request: %d %s, want 403", resp.StatusCode, body)
	}

	ctx := newBrowser(t)
	openConsole(t, ctx, p.Endpoint)
	waitFor(t, ctx, "the sign-in form", `!document.getElementById('login').hidden`, 10*time.Second)
	setValue(t, ctx, "login-key", "AKIDCONSOLE")
	setValue(t, ctx, "login-secret", "not-the-secret")
	click(t, ctx, "login-btn")
	waitFor(t, ctx, "the refusal", `document.getElementById('login-error').textContent.includes('Refused')`, 10*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById('login-error').textContent`); !strings.Contains(msg, "InvalidSignatureException") {
		t.Errorf("refusal shown: %q", msg)
	}
	if eval[bool](t, ctx, `!document.getElementById('app').hidden`) {
		t.Fatal("the console opened with a wrong secret")
	}

	setValue(t, ctx, "login-secret", "console-secret")
	click(t, ctx, "login-btn")
	waitFor(t, ctx, "the console", `!document.getElementById('app').hidden`, 10*time.Second)
	setValue(t, ctx, "create-name", "secured")
	click(t, ctx, "create-btn")
	waitFor(t, ctx, "secured listed ACTIVE",
		`(document.querySelector('tr[data-stream="secured"] td.status')||{}).textContent === 'ACTIVE'`, 20*time.Second)
	eval[string](t, ctx, `location.hash = '#tail'`)
	setValue(t, ctx, "tail-stream", "secured")
	click(t, ctx, "tail-start")
	waitFor(t, ctx, "the tail", `document.getElementById('tail-shards').textContent.includes('shardId-000000000000')`, 10*time.Second)
	if _, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("secured"), PartitionKey: aws.String("signed"), Data: []byte("through -credentials")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the record in the tail", `(document.querySelector('#tail-rows tr[data-pk="signed"] td.data')||{}).textContent === 'through -credentials'`, 10*time.Second)
	screenshot(t, ctx, "console-credentials.png")

	// Another account's key, added and switched to with the selector: its streams, not the first's.
	eval[string](t, ctx, `location.hash = '#streams'`)
	setValue(t, ctx, "profile", "add")
	waitFor(t, ctx, "the sign-in form again", `!document.getElementById('login').hidden`, 10*time.Second)
	setValue(t, ctx, "login-key", "AKIDOTHER")
	setValue(t, ctx, "login-secret", "other-secret")
	click(t, ctx, "login-btn")
	waitFor(t, ctx, "the other account's empty list", `!document.getElementById('app').hidden && !document.querySelector('tr[data-stream="secured"]')`, 10*time.Second)
	setValue(t, ctx, "create-name", "elsewhere")
	click(t, ctx, "create-btn")
	waitFor(t, ctx, "elsewhere listed", `!!document.querySelector('tr[data-stream="elsewhere"]')`, 10*time.Second)
	setValue(t, ctx, "profile", "0")
	waitFor(t, ctx, "the first account's streams", `!!document.querySelector('tr[data-stream="secured"]') && !document.querySelector('tr[data-stream="elsewhere"]')`, 10*time.Second)
	// Regions: another region has its own streams.
	setValue(t, ctx, "region", "eu-west-1")
	waitFor(t, ctx, "eu-west-1's empty list", `!document.querySelector('tr[data-stream="secured"]')`, 10*time.Second)
	setValue(t, ctx, "region", "us-east-1")
	waitFor(t, ctx, "us-east-1's streams again", `!!document.querySelector('tr[data-stream="secured"]')`, 10*time.Second)
	if _, err := client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("elsewhere")}); err == nil {
		t.Error("elsewhere, created with account 111122223333's key, is in the default account")
	}
}

// TestConsoleFlags checks where the console is served: on a loopback -listen by default, not with
// -console=false, not by default on another address without -credentials, and with -console=true
// there with a warning.
func TestConsoleFlags(t *testing.T) {
	skipUnlessEnabled(t)
	tests := []struct {
		name  string
		flags []string
		want  bool
		warn  bool
	}{
		{"loopback", nil, true, false},
		{"off", []string{"-console=false"}, false, false},
		{"all interfaces", []string{"-listen", "0.0.0.0:0"}, false, false},
		{"all interfaces, asked for", []string{"-listen", "0.0.0.0:0", "-console"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proc.Start(t, bin, t.TempDir(), append([]string{"-in-memory"}, tt.flags...)...)
			endpoint := strings.Replace(p.Endpoint, "0.0.0.0", "127.0.0.1", 1)
			resp, err := http.Get(endpoint + "/console/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			served := resp.StatusCode == http.StatusOK && strings.Contains(string(body), "kinesisd console")
			if served != tt.want {
				t.Errorf("GET /console/: %d, served %t, want %t", resp.StatusCode, served, tt.want)
			}
			if warned := len(p.Grep("web console on beyond this machine")) > 0; warned != tt.warn {
				t.Errorf("warning logged: %t, want %t\n%s", warned, tt.warn, p.Log())
			}
		})
	}
}
