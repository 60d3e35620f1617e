package kinesistest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// IcebergWriterEnv names the variable that gives in-process servers their kinesisd-iceberg (as
// -iceberg-writer); unset, IcebergWriter builds it.
const IcebergWriterEnv = "KINESISD_ICEBERG_WRITER"

// icebergWriter is cmd/kinesisd-iceberg built once per test process (a test process shares it
// between its servers, as it shares the go build cache).
var icebergWriter struct {
	once sync.Once
	path string
	err  error
}

// IcebergWriter returns the kinesisd-iceberg that in-process servers run for channels to S3 Tables:
// $KINESISD_ICEBERG_WRITER, else cmd/kinesisd-iceberg built once per test process (CGO_ENABLED and
// the rest of the environment as go test's) into a directory of the temporary directory named after
// the module's root, where it stays for the next run (a link of some seconds, the build cache doing
// the rest). Binaries built meanwhile by other test processes replace it atomically.
func IcebergWriter(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(IcebergWriterEnv); p != "" {
		return p
	}
	icebergWriter.once.Do(func() { icebergWriter.path, icebergWriter.err = buildIcebergWriter() })
	if icebergWriter.err != nil {
		t.Fatal(icebergWriter.err)
	}
	return icebergWriter.path
}

func buildIcebergWriter() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kinesisd-test-%d-%s", os.Getuid(), hex.EncodeToString(sum[:6])))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "kinesisd-iceberg-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	build := exec.Command("go", "build", "-o", tmp.Name(), "./cmd/kinesisd-iceberg")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kinesisd-iceberg: %w\n%s", err, out)
	}
	path := filepath.Join(dir, "kinesisd-iceberg")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// moduleRoot is the directory of kinesisd's go.mod, above the working directory of the test.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s: kinesisd-iceberg cannot be built", dir)
		}
		dir = parent
	}
}
