// Package iterator seals and opens shard-iterator tokens: AES-GCM-sealed positions in a shard's log.
//
// A token holds the stream name and incarnation, the shard, the next offset to read and the time it was
// issued. Sealing makes tokens unforgeable; the issue time lets the service expire them; the incarnation
// makes a token of a deleted stream useless against a new stream of the same name.
//
// A token is shaped like AWS's: the base64 (standard alphabet, padded) of the 8-byte header
// 00 00 00 00 00 00 00 01 followed by a body whose length is a multiple of 16 bytes:
//
//	header (8) | nonce (12) | AES-256-GCM ciphertext of the plaintext | tag (16)
//
// and the plaintext, padded with zero bytes to a length of 4 modulo 16 so that the body is aligned:
//
//	stream id (8) | shard (4) | offset (8) | issue time, Unix ms (8) | name length (1) | name | zeros
//
// (integers big-endian). The additional data is the header and the layout's version byte (2), so a
// token of another layout never opens as this one. Open also takes the previous, unaligned layout
// (the same plaintext without padding, the header alone as additional data), so that iterators handed
// out before an upgrade keep working for the rest of their five minutes. Open accepts only the exact
// string Seal returned: no line breaks, no other base64 spelling.
package iterator

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// KeySize is the length of the sealing key in bytes (AES-256).
const KeySize = 32

// header opens every token, as AWS's tokens open with 00 00 00 00 00 00 00 01.
var header = [8]byte{0, 0, 0, 0, 0, 0, 0, 1}

// aad is the additional data of the aligned layout: the header and the layout's version.
var aad = [9]byte{0, 0, 0, 0, 0, 0, 0, 1, 2}

// encoding is the tokens' base64: padded, and strict about the unused bits of the last character.
var encoding = base64.StdEncoding.Strict()

const (
	nonceSize = 12
	tagSize   = 16
	blockSize = 16
	fixedSize = 8 + 4 + 8 + 8 + 1 // stream id, shard, offset, issue time, name length
	// MaxNameLen is the longest stream name a token can hold (the API allows 128).
	MaxNameLen = 255
)

// ErrInvalid is returned for a token that was not sealed by this key or is malformed.
var ErrInvalid = errors.New("iterator: invalid shard iterator")

// Position is what a token holds.
type Position struct {
	StreamName string
	StreamID   uint64    // stream incarnation
	Shard      uint32    // shard index
	Offset     uint64    // next offset to read
	Issued     time.Time // kept to the millisecond
}

// Sealer seals and opens tokens under one key. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a KeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("iterator: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("iterator: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("iterator: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// NewKey returns a fresh random key.
func NewKey() []byte {
	key := make([]byte, KeySize)
	rand.Read(key)
	return key
}

// plainLen is the padded plaintext length for a name of n bytes: the least length of at least
// fixedSize+n whose nonce, ciphertext and tag fill whole blocks.
func plainLen(n int) int {
	l := fixedSize + n
	body := nonceSize + l + tagSize
	return l + (blockSize-body%blockSize)%blockSize
}

// Seal returns the token for p. Every call returns a different token, also for equal positions.
func (s *Sealer) Seal(p Position) (string, error) {
	if len(p.StreamName) > MaxNameLen {
		return "", fmt.Errorf("iterator: stream name of %d bytes is too long", len(p.StreamName))
	}
	plain := make([]byte, plainLen(len(p.StreamName)))
	binary.BigEndian.PutUint64(plain[0:], p.StreamID)
	binary.BigEndian.PutUint32(plain[8:], p.Shard)
	binary.BigEndian.PutUint64(plain[12:], p.Offset)
	binary.BigEndian.PutUint64(plain[20:], uint64(p.Issued.UnixMilli()))
	plain[28] = byte(len(p.StreamName))
	copy(plain[fixedSize:], p.StreamName) // the rest stays zero

	out := make([]byte, len(header)+nonceSize, len(header)+nonceSize+len(plain)+tagSize)
	copy(out, header[:])
	nonce := out[len(header):]
	rand.Read(nonce)
	out = s.aead.Seal(out, nonce, plain, aad[:])
	return encoding.EncodeToString(out), nil
}

// Open returns the position sealed in token, or ErrInvalid.
func (s *Sealer) Open(token string) (Position, error) {
	raw, err := encoding.DecodeString(token)
	// DecodeString skips line breaks: a token must be exactly the encoding of what it decodes to.
	if err != nil || encoding.EncodedLen(len(raw)) != len(token) ||
		len(raw) < len(header)+nonceSize+tagSize+fixedSize || [8]byte(raw[:8]) != header {
		return Position{}, ErrInvalid
	}
	nonce, sealed := raw[len(header):len(header)+nonceSize], raw[len(header)+nonceSize:]
	var plain []byte
	if (nonceSize+len(sealed))%blockSize == 0 {
		if plain, err = s.aead.Open(nil, nonce, sealed, aad[:]); err == nil {
			n := int(plain[28])
			if len(plain) != plainLen(n) || !zeros(plain[fixedSize+n:]) {
				return Position{}, ErrInvalid
			}
			return position(plain[:fixedSize+n]), nil
		}
	}
	// The previous layout: no padding, the header alone as additional data.
	plain, err = s.aead.Open(nil, nonce, sealed, header[:])
	if err != nil || len(plain) != fixedSize+int(plain[28]) {
		return Position{}, ErrInvalid
	}
	return position(plain), nil
}

// position reads an unpadded plaintext.
func position(plain []byte) Position {
	return Position{
		StreamID:   binary.BigEndian.Uint64(plain[0:]),
		Shard:      binary.BigEndian.Uint32(plain[8:]),
		Offset:     binary.BigEndian.Uint64(plain[12:]),
		Issued:     time.UnixMilli(int64(binary.BigEndian.Uint64(plain[20:]))),
		StreamName: string(plain[fixedSize:]),
	}
}

func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
