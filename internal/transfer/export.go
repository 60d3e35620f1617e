package transfer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"kinesisd/internal/service"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
	"kinesisd/internal/transfer/archive"
)

// ExportOptions change what Export writes.
type ExportOptions struct {
	// Engine is the kind of the store exported (EnginePebble, EngineJetStream), recorded in the header.
	Engine string
	// Gzip compresses the archive.
	Gzip bool
}

// Export writes every stream of src (but those being deleted) with its records, and every other
// metadata document but the iterator key and the subscription leases, to w as an archive. It reads
// each shard up to the end its log had when the shard was reached: run it on a store nobody writes to
// (for the embedded engine, with the server stopped; Pebble's lock enforces that) to get one
// consistent copy.
func Export(ctx context.Context, src storage.Store, w io.Writer, opts ExportOptions) (*Report, error) {
	entries, err := src.ListMeta(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list metadata: %w", err)
	}
	rep := &Report{Source: opts.Engine, Streams: []StreamReport{}}
	type exported struct {
		key string
		raw []byte
		doc *stream.Stored
	}
	var streams []exported
	var meta []storage.MetaEntry
	for _, e := range entries {
		switch {
		case e.Key == service.IteratorKeyMetaKey, strings.HasPrefix(e.Key, service.LeaseMetaPrefix):
		case strings.HasPrefix(e.Key, service.StreamMetaPrefix):
			doc, err := stream.ParseStored(e.Key, e.Value)
			if err != nil {
				return nil, err
			}
			if doc.Deleting() {
				rep.Skipped = append(rep.Skipped, strings.TrimPrefix(e.Key, service.StreamMetaPrefix))
				continue
			}
			streams = append(streams, exported{key: e.Key, raw: e.Value, doc: doc})
		default:
			meta = append(meta, e)
		}
	}

	h := archive.Header{Engine: opts.Engine, Created: time.Now().UTC().Truncate(time.Millisecond)}
	for _, s := range streams {
		h.Streams = append(h.Streams, s.key)
	}
	aw, err := archive.NewWriter(w, h, archive.WriterOptions{Gzip: opts.Gzip})
	if err != nil {
		return nil, fmt.Errorf("write archive: %w", err)
	}
	for _, e := range meta {
		if err := aw.Meta(e.Key, e.Value); err != nil {
			return nil, fmt.Errorf("write archive: %w", err)
		}
	}
	rep.MetadataDocuments = len(meta)
	for _, s := range streams {
		sr, err := exportStream(ctx, src, aw, s.key, s.raw, s.doc)
		if err != nil {
			return nil, fmt.Errorf("export stream %s: %w", s.doc.Name(), err)
		}
		rep.Streams = append(rep.Streams, *sr)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("write archive: %w", err)
	}
	return rep, nil
}

// exportStream writes one stream: its document as stored, then each shard's records.
func exportStream(ctx context.Context, src storage.Store, aw *archive.Writer, key string, raw []byte, doc *stream.Stored) (*StreamReport, error) {
	account, region, _ := streamAccount(key)
	sr := &StreamReport{Account: account, Region: region, Name: doc.Name(), Shards: []ShardReport{}}
	if err := aw.StartStream(key, raw); err != nil {
		return nil, err
	}
	for _, sh := range doc.Shards() {
		ref := storage.ShardRef{StreamID: doc.ID(), Shard: sh.Index}
		// The end of the log now; records appended later are not part of this copy. The document's own
		// offsets lie within it too, so that a copy keeping offsets can hold them.
		next, err := src.NextOffset(ctx, ref)
		if err != nil {
			return nil, err
		}
		next = max(next, sh.Start, sh.End)
		if sh.Closed {
			// A closed shard ends at End: an engine may hold records past it that were refused when
			// the shard was sealed (storage.Store.Seal), and they were never acknowledged.
			next = max(sh.End, sh.Start)
		}
		if err := aw.StartShard(sh.Index); err != nil {
			return nil, err
		}
		var sp span
		for from := uint64(0); from < next; {
			recs, err := src.Read(ctx, ref, from, batchRecords, batchBytes)
			if err != nil {
				return nil, err
			}
			if len(recs) == 0 {
				break
			}
			for i := range recs {
				r := &recs[i]
				if r.Offset >= next {
					from = next
					break
				}
				if err := aw.Record(&archive.Record{Offset: r.Offset, ArrivalMilli: r.ArrivalMilli, PartitionKey: r.PartitionKey, Data: r.Data}); err != nil {
					return nil, err
				}
				sp.add(r.Offset, r.ArrivalMilli)
				from = r.Offset + 1
			}
		}
		if err := aw.EndShard(next); err != nil {
			return nil, err
		}
		first, last := sp.seqs(sh.Index, sh.SeqCreated)
		sr.Shards = append(sr.Shards, ShardReport{ShardID: stream.ShardID(sh.Index), Records: sp.n, OldFirst: first, OldLast: last})
		sr.Records += sp.n
	}
	return sr, aw.EndStream()
}
