package kms

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// LoadOrCreateMasterKeyFile returns the master key kept in the file at path, and creates the file
// with a new random key (mode 0600, the key as 64 hex digits and a newline) when there is none;
// created says which. The file may hold the key as 64 hex digits (surrounding white space is
// ignored) or as 32 raw bytes. The directory must exist. The error names the file and says what is
// wrong with it, never its content.
func LoadOrCreateMasterKeyFile(path string) (key []byte, created bool, err error) {
	key, err = readMasterKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	key = make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("kms master key file %s: generate: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it meanwhile: use that one.
		key, err = readMasterKeyFile(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("kms master key file %s: create: %w", path, err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(path)
		return nil, false, fmt.Errorf("kms master key file %s: write: %w", path, err)
	}
	return key, true, nil
}

// readMasterKeyFile reads a master key file; a missing file is an error wrapping fs.ErrNotExist.
func readMasterKeyFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("kms master key file %s: %w", path, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("kms master key file %s: cannot read it: %w", path, err)
	}
	if len(raw) == MasterKeySize {
		return raw, nil
	}
	text := strings.TrimSpace(string(raw))
	if len(text) == 2*MasterKeySize {
		if key, err := hex.DecodeString(text); err == nil {
			return key, nil
		}
		return nil, fmt.Errorf("kms master key file %s: holds 64 characters that are not all hex digits", path)
	}
	return nil, fmt.Errorf("kms master key file %s: holds %d bytes; want a %d-byte key as 64 hex digits (or %d raw bytes)", path, len(raw), MasterKeySize, MasterKeySize)
}
