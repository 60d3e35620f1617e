// Package icebergproc runs channels' Iceberg writer in the companion executable kinesisd-iceberg: the gob frames between kinesisd and it, the client kinesisd calls, and the loop the executable serves.
package icebergproc

import (
	"kinesisd/internal/channel/s3dest"
)

// The protocol. kinesisd (the parent) writes requests to the child's stdin and reads replies from
// its stdout, each a gob value of one stream per direction:
//
//   - the first request is opHello with the Config; the child opens its writer and then serves;
//   - opAppend and opPosition start call ID (IDs are the parent's, never reused); the child answers
//     each with exactly one replyDone carrying the result or the error's text;
//   - an opAppend with More set carries only the first of its records: the rest follow in opRecords
//     frames of the same ID, the last with More unset, and the child starts the call once it has
//     them all (so that no frame holds much more than maxFrameBytes of records);
//   - an opAppend with DeadLetters set may, before its replyDone, get one replyDead carrying the
//     rejected records: the parent runs its dead-letter callback and answers opDeadDone (Err: the
//     callback's error, "" for success), and only then does the child commit;
//   - opCancel says the parent gave the call up (its context ended): the child cancels the call's
//     context and still sends its replyDone, which the parent drops; an opAppend whose records
//     have not all come is dropped, without a reply;
//   - replyFatal (ID 0) says the child cannot serve (its writer did not open), before it exits.
//
// Calls run concurrently on both sides; frames of different calls interleave. The child ends when
// its stdin ends: the parent closed it, or died.

// Config is the writer's configuration, sent in the first frame (never in argv, where ps shows it):
// the fields of the child's iceberg.Config.
type Config struct {
	CatalogURL string // an Iceberg REST catalog; "" = the embedded catalog
	Warehouse  string // the embedded catalog's directory
	InMemory   bool   // the embedded catalog in the child's memory (gone when the child ends)
	// The S3-compatible store of a REST catalog's data files, and the keys and region that sign.
	S3Endpoint, S3AccessKey, S3Secret, Region string
}

type op uint8

const (
	opHello    op = iota + 1 // Config
	opAppend                 // Table, Records, Position, DeadLetters
	opPosition               // Table
	opDeadDone               // Err: the outcome of the dead-letter callback of call ID
	opCancel                 // the parent gave call ID up
	opRecords                // Records, More: more of the records of opAppend ID
)

// maxFrameBytes bounds the records of one frame (as frameBytes counts them): encoding/gob reads a
// message past about 10 MiB in chunks appended one to another, so that 36 MB of records were decoded
// in 169 ms as one message and in 49 ms as messages of 4.5 MB. An Append of more is sent in several
// frames, reassembled by the child before its one commit.
const maxFrameBytes = 4 << 20

// frameBytes is about the bytes r takes in a frame.
func frameBytes(r *s3dest.Record) int {
	return len(r.Data) + len(r.PartitionKey) + len(r.SequenceNumber) + len(r.ShardID) + 24
}

// split returns the frames that carry req: req itself when its records fit in maxFrameBytes, else
// req with the first of them and More set, then opRecords frames with the rest (each with one record
// at least, and under maxFrameBytes unless that one record is bigger).
func split(req request) []request {
	var frames []request
	recs := req.Records
	for {
		n, size := 0, 0
		for n < len(recs) && (n == 0 || size+frameBytes(&recs[n]) <= maxFrameBytes) {
			size += frameBytes(&recs[n])
			n++
		}
		f := request{ID: req.ID, Op: opRecords, Records: recs[:n], More: n < len(recs)}
		if frames == nil {
			f = req
			f.Records, f.More = recs[:n], n < len(recs)
		}
		frames = append(frames, f)
		if recs = recs[n:]; len(recs) == 0 {
			return frames
		}
	}
}

// request is a frame from kinesisd to the child.
type request struct {
	ID          uint64
	Op          op
	Config      *Config
	Table       Table
	Records     []s3dest.Record
	Position    string
	DeadLetters bool // the caller has a dead-letter callback
	More        bool // opAppend, opRecords: more records follow in opRecords frames
	Err         string
}

type replyKind uint8

const (
	replyDone  replyKind = iota + 1 // the call's result: Rejected (append), Position and OK (position), or Err
	replyDead                       // Rejected: run the dead-letter callback, answer opDeadDone
	replyFatal                      // Err: the child cannot serve, and exits
)

// reply is a frame from the child to kinesisd.
type reply struct {
	ID       uint64
	Kind     replyKind
	Rejected []s3dest.Rejected
	Position string
	OK       bool
	Err      string // "" when the call succeeded
}

// errText is err's text for a reply: never "" for an error, which "" would turn into success.
func errText(err error) string {
	if err == nil {
		return ""
	}
	if s := err.Error(); s != "" {
		return s
	}
	return "error without a message"
}

// Table names an Iceberg table and how to write it: the service's Table (service.TableStore), which
// this package does not import, so that it stays below the service with the other destinations.
type Table struct {
	Bucket, Namespace, Name, Compression string
	HourPartitions                       []string // source columns partitioned by hour (TIME_HOUR)
}
