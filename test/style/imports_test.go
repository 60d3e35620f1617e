package style_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// DESIGN.md §1's import rules, checked on what `go list` says the module's packages import, directly
// and through other packages (as Pebble's TestForbiddenImports does). Only a package's own files count:
// its tests may reach across the layers (the service's tests run on the Pebble engine, the in-memory
// engine being the fake; kinesistest starts a whole server for any test).

const module = "kinesisd"

// A layer is a floor of the house; a package may import its own floor and those below it.
type layer int

const (
	base     layer = iota // leaves every floor may use: clock, bufpool, version, kerr, sigv4
	storage               // internal/storage and its engines
	service               // internal/service and its pure sub-packages
	protocol              // the HTTP edge and its codecs
	server                // wiring; config shares its floor (server and above read the configuration)
	tool                  // the parts of kinesisd's subcommands and the test harness: bench, backup, …
	command               // cmd/kinesisd
)

var layerNames = [...]string{"base", "storage", "service", "protocol", "server", "tool", "cmd"}

func (l layer) String() string { return layerNames[l] }

// layers places every package of the module (by module-relative path; a package also covers the
// packages under it). A package missing here fails the test: adding one means choosing its floor.
var layers = map[string]layer{
	"cmd":                  command,
	"internal/server":      server,
	"internal/config":      server,
	"internal/protocol":    protocol,
	"internal/console":     protocol, // the web console's page and endpoints: an HTTP edge beside the API's, over the service
	"internal/service":     service,
	"internal/storage":     storage,
	"internal/clock":       base,
	"internal/bufpool":     base,
	"internal/version":     base,
	"internal/kerr":        base,
	"internal/sigv4":       base,
	"internal/iam":         base,    // IAM policy documents and their evaluation: pure
	"internal/identity":    base,    // who is calling (account, region, principal), carried in a context
	"internal/kms":         service, // the KMS keyring, over the store; the service encrypts records with it
	"internal/bench":       tool,
	"internal/backup":      tool,
	"internal/healthcheck": tool,
	"internal/transfer":    tool,
	"internal/kinesistest": tool,
	// Channels (issue 18): what an S3 channel writes is the service's (formats, keys); the stores and
	// the Iceberg writer reach the network and are chosen by the server.
	"internal/channel":             service,
	"internal/channel/objstore":    server,
	"internal/channel/iceberg":     server,
	"internal/channel/icebergproc": server,
}

// unchecked are the module's test-only packages (suites run against a server): no rule applies.
var unchecked = []string{"test"}

// An exception lets one package import one other against the layer rule.
type exception struct{ from, to, why string }

// exceptions are the layer rule's known breaks, each with its reason. The test fails when one is no
// longer needed, so that the list only shrinks.
var exceptions = []exception{
	{"internal/server", "internal/backup", "the admin endpoint's path, backup.Path, is shared by the server that serves it and " +
		"the `kinesisd backup` client that calls it; backup imports only the standard library and the AWS SDK's signer"},
}

// forbidden are DESIGN.md §1's named prohibitions: no package under from depends on a package under any of to.
var forbidden = []struct {
	from string
	to   []string
}{
	{"internal/service", []string{"net/http", module + "/internal/protocol"}},
	{"internal/storage", []string{module + "/internal/kerr", module + "/internal/service", module + "/internal/protocol"}},
}

// pure are the pure packages: they depend on the standard library, on the AWS SDK (github.com/aws/…:
// the SDK's protocol packages directly, and what those use) and on the module packages listed, nothing
// else.
var pure = map[string][]string{
	"internal/kerr":                 nil,
	"internal/sigv4":                {"internal/clock"}, // the fake clock, for clock-skew checks
	"internal/service/seqnum":       nil,
	"internal/service/iterator":     nil,
	"internal/service/queue":        nil, // a queue's per-shard delivery state and its encoding
	"internal/protocol/eventstream": nil,
}

const (
	awsPrefix         = "github.com/aws/"
	awsProtocolPrefix = "github.com/aws/aws-sdk-go-v2/aws/protocol/"
)

// configImporters are the only packages that import internal/config directly.
var configImporters = []string{"cmd", "internal/server", "internal/transfer", "internal/kinesistest"}

// graph is the module's packages and everything they depend on.
type graph struct {
	std     map[string]bool     // standard-library packages
	imports map[string][]string // direct imports of every package (full import paths)
}

// under reports whether the import path p is the module package rel or one under it.
func under(p, rel string) bool {
	full := module + "/" + rel
	return p == full || strings.HasPrefix(p, full+"/")
}

func isModule(p string) bool { return strings.HasPrefix(p, module+"/") }

func relPath(p string) string { return strings.TrimPrefix(p, module+"/") }

// layerOf returns p's layer, false for a package the rules do not place. The longest entry wins.
func layerOf(p string) (layer, bool) {
	best, found := "", false
	var l layer
	for rel, ly := range layers {
		if under(p, rel) && len(rel) >= len(best) {
			best, l, found = rel, ly, true
		}
	}
	return l, found
}

func isUnchecked(p string) bool {
	return slices.ContainsFunc(unchecked, func(rel string) bool { return under(p, rel) })
}

// deps returns every package p depends on, each with the chain of imports that reaches it first.
func (g graph) deps(p string) map[string][]string {
	via := map[string][]string{}
	queue := []string{p}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, imp := range g.imports[cur] {
			if _, seen := via[imp]; seen || imp == p {
				continue
			}
			via[imp] = append(slices.Clip(via[cur]), imp)
			queue = append(queue, imp)
		}
	}
	return via
}

// chain prints p and the imports that lead to a dependency.
func chain(p string, path []string) string {
	parts := []string{relPath(p)}
	for _, q := range path {
		parts = append(parts, relPath(q))
	}
	return strings.Join(parts, " → ")
}

// violations returns one line per broken import rule in g, sorted.
func violations(g graph) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var pkgs []string
	for p := range g.imports {
		if isModule(p) && !isUnchecked(p) {
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	used := map[exception]bool{}
	for _, p := range pkgs {
		lp, ok := layerOf(p)
		if !ok {
			bad("%s: no layer: place it in layers (imports_test.go) under DESIGN.md §1", relPath(p))
			continue
		}
		via := g.deps(p)
		// Each rule reports the first package on a chain that breaks it, not those reached through it.
		report := func(wrong func(q string) bool, msg func(q string) string) {
			for _, q := range slices.Sorted(maps.Keys(via)) {
				path := via[q] // the chain to each package on it is a prefix of it
				if wrong(q) && !slices.ContainsFunc(path[:len(path)-1], wrong) {
					bad("%s: %s", msg(q), chain(p, path))
				}
			}
		}
		// Layers: imports point down only.
		excepted := func(q string) int {
			return slices.IndexFunc(exceptions, func(e exception) bool {
				return under(p, e.from) && under(via[q][0], e.to) && under(q, e.to)
			})
		}
		report(func(q string) bool {
			lq, ok := layerOf(q)
			if !ok || !isModule(q) || lq <= lp {
				return false
			}
			if i := excepted(q); i >= 0 {
				used[exceptions[i]] = true
				return false
			}
			return true
		}, func(q string) string {
			lq, _ := layerOf(q)
			return fmt.Sprintf("%s (%s) depends on %s (%s), a layer above it", relPath(p), lp, relPath(q), lq)
		})
		// The named prohibitions.
		for _, f := range forbidden {
			if !under(p, f.from) {
				continue
			}
			report(func(q string) bool {
				return slices.ContainsFunc(f.to, func(to string) bool { return q == to || strings.HasPrefix(q, to+"/") })
			}, func(q string) string {
				return fmt.Sprintf("%s depends on %s, which %s must never import", relPath(p), relPath(q), f.from)
			})
		}
		// Pure packages.
		for rel, allowed := range pure {
			if p != module+"/"+rel {
				continue
			}
			ok := func(q string) bool {
				return g.std[q] || slices.ContainsFunc(allowed, func(a string) bool { return q == module+"/"+a })
			}
			for _, q := range g.imports[p] {
				if q == "C" || !ok(q) && !strings.HasPrefix(q, awsProtocolPrefix) {
					bad("%s is pure: it imports only the standard library, the AWS SDK's protocol packages and %v, not %s", rel, allowed, q)
				}
			}
			report(func(q string) bool {
				return !ok(q) && !strings.HasPrefix(q, awsPrefix) && !slices.Contains(g.imports[p], q)
			}, func(q string) string {
				return fmt.Sprintf("%s is pure: it depends on %s", rel, relPath(q))
			})
		}
		// The configuration is read by the server and the programs.
		if slices.Contains(g.imports[p], module+"/internal/config") &&
			!slices.ContainsFunc(configImporters, func(rel string) bool { return under(p, rel) }) {
			bad("%s imports internal/config: only %v do", relPath(p), configImporters)
		}
	}
	for _, e := range exceptions {
		if !used[e] {
			bad("exception %s → %s is no longer needed: remove it", e.from, e.to)
		}
	}
	// Every package a rule names exists, so that no rule is silently about nothing.
	named := slices.Concat(slices.Collect(maps.Keys(pure)), configImporters)
	for _, f := range forbidden {
		named = append(named, f.from)
	}
	for _, rel := range named {
		if !slices.ContainsFunc(pkgs, func(p string) bool { return under(p, rel) }) {
			bad("the rules name %s, which is not a package of the module", rel)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// loadGraph asks `go list` for the module's packages and all their dependencies.
func loadGraph(t *testing.T) graph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list imports: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-json=ImportPath,Standard,Imports", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	g := graph{std: map[string]bool{}, imports: map[string][]string{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Standard   bool
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		g.std[p.ImportPath] = p.Standard
		g.imports[p.ImportPath] = p.Imports
	}
	// cgo's pseudo-package, which the standard library's net and os/user import: standard when it is
	// reached through them (a pure package importing it itself is still reported).
	g.std["C"] = true
	return g
}

// TestImportRules: the module's packages keep DESIGN.md §1's import rules.
func TestImportRules(t *testing.T) {
	g := loadGraph(t)
	n := 0
	for p := range g.imports {
		if isModule(p) {
			n++
		}
	}
	if n < 20 || g.imports[module+"/internal/service"] == nil {
		t.Fatalf("go list found %d packages of the module, without internal/service's imports: the check would be empty", n)
	}
	for _, v := range violations(g) {
		t.Error(v)
	}
}

// fakeGraph builds a graph from edges between packages: module packages are written module-relative
// with a leading "~/", standard ones as they are, others with their domain.
func fakeGraph(edges map[string][]string) graph {
	g := graph{std: map[string]bool{}, imports: map[string][]string{}}
	name := func(p string) string {
		if rel, ok := strings.CutPrefix(p, "~/"); ok {
			return module + "/" + rel
		}
		return p
	}
	add := func(p string) {
		if _, ok := g.imports[p]; !ok {
			g.imports[p] = nil
			g.std[p] = !isModule(p) && !strings.Contains(strings.Split(p, "/")[0], ".")
		}
	}
	for from, tos := range edges {
		add(name(from))
		for _, to := range tos {
			add(name(to))
			g.imports[name(from)] = append(g.imports[name(from)], name(to))
		}
	}
	return g
}

// cleanEdges is a small house that keeps the rules, shaped as kinesisd is today.
func cleanEdges() map[string][]string {
	return map[string][]string{
		"~/cmd/kinesisd":                  {"~/internal/server", "~/internal/config", "~/internal/bench", "~/internal/transfer", "os"},
		"~/internal/server":               {"~/internal/protocol", "~/internal/service", "~/internal/storage/pebble", "~/internal/config", "~/internal/backup", "~/internal/sigv4", "net/http"},
		"~/internal/backup":               {"net/http", "github.com/aws/aws-sdk-go-v2/aws/signer/v4"},
		"~/internal/protocol":             {"~/internal/service", "~/internal/kerr", "~/internal/protocol/eventstream", "~/internal/bufpool", "net/http"},
		"~/internal/protocol/eventstream": {"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream", "bytes"},
		"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream": {"github.com/aws/smithy-go/logging"},
		"~/internal/service":          {"~/internal/storage", "~/internal/kerr", "~/internal/clock", "~/internal/service/seqnum", "~/internal/service/iterator", "~/internal/service/queue", "encoding/json"},
		"~/internal/service/seqnum":   {"strconv"},
		"~/internal/service/iterator": {"crypto/aes"},
		"~/internal/service/queue":    {"encoding/binary"},
		"~/internal/storage":          {"context"},
		"~/internal/storage/pebble":   {"~/internal/storage", "github.com/cockroachdb/pebble/v2"},
		"~/internal/kerr":             {"fmt"},
		"~/internal/sigv4":            {"~/internal/clock", "net/http"},
		"~/internal/clock":            {"time"},
		"~/internal/bufpool":          {"sync"},
		"~/internal/config":           {"flag"},
		"~/internal/bench":            {"~/internal/protocol/eventstream", "github.com/aws/aws-sdk-go-v2/service/kinesis"},
		"~/internal/transfer":         {"~/internal/config", "~/internal/service", "~/internal/storage"},
		"~/internal/kinesistest":      {"~/internal/server", "~/internal/config"},
		"~/test/api":                  {"~/internal/kinesistest", "~/internal/server"},
	}
}

// TestImportRulesFail: each rule reports a wrong-way import, directly or through another package, so
// that TestImportRules is a check that can fail.
func TestImportRulesFail(t *testing.T) {
	if v := violations(fakeGraph(cleanEdges())); len(v) != 0 {
		t.Fatalf("the clean house breaks rules: %q", v)
	}
	tests := []struct {
		name     string
		from, to string // one more import
		want     string // in the one violation reported
	}{
		{"service imports net/http", "~/internal/service", "net/http", "internal/service depends on net/http, which internal/service must never import"},
		{"service reaches net/http through a helper", "~/internal/service/seqnum", "~/internal/bufpool/http", "internal/service/seqnum → internal/bufpool/http → net/http"},
		{"service imports protocol", "~/internal/service", "~/internal/protocol/eventstream", "internal/service (service) depends on internal/protocol/eventstream (protocol), a layer above it"},
		{"storage imports kerr", "~/internal/storage/pebble", "~/internal/kerr", "depends on internal/kerr, which internal/storage must never import"},
		{"storage imports service", "~/internal/storage", "~/internal/service/seqnum", "internal/storage (storage) depends on internal/service/seqnum (service), a layer above it"},
		{"protocol imports server", "~/internal/protocol", "~/internal/server", "internal/protocol (protocol) depends on internal/server (server), a layer above it"},
		{"server imports a tool", "~/internal/server", "~/internal/transfer", "internal/server (server) depends on internal/transfer (tool), a layer above it"},
		{"a tool imports cmd", "~/internal/bench", "~/cmd/kinesisd", "internal/bench (tool) depends on cmd/kinesisd (cmd), a layer above it"},
		{"clock imports storage", "~/internal/clock", "~/internal/storage", "internal/clock (base) depends on internal/storage (storage), a layer above it"},
		{"kerr imports a module outside the SDK", "~/internal/kerr", "github.com/google/uuid", "internal/kerr is pure: it imports only the standard library"},
		{"seqnum imports the SDK's client", "~/internal/service/seqnum", "github.com/aws/aws-sdk-go-v2/service/kinesis", "internal/service/seqnum is pure"},
		{"eventstream imports a module package", "~/internal/protocol/eventstream", "~/internal/bufpool", "internal/protocol/eventstream is pure"},
		{"eventstream reaches a non-SDK module through the SDK", "github.com/aws/smithy-go/logging", "github.com/google/uuid", "internal/protocol/eventstream is pure: it depends on github.com/google/uuid: internal/protocol/eventstream → github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream → github.com/aws/smithy-go/logging → github.com/google/uuid"},
		{"bench imports config", "~/internal/bench", "~/internal/config", "internal/bench imports internal/config: only"},
		{"a package with no layer", "~/cmd/kinesisd", "~/internal/newthing", "internal/newthing: no layer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edges := cleanEdges()
			edges[tt.from] = append(edges[tt.from], tt.to)
			edges["~/internal/bufpool/http"] = []string{"net/http"}
			v := violations(fakeGraph(edges))
			if !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("violations %q, want one containing %q", v, tt.want)
			}
		})
	}
	t.Run("an exception no longer needed", func(t *testing.T) {
		edges := cleanEdges()
		edges["~/internal/server"] = slices.DeleteFunc(edges["~/internal/server"], func(p string) bool { return p == "~/internal/backup" })
		if v := violations(fakeGraph(edges)); !slices.Equal(v, []string{"exception internal/server → internal/backup is no longer needed: remove it"}) {
			t.Errorf("violations %q", v)
		}
	})
	t.Run("a rule about a package that is gone", func(t *testing.T) {
		edges := cleanEdges()
		delete(edges, "~/internal/service/iterator")
		edges["~/internal/service"] = slices.DeleteFunc(edges["~/internal/service"], func(p string) bool { return p == "~/internal/service/iterator" })
		if v := violations(fakeGraph(edges)); !slices.Equal(v, []string{"the rules name internal/service/iterator, which is not a package of the module"}) {
			t.Errorf("violations %q", v)
		}
	})
}
