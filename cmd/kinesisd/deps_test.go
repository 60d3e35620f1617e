package main

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoIcebergInKinesisd: kinesisd does not link iceberg-go, whose package initialisation (its
// substrait extensions) takes 0.2-0.4 s of every start; channels to S3 Tables run it in the
// kinesisd-iceberg child (internal/channel/icebergproc). go list -deps names every package the
// command's binary holds.
func TestNoIcebergInKinesisd(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports", ".")
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"github.com/apache/iceberg-go", "kinesisd/internal/channel/iceberg"}
	importedBy := map[string]string{}
	var pkgs []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p.ImportPath)
		for _, imp := range p.Imports {
			if _, ok := importedBy[imp]; !ok {
				importedBy[imp] = p.ImportPath
			}
		}
	}
	if len(pkgs) < 10 || !slices.Contains(pkgs, "kinesisd/internal/channel/icebergproc") {
		t.Fatalf("go list -deps gave %d packages, without icebergproc: not kinesisd's list", len(pkgs))
	}
	for _, p := range pkgs {
		for _, f := range forbidden {
			if p == f || strings.HasPrefix(p, f+"/") {
				t.Errorf("cmd/kinesisd depends on %s (imported by %s): S3 Tables run in kinesisd-iceberg", p, importedBy[p])
			}
		}
	}
}
