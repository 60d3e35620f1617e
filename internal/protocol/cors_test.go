package protocol

import "testing"

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"": true, "localhost": true, "LocalHost:4567": true, "localhost.:80": true, "127.0.0.1": true, "127.1.2.3:4567": true,
		"[::1]": true, "[::1]:4567": true, "::1": true,
		"evil.example": false, "evil.example:4567": false, "localhost.evil.example": false, "127.0.0.1.nip.io": false,
		"0.0.0.0:4567": false, "[::]:4567": false, "10.0.0.1": false, "[::ffff:10.0.0.1]:1": false, "sub.localhost": false,
	} {
		if got := LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCORSPolicy(t *testing.T) {
	p := newCORSPolicy([]string{" https://App.example.com ", "http://dev.example:*", "http://[fd00::1]:*", ""}, false)
	for origin, want := range map[string]string{
		"http://localhost:3000": "http://localhost:3000", "http://localhost": "http://localhost", "http://[::1]:1": "http://[::1]:1",
		"http://127.0.0.1:65535": "http://127.0.0.1:65535", "https://app.example.com": "https://app.example.com",
		"http://dev.example:8080": "http://dev.example:8080", "http://[fd00::1]:9": "http://[fd00::1]:9", "http://[fd00::1]": "http://[fd00::1]",
		"http://localhost:123456": "", "http://localhost:": "", "https://localhost:3000": "", "http://[::1]x": "", "null": "",
		"http://evil.example": "", "https://app.example.com:443": "", "http://dev.example.evil:80": "",
	} {
		got, ok := p.allow(origin)
		if got != want || ok != (want != "") {
			t.Errorf("allow(%q) = %q %v, want %q", origin, got, ok, want)
		}
	}
	for _, p := range []corsPolicy{newCORSPolicy(nil, true), newCORSPolicy([]string{"*"}, false)} {
		if got, ok := p.allow("https://anything.example"); got != "*" || !ok {
			t.Errorf("every origin: allow = %q %v, want *", got, ok)
		}
	}
}
