package sigv4

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// LoadKeys reads the credentials file at path (see ReadKeys).
func LoadKeys(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadKeys(path, f)
}

// ReadKeys reads the accepted keys, access key id → secret access key, from r: one
// "ACCESS_KEY_ID SECRET_ACCESS_KEY" pair a line, separated by spaces or tabs; blank lines and lines
// starting with # are skipped. Errors name the file (name) and line.
func ReadKeys(name string, r io.Reader) (map[string]string, error) {
	keys := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want ACCESS_KEY_ID SECRET_ACCESS_KEY, found %d fields", name, n, len(f))
		}
		if strings.Contains(f[0], "/") {
			return nil, fmt.Errorf("%s:%d: access key id %q contains '/'", name, n, f[0])
		}
		if old, ok := keys[f[0]]; ok && old != f[1] {
			return nil, fmt.Errorf("%s:%d: access key id %s is listed twice with different secrets", name, n, f[0])
		}
		keys[f[0]] = f[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys: list ACCESS_KEY_ID SECRET_ACCESS_KEY pairs, one a line", name)
	}
	return keys, nil
}
