// Package console_test drives the web console in headless Chromium (Debian's chromium, through
// github.com/chromedp/chromedp) against the built kinesisd binary: `make consoletest`.
package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kinesisd/internal/kinesistest/proc"
)

// testsEnv turns the browser tests on; `make consoletest` sets it after installing chromium.
const testsEnv = "KINESISD_CONSOLE_TESTS"

var bin string

func TestMain(m *testing.M) {
	if os.Getenv(testsEnv) == "" {
		os.Exit(m.Run()) // every test skips: no binary to build
	}
	os.Exit(proc.Main(m, &bin))
}

// skipUnlessEnabled skips t unless the browser tests are on.
func skipUnlessEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv(testsEnv) == "" {
		t.Skipf("browser tests are off: run `make consoletest` (it installs chromium) or set %s=1", testsEnv)
	}
}

// chromiumPath is Debian's chromium, or another on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: `make consoletest` installs Debian's chromium package")
	return ""
}

// newBrowser starts headless Chromium for t and returns a tab's context, closed when t ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // root in CI
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs actions in the tab, failing t after timeout.
func do(t *testing.T, ctx context.Context, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("browser: %v\npage status: %s", err, pageStatus(ctx))
	}
}

// pageStatus is the console's status line, for failure messages.
func pageStatus(ctx context.Context) string {
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`(document.getElementById('status')||{}).textContent||''`))
	return s
}

// eval runs JavaScript in the page and returns its value as T.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v\npage status: %s", js, err, pageStatus(ctx))
	}
	return v
}

// waitFor polls the JavaScript expression js until it is truthy.
func waitFor(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(tctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		t.Fatalf("waiting for %s: %v\npage status: %s", what, err, pageStatus(ctx))
	}
}

// setValue sets a form control's value and fires its change event.
func setValue(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('change')); return true; })()`, id, value))
}

// click clicks the element with id.
func click(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.ID(id)))
}

// screenshot saves the page as PNG under test/console/artifacts (kept out of git) and logs the path.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	eval[bool](t, ctx, `window.scrollTo(0, 0); true`)
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot()) // the viewport, as PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := "artifacts"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path, _ := filepath.Abs(filepath.Join(dir, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// kplAggregate builds one KPL aggregated record of users (partition key → data) with the npm package
// aws-kinesis-agg from test/js/node_modules (`npm ci` there; `make consoletest` runs it), and returns
// its partition key and data.
func kplAggregate(t *testing.T, users [][2]string) (string, []byte) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	jsDir := filepath.Join(filepath.Dir(file), "..", "js")
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "aws-kinesis-agg")); err != nil {
		t.Fatalf("aws-kinesis-agg is not installed: run `npm ci` in test/js (make consoletest does): %v", err)
	}
	in, _ := json.Marshal(users)
	script := `
const { createRequire } = require('node:module');
const req = createRequire(process.argv[1] + '/package.json');
const agg = req('aws-kinesis-agg');
const users = JSON.parse(process.argv[2]);
const a = new agg.RecordAggregator();
for (const [pk, data] of users) a.addUserRecord({ partitionKey: pk, data: Buffer.from(data) });
const e = a.build();
process.stdout.write(JSON.stringify({ pk: e.partitionKey, data: e.data.toString('base64') }));
`
	out, err := exec.Command("node", "-e", script, jsDir, string(in)).Output()
	if err != nil {
		t.Fatalf("node aws-kinesis-agg: %v", err)
	}
	var res struct{ PK, Data string }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	data, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "\xf3\x89\x9a\xc2") {
		t.Fatalf("aws-kinesis-agg built no KPL aggregate: % x", data[:min(8, len(data))])
	}
	return res.PK, data
}
