package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"kinesisd/internal/storage/jetstream/natstest"
)

// Real processes: nats-server built from the module version go.mod pins, and the kinesisd binary.

// build builds pkg into dir/name.
func build(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v", pkg, err)
	}
	return bin
}

// binaries builds kinesisd and nats-server.
func binaries(t *testing.T) (kinesisd, natsServer string) {
	t.Helper()
	dir := t.TempDir()
	return build(t, dir, "kinesisd", "kinesisd/cmd/kinesisd"), build(t, dir, "nats-server", "github.com/nats-io/nats-server/v2")
}

// procLog keeps the lines a process writes to stderr and lets a test wait for one.
type procLog struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at each new line
}

func newProcLog(r io.Reader) *procLog {
	l := &procLog{changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
	}()
	return l
}

// waitFor waits until a line matches re and returns its submatches.
func (l *procLog) waitFor(re *regexp.Regexp, timeout time.Duration) ([]string, bool) {
	deadline := time.After(timeout)
	seen := 0
	for {
		l.mu.Lock()
		for ; seen < len(l.lines); seen++ {
			if m := re.FindStringSubmatch(l.lines[seen]); m != nil {
				l.mu.Unlock()
				return m, true
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			return nil, false
		}
	}
}

// tail is the last n lines, for failure messages.
func (l *procLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}

// proc is a child process whose stderr and stdout go to a procLog.
type proc struct {
	cmd    *exec.Cmd
	log    *procLog
	exited chan struct{} // closed once the process has exited
}

// startProc starts bin with args and kills it when the test ends; if the test failed, the last lines
// the process wrote go to the test's log.
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: newProcLog(pr), exited: make(chan struct{})}
	go func() { cmd.Wait(); pw.Close(); close(p.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("last lines of %s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), p.log.tail(15))
		}
	})
	return p
}

// signal sends sig and waits until the process has exited.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: %v", sig, err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("process still running 30s after %s", sig)
	}
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// natsNode is one nats-server process of a cluster, with its configuration file.
type natsNode struct {
	name, conf string
	port       int
	*proc      // nil until started
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// natsCluster is a 3-node nats-server cluster of processes on loopback ports.
type natsCluster struct {
	t     *testing.T
	bin   string
	nodes []*natsNode
}

// natsConfig is a node's configuration: JetStream, the cluster's routes, and a max_payload that
// carries a 10 MiB record with its key and headers (kinesisd refuses less than 11 MiB).
const natsConfig = `server_name: %s
listen: 127.0.0.1:%d
max_payload: 12MB
jetstream {
  store_dir: %q
}
cluster {
  name: kinesisd-test
  listen: 127.0.0.1:%d
  routes: [%s]
}
`

// newNATSCluster writes the configuration of 3 nodes on free ports; start starts them.
func newNATSCluster(t *testing.T, bin string) *natsCluster {
	t.Helper()
	ports, err := natstest.FreePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	c := &natsCluster{t: t, bin: bin}
	for i := range 3 {
		n := &natsNode{name: fmt.Sprintf("n%d", i), port: ports[i], conf: filepath.Join(dir, fmt.Sprintf("n%d.conf", i))}
		conf := fmt.Sprintf(natsConfig, n.name, n.port, filepath.Join(dir, n.name), ports[3+i], strings.Join(routes, ", "))
		if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
	}
	return c
}

// url is the client URL list of every node, as -store takes it.
func (c *natsCluster) url() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, n.url())
	}
	return strings.Join(urls, ",")
}

// start starts node i (again, after a kill or stop: same configuration and store).
func (c *natsCluster) start(i int) {
	c.t.Helper()
	n := c.nodes[i]
	n.proc = startProc(c.t, c.bin, "-c", n.conf)
}

// startAll starts every node and waits until JetStream answers on each.
func (c *natsCluster) startAll() {
	c.t.Helper()
	for i := range c.nodes {
		c.start(i)
	}
	c.waitReady(60 * time.Second)
}

// kill SIGKILLs node i and waits until it is gone.
func (c *natsCluster) kill(i int) { c.signal(i, syscall.SIGKILL) }

// stop SIGTERMs node i (a clean shutdown) and waits until it is gone.
func (c *natsCluster) stop(i int) { c.signal(i, syscall.SIGTERM) }

func (c *natsCluster) signal(i int, sig syscall.Signal) {
	c.t.Helper()
	c.nodes[i].signal(c.t, sig)
}

// alive reports whether node i runs.
func (c *natsCluster) alive(i int) bool { return c.nodes[i].proc != nil && c.nodes[i].running() }

// waitReady waits until the JetStream API answers on every running node (there is a meta leader).
func (c *natsCluster) waitReady(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for i, n := range c.nodes {
		if !c.alive(i) {
			continue
		}
		for {
			err := c.jsDo(n.url(), func(ctx context.Context, js jetstream.JetStream) error {
				_, err := js.AccountInfo(ctx)
				return err
			})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("JetStream not ready on %s within %s: %v\n%s", n.name, timeout, err, n.log.tail(20))
			}
			time.Sleep(100 * time.Millisecond) // polling readiness
		}
	}
}

// jsDo connects to url and runs f with a JetStream context and a 5 s deadline.
func (c *natsCluster) jsDo(url string, f func(context.Context, jetstream.JetStream) error) error {
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second), nats.MaxReconnects(0))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	return f(ctx, js)
}

// recordStream returns the info of the only JetStream stream holding kinesisd records (prefix
// KINESISD, so KINESISD_<id>), asking a running node.
func (c *natsCluster) recordStream() *jetstream.StreamInfo {
	c.t.Helper()
	var info *jetstream.StreamInfo
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		for i, n := range c.nodes {
			if !c.alive(i) {
				continue
			}
			err = c.jsDo(n.url(), func(ctx context.Context, js jetstream.JetStream) error {
				names := js.StreamNames(ctx)
				for name := range names.Name() {
					if strings.HasPrefix(name, "KINESISD_") && name != "KINESISD_meta" {
						s, err := js.Stream(ctx, name)
						if err != nil {
							return err
						}
						info = s.CachedInfo()
						return nil
					}
				}
				if names.Err() != nil {
					return names.Err()
				}
				return fmt.Errorf("no KINESISD_<id> stream")
			})
			if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
				return info
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no record stream with a leader within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// index is the position of the node named name.
func (c *natsCluster) index(name string) int {
	for i, n := range c.nodes {
		if n.name == name {
			return i
		}
	}
	c.t.Fatalf("no node %q", name)
	return -1
}

// frontEnd is a kinesisd process over the cluster.
type frontEnd struct {
	name string
	*proc
	endpoint string
}

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// startFrontEnd starts kinesisd on the NATS servers in store; with wait, it waits until it listens.
func startFrontEnd(t *testing.T, bin, name, store string, wait bool) *frontEnd {
	t.Helper()
	// Every front-end seals KMS keys with one master key: the same test key, each in a file of its own.
	master := filepath.Join(t.TempDir(), "kms-master-key")
	if err := os.WriteFile(master, []byte(strings.Repeat("6b", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &frontEnd{name: name, proc: startProc(t, bin, "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-store", store,
		"-throughput-limits=false", "-nats-ack-timeout", "5s", "-kms-master-key-file", master)}
	if wait {
		f.waitListening(t, 60*time.Second)
	}
	return f
}

func (f *frontEnd) waitListening(t *testing.T, timeout time.Duration) {
	t.Helper()
	m, ok := f.log.waitFor(listening, timeout)
	if !ok {
		t.Fatalf("front-end %s not listening within %s:\n%s", f.name, timeout, f.log.tail(20))
	}
	f.endpoint = "http://" + m[1]
}
