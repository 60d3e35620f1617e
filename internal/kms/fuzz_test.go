package kms

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/storage/pebble"
)

// FuzzOpen: DataKey.Open never panics on arbitrary bytes, and accepts only what Seal produced (a
// forgery or any change of a seal is refused).
func FuzzOpen(f *testing.F) {
	dk, err := newDataKey("arn:aws:kms:us-east-1:111122223333:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", bytes.Repeat([]byte{9}, 32), []byte("blob"))
	if err != nil {
		f.Fatal(err)
	}
	// The seeds are sealed with fixed nonces, so that every fuzzing process knows the same genuine
	// seals (Seal's nonces are random).
	genuine := map[string][]byte{}
	for i, p := range [][]byte{nil, []byte("x"), []byte("the plaintext marker"), bytes.Repeat([]byte{0}, 300)} {
		s := append([]byte{sealedVersion}, dk.id[:]...)
		nonce := bytes.Repeat([]byte{byte(i)}, nonceSize)
		s = dk.aead.Seal(append(s, nonce...), nonce, p, s[:9])
		if got, err := dk.Open(s); err != nil || !bytes.Equal(got, p) {
			f.Fatalf("seed %d does not open: %v", i, err)
		}
		genuine[string(s)] = p
		f.Add(s)
		f.Add(s[:len(s)-1])
		flipped := bytes.Clone(s)
		flipped[len(s)/2] ^= 1
		f.Add(flipped)
	}
	f.Add([]byte{})
	f.Add([]byte{sealedVersion})
	f.Add(append([]byte{0x02}, make([]byte, Overhead)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := dk.Open(b)
		want, ok := genuine[string(b)]
		switch {
		case ok && (err != nil || !bytes.Equal(plain, want)):
			t.Fatalf("genuine seal: %q, %v", plain, err)
		case !ok && err == nil:
			t.Fatalf("accepted bytes Seal did not produce: %x", b)
		case !ok && !errors.Is(err, ErrInvalidSealed) && !errors.Is(err, ErrWrongDataKey):
			t.Fatalf("unexpected error %v", err)
		}
		if id, ok := SealedID(b); ok && len(b) < Overhead {
			t.Fatalf("SealedID of %d bytes: %x", len(b), id)
		}
	})
}

// FuzzDecrypt: Keyring.Decrypt never panics on arbitrary bytes, refuses them as
// InvalidCiphertextException (or a key error for a well-formed header naming a key it cannot use),
// and opens only the blob GenerateDataKey made.
func FuzzDecrypt(f *testing.F) {
	s, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	k, err := New(Config{Store: s, MasterKey: masterKey(7), Clock: clock.NewFake(t0), DeletionWindowUnit: time.Minute, Rate: -1})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	m, err := k.CreateKey(ctx, alice, &CreateKeyIn{})
	if err != nil {
		f.Fatal(err)
	}
	out, err := k.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_256"})
	if err != nil {
		f.Fatal(err)
	}
	blob := out.CiphertextBlob
	f.Add(blob)
	f.Add(blob[:len(blob)-1])
	f.Add(blob[:3])
	tweaked := bytes.Clone(blob)
	tweaked[2]++ // the ARN's length
	f.Add(tweaked)
	other := bytes.Clone(blob)
	other[10] = 'x' // inside the ARN
	f.Add(other)
	f.Add([]byte{})
	f.Add([]byte{blobVersion, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: b})
		if bytes.Equal(b, blob) {
			if err != nil || !bytes.Equal(got.Plaintext, out.Plaintext) {
				t.Fatalf("genuine blob: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("Decrypt accepted bytes GenerateDataKey did not produce: %x", b)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("not a KMS error: %v", err)
		}
		switch e.Code() {
		case CodeInvalidCiphertext, CodeNotFound, CodeInvalidArn, CodeAccessDenied, CodeValidation:
		default:
			t.Fatalf("unexpected refusal %v", err)
		}
	})
}
