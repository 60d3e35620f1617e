package service

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestPageTokenFilter: a NextToken carries the ListShards filter's timestamp as epoch seconds with a
// millisecond fraction (the bytes tokens have always had, so that a token survives an upgrade), for
// any timestamp a request can give, and reads it back to the millisecond.
func TestPageTokenFilter(t *testing.T) {
	typ := "AT_TIMESTAMP"
	tests := []struct {
		name string
		ms   int64
		json string
	}{
		{"recent", 1506440188749, `1506440188.749`},
		{"leading zeros", 5, `0.005`},
		{"epoch", 0, `0.000`},
		{"negative", -1500, `-1.500`},
		{"year 20000", 568971820800000, `568971820800.000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &ShardFilter{Type: &typ, Timestamp: &Timestamp{time.UnixMilli(tt.ms)}}
			tok := encodeToken(pageToken{Stream: "s", After: "a", Issued: 1, Filter: newTokenFilter(f)})
			raw, _ := base64.RawURLEncoding.DecodeString(*tok)
			want := `{"s":"s","a":"a","t":1,"f":{"Type":"AT_TIMESTAMP","Timestamp":` + tt.json + `}}`
			if string(raw) != want {
				t.Errorf("token %s, want %s", raw, want)
			}
			back, ok := decodeToken(*tok)
			got, _ := back.Filter.shardFilter()
			if !ok || got == nil || *got.Type != typ || got.Timestamp.UnixMilli() != tt.ms {
				t.Errorf("read back %+v, %v", got, ok)
			}
		})
	}
	bad := base64.RawURLEncoding.EncodeToString([]byte(`{"s":"s","a":"a","t":1,"f":{"Timestamp":1e999}}`))
	if _, ok := decodeToken(bad); ok {
		t.Error("a token with an infinite timestamp was read")
	}
}
