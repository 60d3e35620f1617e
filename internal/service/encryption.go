package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

// Server-side encryption: StartStreamEncryption and StopStreamEncryption put the stream in UPDATING for
// the update delay, as AWS does, and the new encryption type and key take effect when it ends
// (pending.go): "Once the status of the stream is ACTIVE, encryption begins for records written to the
// stream." Each record reads back with the EncryptionType it was written under (the stream's history of
// changes, pending.go). AWS allows 25 successful calls of each operation per stream in a rolling
// 24 hours. StartStreamEncryption checks the KMS key and makes the stream's first data key under it
// (recordkeys.go), which seals every record written once the change has taken effect.

const (
	// encryptionWindow and encryptionChangesMax are AWS's limit on Start/StopStreamEncryption: 25
	// successful calls of each in a rolling 24 hours.
	encryptionWindow     = 24 * time.Hour
	encryptionChangesMax = 25
)

// StreamEncryptionInput is the input of StartStreamEncryption and StopStreamEncryption.
type StreamEncryptionInput struct {
	StreamRef
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyId          *string `json:"KeyId,omitempty"`
}

// StartStreamEncryption turns on server-side encryption with a KMS key.
func (s *Service) StartStreamEncryption(ctx context.Context, in *StreamEncryptionInput) error {
	return s.changeEncryption(ctx, "StartStreamEncryption", in, true)
}

// StopStreamEncryption turns server-side encryption off.
func (s *Service) StopStreamEncryption(ctx context.Context, in *StreamEncryptionInput) error {
	return s.changeEncryption(ctx, "StopStreamEncryption", in, false)
}

func (s *Service) changeEncryption(ctx context.Context, op string, in *StreamEncryptionInput, start bool) error {
	var c checker
	c.enum("encryptionType", in.EncryptionType, true, stream.EncryptionNone, stream.EncryptionKMS)
	c.str("keyId", in.KeyId, true, 1, 2048, nil, "")
	c.streamRef(in.StreamRef)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate(op, ""); err != nil {
		return err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return err
	}
	if *in.EncryptionType != stream.EncryptionKMS {
		return kerr.NewInvalidArgument("KMS is the only valid EncryptionType for this request")
	}
	var key *stream.DataKey
	if start {
		// The key is checked, and the stream's first data key made under it, before anything changes.
		if _, err := s.findStream(ctx, in.StreamRef); err != nil {
			return err
		}
		if key, err = s.newStreamKey(ctx, name, *in.KeyId); err != nil {
			return err
		}
	}
	now := s.now()
	_, err = s.streams.Reshard(ctx, name, func(doc *stream.Doc) error {
		if err := s.requireActive(doc); err != nil {
			return err
		}
		calls := &doc.EncryptionStops
		if start {
			calls = &doc.EncryptionStarts
		}
		since := now.Add(-encryptionWindow).UnixMilli()
		*calls = slices.DeleteFunc(*calls, func(ms int64) bool { return ms <= since })
		if len(*calls) >= encryptionChangesMax {
			// Message invented: no source gives AWS's wording for this limit.
			return kerr.NewLimitExceeded(fmt.Sprintf("%s failed for stream %s under account %s. "+
				"The stream's encryption has been changed by %s %d times in the last 24 hours, the most allowed.",
				op, name, s.cfg.Account, op, encryptionChangesMax))
		}
		*calls = append(*calls, now.UnixMilli())
		change := stream.Change{Kind: stream.ChangeEncrypt, Encryption: stream.EncryptionNone}
		if start {
			change.Encryption, change.KeyID, change.DataKey = stream.EncryptionKMS, *in.KeyId, key
			if key != nil {
				change.KeyARN = key.KeyARN
			}
		}
		doc.Schedule(change, now.UnixMilli())
		return nil
	})
	return err
}
