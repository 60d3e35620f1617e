package faults_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// This file is in test/crash and test/faults (the crash copy without the functions it does not
// use): test/binary's buildBinary and startBinary,
// grown to keep the log and the exit status, and kinesistest.NewClient, copied so that these packages
// do not link the in-process server (kinesistest imports internal/server and nats-server). A
// candidate for a small package of its own (internal/kinesistest/proc).

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// bin is the kinesisd binary the tests run, set by TestMain before any test starts: $KINESISD_BIN
// if set (make builds it once), else cmd/kinesisd built into a temporary directory.
var bin string

func TestMain(m *testing.M) {
	os.Exit(runWithBinary(m))
}

func runWithBinary(m *testing.M) int {
	if bin = os.Getenv("KINESISD_BIN"); bin != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "kinesisd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "kinesisd")
	build := exec.Command("go", "build", "-o", bin, "kinesisd/cmd/kinesisd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build kinesisd: %v\n", err)
		return 1
	}
	return m.Run()
}

// proc is a kinesisd process with its log (stderr) kept line by line.
type proc struct {
	cmd      *exec.Cmd
	endpoint string // http://127.0.0.1:port once ready returned nil

	addr   chan string   // the address it logged it listens on
	exited chan struct{} // closed once the process has ended and its log has been read to the end

	mu      sync.Mutex
	lines   []string
	waitErr error     // the result of cmd.Wait, set before exited is closed
	endedAt time.Time // when cmd.Wait returned
}

// launch starts kinesisd on dataDir with -listen 127.0.0.1:0 and extra flags; the test's end kills it
// if it still runs. It does not wait for the process to be ready (see ready).
func launch(t testing.TB, dataDir string, extra ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0", "-data", dataDir}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, addr: make(chan string, 1), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case p.addr <- m[1]:
				default:
				}
			}
		}
		err := cmd.Wait() // after the last read of the pipe, as exec requires
		p.mu.Lock()
		p.waitErr, p.endedAt = err, time.Now()
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// ready waits until p logs the address it listens on, and sets p.endpoint. It fails if the process
// ends first or does not get there within timeout.
func (p *proc) ready(timeout time.Duration) error {
	select {
	case a := <-p.addr:
		p.endpoint = "http://" + a
		return nil
	case <-p.exited:
		return fmt.Errorf("kinesisd exited before listening (%v); log:\n%s", p.exitErr(), p.log())
	case <-time.After(timeout):
		return fmt.Errorf("kinesisd did not log its address within %v; log:\n%s", timeout, p.log())
	}
}

// start is launch followed by ready, failing t if the process does not become ready.
func start(t testing.TB, dataDir string, extra ...string) *proc {
	t.Helper()
	p := launch(t, dataDir, extra...)
	if err := p.ready(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// kill ends p with SIGKILL and waits for it.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop ends p with SIGTERM and returns its exit error (nil: exit status 0), or an error if it is
// still running after timeout (it is then killed).
func (p *proc) stop(timeout time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.waitExit(timeout) {
		p.kill()
		return fmt.Errorf("kinesisd still running %v after SIGTERM", timeout)
	}
	return p.exitErr()
}

// waitExit waits up to timeout for p to end by itself and reports whether it did.
func (p *proc) waitExit(timeout time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// hasExited reports whether p has ended.
func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// exitErr is the process's exit error once it has ended (nil: status 0).
func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// exitedAt is when the process ended (zero while it runs).
func (p *proc) exitedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endedAt
}

// exitCode is the process's exit status once it has ended by itself; -1 if a signal ended it.
func (p *proc) exitCode() int {
	var exit *exec.ExitError
	if err := p.exitErr(); errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return 0
}

// log returns everything p wrote to stderr so far.
func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// logTail returns the last n lines of p's log.
func (p *proc) logTail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-n):], "\n")
}

// grep returns the lines of p's log that contain every one of words.
func (p *proc) grep(words ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// newClient returns an AWS SDK v2 Kinesis client for endpoint with test credentials, no retries (the
// caller sees each answer as the server sent it) and a limit on each call (a hung server must not
// hang the test), as kinesistest.NewClient.
func newClient(endpoint string, timeout time.Duration) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: timeout, Transport: bufferedBodies{&http.Transport{MaxIdleConnsPerHost: 16}}},
	})
}

// bufferedBodies hands the transport a copy of each request body: the SDK closes the body it gave as
// soon as response headers arrive, while net/http may still make one last read of it (see
// kinesistest.bufferedBodies).
type bufferedBodies struct{ next http.RoundTripper }

func (b bufferedBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return b.next.RoundTrip(req)
}
