// Package iterator seals and opens shard-iterator tokens: AES-GCM-sealed positions in a shard's log.
//
// A token holds the stream name and incarnation, the shard, the next offset to read and the time it was
// issued. Sealing makes tokens unforgeable; the issue time lets the service expire them; the incarnation
// makes a token of a deleted stream useless against a new stream of the same name.
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

// header opens every token, as AWS's tokens open with 00 00 00 00 00 00 00 01; it doubles as version.
var header = [8]byte{0, 0, 0, 0, 0, 0, 0, 1}

const (
	nonceSize = 12
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

// Seal returns the token for p. Every call returns a different token, also for equal positions.
func (s *Sealer) Seal(p Position) (string, error) {
	if len(p.StreamName) > MaxNameLen {
		return "", fmt.Errorf("iterator: stream name of %d bytes is too long", len(p.StreamName))
	}
	plain := make([]byte, fixedSize, fixedSize+len(p.StreamName))
	binary.BigEndian.PutUint64(plain[0:], p.StreamID)
	binary.BigEndian.PutUint32(plain[8:], p.Shard)
	binary.BigEndian.PutUint64(plain[12:], p.Offset)
	binary.BigEndian.PutUint64(plain[20:], uint64(p.Issued.UnixMilli()))
	plain[28] = byte(len(p.StreamName))
	plain = append(plain, p.StreamName...)

	out := make([]byte, 0, len(header)+nonceSize+len(plain)+s.aead.Overhead())
	out = append(out, header[:]...)
	nonce := out[len(out) : len(out)+nonceSize]
	rand.Read(nonce)
	out = out[:len(out)+nonceSize]
	out = s.aead.Seal(out, nonce, plain, header[:])
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open returns the position sealed in token, or ErrInvalid.
func (s *Sealer) Open(token string) (Position, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(raw) < len(header)+nonceSize+s.aead.Overhead()+fixedSize {
		return Position{}, ErrInvalid
	}
	if [8]byte(raw[:8]) != header {
		return Position{}, ErrInvalid
	}
	nonce := raw[8 : 8+nonceSize]
	plain, err := s.aead.Open(nil, nonce, raw[8+nonceSize:], header[:])
	if err != nil || len(plain) < fixedSize || len(plain) != fixedSize+int(plain[28]) {
		return Position{}, ErrInvalid
	}
	return Position{
		StreamID:   binary.BigEndian.Uint64(plain[0:]),
		Shard:      binary.BigEndian.Uint32(plain[8:]),
		Offset:     binary.BigEndian.Uint64(plain[12:]),
		Issued:     time.UnixMilli(int64(binary.BigEndian.Uint64(plain[20:]))),
		StreamName: string(plain[fixedSize:]),
	}, nil
}
