package kms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"

	"kinesisd/internal/storage"
)

// Sentinel errors of the local cryptography. Wrapped; test with errors.Is.
var (
	// ErrWrongMasterKey: the store's key material was sealed under another master key.
	ErrWrongMasterKey = errors.New("kms: the master key does not open the keyring's key material")
	// ErrInvalidSealed: bytes that DataKey.Open refuses: not Seal's layout, or changed since.
	ErrInvalidSealed = errors.New("kms: sealed record is invalid or was tampered with")
	// ErrWrongDataKey: sealed bytes that another data key sealed (see SealedID).
	ErrWrongDataKey = errors.New("kms: sealed record belongs to another data key")
)

const nonceSize = 12

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext under aead with a random nonce: nonce (12) || ciphertext || tag (16),
// appended to dst.
func seal(aead cipher.AEAD, dst, plaintext, aad []byte) []byte {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic("kms: crypto/rand failed: " + err.Error()) // crypto/rand.Read does not fail (Go 1.24+)
	}
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plaintext, aad)
}

// open reverses seal.
func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, errors.New("too short")
	}
	return aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
}

// sealMaterial seals a key's material under the master key, bound to the key's ARN.
func (k *Keyring) sealMaterial(arn string, material []byte) []byte {
	return seal(k.master, nil, material, []byte("kinesisd/kms/key-material/v1 "+arn))
}

// keyAEAD returns the AES-256-GCM cipher of key d's material, opening it under the master key the
// first time.
func (k *Keyring) keyAEAD(d *keyDoc) (cipher.AEAD, error) {
	arn := d.arn()
	k.mu.Lock()
	aead, ok := k.aeads[arn]
	k.mu.Unlock()
	if ok {
		return aead, nil
	}
	material, err := open(k.master, d.Material, []byte("kinesisd/kms/key-material/v1 "+arn))
	if err != nil {
		return nil, fmt.Errorf("kms: key %s: %w", arn, ErrWrongMasterKey)
	}
	aead, err = newGCM(material)
	clear(material)
	if err != nil {
		return nil, fmt.Errorf("kms: key %s: %w", arn, err)
	}
	k.mu.Lock()
	k.aeads[arn] = aead
	k.mu.Unlock()
	return aead, nil
}

const masterCheckPlain = "kinesisd kms master key check v1"

// Verify checks that the master key is the one the store's keyring was sealed under: it reads the
// document kms/master-check, a constant sealed under the master key, which the first key written to
// the store brings along (ensureMasterCheck), so that a store without keys carries no KMS document
// (and exports of it none). It returns an error wrapping ErrWrongMasterKey when the master key is
// another one. A server calls it at start, so that a wrong -kms-master-key-file (or a store imported
// from a server with another master key) stops it there rather than on the first encrypted record.
func (k *Keyring) Verify(ctx context.Context) error {
	raw, _, err := k.store.GetMeta(ctx, masterCheckKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // no key yet
	}
	if err != nil {
		return fmt.Errorf("kms: read master key check: %w", err)
	}
	plain, err := open(k.master, raw, []byte(masterCheckKey))
	if err != nil || string(plain) != masterCheckPlain {
		return fmt.Errorf("kms: %w (document %s)", ErrWrongMasterKey, masterCheckKey)
	}
	return nil
}

// ensureMasterCheck writes kms/master-check before the store's first key, or checks the one there.
func (k *Keyring) ensureMasterCheck(ctx context.Context) error {
	aad := []byte(masterCheckKey)
	_, err := k.store.PutMeta(ctx, masterCheckKey, seal(k.master, nil, []byte(masterCheckPlain), aad), 0)
	if errors.Is(err, storage.ErrConflict) {
		return k.Verify(ctx) // written before, here or by another front-end
	}
	if err != nil {
		return fmt.Errorf("kms: write master key check: %w", err)
	}
	return nil
}

// Data key blobs (GenerateDataKey's CiphertextBlob, Decrypt's input) are laid out as:
//
//	0        1 byte   layout version, 0x01
//	1        2 bytes  n, the length of the key ARN, big-endian
//	3        n bytes  the KMS key's ARN
//	3+n      12 bytes nonce
//	15+n     AES-256-GCM ciphertext of the data key, then its 16-byte tag
//
// sealed under the KMS key's material with additional data: bytes 0 to 3+n, then the encryption
// context as its sorted key=value pairs, each a 4-byte big-endian length and the bytes.
const blobVersion = 0x01

func encodeContext(dst []byte, ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for key := range ec {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		for _, s := range []string{key, ec[key]} {
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
			dst = append(dst, s...)
		}
	}
	return dst
}

// parseBlob returns a data key blob's key ARN and the length of its header, or false when the bytes
// are not a blob.
func parseBlob(blob []byte) (arn string, header int, ok bool) {
	if len(blob) < 3 || blob[0] != blobVersion {
		return "", 0, false
	}
	n := int(binary.BigEndian.Uint16(blob[1:3]))
	if n == 0 || len(blob) < 3+n+nonceSize+16 {
		return "", 0, false
	}
	return string(blob[3 : 3+n]), 3 + n, true
}

// GenerateDataKeyIn is GenerateDataKey's input: KeySpec AES_256 or AES_128, or NumberOfBytes (1 to
// 1024), not both.
type GenerateDataKeyIn struct {
	KeyID             string
	KeySpec           string
	NumberOfBytes     int
	EncryptionContext map[string]string
}

// GenerateDataKeyOut is GenerateDataKey's answer. KeyID is the key's ARN, as AWS answers.
type GenerateDataKeyOut struct {
	KeyID          string
	Plaintext      []byte
	CiphertextBlob []byte
}

// GenerateDataKey returns a new random data key, in plaintext and wrapped under an Enabled key. It
// counts against the caller's KMS call budget.
func (k *Keyring) GenerateDataKey(ctx context.Context, c Caller, in *GenerateDataKeyIn) (*GenerateDataKeyOut, error) {
	size := 0
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != 0, in.KeySpec == "" && in.NumberOfBytes == 0:
		return nil, newErr(CodeValidation, "Please specify either number of bytes or key spec.")
	case in.KeySpec == "AES_256":
		size = 32
	case in.KeySpec == "AES_128":
		size = 16
	case in.KeySpec != "":
		return nil, validation(quote(in.KeySpec), "keySpec", "Member must satisfy enum value set: [AES_256, AES_128]")
	case in.NumberOfBytes < 1:
		return nil, validation(quote(strconv.Itoa(in.NumberOfBytes)), "numberOfBytes", "Member must have value greater than or equal to 1")
	case in.NumberOfBytes > 1024:
		return nil, validation(quote(strconv.Itoa(in.NumberOfBytes)), "numberOfBytes", "Member must have value less than or equal to 1024")
	default:
		size = in.NumberOfBytes
	}
	d, aead, err := k.cryptoKey(ctx, c, in.KeyID, "kms:GenerateDataKey")
	if err != nil {
		return nil, err
	}
	plain := make([]byte, size)
	if _, err := rand.Read(plain); err != nil {
		return nil, fmt.Errorf("kms: data key: %w", err)
	}
	arn := d.arn()
	header := make([]byte, 3, 3+len(arn))
	header[0] = blobVersion
	binary.BigEndian.PutUint16(header[1:3], uint16(len(arn)))
	header = append(header, arn...)
	blob := seal(aead, slices.Clone(header), plain, encodeContext(slices.Clone(header), in.EncryptionContext))
	return &GenerateDataKeyOut{KeyID: arn, Plaintext: plain, CiphertextBlob: blob}, nil
}

// cryptoKey runs the checks of a cryptographic operation in KMS's order: the subscription, the
// budget, the key reference (any account), the key policy, the key's state; and returns the key and
// its cipher.
func (k *Keyring) cryptoKey(ctx context.Context, c Caller, keyID, action string) (*keyDoc, cipher.AEAD, error) {
	if err := k.checkOptIn(c); err != nil {
		return nil, nil, err
	}
	if k.budget != nil && !k.budget.take(c.Account, k.now()) {
		return nil, nil, throttled()
	}
	d, err := k.resolve(ctx, c, keyID, true)
	if err != nil {
		return nil, nil, err
	}
	if err := k.authorized(ctx, c, action, d); err != nil {
		return nil, nil, err
	}
	if err := usable(d); err != nil {
		return nil, nil, err
	}
	aead, err := k.keyAEAD(d)
	if err != nil {
		return nil, nil, err
	}
	return d, aead, nil
}

// DecryptIn is Decrypt's input. KeyID, when set, must name the key the blob was wrapped under.
type DecryptIn struct {
	CiphertextBlob    []byte
	KeyID             string
	EncryptionContext map[string]string
}

// DecryptOut is Decrypt's answer. KeyID is the key's ARN.
type DecryptOut struct {
	KeyID     string
	Plaintext []byte
}

// Decrypt unwraps a data key blob of GenerateDataKey under its key, which must be Enabled. It
// counts against the caller's KMS call budget. Bytes that are not such a blob, or were changed, or
// come with another encryption context, are InvalidCiphertextException.
func (k *Keyring) Decrypt(ctx context.Context, c Caller, in *DecryptIn) (*DecryptOut, error) {
	arn, header, ok := parseBlob(in.CiphertextBlob)
	if !ok {
		if err := k.checkOptIn(c); err != nil {
			return nil, err
		}
		return nil, newErr(CodeInvalidCiphertext, "")
	}
	if in.KeyID != "" {
		if err := k.checkOptIn(c); err != nil {
			return nil, err
		}
		d, err := k.resolve(ctx, c, in.KeyID, true)
		if err != nil {
			return nil, err
		}
		if d.arn() != arn {
			return nil, newErr(CodeIncorrectKey, "The key ID in the request does not identify a KMS key that can perform this operation.")
		}
	}
	if _, err := parseRef(c, arn); err != nil {
		return nil, newErr(CodeInvalidCiphertext, "")
	}
	d, aead, err := k.cryptoKey(ctx, c, arn, "kms:Decrypt")
	if err != nil {
		return nil, err
	}
	blob := in.CiphertextBlob
	plain, err := open(aead, blob[header:], encodeContext(slices.Clone(blob[:header]), in.EncryptionContext))
	if err != nil {
		return nil, newErr(CodeInvalidCiphertext, "")
	}
	return &DecryptOut{KeyID: d.arn(), Plaintext: plain}, nil
}

// DataKey encrypts record bytes at rest: an AES-256 data key generated by a KMS key, held in
// plaintext in memory only, and its blob (wrapped under the KMS key) for the stream's document. It
// is safe for concurrent use.
//
// Seal's output is laid out as:
//
//	0    1 byte   layout version, 0x01
//	1    8 bytes  the data key's id (ID: the first 8 bytes of SHA-256 of its blob)
//	9    12 bytes random nonce
//	21   AES-256-GCM ciphertext of the record, then its 16-byte tag (Overhead bytes in all)
//
// with bytes 0 to 9 as additional data. Random 96-bit nonces keep GCM safe for 2^32 seals under one
// key; Worn reports when a data key has done half that, so that its owner takes a new one.
type DataKey struct {
	keyARN string
	blob   []byte
	id     [8]byte
	aead   cipher.AEAD
	seals  atomic.Uint64
}

// Overhead is how many bytes Seal adds to a record.
const Overhead = 1 + 8 + nonceSize + 16

const sealedVersion = 0x01

// wornAfter is how many seals a data key does before Worn reports it (half of GCM's 2^32 limit for
// random nonces).
const wornAfter = 1 << 31

func newDataKey(keyARN string, plain, blob []byte) (*DataKey, error) {
	aead, err := newGCM(plain)
	if err != nil {
		return nil, fmt.Errorf("kms: data key: %w", err)
	}
	dk := &DataKey{keyARN: keyARN, blob: slices.Clone(blob), aead: aead}
	sum := sha256.Sum256(blob)
	copy(dk.id[:], sum[:8])
	return dk, nil
}

// KeyARN returns the ARN of the KMS key that wrapped the data key.
func (dk *DataKey) KeyARN() string { return dk.keyARN }

// Blob returns the data key wrapped under its KMS key (a copy): what a stream stores, and what
// OpenStreamKey takes back.
func (dk *DataKey) Blob() []byte { return slices.Clone(dk.blob) }

// ID returns the data key's id, which Seal writes into every record it seals.
func (dk *DataKey) ID() [8]byte { return dk.id }

// Worn reports whether the data key has sealed so many records that a new one should take over.
func (dk *DataKey) Worn() bool { return dk.seals.Load() >= wornAfter }

// Seal encrypts plaintext (Overhead bytes longer; see DataKey for the layout).
func (dk *DataKey) Seal(plaintext []byte) []byte {
	dk.seals.Add(1)
	out := make([]byte, 0, Overhead+len(plaintext))
	out = append(out, sealedVersion)
	out = append(out, dk.id[:]...)
	return seal(dk.aead, out, plaintext, out[:9])
}

// Open decrypts bytes Seal returned. It refuses, with ErrWrongDataKey, bytes that another data key
// sealed, and with ErrInvalidSealed anything else it cannot authenticate; it never panics.
func (dk *DataKey) Open(sealed []byte) ([]byte, error) {
	id, ok := SealedID(sealed)
	if !ok || len(sealed) < Overhead {
		return nil, ErrInvalidSealed
	}
	if id != dk.id {
		return nil, ErrWrongDataKey
	}
	plain, err := open(dk.aead, sealed[9:], sealed[:9])
	if err != nil {
		return nil, ErrInvalidSealed
	}
	return plain, nil
}

// SealedID returns the id of the data key that sealed the bytes, so that their reader can pick the
// data key to Open them with; false when the bytes are not in Seal's layout.
func SealedID(sealed []byte) ([8]byte, bool) {
	var id [8]byte
	if len(sealed) < Overhead || sealed[0] != sealedVersion {
		return id, false
	}
	copy(id[:], sealed[1:9])
	return id, true
}
