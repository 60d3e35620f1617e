package kerr

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate fails when errors_gen.go does not match codes.json: run go generate.
func TestGeneratedUpToDate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "errors_gen.go")
	if b, err := exec.Command("go", "run", "./gen", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("errors_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("errors_gen.go is stale: run go generate ./internal/kerr")
	}
}

func TestValidations(t *testing.T) {
	var v Validations
	if v.Err() != nil {
		t.Fatal("no violations must be no error")
	}
	v.Add(Null, "streamName", "Member must not be null")
	if got := v.Err().(*Validation).Message(); got != "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null" {
		t.Errorf("one: %q", got)
	}
	for range 11 {
		v.Add(Quote("x"), "a", "c")
	}
	msg := v.Err().(*Validation).Message()
	if !bytes.HasPrefix([]byte(msg), []byte("10 validation errors detected: Value null at 'streamName'")) || bytes.Count([]byte(msg), []byte("; ")) != 9 {
		t.Errorf("twelve: %q", msg)
	}
}
