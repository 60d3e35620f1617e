package kinesistest

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/config"
)

// TestFlagsNameEveryFlag: Flags writes every flag of `kinesisd -h` but -version, so that a flag added
// to the server is not left at its default when the API suite runs against the binary.
func TestFlagsNameEveryFlag(t *testing.T) {
	var help strings.Builder
	config.Usage(&help)
	c, err := config.Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for _, f := range Flags(c) {
		written[strings.TrimPrefix(f[:strings.Index(f, "=")], "-")] = true
	}
	names := regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`).FindAllStringSubmatch(help.String(), -1)
	if len(names) < 30 {
		t.Fatalf("found %d flags in the help text; its layout changed?", len(names))
	}
	for _, m := range names {
		if name := m[1]; name != "version" && !written[name] {
			t.Errorf("Flags does not write -%s", name)
		}
	}
}

// TestFlagsRoundTrip: the flags Flags writes load back into the configuration they came from.
func TestFlagsRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*config.Config)
	}{
		{"defaults", func(*config.Config) {}},
		{"changed", func(c *config.Config) {
			c.DataDir = t.TempDir()
			c.CreateStreamDelay, c.UpdateStreamDelay, c.ConsumerDelay = 500*time.Millisecond, 2*time.Second, 1500*time.Millisecond
			c.ThroughputLimits, c.APIRateLimits, c.ShardLimit = false, true, 10
			c.SubscribeLifetime, c.SubscribeHeartbeat, c.SubscribeTakeover = time.Minute, 50*time.Millisecond, 2*time.Second
			c.TLSListen, c.LogFormat, c.LogRequests = "127.0.0.1:0", "json", true
			c.CORSOrigins = []string{"https://app.example.com", "http://dev.local:*"}
			c.InitStreams = []config.InitStream{{Name: "a", Shards: 2}, {Name: "b", OnDemand: true, RetentionHours: 48}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load([]string{"-listen", "127.0.0.1:0"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.configure(c)
			back, err := config.Load(Flags(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c) {
				t.Errorf("flags %q load as\n%+v\nwant\n%+v", Flags(c), *back, *c)
			}
		})
	}
}
