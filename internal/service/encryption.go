package service

import (
	"context"

	"kinesisd/internal/kerr"
)

// Server-side encryption: StartStreamEncryption and StopStreamEncryption set the stream's encryption
// type and key and put it in UPDATING for the update delay, as AWS does. Records written afterwards
// carry the stream's EncryptionType. (Using the KMS key itself is a later issue.)

const encryptionKMS = "KMS"

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
	c.enum("encryptionType", in.EncryptionType, true, encryptionNone, encryptionKMS)
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
	_, err = s.mutateStream(ctx, name, func(doc *streamDoc) error {
		if *in.EncryptionType != encryptionKMS {
			return kerr.NewInvalidArgument("KMS is the only valid EncryptionType for this request")
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		if start {
			doc.Encryption, doc.KeyID = encryptionKMS, *in.KeyId
		} else {
			doc.Encryption, doc.KeyID = encryptionNone, ""
		}
		doc.Status, doc.StatusMilli = statusUpdating, s.now().UnixMilli()
		return nil
	})
	return err
}
