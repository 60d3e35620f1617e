// Package archive is the file format of kinesisd export and import: a stream of checksummed frames
// holding metadata documents, stream documents and every shard's records, written and read in one pass.
//
// Layout (integers are unsigned LEB128 varints unless said otherwise):
//
//	file    = magic frame(Header) frame(Meta)* stream* frame(End)
//	stream  = frame(Stream) shard* frame(StreamEnd)
//	shard   = frame(Shard) frame(Record)* frame(ShardEnd)
//	magic   = "kinesisd-archive\n"
//	frame   = kind byte, payload length, payload, CRC-32C (Castagnoli) of kind and payload, 4 bytes big-endian
//
//	Header    'H'  JSON (Header)
//	Meta      'M'  key length, key, value
//	Stream    'S'  key length, key, stream document
//	Shard     'B'  shard index
//	Record    'R'  offset, arrival ms (signed varint), partition key length, partition key, data
//	ShardEnd  'E'  shard index, next offset, record count
//	StreamEnd 'T'  shard count, record count
//	End       'Z'  stream count, record count, meta count
//
// The whole file may be gzip-compressed; NewReader recognises it. Reader and Writer both enforce the
// grammar and its counts: the streams are those the header lists, in its order; a shard's offsets
// strictly increase and stay below its next offset; shard indices increase within a stream; each
// end frame's counts are what came before it. A file cut short anywhere lacks its End frame and fails.
package archive

import (
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Magic opens every archive (after gzip decompression, if any).
const Magic = "kinesisd-archive\n"

// FormatVersion is the Header.Format this package writes and the only one it reads.
const FormatVersion = 1

// MaxPayload is the largest frame payload accepted: a record of up to 10 MiB with its partition key,
// or a large stream document, fit well below it.
const MaxPayload = 64 << 20

// ErrCorrupt is wrapped by every error about the content of an archive (as opposed to I/O errors).
var ErrCorrupt = errors.New("archive: corrupt or truncated")

// Header describes the archive; it is the first frame.
type Header struct {
	Format  int       `json:"format"`  // FormatVersion
	Engine  string    `json:"engine"`  // kind of the store exported: "pebble", "jetstream"
	Created time.Time `json:"created"` // when the export started
	// Streams are the metadata keys of the streams in the archive, in the order they follow, so that an
	// import can check all of them against the target before writing anything.
	Streams []string `json:"streams"`
}

// Item is one frame after the header: *Meta, *Stream, *Shard, *Record, *ShardEnd, *StreamEnd or *End.
type Item interface{ kind() byte }

// Meta is a metadata document that is not a stream's (account settings, …), copied as it is.
type Meta struct {
	Key   string
	Value []byte
}

// Stream opens a stream: its metadata key and document, as the service stores them.
type Stream struct {
	Key string
	Doc []byte
}

// Shard opens one shard's records.
type Shard struct{ Index uint32 }

// Record is one record of the current shard, at its offset in the exported store.
type Record struct {
	Offset       uint64
	ArrivalMilli int64
	PartitionKey string
	Data         []byte
}

// ShardEnd closes the current shard. Next is the exported shard's next offset (the end of its log),
// above every record's; Records is how many records the shard held.
type ShardEnd struct {
	Index   uint32
	Next    uint64
	Records uint64
}

// StreamEnd closes the current stream with the number of its shards and records.
type StreamEnd struct {
	Shards  uint64
	Records uint64
}

// End closes the archive with its totals.
type End struct {
	Streams uint64
	Records uint64
	Meta    uint64
}

const (
	kindHeader    = 'H'
	kindMeta      = 'M'
	kindStream    = 'S'
	kindShard     = 'B'
	kindRecord    = 'R'
	kindShardEnd  = 'E'
	kindStreamEnd = 'T'
	kindEnd       = 'Z'
)

func (*Meta) kind() byte      { return kindMeta }
func (*Stream) kind() byte    { return kindStream }
func (*Shard) kind() byte     { return kindShard }
func (*Record) kind() byte    { return kindRecord }
func (*ShardEnd) kind() byte  { return kindShardEnd }
func (*StreamEnd) kind() byte { return kindStreamEnd }
func (*End) kind() byte       { return kindEnd }

// castagnoli is the CRC-32C table (read-only after initialisation).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// grammar checks a sequence of items against the file grammar and keeps its counts. Reader and Writer
// run the same one, so that a Writer cannot produce what a Reader refuses.
type grammar struct {
	streams []string // the header's stream keys

	inStream, inShard bool
	ended             bool
	nStreams, nMeta   uint64
	nRecords          uint64 // in the archive

	shardIndex    uint32 // current or last shard of the current stream
	anyShard      bool   // a shard was seen in the current stream
	lastOffset    uint64 // of the current shard's last record
	shardRecords  uint64
	streamShards  uint64
	streamRecords uint64
}

func (g *grammar) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// accept checks item as the next one.
func (g *grammar) accept(item Item) error {
	if g.ended {
		return g.fail("%c frame after the end", item.kind())
	}
	switch it := item.(type) {
	case *Meta:
		if g.inStream || g.nStreams > 0 {
			return g.fail("metadata document %q after the first stream", it.Key)
		}
		g.nMeta++
	case *Stream:
		if g.inStream {
			return g.fail("stream %q inside another stream", it.Key)
		}
		if g.nStreams >= uint64(len(g.streams)) || g.streams[g.nStreams] != it.Key {
			return g.fail("stream %q is not the next stream the header lists", it.Key)
		}
		g.inStream, g.anyShard, g.streamShards, g.streamRecords = true, false, 0, 0
	case *Shard:
		switch {
		case !g.inStream || g.inShard:
			return g.fail("shard %d outside a stream or inside another shard", it.Index)
		case g.anyShard && it.Index <= g.shardIndex:
			return g.fail("shard %d after shard %d", it.Index, g.shardIndex)
		}
		g.inShard, g.anyShard, g.shardIndex, g.shardRecords = true, true, it.Index, 0
	case *Record:
		switch {
		case !g.inShard:
			return g.fail("record outside a shard")
		case g.shardRecords > 0 && it.Offset <= g.lastOffset:
			return g.fail("shard %d: offset %d after %d", g.shardIndex, it.Offset, g.lastOffset)
		}
		g.lastOffset = it.Offset
		g.shardRecords++
	case *ShardEnd:
		switch {
		case !g.inShard || it.Index != g.shardIndex:
			return g.fail("end of shard %d outside it", it.Index)
		case it.Records != g.shardRecords:
			return g.fail("shard %d: end counts %d records, %d came", it.Index, it.Records, g.shardRecords)
		case g.shardRecords > 0 && it.Next <= g.lastOffset:
			return g.fail("shard %d: next offset %d not above the last record's %d", it.Index, it.Next, g.lastOffset)
		}
		g.inShard = false
		g.streamShards++
		g.streamRecords += g.shardRecords
	case *StreamEnd:
		switch {
		case !g.inStream || g.inShard:
			return g.fail("end of stream outside a stream or inside a shard")
		case it.Shards != g.streamShards || it.Records != g.streamRecords:
			return g.fail("stream %q: end counts %d shards and %d records, %d and %d came",
				g.streams[g.nStreams], it.Shards, it.Records, g.streamShards, g.streamRecords)
		}
		g.inStream = false
		g.nStreams++
		g.nRecords += g.streamRecords
	case *End:
		switch {
		case g.inStream:
			return g.fail("end of archive inside a stream")
		case it.Streams != g.nStreams || it.Records != g.nRecords || it.Meta != g.nMeta:
			return g.fail("end counts %d streams, %d records, %d documents; %d, %d and %d came",
				it.Streams, it.Records, it.Meta, g.nStreams, g.nRecords, g.nMeta)
		case g.nStreams != uint64(len(g.streams)):
			return g.fail("the header lists %d streams, %d came", len(g.streams), g.nStreams)
		}
		g.ended = true
	default:
		return g.fail("unknown item %T", item)
	}
	return nil
}
