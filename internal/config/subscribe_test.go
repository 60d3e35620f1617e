package config

import (
	"strings"
	"testing"
	"time"
)

// TestSubscribeFlags: the SubscribeToShard durations are 0 by default (the service then takes AWS's
// values), flags and KINESISD_* variables set them, and a negative one is refused.
func TestSubscribeFlags(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SubscribeLifetime != 0 || c.SubscribeHeartbeat != 0 || c.SubscribeTakeover != 0 {
		t.Errorf("defaults %s %s %s, want 0 (AWS's values)", c.SubscribeLifetime, c.SubscribeHeartbeat, c.SubscribeTakeover)
	}
	env := map[string]string{"KINESISD_SUBSCRIBE_HEARTBEAT": "20ms"}
	c, err = Load([]string{"-subscribe-lifetime", "300ms", "-subscribe-takeover", "1s"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SubscribeLifetime != 300*time.Millisecond || c.SubscribeHeartbeat != 20*time.Millisecond || c.SubscribeTakeover != time.Second {
		t.Errorf("got %s %s %s, want 300ms 20ms 1s", c.SubscribeLifetime, c.SubscribeHeartbeat, c.SubscribeTakeover)
	}
	_, err = Load([]string{"-subscribe-lifetime", "-1ms", "-subscribe-heartbeat", "-1s"}, nil)
	if err == nil || !strings.Contains(err.Error(), "-subscribe-lifetime") || !strings.Contains(err.Error(), "-subscribe-heartbeat") {
		t.Errorf("negative durations: error %v, want both flags named", err)
	}
}
