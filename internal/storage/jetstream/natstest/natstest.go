// Package natstest starts in-process nats-server nodes with JetStream on loopback ports, for tests only.
package natstest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxPayload is the max_payload of the servers started here: what the jetstream engine needs (a 10 MiB
// record plus its key and headers), rounded up.
const MaxPayload = 12 << 20

// Options change what Start starts.
type Options struct {
	// MaxPayload overrides the server's max_payload (0: MaxPayload). Tests of the engine's refusal
	// of a too-small setting lower it.
	MaxPayload int32
	// SyncAlways makes the server fsync every write (sync_interval: always), as a single-server
	// deployment must for acknowledged writes to survive a machine crash.
	SyncAlways bool
	// Port is the client port on 127.0.0.1 (0: a free one).
	Port int
}

// Start starts a single nats-server with JetStream keeping its data in dir (created if needed) on a
// free loopback port, and shuts it down when the test ends. It returns the server; its ClientURL is
// what a client connects to.
func Start(t testing.TB, dir string, opts Options) *server.Server {
	t.Helper()
	s, err := New(dir, opts)
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	t.Cleanup(func() { Stop(s) })
	return s
}

// New starts a server like Start does, for callers that manage its life themselves (Stop).
func New(dir string, opts Options) (*server.Server, error) {
	return start(serverOptions("kinesisd-test", dir, opts))
}

func serverOptions(name, dir string, opts Options) *server.Options {
	payload := opts.MaxPayload
	if payload == 0 {
		payload = MaxPayload
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return &server.Options{
		ServerName: name,
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: payload,
		SyncAlways: opts.SyncAlways,
		NoLog:      true,
		NoSigs:     true,
	}
}

func start(so *server.Options) (*server.Server, error) {
	s, err := server.NewServer(so)
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		Stop(s)
		return nil, errors.New("nats-server not ready for connections within 30s")
	}
	return s, nil
}

// Stop shuts s down and waits until it is down.
func Stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

// ClusterName is the name of the clusters StartCluster starts.
const ClusterName = "kinesisd-test"

// Cluster is a JetStream cluster of in-process nats-servers, routed to each other on loopback ports.
type Cluster struct {
	Servers []*server.Server
}

// StartCluster starts an n-node JetStream cluster (n ≥ 3 for replicas 3), node i named n<i> and
// keeping its data in dir/n<i>, on free loopback ports, and waits until JetStream has a meta leader
// and every node is current with it. It shuts the cluster down when the test ends. opts.Port is
// ignored (every node picks a free client port).
func StartCluster(t testing.TB, dir string, n int, opts Options) *Cluster {
	t.Helper()
	c, err := NewCluster(dir, n, opts)
	if err != nil {
		t.Fatalf("nats-server cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// NewCluster starts a cluster like StartCluster does, for callers that manage its life themselves
// (Stop).
func NewCluster(dir string, n int, opts Options) (*Cluster, error) {
	ports, err := FreePorts(n)
	if err != nil {
		return nil, err
	}
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", p)
	}
	c := &Cluster{}
	opts.Port = 0
	for i := range n {
		name := fmt.Sprintf("n%d", i)
		so := serverOptions(name, filepath.Join(dir, name), opts)
		so.Cluster = server.ClusterOpts{Name: ClusterName, Host: "127.0.0.1", Port: ports[i]}
		so.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		s, err := start(so)
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.Servers = append(c.Servers, s)
	}
	if err := c.WaitReady(60 * time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// URL is the comma-separated client URLs of every node, as the engine's Options.URL takes them.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
}

// WaitReady waits until the cluster has a JetStream meta leader that every node follows and that
// counts every node as an online peer (until it does, streams with as many replicas as nodes cannot be
// placed: "no suitable peers for placement").
func (c *Cluster) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		leader, current := false, true
		for _, s := range c.Servers {
			if s.JetStreamIsLeader() {
				leader = len(s.JetStreamClusterPeers()) == len(c.Servers)
			}
			current = current && s.JetStreamIsCurrent()
		}
		if leader && current {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no JetStream meta leader that every node follows and sees online within %s", timeout)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, not waiting out a delay
	}
}

// Stop shuts every node down.
func (c *Cluster) Stop() {
	for _, s := range c.Servers {
		Stop(s)
	}
}

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment ago, for servers that
// must know each other's ports before they start (cluster routes). Another process may take one in
// between; tests accept that small risk.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort is FreePorts(1) for a test: one port, or the test fails.
func FreePort(t testing.TB) int {
	t.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// ClusterTestsEnv is the environment variable that turns the cluster tests on (make clustertest sets
// it): they run apart from the rest, one package at a time, so that elections are not starved of CPU.
const ClusterTestsEnv = "KINESISD_CLUSTER_TESTS"

// SkipUnlessCluster skips t unless ClusterTestsEnv is 1.
func SkipUnlessCluster(t testing.TB) {
	t.Helper()
	if os.Getenv(ClusterTestsEnv) != "1" {
		t.Skipf("a cluster test: runs with %s=1 (make clustertest)", ClusterTestsEnv)
	}
}

// JetStream connects to the NATS server at url for a test's own look at JetStream (a stream's
// configuration, say) and closes the connection when the test ends.
func JetStream(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
