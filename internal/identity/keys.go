package identity

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Key is one accepted access key of the credentials file (-credentials).
type Key struct {
	Secret    string // the secret access key
	Account   string // the account the key belongs to, 12 digits
	Principal string // the IAM user name the key belongs to; "" for the account's root
}

// ARN is the ARN of the key's principal.
func (k Key) ARN() string { return PrincipalARN(k.Account, k.Principal) }

// Keys are the accepted keys by access key id.
type Keys map[string]Key

// Secrets is access key id → secret access key, what a signature verifier needs.
func (ks Keys) Secrets() map[string]string {
	out := make(map[string]string, len(ks))
	for id, k := range ks {
		out[id] = k.Secret
	}
	return out
}

var (
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	// userPattern is an IAM user name: 1 to 64 of letters, digits and +=,.@_-.
	userPattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// LoadKeys reads the credentials file at path (see ReadKeys).
func LoadKeys(path, defaultAccount string) (Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadKeys(path, f, defaultAccount)
}

// ReadKeys reads the accepted keys from r: one "ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]]"
// a line, separated by spaces or tabs; blank lines and lines starting with # are skipped. A key
// without an account belongs to defaultAccount, one without a principal to its account's root. A
// principal is an IAM user name, and one name belongs to one account (policies name principals), so
// a name listed in two accounts is an error. Errors name the file (name) and line.
func ReadKeys(name string, r io.Reader, defaultAccount string) (Keys, error) {
	keys := Keys{}
	type seen struct {
		account string
		line    int
	}
	principals := map[string]seen{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 4 {
			return nil, fmt.Errorf("%s:%d: want ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]], found %d fields", name, n, len(f))
		}
		if strings.Contains(f[0], "/") {
			return nil, fmt.Errorf("%s:%d: access key id %q contains '/'", name, n, f[0])
		}
		k := Key{Secret: f[1], Account: defaultAccount}
		if len(f) > 2 {
			if !accountPattern.MatchString(f[2]) {
				return nil, fmt.Errorf("%s:%d: account id %q is not 12 digits", name, n, f[2])
			}
			k.Account = f[2]
		}
		if len(f) > 3 {
			if !userPattern.MatchString(f[3]) {
				return nil, fmt.Errorf("%s:%d: principal %q is not an IAM user name (1 to 64 letters, digits and +=,.@_-)", name, n, f[3])
			}
			k.Principal = f[3]
			if p, ok := principals[k.Principal]; ok && p.account != k.Account {
				return nil, fmt.Errorf("%s:%d: principal %s is in account %s here and in account %s on line %d: a principal name must belong to one account",
					name, n, k.Principal, k.Account, p.account, p.line)
			}
			principals[k.Principal] = seen{k.Account, n}
		}
		if old, ok := keys[f[0]]; ok && old != k {
			return nil, fmt.Errorf("%s:%d: access key id %s is listed twice, with a different secret, account or principal", name, n, f[0])
		}
		keys[f[0]] = k
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys: list ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]], one key a line", name)
	}
	return keys, nil
}
