// Package proc runs the built kinesisd binary for tests: it builds it once, starts it, keeps its log,
// stops or kills it, and gives an AWS SDK client for it. It imports no part of the server, so that the
// tests of a process link only the SDK.
package proc

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

var listening = regexp.MustCompile(`listening on ([0-9.:\[\]]+:\d+)`)

// Build returns the kinesisd binary to test: $KINESISD_BIN if set (make builds it once, and the
// companions next to it), else cmd/kinesisd built into dir, with the companion commands named (such
// as "kinesisd-iceberg", which kinesisd finds next to itself) built beside it.
func Build(dir string, companions ...string) (string, error) {
	if bin := os.Getenv("KINESISD_BIN"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(dir, "kinesisd")
	args := []string{"build", "-o", bin, "kinesisd/cmd/kinesisd"}
	if len(companions) > 0 {
		args = []string{"build", "-o", dir + string(filepath.Separator), "kinesisd/cmd/kinesisd"}
		for _, c := range companions {
			args = append(args, "kinesisd/cmd/"+c)
		}
	}
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build kinesisd: %w", err)
	}
	return bin, nil
}

// Main sets *bin to the binary Build gives (with the companions named), runs the package's tests,
// and removes what it built: func TestMain(m *testing.M) { os.Exit(proc.Main(m, &bin)) }.
func Main(m *testing.M, bin *string, companions ...string) int {
	dir, err := os.MkdirTemp("", "kinesisd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir, companions...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Proc is a kinesisd process with its log (stderr) kept line by line.
type Proc struct {
	cmd      *exec.Cmd
	Endpoint string // http://host:port once Ready returned nil

	addr   chan string   // the address it logged it listens on
	exited chan struct{} // closed once the process has ended and its log has been read to the end

	mu      sync.Mutex
	lines   []string
	waitErr error     // the result of cmd.Wait, set before exited is closed
	endedAt time.Time // when cmd.Wait returned
}

// Launch starts bin on dataDir with -listen 127.0.0.1:0 and extra flags (a later -listen wins); the
// test's end kills it if it still runs. It does not wait for the process to be ready (see Ready).
func Launch(t testing.TB, bin, dataDir string, extra ...string) *Proc {
	t.Helper()
	return Command(t, bin, nil, append([]string{"-listen", "127.0.0.1:0", "-data", dataDir}, extra...)...)
}

// Command starts bin with args alone and env added to this process's environment; the test's end
// kills it if it still runs. It does not wait for the process to be ready (see Ready).
func Command(t testing.TB, bin string, env []string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{cmd: cmd, addr: make(chan string, 1), exited: make(chan struct{})}
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

// Ready waits until p logs the address it listens on, and sets p.Endpoint. It fails if the process
// ends first or does not get there within timeout.
func (p *Proc) Ready(timeout time.Duration) error {
	select {
	case a := <-p.addr:
		p.Endpoint = "http://" + a
		return nil
	case <-p.exited:
		return fmt.Errorf("kinesisd exited before listening (%v); log:\n%s", p.ExitErr(), p.Log())
	case <-time.After(timeout):
		return fmt.Errorf("kinesisd did not log its address within %v; log:\n%s", timeout, p.Log())
	}
}

// Start is Launch followed by Ready, failing t if the process does not become ready.
func Start(t testing.TB, bin, dataDir string, extra ...string) *Proc {
	t.Helper()
	p := Launch(t, bin, dataDir, extra...)
	if err := p.Ready(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Kill ends p with SIGKILL and waits for it.
func (p *Proc) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop ends p with SIGTERM and returns its exit error (nil: exit status 0), or an error if it is
// still running after timeout (it is then killed).
func (p *Proc) Stop(timeout time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.WaitExit(timeout) {
		p.Kill()
		return fmt.Errorf("kinesisd still running %v after SIGTERM", timeout)
	}
	return p.ExitErr()
}

// WaitExit waits up to timeout for p to end by itself and reports whether it did.
func (p *Proc) WaitExit(timeout time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// HasExited reports whether p has ended.
func (p *Proc) HasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// ExitErr is the process's exit error once it has ended (nil: status 0).
func (p *Proc) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// ExitedAt is when the process ended (zero while it runs).
func (p *Proc) ExitedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endedAt
}

// ExitCode is the process's exit status once it has ended by itself; -1 if a signal ended it.
func (p *Proc) ExitCode() int {
	var exit *exec.ExitError
	if err := p.ExitErr(); errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return 0
}

// Log returns everything p wrote to stderr so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// LogTail returns the last n lines of p's log.
func (p *Proc) LogTail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-n):], "\n")
}

// Grep returns the lines of p's log that contain every one of words.
func (p *Proc) Grep(words ...string) []string {
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

// NewClient returns an AWS SDK v2 Kinesis client for endpoint with test credentials, no retries (the
// caller sees each answer as the server sent it) and a limit on each call (a hung server must not
// hang the test).
func NewClient(endpoint string, timeout time.Duration) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: timeout, Transport: BufferedBodies{Next: &http.Transport{MaxIdleConnsPerHost: 16}}},
	})
}

// BufferedBodies hands the transport Next a buffered copy of each request body. It works around a bug
// of the AWS SDK for Go v2 over HTTP/1.1 that the README describes (The Go SDK over HTTP/1.1): the
// SDK closes the body it gave as soon as response headers arrive, while net/http may still call
// WriteTo on it; the SDK's closed body answers with io.EOF, net/http closes the connection under the
// response, and the SDK retries the call ("use of closed network connection"), storing a PutRecords
// twice. test/http1dup shows it and the workarounds users can apply.
type BufferedBodies struct{ Next http.RoundTripper }

// RoundTrip sends req with a buffered copy of its body.
func (b BufferedBodies) RoundTrip(req *http.Request) (*http.Response, error) {
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
	return b.Next.RoundTrip(req)
}
