package kms

import (
	"context"
)

// Use is what a Kinesis call does with a stream's key: PutRecord(s) writes (kms:GenerateDataKey),
// GetRecords and SubscribeToShard read (kms:Decrypt).
type Use int

// The uses of a stream's key.
const (
	UseWrite Use = iota
	UseRead
)

func (u Use) action() string {
	if u == UseRead {
		return "kms:Decrypt"
	}
	return "kms:GenerateDataKey"
}

// streamContext is the encryption context of a stream's data keys: it binds a wrapped data key to
// its stream, so that a blob copied into another stream's document does not open there.
func streamContext(streamARN string) map[string]string {
	return map[string]string{"aws:kinesis:arn": streamARN}
}

// StreamKey generates a data key for the stream streamARN under the key keyID names (a key id, key
// ARN, alias name or alias ARN, of the caller's account or, by ARN, of another that allows it): the
// Kinesis service calls it when StartStreamEncryption validates the key and whenever a stream's
// cached data key is due for renewal. It counts against the caller's KMS call budget. Its errors are
// Kinesis's (see KinesisError): KMSNotFoundException, KMSDisabledException,
// KMSInvalidStateException, KMSAccessDeniedException, KMSThrottlingException, KMSOptInRequired.
func (k *Keyring) StreamKey(ctx context.Context, c Caller, keyID, streamARN string) (*DataKey, error) {
	out, err := k.GenerateDataKey(ctx, c, &GenerateDataKeyIn{KeyID: keyID, KeySpec: "AES_256", EncryptionContext: streamContext(streamARN)})
	if err != nil {
		return nil, KinesisError(err)
	}
	dk, err := newDataKey(out.KeyID, out.Plaintext, out.CiphertextBlob)
	clear(out.Plaintext)
	return dk, err
}

// OpenStreamKey unwraps a data key of the stream streamARN that StreamKey made (its Blob, kept in the
// stream's document), for a front-end that has not cached it. It counts against the caller's KMS
// call budget; its errors are Kinesis's, as StreamKey's.
func (k *Keyring) OpenStreamKey(ctx context.Context, c Caller, blob []byte, streamARN string) (*DataKey, error) {
	out, err := k.Decrypt(ctx, c, &DecryptIn{CiphertextBlob: blob, EncryptionContext: streamContext(streamARN)})
	if err != nil {
		return nil, KinesisError(err)
	}
	dk, err := newDataKey(out.KeyID, out.Plaintext, blob)
	clear(out.Plaintext)
	return dk, err
}

// CheckStreamKey checks, without counting against the budget, that the caller may use the key
// keyARN (a DataKey's KeyARN) for use now: the key exists, is Enabled, and its policy allows the
// caller. The Kinesis service calls it on every PutRecord(s), GetRecords and SubscribeToShard of an
// encrypted stream, before it uses a cached data key, so that a key's state applies at once (AWS
// may take up to about five minutes). Its errors are Kinesis's, as StreamKey's. It costs one
// metadata read.
func (k *Keyring) CheckStreamKey(ctx context.Context, c Caller, keyARN string, use Use) error {
	if err := k.checkOptIn(c); err != nil {
		return KinesisError(err)
	}
	d, err := k.resolve(ctx, c, keyARN, true)
	if err != nil {
		return KinesisError(err)
	}
	if err := k.authorized(ctx, c, use.action(), d); err != nil {
		return KinesisError(err)
	}
	return KinesisError(usable(d))
}
