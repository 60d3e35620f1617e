// Package product_test checks what users install: the release binaries, the container image and the systemd unit.
package product_test

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// root is the repository's top directory, relative to this package.
const root = "../.."

// release is the output of one scripts/release.sh run, shared by the tests (TestMain).
type release struct {
	dir     string // its DIST directory
	version string // what it stamped
	commit  string
	linux   string // the binary for linux/runtime.GOARCH, which the other tests run
	err     error
}

// rel is built once by TestMain: every test of the package needs the linux binary.
var rel release

// otherTarget is the second target built, to show that cross-compiling works.
const otherTarget = "darwin/arm64"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kinesisd-release-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rel = buildRelease(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildRelease runs scripts/release.sh for linux (this machine's architecture) and otherTarget into
// dir, with the version and commit it works out from git itself.
func buildRelease(dir string) release {
	r := release{dir: dir}
	head, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		r.err = fmt.Errorf("git rev-parse: %w", err)
		return r
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "release.sh"))
	cmd.Env = append(os.Environ(), "DIST="+dir, "TARGETS=linux/"+runtime.GOARCH+" "+otherTarget, "VERSION=", "COMMIT=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.err = fmt.Errorf("scripts/release.sh: %w\n%s", err, out)
		return r
	}
	all, _ := filepath.Glob(filepath.Join(dir, "kinesisd-*-linux-"+runtime.GOARCH))
	matches := slices.DeleteFunc(all, func(m string) bool { return strings.HasPrefix(filepath.Base(m), "kinesisd-iceberg-") })
	if len(matches) != 1 {
		r.err = fmt.Errorf("scripts/release.sh made %v, want one linux/%s binary\n%s", matches, runtime.GOARCH, out)
		return r
	}
	r.linux = matches[0]
	r.version = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(r.linux), "kinesisd-"), "-linux-"+runtime.GOARCH)
	// The commit as the binary says it (HEAD, "-dirty" when tracked files changed).
	v, err := exec.Command(r.linux, "version").Output()
	if err != nil {
		r.err = fmt.Errorf("%s version: %w", r.linux, err)
		return r
	}
	line := strings.TrimSpace(string(v))
	if _, c, ok := strings.Cut(line, " ("); ok {
		r.commit = strings.TrimSuffix(c, ")")
	}
	if h := strings.TrimSpace(string(head)); !strings.HasPrefix(r.commit, h) {
		r.err = fmt.Errorf("%q: the commit is not HEAD's %s", line, h)
	}
	return r
}

// needRelease returns the shared release, or fails the test when it could not be built.
func needRelease(t *testing.T) release {
	t.Helper()
	if rel.err != nil {
		t.Fatal(rel.err)
	}
	return rel
}

func TestReleaseBinaries(t *testing.T) {
	r := needRelease(t)
	if want := "v0.0.0-" + strings.TrimSuffix(r.commit, "-dirty"); r.version != want {
		tag, err := exec.Command("git", "-C", root, "describe", "--tags", "--exact-match").Output()
		if err != nil || strings.TrimSpace(string(tag)) != r.version {
			t.Errorf("version %q: want the tag on HEAD or %q", r.version, want)
		}
	}
	out, err := exec.Command(r.linux, "version").Output()
	if want := fmt.Sprintf("kinesisd %s (%s)\n", r.version, r.commit); err != nil || string(out) != want {
		t.Errorf("%s version: %q, %v; want %q", filepath.Base(r.linux), out, err, want)
	}

	goos, goarch, _ := strings.Cut(otherTarget, "/")
	for _, target := range []struct{ goos, goarch string }{{"linux", runtime.GOARCH}, {goos, goarch}} {
		for _, command := range []string{"kinesisd", "kinesisd-iceberg"} { // the server and its S3 Tables writer
			t.Run(command+"-"+target.goos+"-"+target.goarch, func(t *testing.T) {
				bin := filepath.Join(r.dir, fmt.Sprintf("%s-%s-%s-%s", command, r.version, target.goos, target.goarch))
				info := buildInfo(t, bin)
				for _, want := range []string{"GOOS=" + target.goos, "GOARCH=" + target.goarch, "CGO_ENABLED=0", "-trimpath=true"} {
					if !strings.Contains(info, "\tbuild\t"+want+"\n") {
						t.Errorf("go version -m %s lacks %q:\n%s", filepath.Base(bin), want, info)
					}
				}
				// Go does not record -ldflags with -trimpath; the stamped strings are in the binary's data.
				data := mustRead(t, bin)
				for _, stamp := range []string{r.version, r.commit} {
					if !bytes.Contains(data, []byte(stamp)) {
						t.Errorf("%s does not contain its stamp %q", filepath.Base(bin), stamp)
					}
				}
				if target.goos == "linux" {
					checkStatic(t, bin)
				}
			})
		}
	}
	iceberg := filepath.Join(r.dir, fmt.Sprintf("kinesisd-iceberg-%s-linux-%s", r.version, runtime.GOARCH))
	out, err = exec.Command(iceberg, "version").Output()
	if want := fmt.Sprintf("kinesisd-iceberg %s (%s)\n", r.version, r.commit); err != nil || string(out) != want {
		t.Errorf("%s version: %q, %v; want %q", filepath.Base(iceberg), out, err, want)
	}

	sums, err := os.ReadFile(filepath.Join(r.dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	if len(lines) != 4 {
		t.Errorf("SHA256SUMS has %d lines, want one per binary:\n%s", len(lines), sums)
	}
	for _, line := range lines {
		sum, name, ok := strings.Cut(line, "  ") // sha256sum's text mode
		data, err := os.ReadFile(filepath.Join(r.dir, name))
		if !ok || err != nil {
			t.Errorf("SHA256SUMS line %q: %v", line, err)
			continue
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", name)
		}
		t.Logf("%s: %.1f MiB", name, float64(len(data))/(1<<20))
	}
}

// buildInfo is `go version -m bin`: the module versions and build settings Go recorded in it.
func buildInfo(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m %s: %v\n%s", bin, err, out)
	}
	return string(out)
}

// checkStatic fails unless the ELF file bin is static.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	problems, err := dynamicParts(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", filepath.Base(bin), p)
	}
}

// dynamicParts lists what makes the ELF file bin dynamically linked: a program interpreter
// (PT_INTERP), shared libraries (DT_NEEDED).
func dynamicParts(bin string) ([]string, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var problems []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			problems = append(problems, "has a program interpreter (PT_INTERP)")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, err
	}
	if len(libs) > 0 {
		problems = append(problems, fmt.Sprintf("needs shared libraries %v (DT_NEEDED)", libs))
	}
	return problems, nil
}

// TestStaticCheckCatchesCgo shows that the static check can fail: a cgo build is dynamically linked.
func TestStaticCheckCatchesCgo(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler (gcc) to make a cgo binary with")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc main() { println(C.one()) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "cgo")
	build := exec.Command("go", "build", "-o", bin, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	problems, err := dynamicParts(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 {
		t.Errorf("a cgo binary: %v; want its interpreter and libraries found", problems)
	}
}
