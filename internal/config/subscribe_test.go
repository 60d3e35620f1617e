package config

import (
	"strings"
	"testing"
	"time"
)

// TestSubscribeFlags: the SubscribeToShard durations take AWS's values by default, flags and
// KINESISD_* variables set them, and a non-positive one is refused.
func TestSubscribeFlags(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SubscribeLifetime != 5*time.Minute || c.SubscribeHeartbeat != 5*time.Second || c.SubscribeTakeover != 5*time.Second {
		t.Errorf("defaults %s %s %s, want 5m 5s 5s", c.SubscribeLifetime, c.SubscribeHeartbeat, c.SubscribeTakeover)
	}
	env := map[string]string{"KINESISD_SUBSCRIBE_HEARTBEAT": "20ms"}
	c, err = Load([]string{"-subscribe-lifetime", "300ms", "-subscribe-takeover", "1s"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SubscribeLifetime != 300*time.Millisecond || c.SubscribeHeartbeat != 20*time.Millisecond || c.SubscribeTakeover != time.Second {
		t.Errorf("got %s %s %s, want 300ms 20ms 1s", c.SubscribeLifetime, c.SubscribeHeartbeat, c.SubscribeTakeover)
	}
	_, err = Load([]string{"-subscribe-lifetime", "0s", "-subscribe-heartbeat", "-1s"}, nil)
	if err == nil || !strings.Contains(err.Error(), "-subscribe-lifetime") || !strings.Contains(err.Error(), "-subscribe-heartbeat") {
		t.Errorf("non-positive durations: error %v, want both flags named", err)
	}
}
