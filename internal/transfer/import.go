package transfer

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"kinesisd/internal/service"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
	"kinesisd/internal/transfer/archive"
)

// ImportOptions change what Import does.
type ImportOptions struct {
	// Engine is the kind of the target store, for the report.
	Engine string
	// Replace overwrites streams and documents the target already has; without it Import refuses
	// them all before writing anything.
	Replace bool
	// Renumber reassigns offsets (and sequence numbers) even when the target could keep them.
	Renumber bool
	// Logger receives warnings (a replaced stream whose old records could not be dropped). Nil discards.
	Logger *slog.Logger
	// Region is where the streams of an archive made before streams lived per region go ("": us-east-1).
	Region string
}

// ErrExists is wrapped by Import's refusal to overwrite streams or documents without Replace.
var ErrExists = errors.New("already in the target")

// Import reads an archive from r into dst. See the package documentation for what is kept and how
// offsets are moved when they cannot be kept.
func Import(ctx context.Context, dst storage.Store, r io.Reader, opts ImportOptions) (*Report, error) {
	ar, err := archive.NewReader(r)
	if err != nil {
		return nil, err
	}
	return ImportArchive(ctx, dst, ar, opts)
}

// ImportArchive is Import from an archive whose header has been read.
func ImportArchive(ctx context.Context, dst storage.Store, ar *archive.Reader, opts ImportOptions) (*Report, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := ar.Header()
	im := &importer{dst: dst, ar: ar, opts: opts}
	im.keep, _ = dst.(storage.OffsetAppender)
	if opts.Renumber {
		im.keep = nil
	}
	rep := &Report{Source: h.Engine, Target: opts.Engine, SequenceNumbers: SequencesReassigned, Streams: []StreamReport{}}
	if im.keep != nil {
		rep.SequenceNumbers = SequencesKept
	}

	// The account documents come first; read them, then check them and every stream the header
	// lists against the target before writing anything.
	var meta []*archive.Meta
	var item archive.Item
	var err error
	for {
		if item, err = ar.Next(); err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		m, ok := item.(*archive.Meta)
		if !ok {
			break
		}
		if strings.HasPrefix(m.Key, service.StreamMetaPrefix) {
			return nil, fmt.Errorf("read archive: %w: stream document %q outside a stream", archive.ErrCorrupt, m.Key)
		}
		// The iterator key and subscription leases are never copied: ignore one an archive should not hold.
		if m.Key != service.IteratorKeyMetaKey && !strings.HasPrefix(m.Key, service.LeaseMetaPrefix) {
			meta = append(meta, m)
		}
	}
	keys := make([]string, len(h.Streams))
	for i, k := range h.Streams {
		keys[i] = stream.InRegion(k, im.region())
	}
	if err := im.check(ctx, meta, keys); err != nil {
		return nil, err
	}
	for _, m := range meta {
		if err := im.putMeta(ctx, m); err != nil {
			return nil, err
		}
	}
	rep.MetadataDocuments = len(meta)

	for {
		switch it := item.(type) {
		case *archive.Stream:
			it.Key = stream.InRegion(it.Key, im.region())
			sr, err := im.stream(ctx, it)
			if err != nil {
				return rep, fmt.Errorf("import stream %s: %w", strings.TrimPrefix(it.Key, service.StreamMetaPrefix), err)
			}
			rep.Streams = append(rep.Streams, *sr)
		case *archive.End:
			if _, err := ar.Next(); err != io.EOF {
				return rep, fmt.Errorf("read archive: %w", err)
			}
			return rep, nil
		}
		if item, err = ar.Next(); err != nil {
			return rep, fmt.Errorf("read archive: %w", err)
		}
	}
}

// importer is the state of one Import.
type importer struct {
	dst  storage.Store
	ar   *archive.Reader
	opts ImportOptions
	keep storage.OffsetAppender // nil: offsets are reassigned
}

// region is where the streams of an archive made before streams lived per region go.
func (im *importer) region() string { return cmp.Or(im.opts.Region, "us-east-1") }

// check refuses, all at once, the streams and documents the target already has (documents only when
// different), unless Replace.
func (im *importer) check(ctx context.Context, meta []*archive.Meta, streams []string) error {
	if im.opts.Replace {
		return nil
	}
	var taken []string
	for _, key := range streams {
		_, _, err := im.dst.GetMeta(ctx, key)
		switch {
		case err == nil:
			account, region, name := streamAccount(key)
			taken = append(taken, fmt.Sprintf("stream %s (account %s, %s)", name, account, region))
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("check target: %w", err)
		}
	}
	for _, m := range meta {
		cur, _, err := im.dst.GetMeta(ctx, m.Key)
		switch {
		case err == nil && !bytes.Equal(cur, m.Value):
			taken = append(taken, fmt.Sprintf("document %s (different)", m.Key))
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("check target: %w", err)
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("%w: %s; nothing was imported (-replace overwrites them)", ErrExists, strings.Join(taken, ", "))
	}
	return nil
}

// putMeta writes an account document, over the target's own with Replace.
func (im *importer) putMeta(ctx context.Context, m *archive.Meta) error {
	for {
		cur, version, err := im.dst.GetMeta(ctx, m.Key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			version = 0
		case err != nil:
			return fmt.Errorf("import %s: %w", m.Key, err)
		case bytes.Equal(cur, m.Value):
			return nil
		case !im.opts.Replace:
			return fmt.Errorf("import %s: %w", m.Key, ErrExists)
		}
		_, err = im.dst.PutMeta(ctx, m.Key, m.Value, version)
		if errors.Is(err, storage.ErrConflict) {
			continue // changed under us: look again
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", m.Key, err)
		}
		return nil
	}
}

// stream imports one stream: its records under a new incarnation, then its document. On failure the
// new incarnation's records are dropped again and the target's stream (if any) is untouched.
func (im *importer) stream(ctx context.Context, s *archive.Stream) (_ *StreamReport, err error) {
	doc, err := stream.ParseStored(s.Key, s.Doc)
	if err != nil {
		return nil, fmt.Errorf("read archive: %w: %w", archive.ErrCorrupt, err)
	}
	id := stream.NewID()
	defer func() {
		if err != nil {
			if derr := im.dst.DropStream(context.WithoutCancel(ctx), id); derr != nil {
				im.opts.Logger.Warn("drop the records of a failed import", "stream", doc.Name(), "err", derr)
			}
		}
	}()
	account, region, _ := streamAccount(s.Key)
	sr := &StreamReport{Account: account, Region: region, Name: doc.Name(), Shards: []ShardReport{}}
	shards := doc.Shards()
	moved := make(map[uint32]*shardMap, len(shards)) // reassigned offsets, per shard
	for {
		item, err := im.ar.Next()
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		switch it := item.(type) {
		case *archive.Shard:
			i := slices.IndexFunc(shards, func(o stream.ShardOffsets) bool { return o.Index == it.Index })
			if i < 0 {
				return nil, fmt.Errorf("read archive: %w: records of shard %d, which the stream does not have", archive.ErrCorrupt, it.Index)
			}
			ref := storage.ShardRef{StreamID: id, Shard: it.Index}
			rep, m, err := im.shard(ctx, ref, shards[i])
			if err != nil {
				return nil, fmt.Errorf("shard %d: %w", it.Index, err)
			}
			moved[it.Index] = m
			sr.Shards = append(sr.Shards, *rep)
			sr.Records += rep.Records
		case *archive.StreamEnd:
			if len(moved) != len(shards) {
				return nil, fmt.Errorf("read archive: %w: records of %d shards, the stream has %d", archive.ErrCorrupt, len(moved), len(shards))
			}
			raw, err := doc.Rebase(id, func(shard uint32, off uint64) uint64 {
				if m := moved[shard]; m != nil {
					return m.offset(off)
				}
				return off
			})
			if err != nil {
				return nil, err
			}
			if err := im.putStream(ctx, s.Key, raw); err != nil {
				return nil, err
			}
			return sr, nil
		}
	}
}

// putStream writes the new stream document; with Replace over the target's own, whose records are then
// dropped.
func (im *importer) putStream(ctx context.Context, key string, raw []byte) error {
	for {
		var old *stream.Stored
		cur, version, err := im.dst.GetMeta(ctx, key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			version = 0
		case err != nil:
			return err
		case !im.opts.Replace:
			return fmt.Errorf("%w (created while importing)", ErrExists)
		default:
			if old, err = stream.ParseStored(key, cur); err != nil {
				im.opts.Logger.Warn("replaced stream document unreadable; its records stay behind", "key", key, "err", err)
			}
		}
		if _, err = im.dst.PutMeta(ctx, key, raw, version); errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		if old != nil {
			if err := im.dst.DropStream(ctx, old.ID()); err != nil {
				im.opts.Logger.Warn("drop the replaced stream's records", "key", key, "err", err)
			}
		}
		return nil
	}
}

// shardMap moves the offsets a stream document holds for one shard whose records were reassigned:
// the given old offsets (the document's) go to the new offset of the first record at or after them,
// or to the new end of the log when no record is.
type shardMap struct {
	old, new []uint64 // old[i] goes to new[i]; old is sorted and has no duplicates
	resolved int      // old[:resolved] have their new offset
}

func newShardMap(offsets ...uint64) *shardMap {
	slices.Sort(offsets)
	m := &shardMap{old: slices.Compact(offsets)}
	m.new = make([]uint64, len(m.old))
	return m
}

// record notes that the record at old offset from went to offset to; records come in offset order.
func (m *shardMap) record(from, to uint64) {
	for m.resolved < len(m.old) && m.old[m.resolved] <= from {
		m.new[m.resolved] = to
		m.resolved++
	}
}

// finish sends the offsets after the last record to end, the new end of the log.
func (m *shardMap) finish(end uint64) {
	for ; m.resolved < len(m.old); m.resolved++ {
		m.new[m.resolved] = end
	}
}

func (m *shardMap) offset(old uint64) uint64 {
	i, ok := slices.BinarySearch(m.old, old)
	if !ok {
		panic(fmt.Sprintf("transfer: offset %d of a shard was not mapped", old)) // only the document's offsets are asked for
	}
	return m.new[i]
}

// shard imports one shard's records up to its ShardEnd. When offsets are reassigned it returns the map
// of the document's offsets (nil when they are kept).
func (im *importer) shard(ctx context.Context, ref storage.ShardRef, doc stream.ShardOffsets) (*ShardReport, *shardMap, error) {
	var (
		batch      []storage.Record
		size       int
		olds, news span
		m          *shardMap
	)
	if im.keep == nil {
		m = newShardMap(doc.Start, doc.End)
	}
	// flush writes the batch; end is the end of the log after it (kept offsets only).
	flush := func(end uint64) error {
		if im.keep != nil {
			if err := im.keep.AppendAt(ctx, ref, batch, end); err != nil {
				return err
			}
			for i := range batch {
				news.add(batch[i].Offset, batch[i].ArrivalMilli)
			}
		} else if len(batch) > 0 {
			from := make([]uint64, len(batch))
			for i := range batch {
				from[i] = batch[i].Offset
			}
			if err := im.dst.Append(ctx, []storage.Append{{Shard: ref, Records: batch}}); err != nil {
				return err
			}
			for i := range batch {
				m.record(from[i], batch[i].Offset)
				news.add(batch[i].Offset, batch[i].ArrivalMilli)
			}
		}
		batch, size = batch[:0], 0
		return nil
	}
	for {
		item, err := im.ar.Next()
		if err != nil {
			return nil, nil, fmt.Errorf("read archive: %w", err)
		}
		switch it := item.(type) {
		case *archive.Record:
			olds.add(it.Offset, it.ArrivalMilli)
			batch = append(batch, storage.Record{Offset: it.Offset, ArrivalMilli: it.ArrivalMilli, PartitionKey: it.PartitionKey, Data: it.Data})
			size += len(it.Data) + len(it.PartitionKey)
			if len(batch) >= batchRecords || size >= batchBytes {
				if err := flush(it.Offset + 1); err != nil {
					return nil, nil, err
				}
			}
		case *archive.ShardEnd:
			// Keeping offsets, the log ends where the source's did (and past the document's offsets);
			// reassigning, where the target's Append left it.
			if err := flush(max(it.Next, doc.Start, doc.End)); err != nil {
				return nil, nil, err
			}
			if m != nil {
				end, err := im.dst.NextOffset(ctx, ref)
				if err != nil {
					return nil, nil, err
				}
				m.finish(end)
			}
			rep := &ShardReport{ShardID: stream.ShardID(ref.Shard), Records: olds.n}
			rep.OldFirst, rep.OldLast = olds.seqs(ref.Shard, doc.SeqCreated)
			rep.NewFirst, rep.NewLast = news.seqs(ref.Shard, doc.SeqCreated)
			return rep, m, nil
		}
	}
}
