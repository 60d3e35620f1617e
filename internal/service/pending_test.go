package service

import (
	"fmt"
	"testing"
	"time"
)

// TestEncryptionHistory: setEncryption keeps the history each record's EncryptionType is read from, and
// arrivalMilli keeps records written after a change at or after its start.
func TestEncryptionHistory(t *testing.T) {
	const hour = int64(time.Hour / time.Millisecond)
	type change struct {
		at  int64 // when the change takes effect (ms)
		typ string
	}
	tests := []struct {
		name    string
		initial string // the stream's encryption before any change
		changes []change
		reads   map[int64]string // arrival (ms) → EncryptionType
		history string           // what is kept
		arrival [2]int64         // a write at arrival[0] is stamped arrival[1]
	}{
		{
			name: "never changed", initial: encryptionNone,
			reads: map[int64]string{0: encryptionNone, 1000: encryptionNone}, history: "[]", arrival: [2]int64{5, 5},
		},
		{
			name: "started", initial: encryptionNone, changes: []change{{1000, encryptionKMS}},
			reads:   map[int64]string{0: encryptionNone, 1000: encryptionNone, 1001: encryptionKMS},
			history: "[{1001 KMS}]", arrival: [2]int64{1000, 1001},
		},
		{
			name: "started and stopped", initial: encryptionNone, changes: []change{{1000, encryptionKMS}, {2000, encryptionNone}},
			reads:   map[int64]string{1000: encryptionNone, 1001: encryptionKMS, 2000: encryptionKMS, 2001: encryptionNone},
			history: "[{1001 KMS} {2001 NONE}]", arrival: [2]int64{3000, 3000},
		},
		{
			name: "two changes in one millisecond", initial: encryptionNone, changes: []change{{1000, encryptionKMS}, {1000, encryptionNone}},
			reads:   map[int64]string{1000: encryptionNone, 1001: encryptionKMS, 1002: encryptionNone},
			history: "[{1001 KMS} {1002 NONE}]", arrival: [2]int64{1000, 1002},
		},
		{
			name: "encrypted before any history", initial: encryptionKMS, changes: []change{{1000, encryptionNone}},
			reads:   map[int64]string{0: encryptionKMS, 1000: encryptionKMS, 1001: encryptionNone},
			history: "[{0 KMS} {1001 NONE}]", arrival: [2]int64{999, 1001},
		},
		{
			// With 24 hours' retention, at 30 h the records of the first change have all expired (the
			// second began at 1 h): it is dropped.
			name: "expired entries dropped", initial: encryptionNone,
			changes: []change{{0, encryptionKMS}, {hour, encryptionNone}, {30 * hour, encryptionKMS}},
			reads:   map[int64]string{7 * hour: encryptionNone, 30*hour + 1: encryptionKMS},
			history: fmt.Sprintf("[{%d NONE} {%d KMS}]", hour+1, 30*hour+1), arrival: [2]int64{31 * hour, 31 * hour},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &stream{doc: streamDoc{Encryption: tc.initial, RetentionHours: 24}}
			for _, c := range tc.changes {
				st.doc.setEncryption(c.typ, "key", c.at)
			}
			if got := fmt.Sprint(st.doc.EncryptionChanges); got != tc.history {
				t.Errorf("history %s, want %s", got, tc.history)
			}
			for at, want := range tc.reads {
				if got := st.encryptionAt(at); got != want {
					t.Errorf("record at %d reads %s, want %s", at, got, want)
				}
			}
			if got := st.arrivalMilli(time.UnixMilli(tc.arrival[0])); got != tc.arrival[1] {
				t.Errorf("write at %d stamped %d, want %d", tc.arrival[0], got, tc.arrival[1])
			}
		})
	}
}

// TestPendingShards: the open shards pending changes add count against the shard limit at once; those
// they remove count until the change takes effect.
func TestPendingShards(t *testing.T) {
	tests := []struct {
		open    int
		pending []pendingChange
		want    int
	}{
		{2, nil, 0},
		{2, []pendingChange{{Kind: pendingSplit}}, 1},
		{2, []pendingChange{{Kind: pendingMerge}}, 0},
		{4, []pendingChange{{Kind: pendingRescale, Count: 7}}, 3},
		{4, []pendingChange{{Kind: pendingRescale, Count: 2}}, 0},
		{4, []pendingChange{{Kind: pendingWarm, Count: 10}}, 6},
		{4, []pendingChange{{Kind: pendingWarm, Count: 3}}, 0},
		{4, []pendingChange{{Kind: pendingEncrypt}}, 0},
	}
	for _, tc := range tests {
		d := streamDoc{Pending: tc.pending}
		for i := range tc.open {
			d.Shards = append(d.Shards, shardDoc{Index: uint32(i)})
		}
		if got := d.pendingShards(); got != tc.want {
			t.Errorf("%d open, pending %+v: %d more, want %d", tc.open, tc.pending, got, tc.want)
		}
	}
}
