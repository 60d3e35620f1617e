package service

import (
	"context"
	"encoding/hex"
	"fmt"

	"kinesisd/internal/identity"
	"kinesisd/internal/kerr"
	"kinesisd/internal/kms"
	"kinesisd/internal/service/seqnum"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Records at rest under KMS: a stream whose encryption is KMS seals every record's data with its
// current data key (stream.Doc.WriteKey; kms.DataKey.Seal), and a reader opens each record that
// arrived while the stream was encrypted (stream.Stream.EncryptionAt) with the data key whose id the
// record carries. Data keys are cached in memory per stream, so the KMS key is used only when a
// front-end meets a data key for the first time (and when one is worn out); but every PutRecord(s),
// GetRecords and SubscribeToShard checks the key's state and policy first (kms.CheckStreamKey), so
// that disabling or deleting a key takes effect at once.

// kmsCaller is who uses a KMS key for this request: its caller (identity.CallerFrom), or, for a
// request made in process, the root of the service's account.
func (s *Service) kmsCaller(ctx context.Context) kms.Caller {
	if c, ok := identity.CallerFrom(ctx); ok {
		return kms.Caller{Account: c.Account, Region: c.Region, Principal: c.Principal}
	}
	return kms.Caller{Account: s.cfg.Account, Region: s.cfg.Region, Principal: identity.RootARN(s.cfg.Account)}
}

// storedKey is the form a stream keeps a data key in.
func storedKey(dk *kms.DataKey, now int64) *stream.DataKey {
	id := dk.ID()
	return &stream.DataKey{ID: hex.EncodeToString(id[:]), Blob: dk.Blob(), KeyARN: dk.KeyARN(), CreatedMilli: now}
}

// newStreamKey checks the KMS key keyID names for stream name and makes the stream's first data key
// under it, for StartStreamEncryption; without a keyring it refuses, since records cannot be sealed.
func (s *Service) newStreamKey(ctx context.Context, name, keyID string) (*stream.DataKey, error) {
	if s.keys == nil {
		return nil, kerr.NewInvalidArgument("KMS is off on this server: it has no keyring to seal records with.")
	}
	dk, err := s.keys.StreamKey(ctx, s.kmsCaller(ctx), keyID, s.arn(name))
	if err != nil {
		return nil, err
	}
	return storedKey(dk, s.now().UnixMilli()), nil
}

// dataKey returns the data key k of st, unwrapping it the first time.
func (s *Service) dataKey(ctx context.Context, st *stream.Stream, k *stream.DataKey) (*kms.DataKey, error) {
	ref := dataKeyRef{st.Doc.ID, k.ID}
	if dk := s.dataKeys.get(ref); dk != nil {
		return dk, nil
	}
	dk, err := s.keys.OpenStreamKey(ctx, s.kmsCaller(ctx), k.Blob, s.arn(st.Doc.Name))
	if err != nil {
		return nil, err
	}
	s.dataKeys.put(ref, dk)
	return dk, nil
}

// writeKey returns the data key st's new records are sealed with, or nil when they are written in
// the clear. A data key that has sealed its share of records is replaced by a new one, saved in the
// stream's document before it seals anything.
func (s *Service) writeKey(ctx context.Context, st *stream.Stream) (*kms.DataKey, error) {
	k := st.Doc.WriteKey()
	if s.keys == nil || st.Doc.Encryption != stream.EncryptionKMS || k == nil {
		return nil, nil
	}
	if err := s.keys.CheckStreamKey(ctx, s.kmsCaller(ctx), k.KeyARN, kms.UseWrite); err != nil {
		return nil, err
	}
	dk, err := s.dataKey(ctx, st, k)
	if err != nil || !dk.Worn() {
		return dk, err
	}
	fresh, err := s.keys.StreamKey(ctx, s.kmsCaller(ctx), st.Doc.KeyARN, s.arn(st.Doc.Name))
	if err != nil {
		return nil, err
	}
	stored := storedKey(fresh, s.now().UnixMilli())
	if _, err := s.streams.Mutate(ctx, st.Doc.Name, func(d *stream.Doc) error {
		d.AddDataKey(*stored)
		return nil
	}); err != nil {
		return nil, err
	}
	s.dataKeys.put(dataKeyRef{st.Doc.ID, stored.ID}, fresh)
	return fresh, nil
}

// opener opens the sealed records of one stream for one read, checking each KMS key once. Records
// come in runs sealed by one data key, so the last key is kept at hand.
type opener struct {
	s       *Service
	st      *stream.Stream
	checked map[string]bool // KMS key ARNs
	lastID  [8]byte
	last    *kms.DataKey // the data key of lastID, once one has been used
}

// open returns the data of a record that arrived at arrivalMilli: data itself when the stream was
// not encrypted then, else data opened with the data key it names.
func (o *opener) open(ctx context.Context, data []byte, arrivalMilli int64) ([]byte, error) {
	if o.s.keys == nil || o.st.EncryptionAt(arrivalMilli) != stream.EncryptionKMS {
		return data, nil
	}
	id, ok := kms.SealedID(data)
	if !ok {
		return data, nil // written before records were sealed (a data directory of an older kinesisd)
	}
	if o.last == nil || id != o.lastID {
		dk, err := o.dataKey(ctx, id)
		if err != nil {
			return nil, err
		}
		o.lastID, o.last = id, dk
	}
	plain, err := o.last.Open(data)
	if err != nil {
		return nil, internal("read records", fmt.Errorf("stream %s: open a record: %w", o.st.Doc.Name, err))
	}
	return plain, nil
}

// dataKey returns the stream's data key id, its KMS key checked for this read.
func (o *opener) dataKey(ctx context.Context, id [8]byte) (*kms.DataKey, error) {
	k := o.st.Doc.DataKeyByID(hex.EncodeToString(id[:]))
	if k == nil {
		return nil, internal("read records", fmt.Errorf("stream %s: no data key %x", o.st.Doc.Name, id))
	}
	if !o.checked[k.KeyARN] {
		if err := o.s.keys.CheckStreamKey(ctx, o.s.kmsCaller(ctx), k.KeyARN, kms.UseRead); err != nil {
			return nil, err
		}
		if o.checked == nil {
			o.checked = make(map[string]bool)
		}
		o.checked[k.KeyARN] = true
	}
	return o.s.dataKey(ctx, o.st, k)
}

// apiRecords turns records read from shard index of st (whose SeqCreated is created) into the API's,
// in out (as long as recs): numbered, stamped, and opened where the stream sealed them (recs' Data is
// replaced by what it opens to).
func (s *Service) apiRecords(ctx context.Context, st *stream.Stream, index uint32, created int64, recs []storage.Record, out []Record) error {
	_, err := s.apiRecordsInto(ctx, st, index, created, recs, out, nil)
	return err
}

// apiRecordsInto is apiRecords writing the sequence numbers into seqBuf (from its start; nil: a new
// buffer), which it returns, grown as needed: out's numbers point into it.
func (s *Service) apiRecordsInto(ctx context.Context, st *stream.Stream, index uint32, created int64, recs []storage.Record, out []Record, seqBuf []byte) ([]byte, error) {
	keys := opener{s: s, st: st}
	seqs := seqText{b: seqBuf[:0]}
	seqs.grow(len(recs))
	for i := range recs {
		seqs.add(index, created, recs[i].Offset, recs[i].ArrivalMilli)
	}
	numbers := seqs.numbers()
	for i := range recs {
		r := &recs[i]
		data, err := keys.open(ctx, r.Data, r.ArrivalMilli)
		if err != nil {
			return seqs.b, err
		}
		if data == nil {
			data = []byte{} // an empty blob is "", never null
		}
		r.Data = data
		out[i] = Record{
			SequenceNumber:              numbers[i*seqnum.Len : (i+1)*seqnum.Len],
			ApproximateArrivalTimestamp: Timestamp{stream.Milli(r.ArrivalMilli)},
			Data:                        data,
			PartitionKey:                r.PartitionKey,
			EncryptionType:              st.EncryptionAt(r.ArrivalMilli),
		}
	}
	return seqs.b, nil
}
