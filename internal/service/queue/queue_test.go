package queue

import (
	"reflect"
	"testing"
)

func TestLifecycle(t *testing.T) {
	var s Shard
	n1 := s.Deliver(10, 1000, 31000)
	n2 := s.Deliver(12, 1000, 31000)
	if s.Next != 13 || s.Cursor() != 10 || n1 == n2 {
		t.Fatalf("after deliveries: next %d cursor %d nonces %d %d", s.Next, s.Cursor(), n1, n2)
	}
	if got := s.Visible(2000, false, 10); len(got) != 0 {
		t.Fatalf("visible while in flight: %v", got)
	}
	if i := s.Find(12, n2, false); i != 1 {
		t.Fatalf("Find(12) = %d", i)
	}
	s.Ack(1)
	if s.Find(12, n2, false) != -1 || s.Cursor() != 10 {
		t.Fatal("acknowledged entry still found, or cursor moved past an entry in flight")
	}
	// Visibility ends: received again with a new nonce; the old handle is refused.
	vis := s.Visible(31000, false, 10)
	if len(vis) != 1 {
		t.Fatalf("visible at the deadline: %v", vis)
	}
	n3 := s.Receive(vis[0], 31000, 61000)
	if s.Find(10, n1, false) != -1 || s.Find(10, n3, false) != 0 || s.Entries[0].Receives != 2 || s.Entries[0].First != 1000 {
		t.Fatalf("after a second receive: %+v", s.Entries)
	}
	// Two receives with maxReceive 2: a dead letter once its visibility ends.
	s.Settle(60999, 2)
	if s.Entries[0].Dead {
		t.Fatal("dead before its visibility ended")
	}
	s.Settle(61000, 2)
	if !s.Entries[0].Dead || len(s.Visible(61000, false, 10)) != 0 || len(s.Visible(61000, true, 10)) != 1 {
		t.Fatalf("not a visible dead letter: %+v", s.Entries)
	}
	if s.Find(10, n3, false) != -1 {
		t.Fatal("an ordinary handle names a dead letter")
	}
	s.Restore(0, 62000)
	if s.Entries[0].Dead || s.Entries[0].Receives != 0 || len(s.Visible(62000, false, 10)) != 1 {
		t.Fatalf("restore: %+v", s.Entries)
	}
	s.Ack(0)
	if s.Cursor() != 13 || len(s.Entries) != 0 {
		t.Fatalf("all settled: cursor %d", s.Cursor())
	}
}

func TestExpire(t *testing.T) {
	var s Shard
	for _, off := range []uint64{1, 2, 5, 9} {
		s.Deliver(off, 1, 2)
	}
	if n := s.Expire(5); n != 2 || s.Expired != 2 || s.Cursor() != 5 {
		t.Fatalf("Expire(5) = %d, expired %d, cursor %d", n, s.Expired, s.Cursor())
	}
	if s.Expire(20); s.Next != 20 || len(s.Entries) != 0 || s.Expired != 4 {
		t.Fatalf("Expire(20): %+v", s)
	}
}

func TestSettleOff(t *testing.T) {
	var s Shard
	s.Deliver(0, 1, 2)
	s.Entries[0].Receives = 100
	s.Settle(10, 0)
	if s.Entries[0].Dead {
		t.Fatal("dead-lettering off, yet a dead letter")
	}
}

// stateTable are states the encoding must carry exactly; the fuzz target starts from them.
var stateTable = []Shard{
	{},
	{Next: 7, Seq: 3, Expired: 2},
	{Next: 1 << 40, Seq: 99, Entries: []Entry{
		{Offset: 5, Deadline: 1_700_000_030_000, Receives: 1, Nonce: 98, First: 1_700_000_000_000},
		{Offset: 6, Deadline: 1_699_999_000_000, Receives: 7, Nonce: 12, First: 1_700_000_000_500, Dead: true},
		{Offset: 1<<40 - 1, Deadline: 0, Receives: 0, Nonce: 99, First: 1_600_000_000_000},
	}},
}

func TestEncodeRoundTrip(t *testing.T) {
	for i, s := range stateTable {
		got, err := Decode(s.Encode())
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if len(s.Entries) == 0 {
			s.Entries = nil
		}
		if !reflect.DeepEqual(*got, s) {
			t.Errorf("%d: got %+v, want %+v", i, *got, s)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := stateTable[2].Encode()
	bad := [][]byte{nil, {2}, good[:len(good)-1], append(append([]byte{}, good...), 0)}
	for i, b := range bad {
		if _, err := Decode(b); err == nil {
			t.Errorf("%d: Decode(%x) accepted", i, b)
		}
	}
}

// TestStateSize measures the stored state: a queue that keeps up holds its records in flight, one
// that lags holds nothing for the records it has not read (the README's numbers).
func TestStateSize(t *testing.T) {
	now := int64(1_765_000_000_000)
	keeping := Shard{}
	for off := range uint64(80) { // 8 consumers x 10 records in flight
		keeping.Deliver(1_000_000+off, now, now+30_000)
	}
	lagging := Shard{Next: 5, Seq: 5} // a million records behind: none of them is in the state
	inFlight := Shard{}
	for off := range uint64(1_000_000) { // the worst case: a million received and none acknowledged
		inFlight.Deliver(off, now+int64(off/1000), now+int64(off/1000)+30_000)
	}
	t.Logf("state per shard: keeps up (80 in flight) %d B; lags 1,000,000 unread %d B; 1,000,000 in flight %d B",
		len(keeping.Encode()), len(lagging.Encode()), len(inFlight.Encode()))
	if len(lagging.Encode()) > 16 || len(keeping.Encode()) > 80*16 {
		t.Fatal("state larger than its bound")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range stateTable {
		f.Add(s.Encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(s.Encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if len(s.Entries) == 0 {
			s.Entries = nil
		}
		if len(again.Entries) == 0 {
			again.Entries = nil
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip: %+v then %+v", s, again)
		}
	})
}
