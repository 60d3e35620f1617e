package kms

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const streamARN = "arn:aws:kinesis:us-east-1:111122223333:stream/orders"

func TestGenerateDataKeyAndDecrypt(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	m := e.createKey(t, alice)
	ec := map[string]string{"purpose": "test", "a": "b"}
	out, err := e.k.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_256", EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if out.KeyID != m.Arn || len(out.Plaintext) != 32 || bytes.Contains(out.CiphertextBlob, out.Plaintext) {
		t.Fatalf("GenerateDataKey = %+v", out)
	}
	dec, err := e.k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
	if err != nil || dec.KeyID != m.Arn || !bytes.Equal(dec.Plaintext, out.Plaintext) {
		t.Fatalf("Decrypt = %+v, %v", dec, err)
	}
	if _, err := e.k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: out.CiphertextBlob, KeyID: m.Arn, EncryptionContext: ec}); err != nil {
		t.Errorf("Decrypt naming its key: %v", err)
	}
	for _, n := range []int{1, 16, 1024} {
		o, err := e.k.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, NumberOfBytes: n})
		if err != nil || len(o.Plaintext) != n {
			t.Errorf("NumberOfBytes %d: %d bytes, %v", n, len(o.Plaintext), err)
		}
	}
	if o, err := e.k.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_128"}); err != nil || len(o.Plaintext) != 16 {
		t.Errorf("AES_128: %v", err)
	}

	other := e.createKey(t, alice)
	tampered := bytes.Clone(out.CiphertextBlob)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name      string
		in        DecryptIn
		code, msg string
	}{
		{"other context", DecryptIn{CiphertextBlob: out.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "test"}}, CodeInvalidCiphertext, ""},
		{"no context", DecryptIn{CiphertextBlob: out.CiphertextBlob}, CodeInvalidCiphertext, ""},
		{"tampered", DecryptIn{CiphertextBlob: tampered, EncryptionContext: ec}, CodeInvalidCiphertext, ""},
		{"garbage", DecryptIn{CiphertextBlob: []byte("hello")}, CodeInvalidCiphertext, ""},
		{"empty", DecryptIn{}, CodeInvalidCiphertext, ""},
		{"other key named", DecryptIn{CiphertextBlob: out.CiphertextBlob, KeyID: other.KeyID, EncryptionContext: ec}, CodeIncorrectKey, "The key ID in the request does not identify a KMS key that can perform this operation."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.k.Decrypt(ctx, alice, &tt.in)
			wantErr(t, err, tt.code, tt.msg)
		})
	}
	for _, tt := range []struct {
		in        GenerateDataKeyIn
		code, msg string
	}{
		{GenerateDataKeyIn{KeyID: m.KeyID}, CodeValidation, "Please specify either number of bytes or key spec."},
		{GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_256", NumberOfBytes: 32}, CodeValidation, "Please specify either number of bytes or key spec."},
		{GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_512"}, CodeValidation, "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"},
		{GenerateDataKeyIn{KeyID: m.KeyID, NumberOfBytes: 1025}, CodeValidation, "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"},
		{GenerateDataKeyIn{KeyID: m.KeyID, NumberOfBytes: -3}, CodeValidation, "1 validation error detected: Value '-3' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{GenerateDataKeyIn{KeyID: "alias/none", KeySpec: "AES_256"}, CodeNotFound, "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found."},
	} {
		_, err := e.k.GenerateDataKey(ctx, alice, &tt.in)
		wantErr(t, err, tt.code, tt.msg)
	}
	// A disabled key neither generates nor decrypts; re-enabled, old blobs open again.
	if err := e.k.DisableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	_, err = e.k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
	wantErr(t, err, CodeDisabled, m.Arn+" is disabled.")
	if err := e.k.EnableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec}); err != nil {
		t.Errorf("Decrypt after re-enable: %v", err)
	}
}

func TestStreamKeys(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	m := e.createKey(t, alice)
	dk, err := e.k.StreamKey(ctx, alice, m.KeyID, streamARN)
	if err != nil {
		t.Fatal(err)
	}
	if dk.KeyARN() != m.Arn || dk.Worn() {
		t.Errorf("data key of %s, worn %v", dk.KeyARN(), dk.Worn())
	}
	record := []byte("the plaintext marker of record 1")
	sealed := dk.Seal(record)
	if len(sealed) != len(record)+Overhead || bytes.Contains(sealed, record) {
		t.Fatalf("sealed %d bytes: %x", len(sealed), sealed)
	}
	if again := dk.Seal(record); bytes.Equal(again, sealed) {
		t.Error("two seals of one record are equal: nonces repeat")
	}
	if id, ok := SealedID(sealed); !ok || id != dk.ID() {
		t.Errorf("SealedID = %x, %v", id, ok)
	}
	if got, err := dk.Open(sealed); err != nil || !bytes.Equal(got, record) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if got, err := dk.Open(dk.Seal(nil)); err != nil || len(got) != 0 {
		t.Errorf("empty record: %q, %v", got, err)
	}
	// Another front-end opens the stored blob; the blob is bound to its stream.
	dk2, err := e.keyring(t, nil).OpenStreamKey(ctx, alice, dk.Blob(), streamARN)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dk2.Open(sealed); err != nil || !bytes.Equal(got, record) || dk2.ID() != dk.ID() {
		t.Fatalf("reopened data key: %q, %v", got, err)
	}
	_, err = e.k.OpenStreamKey(ctx, alice, dk.Blob(), streamARN+"2")
	wantKinesis(t, err, "KMSInvalidStateException", "The ciphertext of the stream's data key is invalid for its KMS key.")
	// Refusals of Open.
	fresh, err := e.k.StreamKey(ctx, alice, m.KeyID, streamARN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Open(sealed); !errors.Is(err, ErrWrongDataKey) {
		t.Errorf("Open with another data key: %v", err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x80
		if _, err := dk.Open(bad); err == nil {
			t.Fatalf("Open accepted a flip of byte %d", i)
		}
	}
	for _, n := range []int{0, 1, Overhead - 1} {
		if _, err := dk.Open(sealed[:n]); !errors.Is(err, ErrInvalidSealed) {
			t.Errorf("Open of %d bytes: %v", n, err)
		}
	}

	// Every key state, for Kinesis, then recovery without data loss.
	check := func(code, msg string) {
		t.Helper()
		for _, use := range []Use{UseWrite, UseRead} {
			err := e.k.CheckStreamKey(ctx, alice, dk.KeyARN(), use)
			if code == "" {
				if err != nil {
					t.Fatalf("CheckStreamKey: %v", err)
				}
				continue
			}
			wantKinesis(t, err, code, msg)
		}
	}
	check("", "")
	if err := e.k.DisableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	check("KMSDisabledException", m.Arn+" is disabled.")
	_, err = e.k.StreamKey(ctx, alice, m.KeyID, streamARN)
	wantKinesis(t, err, "KMSDisabledException", m.Arn+" is disabled.")
	if _, err := e.k.ScheduleKeyDeletion(ctx, alice, m.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	check("KMSInvalidStateException", m.Arn+" is pending deletion.")
	_, err = e.k.OpenStreamKey(ctx, alice, dk.Blob(), streamARN)
	wantKinesis(t, err, "KMSInvalidStateException", m.Arn+" is pending deletion.")
	if _, err := e.k.CancelKeyDeletion(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	if err := e.k.EnableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	check("", "")
	if got, err := dk.Open(sealed); err != nil || !bytes.Equal(got, record) {
		t.Fatalf("Open after recovery: %q, %v", got, err)
	}
	_, err = e.k.StreamKey(ctx, alice, "alias/none", streamARN)
	wantKinesis(t, err, "KMSNotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.")
	_, err = e.k.StreamKey(ctx, alice, "arn:aws:sqs:us-east-1:111122223333:q", streamARN)
	wantKinesis(t, err, "KMSNotFoundException", "Invalid arn arn:aws:sqs:us-east-1:111122223333:q")
	bobAt := Caller{Account: bob.Account, Region: bob.Region, Principal: "arn:aws:iam::444455556666:user/bob"}
	wantKinesis(t, e.k.CheckStreamKey(ctx, bobAt, dk.KeyARN(), UseRead), "KMSAccessDeniedException",
		"User: arn:aws:iam::444455556666:user/bob is not authorized to perform: kms:Decrypt on resource: "+m.Arn+" because no resource-based policy allows the kms:Decrypt action")
	if _, err := e.k.ScheduleKeyDeletion(ctx, alice, m.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(7 * time.Minute)
	check("KMSNotFoundException", "Key '"+m.Arn+"' does not exist")

	// The AWS-managed key works for Kinesis in its own account.
	mdk, err := e.k.StreamKey(ctx, alice, KinesisManagedAlias, streamARN)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.k.CheckStreamKey(ctx, alice, mdk.KeyARN(), UseWrite); err != nil {
		t.Errorf("managed key: %v", err)
	}
}

func TestBudgetThrottles(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Rate = 2 })
	ctx := t.Context()
	m := e.createKey(t, alice)
	mb := e.createKey(t, bob)
	gen := func(c Caller, id string) error {
		_, err := e.k.GenerateDataKey(ctx, c, &GenerateDataKeyIn{KeyID: id, KeySpec: "AES_256"})
		return err
	}
	const msg = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
	out, err := e.k.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_256"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: out.CiphertextBlob}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, gen(alice, m.KeyID), CodeThrottling, msg)
	_, err = e.k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: out.CiphertextBlob})
	wantErr(t, err, CodeThrottling, msg)
	_, err = e.k.StreamKey(ctx, alice, m.KeyID, streamARN)
	wantKinesis(t, err, "KMSThrottlingException", msg)
	// Only data-key generation and decryption count.
	for range 10 {
		if _, err := e.k.DescribeKey(ctx, alice, m.KeyID); err != nil {
			t.Fatal(err)
		}
		if err := e.k.CheckStreamKey(ctx, alice, m.Arn, UseWrite); err != nil {
			t.Fatal(err)
		}
	}
	// The budget is per account, and refills with time.
	if err := gen(bob, mb.KeyID); err != nil {
		t.Errorf("bob throttled by alice's calls: %v", err)
	}
	e.clock.Advance(500 * time.Millisecond)
	if err := gen(alice, m.KeyID); err != nil {
		t.Errorf("after half a second at 2/s: %v", err)
	}
	wantErr(t, gen(alice, m.KeyID), CodeThrottling, msg)
	e.clock.Advance(time.Hour)
	for range 2 {
		if err := gen(alice, m.KeyID); err != nil {
			t.Errorf("burst after an idle hour: %v", err)
		}
	}
	wantErr(t, gen(alice, m.KeyID), CodeThrottling, msg)

	unlimited := e.keyring(t, func(c *Config) { c.Rate = -1 })
	for range 50 {
		if _, err := unlimited.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_256"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKinesisErrorMapping(t *testing.T) {
	for _, tt := range []struct {
		in   *Error
		code string
	}{
		{keyNotFound("k"), "KMSNotFoundException"},
		{disabled("k"), "KMSDisabledException"},
		{pendingDeletion("k"), "KMSInvalidStateException"},
		{AccessDenied("p", "kms:Decrypt", "k", false), "KMSAccessDeniedException"},
		{throttled(), "KMSThrottlingException"},
		{optInRequired(), "KMSOptInRequired"},
		{invalidArn("x"), "KMSNotFoundException"},
	} {
		wantKinesis(t, KinesisError(tt.in), tt.code, tt.in.Message())
	}
	if KinesisError(nil) != nil {
		t.Error("KinesisError(nil) != nil")
	}
	plain := errors.New("disk on fire")
	if KinesisError(plain) != plain {
		t.Error("a store error was changed")
	}
}

func TestMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	key, created, err := LoadOrCreateMasterKeyFile(path)
	if err != nil || !created || len(key) != MasterKeySize {
		t.Fatalf("create: %d bytes, created %v, %v", len(key), created, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", info.Mode(), err)
	}
	again, created, err := LoadOrCreateMasterKeyFile(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("load: created %v, %v", created, err)
	}
	raw := filepath.Join(dir, "raw.key")
	if err := os.WriteFile(raw, masterKey(3), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, _, err := LoadOrCreateMasterKeyFile(raw); err != nil || !bytes.Equal(k, masterKey(3)) {
		t.Errorf("raw key: %v", err)
	}
	spaced := filepath.Join(dir, "spaced.key")
	if err := os.WriteFile(spaced, []byte("  "+strings.Repeat("ab", 32)+"\r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, _, err := LoadOrCreateMasterKeyFile(spaced); err != nil || k[0] != 0xab {
		t.Errorf("hex key with spaces: %v", err)
	}
	for _, tt := range []struct {
		name, content, want string
	}{
		{"short.key", "abc", "holds 3 bytes; want a 32-byte key as 64 hex digits (or 32 raw bytes)"},
		{"nothex.key", strings.Repeat("zz", 32), "holds 64 characters that are not all hex digits"},
		{"empty.key", "", "holds 0 bytes"},
	} {
		p := filepath.Join(dir, tt.name)
		if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateMasterKeyFile(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if err != nil && tt.content != "" && strings.Contains(err.Error(), tt.content) {
			t.Errorf("%s: the error shows the file's content: %v", tt.name, err)
		}
	}
	if _, _, err := LoadOrCreateMasterKeyFile(filepath.Join(dir, "no", "such", "dir", "k")); err == nil || !strings.Contains(err.Error(), "create") {
		t.Errorf("missing directory: %v", err)
	}
	if os.Geteuid() != 0 {
		locked := filepath.Join(dir, "locked.key")
		if err := os.WriteFile(locked, []byte(strings.Repeat("ab", 32)), 0o000); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateMasterKeyFile(locked)
		if err == nil || !strings.Contains(err.Error(), "cannot read it") || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("unreadable file: %v", err)
		}
	}
}
