package s3dest

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

var arrival = time.Date(2026, 12, 5, 21, 4, 5, 0, time.UTC)

func recs(datas ...string) []Record {
	out := make([]Record, len(datas))
	for i, d := range datas {
		out[i] = Record{Data: []byte(d), PartitionKey: "pk", SequenceNumber: "49", ShardID: "shardId-000000000000", Arrival: arrival}
	}
	return out
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name, format string
		in           []string
		body         string
		rejected     []string
	}{
		{"json compacted", "JSON", []string{`{ "a" : 1 }`, `[1, 2]`, `"s"`}, "{\"a\":1}\n[1,2]\n\"s\"\n", nil},
		{"json rejects", "JSON", []string{`{"a":1}`, `not json`, ``, "{\"a\":\n1}"}, "{\"a\":1}\n{\"a\":1}\n", []string{"not json", ""}},
		{"gsr json as json", "GSR_JSON", []string{`{"x":true}`, `{`}, "{\"x\":true}\n", []string{"{"}},
		{"string lines", "STRING", []string{"hello", "héllo", ""}, "hello\nhéllo\n\n", nil},
		{"string rejects", "STRING", []string{"a\nb", "c\rd", "\xff", "ok"}, "ok\n", []string{"a\nb", "c\rd", "\xff"}},
		{"bytes base64", "BYTE_ARRAY", []string{"\x00\xff", "a\nb", ""}, "AP8=\nYQpi\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, rej := Encode(tt.format, recs(tt.in...))
			if string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			var got []string
			for _, r := range rej {
				got = append(got, string(r.Record.Data))
				if r.Reason == "" {
					t.Errorf("rejected %q without a reason", r.Record.Data)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.rejected, "|") {
				t.Errorf("rejected %q, want %q", got, tt.rejected)
			}
		})
	}
}

func TestCompressRoundTrip(t *testing.T) {
	body := bytes.Repeat([]byte("record line\n"), 1000)
	for _, c := range []string{"NONE", "GZIP", "ZSTD"} {
		packed, err := Compress(c, body)
		if err != nil {
			t.Fatal(err)
		}
		if c != "NONE" && len(packed) >= len(body) {
			t.Errorf("%s: %d bytes from %d", c, len(packed), len(body))
		}
		plain, err := Decompress(c, packed)
		if err != nil || !bytes.Equal(plain, body) {
			t.Errorf("%s round trip: %v", c, err)
		}
	}
}

func TestKey(t *testing.T) {
	f := KeyFields{Channel: "ch", Stream: "orders", ShardID: "shardId-000000000001", FirstSequence: "4960", Arrival: arrival, Extension: "json.gz"}
	tests := []struct{ template, want string }{
		{"", "orders/2026/12/05/21/ch-shardId-000000000001-4960.json.gz"},
		{"raw/", "raw/ch-shardId-000000000001-4960.json.gz"},
		{"!{channel}/!{shard}/!{timestamp:yyyy-MM-dd HH:mm:ss}/", "ch/shardId-000000000001/2026-12-05 21:04:05/ch-shardId-000000000001-4960.json.gz"},
		{"!{unknown}/!{stream", "!{unknown}/!{streamch-shardId-000000000001-4960.json.gz"},
	}
	for _, tt := range tests {
		if got := Key(tt.template, f); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.template, got, tt.want)
		}
	}
}

func TestDeadLettersRoundTrip(t *testing.T) {
	_, rej := Encode("JSON", recs("a", "\xff\x00", `{"ok":1}`))
	back, err := DecodeDeadLetters(EncodeDeadLetters(rej))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || string(back[0].Record.Data) != "a" || string(back[1].Record.Data) != "\xff\x00" ||
		back[0].Record.ShardID != "shardId-000000000000" || !back[0].Record.Arrival.Equal(arrival) || back[0].Reason == "" {
		t.Errorf("dead letters back: %+v", back)
	}
}

// FuzzEncode: every record comes back from the body (decoded by its format) or is rejected, in order.
func FuzzEncode(f *testing.F) {
	for _, seed := range []string{`{"a":1}`, "not json", "a\nb", "\xff", "", "héllo"} {
		f.Add(seed, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, format := range []string{"JSON", "STRING", "BYTE_ARRAY"} {
			body, rej := Encode(format, recs(a, b))
			lines := strings.Split(string(body), "\n")
			if len(lines) == 0 || lines[len(lines)-1] != "" {
				t.Fatalf("%s: body %q does not end in a line break", format, body)
			}
			if n := len(lines) - 1 + len(rej); n != 2 {
				t.Fatalf("%s: %d lines and %d rejected for 2 records", format, len(lines)-1, len(rej))
			}
			if format == "BYTE_ARRAY" {
				for i, l := range lines[:len(lines)-1] {
					d, err := base64.StdEncoding.DecodeString(l)
					if err != nil || string(d) != []string{a, b}[i] {
						t.Fatalf("BYTE_ARRAY line %d: %q", i, l)
					}
				}
			}
		}
	})
}
