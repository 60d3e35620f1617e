package protocol

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	"kinesisd/internal/identity"
	"kinesisd/internal/sigv4"
)

// callerOf's rules: the region of the scope when valid, else the default; the account and principal
// of a listed key; without keys, a 12-digit key id as its own account.
func TestCallerOf(t *testing.T) {
	keys := identity.Keys{"AKIDALICE": {Secret: "s", Account: "111122223333", Principal: "alice"}, "AKIDROOT": {Secret: "s", Account: "444455556666"}}
	auth := func(key, region string) *sigv4.Auth { return &sigv4.Auth{AccessKeyID: key, Region: region} }
	tests := []struct {
		name string
		keys identity.Keys
		auth *sigv4.Auth
		want identity.Caller
	}{
		{"unsigned", nil, nil, identity.Caller{Account: "999988887777", Region: "ap-south-1", Principal: "arn:aws:iam::999988887777:root"}},
		{"any key", nil, auth("AKIAEXAMPLE", "eu-west-1"),
			identity.Caller{Account: "999988887777", Region: "eu-west-1", Principal: "arn:aws:iam::999988887777:root", AccessKeyID: "AKIAEXAMPLE"}},
		{"12-digit key", nil, auth("111122223333", "us-west-2"),
			identity.Caller{Account: "111122223333", Region: "us-west-2", Principal: "arn:aws:iam::111122223333:root", AccessKeyID: "111122223333"}},
		{"13 digits", nil, auth("1111222233334", "us-west-2"),
			identity.Caller{Account: "999988887777", Region: "us-west-2", Principal: "arn:aws:iam::999988887777:root", AccessKeyID: "1111222233334"}},
		{"no valid region", nil, auth("AKIAEXAMPLE", "moon"),
			identity.Caller{Account: "999988887777", Region: "ap-south-1", Principal: "arn:aws:iam::999988887777:root", AccessKeyID: "AKIAEXAMPLE"}},
		{"listed user", keys, auth("AKIDALICE", "eu-central-1"),
			identity.Caller{Account: "111122223333", Region: "eu-central-1", Principal: "arn:aws:iam::111122223333:user/alice", AccessKeyID: "AKIDALICE"}},
		{"listed root", keys, auth("AKIDROOT", "eu-central-1"),
			identity.Caller{Account: "444455556666", Region: "eu-central-1", Principal: "arn:aws:iam::444455556666:root", AccessKeyID: "AKIDROOT"}},
		{"12 digits with keys", keys, auth("111122223333", "eu-central-1"), // never verified with keys; not an account then
			identity.Caller{Account: "999988887777", Region: "eu-central-1", Principal: "arn:aws:iam::999988887777:root", AccessKeyID: "111122223333"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(Options{Account: "999988887777", Region: "ap-south-1", Keys: tt.keys})
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = "192.0.2.7:5555"
			tt.want.SourceIP = "192.0.2.7"
			if got := h.callerOf(r, tt.auth); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			r.TLS = &tls.ConnectionState{}
			if !h.callerOf(r, tt.auth).SecureTransport {
				t.Error("a TLS request is not SecureTransport")
			}
		})
	}
}
