package stream

import (
	"fmt"
	"testing"
	"time"
)

// TestEncryptionHistory: setEncryption keeps the history each record's EncryptionType is read from, and
// ArrivalMilli keeps records written after a change at or after its start.
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
			name: "never changed", initial: EncryptionNone,
			reads: map[int64]string{0: EncryptionNone, 1000: EncryptionNone}, history: "[]", arrival: [2]int64{5, 5},
		},
		{
			name: "started", initial: EncryptionNone, changes: []change{{1000, "KMS"}},
			reads:   map[int64]string{0: EncryptionNone, 1000: EncryptionNone, 1001: "KMS"},
			history: "[{1001 KMS}]", arrival: [2]int64{1000, 1001},
		},
		{
			name: "started and stopped", initial: EncryptionNone, changes: []change{{1000, "KMS"}, {2000, EncryptionNone}},
			reads:   map[int64]string{1000: EncryptionNone, 1001: "KMS", 2000: "KMS", 2001: EncryptionNone},
			history: "[{1001 KMS} {2001 NONE}]", arrival: [2]int64{3000, 3000},
		},
		{
			name: "two changes in one millisecond", initial: EncryptionNone, changes: []change{{1000, "KMS"}, {1000, EncryptionNone}},
			reads:   map[int64]string{1000: EncryptionNone, 1001: "KMS", 1002: EncryptionNone},
			history: "[{1001 KMS} {1002 NONE}]", arrival: [2]int64{1000, 1002},
		},
		{
			name: "encrypted before any history", initial: "KMS", changes: []change{{1000, EncryptionNone}},
			reads:   map[int64]string{0: "KMS", 1000: "KMS", 1001: EncryptionNone},
			history: "[{0 KMS} {1001 NONE}]", arrival: [2]int64{999, 1001},
		},
		{
			// With 24 hours' retention, at 30 h the records of the first change have all expired (the
			// second began at 1 h): it is dropped.
			name: "expired entries dropped", initial: EncryptionNone,
			changes: []change{{0, "KMS"}, {hour, EncryptionNone}, {30 * hour, "KMS"}},
			reads:   map[int64]string{7 * hour: EncryptionNone, 30*hour + 1: "KMS"},
			history: fmt.Sprintf("[{%d NONE} {%d KMS}]", hour+1, 30*hour+1), arrival: [2]int64{31 * hour, 31 * hour},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &Stream{Doc: Doc{Encryption: tc.initial, RetentionHours: 24}}
			for _, c := range tc.changes {
				st.Doc.setEncryption(Change{Encryption: c.typ, KeyID: "key"}, c.at)
			}
			if got := fmt.Sprint(st.Doc.EncryptionChanges); got != tc.history {
				t.Errorf("history %s, want %s", got, tc.history)
			}
			for at, want := range tc.reads {
				if got := st.EncryptionAt(at); got != want {
					t.Errorf("record at %d reads %s, want %s", at, got, want)
				}
			}
			if got := st.ArrivalMilli(time.UnixMilli(tc.arrival[0])); got != tc.arrival[1] {
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
		pending []Change
		want    int
	}{
		{2, nil, 0},
		{2, []Change{{Kind: ChangeSplit}}, 1},
		{2, []Change{{Kind: ChangeMerge}}, 0},
		{4, []Change{{Kind: ChangeRescale, Count: 7}}, 3},
		{4, []Change{{Kind: ChangeRescale, Count: 2}}, 0},
		{4, []Change{{Kind: ChangeWarm, Count: 10}}, 6},
		{4, []Change{{Kind: ChangeWarm, Count: 3}}, 0},
		{4, []Change{{Kind: ChangeEncrypt}}, 0},
	}
	for _, tc := range tests {
		d := Doc{Pending: tc.pending}
		for i := range tc.open {
			d.Shards = append(d.Shards, Shard{Index: uint32(i)})
		}
		if got := d.PendingShards(); got != tc.want {
			t.Errorf("%d open, pending %+v: %d more, want %d", tc.open, tc.pending, got, tc.want)
		}
	}
}
