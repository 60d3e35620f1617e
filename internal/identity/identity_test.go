package identity

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestReadKeys(t *testing.T) {
	const def = "000000000000"
	tests := []struct {
		name, file string
		want       Keys
		err        string
	}{
		{"pairs", "# keys\nAKID1 secret1\n\n  AKID2\tsec/ret+2  \n# end\n",
			Keys{"AKID1": {"secret1", def, ""}, "AKID2": {"sec/ret+2", def, ""}}, ""},
		{"account and principal", "A s 111122223333 alice\nB t 111122223333\nC u 111122223333 alice\nD v 444455556666 bob\n",
			Keys{"A": {"s", "111122223333", "alice"}, "B": {"t", "111122223333", ""}, "C": {"u", "111122223333", "alice"}, "D": {"v", "444455556666", "bob"}}, ""},
		{"same line twice", "A s 111122223333 alice\nA s 111122223333 alice\n", Keys{"A": {"s", "111122223333", "alice"}}, ""},
		{"principal in two accounts", "A s 111122223333 alice\n\nB t 444455556666 alice\n", nil,
			"creds:3: principal alice is in account 444455556666 here and in account 111122223333 on line 1: a principal name must belong to one account"},
		{"one field", "A s\nB\n", nil, "creds:2: want ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]], found 1 fields"},
		{"five fields", "\n# c\nA s 111122223333 alice x\n", nil, "creds:3: want ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]], found 5 fields"},
		{"bad account", "A s 1234\n", nil, `creds:1: account id "1234" is not 12 digits`},
		{"bad principal", "A s 111122223333 al/ice\n", nil, `creds:1: principal "al/ice" is not an IAM user name (1 to 64 letters, digits and +=,.@_-)`},
		{"conflict", "A s\nA t\n", nil, "creds:2: access key id A is listed twice, with a different secret, account or principal"},
		{"conflicting account", "A s\nA s 111122223333\n", nil, "creds:2: access key id A is listed twice, with a different secret, account or principal"},
		{"slash in id", "A/B s\n", nil, "creds:1: access key id \"A/B\" contains '/'"},
		{"empty", "# nothing\n\n", nil, "creds: no keys: list ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT_ID [PRINCIPAL]], one key a line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadKeys("creds", strings.NewReader(tt.file), def)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestARNs(t *testing.T) {
	k := Key{Secret: "s", Account: "111122223333", Principal: "alice"}
	if got := k.ARN(); got != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("user ARN %s", got)
	}
	k.Principal = ""
	if got := k.ARN(); got != "arn:aws:iam::111122223333:root" {
		t.Errorf("root ARN %s", got)
	}
	if got := UserID(RootARN("111122223333")); got != "111122223333" {
		t.Errorf("root's user id %s, want the account", got)
	}
	alice, bob := UserID(UserARN("111122223333", "alice")), UserID(UserARN("111122223333", "bob"))
	if !regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`).MatchString(alice) || alice == bob || alice != UserID(UserARN("111122223333", "alice")) {
		t.Errorf("user ids %s %s: want AIDA and 17 characters, stable and distinct", alice, bob)
	}
}

func TestCallerInContext(t *testing.T) {
	if _, ok := CallerFrom(context.Background()); ok {
		t.Fatal("a bare context carries a caller")
	}
	c := Caller{Account: "111122223333", Region: "eu-west-1", Principal: RootARN("111122223333"), AccessKeyID: "AKID", SourceIP: "127.0.0.1"}
	got, ok := CallerFrom(WithCaller(context.Background(), c))
	if !ok || got != c {
		t.Errorf("got %+v %v, want %+v", got, ok, c)
	}
}
