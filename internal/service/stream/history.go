package stream

import (
	"slices"
	"sort"
	"time"
)

// setEncryption sets the stream's encryption from ms (ms) on, keeping the history that GetRecords
// reads each record's EncryptionType from. Records arriving in ms itself may have been written before
// the change, so the new type starts at ms+1 (or just after the previous change, if that is later), and
// writers afterwards stamp their records no earlier (Stream.ArrivalMilli). History entries whose
// records have all expired are dropped.
func (d *Doc) setEncryption(c Change, ms int64) {
	typ := c.Encryption
	if len(d.EncryptionChanges) == 0 && d.Encryption != EncryptionNone && d.Encryption != "" {
		d.EncryptionChanges = append(d.EncryptionChanges, EncryptionChange{AtMilli: 0, Type: d.Encryption})
	}
	d.Encryption, d.KeyID, d.KeyARN = typ, c.KeyID, c.KeyARN
	if c.DataKey != nil {
		d.AddDataKey(*c.DataKey)
	}
	at := ms
	if n := len(d.EncryptionChanges); n > 0 {
		at = max(at, d.EncryptionChanges[n-1].AtMilli) // two changes in one millisecond stay apart
	}
	d.EncryptionChanges = append(d.EncryptionChanges, EncryptionChange{AtMilli: at + 1, Type: typ})
	cutoff := d.CutoffMilli(ms)
	for len(d.EncryptionChanges) > 1 && d.EncryptionChanges[1].AtMilli <= cutoff {
		d.EncryptionChanges = d.EncryptionChanges[1:]
	}
}

// EncryptionAt is the EncryptionType of a record that arrived at ms (ms): the type of the last
// encryption change at or before it, NONE before the first. GetRecords asks it once a record, and the
// history may hold a change every hour or so for a whole retention period, so it is searched by halves
// (setEncryption keeps it in increasing AtMilli order).
func (st *Stream) EncryptionAt(ms int64) string {
	h := st.Doc.EncryptionChanges
	if len(h) == 0 {
		return st.Doc.Encryption
	}
	i := sort.Search(len(h), func(i int) bool { return h[i].AtMilli > ms }) // first change after ms
	if i == 0 {
		return EncryptionNone
	}
	return h[i-1].Type
}

// ArrivalMilli is the arrival time a record written at now carries: now, or the start of the last
// encryption change if that is later (the change took effect in now's millisecond), so that the record
// reads back under the encryption its PutRecord reported.
func (st *Stream) ArrivalMilli(now time.Time) int64 {
	ms := now.UnixMilli()
	if h := st.Doc.EncryptionChanges; len(h) > 0 {
		ms = max(ms, h[len(h)-1].AtMilli)
	}
	return ms
}

// Cutoff is the arrival time before which the stream's records have expired at now.
func (st *Stream) Cutoff(now time.Time) time.Time {
	return Milli(st.Doc.CutoffMilli(now.UnixMilli()))
}

// CutoffMilli is Cutoff in milliseconds: now less the retention period, or the floor an increase of
// the period left (ExpiredBeforeMilli) if that is later.
func (d *Doc) CutoffMilli(now int64) int64 {
	return max(now-int64(d.RetentionHours)*time.Hour.Milliseconds(), d.ExpiredBeforeMilli)
}

// Expired tells whether sh is a closed shard whose records have all passed retention at now: it is
// no longer listed.
func (st *Stream) Expired(sh *Shard, now time.Time) bool {
	return sh.Closed && sh.ClosedMilli != 0 && Milli(sh.ClosedMilli).Before(st.Cutoff(now))
}

// AddDataKey makes k the data key of new records (unless the stream has it already: then it only
// becomes the last again).
func (d *Doc) AddDataKey(k DataKey) {
	d.DataKeys = slices.DeleteFunc(d.DataKeys, func(o DataKey) bool { return o.ID == k.ID })
	d.DataKeys = append(d.DataKeys, k)
}

// DataKeyByID returns the stream's data key with id, or nil.
func (d *Doc) DataKeyByID(id string) *DataKey {
	for i := range d.DataKeys {
		if d.DataKeys[i].ID == id {
			return &d.DataKeys[i]
		}
	}
	return nil
}

// WriteKey returns the data key new records are sealed with, or nil when the stream keeps none.
func (d *Doc) WriteKey() *DataKey {
	if len(d.DataKeys) == 0 {
		return nil
	}
	return &d.DataKeys[len(d.DataKeys)-1]
}
