package product_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSystemdUnit runs `systemd-analyze verify` on contrib/systemd/kinesisd.service, with a drop-in
// pointing ExecStart at the release binary (verify wants the binary to exist), and checks the
// settings the unit promises.
func TestSystemdUnit(t *testing.T) {
	unit := mustRead(t, filepath.Join(root, "contrib", "systemd", "kinesisd.service"))
	for _, want := range []string{
		"User=kinesisd", "StateDirectory=kinesisd", "Environment=KINESISD_DATA=/var/lib/kinesisd",
		"Environment=KINESISD_DISK_RESERVE=", "Restart=on-failure", "LimitNOFILE=65536",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/kinesisd",
		"ExecStart=/usr/local/bin/kinesisd\n",
	} {
		if !strings.Contains(string(unit), "\n"+want) {
			t.Errorf("kinesisd.service lacks a line %q", want)
		}
	}

	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian's systemd package): the unit is not verified")
	}
	r := needRelease(t)
	verify := func(name string, content []byte) (string, error) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
		dropIn := filepath.Join(dir, name+".d")
		if err := os.Mkdir(dropIn, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dropIn, "test.conf"), []byte("[Service]\nExecStart=\nExecStart="+r.linux+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("systemd-analyze", "verify", filepath.Join(dir, name)).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := verify("kinesisd.service", unit); err != nil || out != "" {
		t.Errorf("systemd-analyze verify kinesisd.service: %v\n%s", err, out)
	}
	// The check can fail: a misspelt setting is reported (as a warning, hence the output checked).
	if out, _ := verify("kinesisd.service", []byte(strings.Replace(string(unit), "NoNewPrivileges", "NoNewPrivilege", 1))); !strings.Contains(out, "NoNewPrivilege") {
		t.Errorf("systemd-analyze verify did not report a misspelt setting: %q", out)
	}
}

// TestVariablesExist checks that every KINESISD_* variable the Dockerfile, docker-compose.yml and
// the systemd unit set is one kinesisd reads: a misspelt one would be ignored silently.
func TestVariablesExist(t *testing.T) {
	r := needRelease(t)
	usage, err := exec.Command(r.linux, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("kinesisd -h: %v\n%s", err, usage)
	}
	health, err := exec.Command(r.linux, "health", "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("kinesisd health -h: %v\n%s", err, health)
	}
	known := string(usage) + string(health)
	variable := regexp.MustCompile(`KINESISD_[A-Z0-9_]+`)
	for _, file := range []string{"Dockerfile", "docker-compose.yml", "contrib/systemd/kinesisd.service"} {
		content := mustRead(t, filepath.Join(root, file))
		found := variable.FindAllString(string(content), -1)
		if len(found) == 0 {
			t.Errorf("%s sets no KINESISD_ variable", file)
		}
		for _, v := range found {
			if !regexp.MustCompile(`\b` + v + `\b`).MatchString(known) {
				t.Errorf("%s sets %s, which kinesisd -h does not list", file, v)
			}
		}
	}
}
