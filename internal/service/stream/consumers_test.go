package stream

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestSettleConsumer: a CREATING consumer becomes ACTIVE (its status time the moment it did) once
// ConsumerDelay has passed, a DELETING one goes then; ACTIVE ones are left alone.
func TestSettleConsumer(t *testing.T) {
	const delay = 5 * time.Second
	e := newEnv(t, func(c *Config) { c.ConsumerDelay = delay })
	set := e.now()
	creating := Consumer{Name: "c", CreatedMilli: set, Status: StatusCreating, StatusMilli: set}
	deleting := Consumer{Name: "d", CreatedMilli: set - 1000, Status: StatusDeleting, StatusMilli: set}
	active := Consumer{Name: "a", CreatedMilli: set - 5000, Status: StatusActive, StatusMilli: set - 5000}

	e.clk.Advance(delay - time.Millisecond)
	if c, gone := e.s.SettleConsumer(creating); gone || !reflect.DeepEqual(c, creating) {
		t.Errorf("CREATING before the delay: %+v, gone %v", c, gone)
	}
	if c, gone := e.s.SettleConsumer(deleting); gone || c.Status != StatusDeleting {
		t.Errorf("DELETING before the delay: %+v, gone %v", c, gone)
	}
	e.clk.Advance(time.Hour)
	if c, gone := e.s.SettleConsumer(creating); gone || c.Status != StatusActive || c.StatusMilli != set+delay.Milliseconds() || c.CreatedMilli != set {
		t.Errorf("CREATING after the delay: %+v, gone %v; want ACTIVE since %d", c, gone, set+delay.Milliseconds())
	}
	if _, gone := e.s.SettleConsumer(deleting); !gone {
		t.Error("DELETING after the delay: not gone")
	}
	if c, gone := e.s.SettleConsumer(active); gone || !reflect.DeepEqual(c, active) {
		t.Errorf("ACTIVE: %+v, gone %v", c, gone)
	}
}

// TestLiveConsumers: LiveConsumers and FindConsumer see the consumers as they stand now, without the
// gone ones, and leave the document alone; FindConsumer matches the creation second when asked to.
func TestLiveConsumers(t *testing.T) {
	const delay = 5 * time.Second
	e := newEnv(t, func(c *Config) { c.ConsumerDelay = delay })
	set := e.now()
	d := &Doc{Consumers: []Consumer{
		{Name: "c", CreatedMilli: set, Status: StatusCreating, StatusMilli: set},
		{Name: "d", CreatedMilli: set - 3000, Status: StatusDeleting, StatusMilli: set},
		{Name: "a", CreatedMilli: set - 7000, Status: StatusActive, StatusMilli: set - 7000},
	}}
	before := slices.Clone(d.Consumers)
	names := func(cs []Consumer) (out []string) {
		for _, c := range cs {
			out = append(out, c.Name+":"+c.Status)
		}
		return out
	}
	if got, want := names(e.s.LiveConsumers(d)), []string{"c:CREATING", "d:DELETING", "a:ACTIVE"}; !slices.Equal(got, want) {
		t.Errorf("before the delay: %v, want %v", got, want)
	}
	e.clk.Advance(delay)
	if got, want := names(e.s.LiveConsumers(d)), []string{"c:ACTIVE", "a:ACTIVE"}; !slices.Equal(got, want) {
		t.Errorf("after the delay: %v, want %v", got, want)
	}
	if !slices.EqualFunc(d.Consumers, before, func(a, b Consumer) bool { return a.Name == b.Name && a.Status == b.Status }) {
		t.Errorf("LiveConsumers changed the document: %+v", d.Consumers)
	}
	if c := e.s.FindConsumer(d, "c", -1); c == nil || c.Status != StatusActive {
		t.Errorf("FindConsumer(c) = %+v", c)
	}
	if c := e.s.FindConsumer(d, "a", (set-7000)/1000); c == nil || c.Name != "a" {
		t.Errorf("FindConsumer(a, its second) = %+v", c)
	}
	if c := e.s.FindConsumer(d, "a", (set-7000)/1000-1); c != nil {
		t.Errorf("FindConsumer(a, another second) = %+v, want nil", c)
	}
	if c := e.s.FindConsumer(d, "d", -1); c != nil {
		t.Errorf("FindConsumer of a gone consumer = %+v, want nil", c)
	}
	if c := e.s.FindConsumer(d, "x", -1); c != nil {
		t.Errorf("FindConsumer of a missing consumer = %+v", c)
	}
}

// TestPruneConsumers: PruneConsumers settles the document's consumers and drops the gone ones, except
// those created in the current second or later, kept (as they are) as tombstones so that a
// re-registration in that second gets a later creation second.
func TestPruneConsumers(t *testing.T) {
	const delay = time.Second
	e := newEnv(t, func(c *Config) { c.ConsumerDelay = delay })
	e.clk.Advance(10 * time.Second)
	now := e.now() // a whole second
	d := &Doc{Consumers: []Consumer{
		{Name: "old-gone", CreatedMilli: now - 5000, Status: StatusDeleting, StatusMilli: now - 2000},
		{Name: "new-gone", CreatedMilli: now, Status: StatusDeleting, StatusMilli: now - 2000},
		{Name: "deleting", CreatedMilli: now - 5000, Status: StatusDeleting, StatusMilli: now},
		{Name: "creating", CreatedMilli: now - 5000, Status: StatusCreating, StatusMilli: now - 2000},
	}}
	e.clk.Advance(999 * time.Millisecond) // still the second of now
	e.s.PruneConsumers(d)
	var got []string
	for _, c := range d.Consumers {
		got = append(got, c.Name+":"+c.Status)
	}
	if want := []string{"new-gone:DELETING", "deleting:DELETING", "creating:ACTIVE"}; !slices.Equal(got, want) {
		t.Errorf("after PruneConsumers: %v, want %v", got, want)
	}
	if c := e.s.FindConsumer(d, "new-gone", -1); c != nil {
		t.Errorf("the tombstone is found: %+v", c)
	}
	e.clk.Advance(time.Millisecond) // the next second: the tombstone goes
	e.s.PruneConsumers(d)
	got = nil
	for _, c := range d.Consumers {
		got = append(got, c.Name)
	}
	if want := []string{"creating"}; !slices.Equal(got, want) {
		t.Errorf("a second later: %v, want %v", got, want)
	}
}

// TestShardID: ShardID is shardId- and 12 digits; ParseShardID reads the digits after the last '-' (or
// the whole id) up to 2^31−1, refusing anything else.
func TestShardID(t *testing.T) {
	if got := ShardID(5); got != "shardId-000000000005" {
		t.Errorf("ShardID(5) = %q", got)
	}
	if got := ShardID(1<<31 - 1); got != "shardId-002147483647" {
		t.Errorf("ShardID(2^31−1) = %q", got)
	}
	for id, want := range map[string]uint32{
		"shardId-000000000005": 5, "shardId-5": 5, "5": 5, "shardId-2147483647": 1<<31 - 1, "x-0": 0,
	} {
		if got, ok := ParseShardID(id); !ok || got != want {
			t.Errorf("ParseShardID(%q) = %d, %v; want %d", id, got, ok, want)
		}
	}
	for _, id := range []string{"", "shardId-", "shardId-x", "shardId-2147483648", "shardId-+5", "shardId-5 ", "-"} {
		if got, ok := ParseShardID(id); ok {
			t.Errorf("ParseShardID(%q) = %d, true; want refused", id, got)
		}
	}
}
