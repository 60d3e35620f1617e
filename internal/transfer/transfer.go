// Package transfer is kinesisd export and import: it copies streams with their shards, consumers, tags,
// policies and records, and the account documents, from one store to an archive and from an archive
// into another store, of the same engine or of another.
//
// Records keep their order, data, partition keys and arrival times. Their offsets (and so the service's
// sequence numbers, which encode them) are kept when the target can write records at chosen offsets
// (storage.OffsetAppender, as the embedded engine can), and otherwise reassigned in order by the
// target's Append; then the offsets the stream documents hold (each shard's start, and a closed shard's
// end) are moved with them: each goes to the new offset of the first record at or after it, or to the
// new end of the log when no record is. That keeps every record inside the same bounds as before, a
// closed parent's end after all its records, and children after their parents (sequence numbers order
// shards by index, which are kept). The report maps each shard's first and last sequence numbers from
// old to new.
//
// An import writes a stream's records under a new incarnation id first and its document last, so a
// stream appears whole or not at all; an import that fails part-way leaves the streams it finished and
// nothing visible of the rest. The iterator-sealing key is never copied: it is a secret of its store.
package transfer

import (
	"kinesisd/internal/config"
	"kinesisd/internal/service"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Engine kinds, as the archive header records them.
const (
	EnginePebble    = "pebble"
	EngineJetStream = "jetstream"
)

// engineKind returns the engine kind of a configuration's store.
func engineKind(cfg *config.Config) string {
	if cfg.IsNATS() {
		return EngineJetStream
	}
	return EnginePebble
}

// Batch limits: records go to and come from the stores in calls of at most this many records or bytes.
// An import's Append may hold no more than storage.MaxAppendRecords records.
const (
	batchRecords = storage.MaxAppendRecords
	batchBytes   = 4 << 20
)

// Sequence-number outcomes of an import.
const (
	SequencesKept       = "kept"
	SequencesReassigned = "reassigned"
)

// Report is what an export or import did, per stream and shard.
type Report struct {
	Source string `json:"source"`           // engine kind the data came from
	Target string `json:"target,omitempty"` // engine kind it went to (import)
	// SequenceNumbers is "kept" or "reassigned" (import).
	SequenceNumbers string `json:"sequenceNumbers,omitempty"`
	// MetadataDocuments is the number of account-level documents copied.
	MetadataDocuments int `json:"metadataDocuments"`
	// Skipped are streams being deleted, which export leaves out.
	Skipped []string       `json:"skipped,omitempty"`
	Streams []StreamReport `json:"streams"`
}

// StreamReport is one stream of a Report.
type StreamReport struct {
	Account string        `json:"account"`
	Region  string        `json:"region,omitempty"`
	Name    string        `json:"name"`
	Records uint64        `json:"records"`
	Shards  []ShardReport `json:"shards"`
}

// ShardReport is one shard of a StreamReport: its record count and the sequence numbers of its first
// and last records in the source (Old) and, after an import, in the target (New). A shard without
// records has none.
type ShardReport struct {
	ShardID  string `json:"shardId"`
	Records  uint64 `json:"records"`
	OldFirst string `json:"oldFirstSequenceNumber,omitempty"`
	OldLast  string `json:"oldLastSequenceNumber,omitempty"`
	NewFirst string `json:"newFirstSequenceNumber,omitempty"`
	NewLast  string `json:"newLastSequenceNumber,omitempty"`
}

// streamAccount splits a stream document key into account, region ("" in a key written before streams
// lived per region) and name.
func streamAccount(key string) (account, region, name string) {
	account, region, name, _ = stream.SplitKey(key)
	return account, region, name
}

// span tracks a shard's first and last record offsets while they stream by.
type span struct {
	n                         uint64
	first, last               uint64 // offsets
	firstArrival, lastArrival int64  // ms
}

func (s *span) add(off uint64, arrivalMilli int64) {
	if s.n == 0 {
		s.first, s.firstArrival = off, arrivalMilli
	}
	s.last, s.lastArrival = off, arrivalMilli
	s.n++
}

// seqs returns the sequence numbers of the first and last record of shard index (whose SeqCreated is
// created), or "" without records.
func (s *span) seqs(index uint32, created int64) (first, last string) {
	if s.n == 0 {
		return "", ""
	}
	return service.RecordSequenceNumber(index, created, s.first, s.firstArrival), service.RecordSequenceNumber(index, created, s.last, s.lastArrival)
}
