package kms

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/kerr"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
)

var (
	alice   = Caller{Account: "111122223333", Region: "us-east-1"}
	bob     = Caller{Account: "444455556666", Region: "us-east-1"}
	aliceEU = Caller{Account: "111122223333", Region: "eu-west-1"}
	t0      = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
)

func openStore(t *testing.T) storage.Store {
	t.Helper()
	s, err := pebble.Open(pebble.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func masterKey(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeySize) }

type env struct {
	k     *Keyring
	store storage.Store
	clock *clock.Fake
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{store: openStore(t), clock: clock.NewFake(t0)}
	e.k = e.keyring(t, mod)
	return e
}

// keyring returns another Keyring over the env's store and clock (another front-end).
func (e *env) keyring(t *testing.T, mod func(*Config)) *Keyring {
	t.Helper()
	cfg := Config{Store: e.store, MasterKey: masterKey(7), Clock: e.clock, DeletionWindowUnit: time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (e *env) createKey(t *testing.T, c Caller) *KeyMetadata {
	t.Helper()
	m, err := e.k.CreateKey(t.Context(), c, &CreateKeyIn{Description: "test key"})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return m
}

// wantErr checks that err is a KMS *Error with code and message.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want %s: %s", err, code, msg)
	}
	if e.Code() != code || e.Message() != msg {
		t.Fatalf("error = %s: %q\nwant    %s: %q", e.Code(), e.Message(), code, msg)
	}
}

// wantKinesis checks that err is the kerr error with code and message.
func wantKinesis(t *testing.T, err error, code, msg string) {
	t.Helper()
	var e kerr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want %s: %s", err, code, msg)
	}
	if e.Code() != code || e.Message() != msg {
		t.Fatalf("error = %s: %q\nwant    %s: %q", e.Code(), e.Message(), code, msg)
	}
	var ke *Error
	if errors.As(err, &ke) {
		t.Fatalf("Kinesis error is a KMS *Error: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	s := openStore(t)
	if _, err := New(Config{Store: s, MasterKey: make([]byte, 16)}); err == nil || !strings.Contains(err.Error(), "16 bytes, want 32") {
		t.Errorf("short master key: %v", err)
	}
	if _, err := New(Config{MasterKey: masterKey(1)}); err == nil {
		t.Error("no store: no error")
	}
}

func TestCreateAndDescribeKey(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	m, err := e.k.CreateKey(ctx, alice, &CreateKeyIn{Description: "orders", Tags: []Tag{{"team", "data"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !validKeyID(m.KeyID) {
		t.Errorf("KeyID %q is not a UUID", m.KeyID)
	}
	want := KeyMetadata{
		AWSAccountID: "111122223333", KeyID: m.KeyID,
		Arn:          "arn:aws:kms:us-east-1:111122223333:key/" + m.KeyID,
		CreationDate: t0, Enabled: true, Description: "orders", KeyUsage: "ENCRYPT_DECRYPT", KeyState: "Enabled",
		Origin: "AWS_KMS", KeyManager: "CUSTOMER", CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", KeySpec: "SYMMETRIC_DEFAULT",
		EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"},
	}
	checkMeta(t, m, &want)
	for _, ref := range []string{m.KeyID, strings.ToUpper(m.KeyID), m.Arn} {
		got, err := e.k.DescribeKey(ctx, alice, ref)
		if err != nil {
			t.Fatalf("DescribeKey(%s): %v", ref, err)
		}
		checkMeta(t, got, &want)
	}
	if err := e.k.CreateAlias(ctx, alice, "alias/orders", m.KeyID); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"alias/orders", "arn:aws:kms:us-east-1:111122223333:alias/orders"} {
		got, err := e.k.DescribeKey(ctx, alice, ref)
		if err != nil {
			t.Fatalf("DescribeKey(%s): %v", ref, err)
		}
		checkMeta(t, got, &want)
	}
	policy, err := e.k.GetKeyPolicy(ctx, alice, m.KeyID, "default")
	if err != nil {
		t.Fatal(err)
	}
	if policy != DefaultKeyPolicy("111122223333", "us-east-1") || !strings.Contains(policy, `"AWS" : "arn:aws:iam::111122223333:root"`) || !strings.Contains(policy, `"Action" : "kms:*"`) {
		t.Errorf("default policy = %s", policy)
	}
	// Regions and partitions are kept apart.
	if _, err := e.k.DescribeKey(ctx, aliceEU, m.KeyID); err == nil {
		t.Error("key of us-east-1 found in eu-west-1")
	}
	cn := Caller{Account: "111122223333", Region: "cn-north-1"}
	mc := e.createKey(t, cn)
	if !strings.HasPrefix(mc.Arn, "arn:aws-cn:kms:cn-north-1:111122223333:key/") {
		t.Errorf("China ARN = %s", mc.Arn)
	}
}

func checkMeta(t *testing.T, got, want *KeyMetadata) {
	t.Helper()
	g, w := *got, *want
	if !g.CreationDate.Equal(w.CreationDate) || !g.DeletionDate.Equal(w.DeletionDate) {
		t.Errorf("dates = %v, %v; want %v, %v", g.CreationDate, g.DeletionDate, w.CreationDate, w.DeletionDate)
	}
	g.CreationDate, w.CreationDate, g.DeletionDate, w.DeletionDate = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if strings.Join(g.EncryptionAlgorithms, ",") != strings.Join(w.EncryptionAlgorithms, ",") {
		t.Errorf("EncryptionAlgorithms = %v, want %v", g.EncryptionAlgorithms, w.EncryptionAlgorithms)
	}
	g.EncryptionAlgorithms, w.EncryptionAlgorithms = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("metadata =\n%+v\nwant\n%+v", g, w)
	}
}

func TestCreateKeyRefusals(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxKeys = 2 })
	long := strings.Repeat("x", 8193)
	tags51 := make([]Tag, 51)
	for i := range tags51 {
		tags51[i] = Tag{Key: "k" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Value: "v"}
	}
	tests := []struct {
		name      string
		in        CreateKeyIn
		code, msg string
	}{
		{"description too long", CreateKeyIn{Description: long}, CodeValidation, "1 validation error detected: Value '" + long + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"},
		{"asymmetric key", CreateKeyIn{KeySpec: "RSA_2048"}, CodeUnsupportedOperation, "kinesisd keeps only symmetric encryption keys of its own (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT, Origin AWS_KMS), not keySpec RSA_2048"},
		{"unknown key spec", CreateKeyIn{KeySpec: "AES"}, CodeValidation, "1 validation error detected: Value 'AES' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [" + strings.Join(keySpecs, ", ") + "]"},
		{"signing key", CreateKeyIn{KeyUsage: "SIGN_VERIFY"}, CodeUnsupportedOperation, "kinesisd keeps only symmetric encryption keys of its own (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT, Origin AWS_KMS), not keyUsage SIGN_VERIFY"},
		{"external origin", CreateKeyIn{Origin: "EXTERNAL"}, CodeUnsupportedOperation, "kinesisd keeps only symmetric encryption keys of its own (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT, Origin AWS_KMS), not origin EXTERNAL"},
		{"multi-Region", CreateKeyIn{MultiRegion: true}, CodeUnsupportedOperation, "kinesisd does not keep multi-Region keys"},
		{"too many tags", CreateKeyIn{Tags: tags51}, CodeTag, "Too many tags"},
		{"aws: tag", CreateKeyIn{Tags: []Tag{{"aws:x", "1"}}}, CodeTag, "Tags beginning with aws: are reserved"},
		{"duplicate tags", CreateKeyIn{Tags: []Tag{{"a", "1"}, {"a", "2"}}}, CodeTag, "Duplicate tag keys"},
		{"empty tag key", CreateKeyIn{Tags: []Tag{{"", "1"}}}, CodeValidation, "1 validation error detected: Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long tag value", CreateKeyIn{Tags: []Tag{{"a", "1"}, {"b", strings.Repeat("v", 257)}}}, CodeValidation, "1 validation error detected: Value '" + strings.Repeat("v", 257) + "' at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"policy not JSON", CreateKeyIn{Policy: "{"}, CodeMalformedPolicy, "The policy is not a JSON document with a Statement."},
		{"policy that locks out", CreateKeyIn{Policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"kms:*"}]}`}, CodeMalformedPolicy, "The new key policy will not allow you to update the key policy in the future."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.k.CreateKey(t.Context(), alice, &tt.in)
			wantErr(t, err, tt.code, tt.msg)
		})
	}
	// The lockout check can be bypassed, as on AWS.
	if _, err := e.k.CreateKey(t.Context(), alice, &CreateKeyIn{Policy: tests[len(tests)-1].in.Policy, BypassPolicyLockoutSafetyCheck: true}); err != nil {
		t.Errorf("bypassed lockout check: %v", err)
	}
	e.createKey(t, alice)
	_, err := e.k.CreateKey(t.Context(), alice, &CreateKeyIn{})
	wantErr(t, err, CodeLimitExceeded, "Key quota for this account in this region is 2 but the current number of keys is 2")
	e.createKey(t, bob) // the quota is per account
}

func TestKeyReferenceRefusals(t *testing.T) {
	e := newEnv(t, nil)
	m := e.createKey(t, alice)
	missing := "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	tests := []struct {
		ref       string
		code, msg string
	}{
		{"", CodeValidation, "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{"not-a-key", CodeNotFound, "Invalid keyId not-a-key"},
		{missing, CodeNotFound, "Key 'arn:aws:kms:us-east-1:111122223333:key/" + missing + "' does not exist"},
		{"arn:aws:kms:us-east-1:111122223333:key/" + missing, CodeNotFound, "Key 'arn:aws:kms:us-east-1:111122223333:key/" + missing + "' does not exist"},
		{"arn:aws:kms:eu-west-1:111122223333:key/" + m.KeyID, CodeNotFound, "Invalid arn eu-west-1"},
		{"arn:aws:kinesis:us-east-1:111122223333:stream/x", CodeInvalidArn, "Invalid arn arn:aws:kinesis:us-east-1:111122223333:stream/x"},
		{"arn:aws:kms:us-east-1:111122223333:grant/x", CodeInvalidArn, "Invalid arn arn:aws:kms:us-east-1:111122223333:grant/x"},
		{"arn:aws:kms:us-east-1:111122223333:key/nope", CodeInvalidArn, "Invalid arn arn:aws:kms:us-east-1:111122223333:key/nope"},
		{"alias/none", CodeNotFound, "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found."},
		{"arn:aws:kms:us-east-1:111122223333:alias/none", CodeNotFound, "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found."},
		{strings.Repeat("k", 2049), CodeValidation, "1 validation error detected: Value '" + strings.Repeat("k", 2049) + "' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.ref[:min(len(tt.ref), 40)], func(t *testing.T) {
			_, err := e.k.DescribeKey(t.Context(), alice, tt.ref)
			wantErr(t, err, tt.code, tt.msg)
		})
	}
}

func TestKeyStateMachine(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	m := e.createKey(t, alice)
	arn := m.Arn
	state := func(want string, enabled bool) {
		t.Helper()
		got, err := e.k.DescribeKey(ctx, alice, m.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		if got.KeyState != want || got.Enabled != enabled {
			t.Fatalf("state = %s (enabled %v), want %s (enabled %v)", got.KeyState, got.Enabled, want, enabled)
		}
	}
	gen := func() error {
		_, err := e.k.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_256"})
		return err
	}

	// Enabled → Disabled → Enabled; the operations are idempotent, as on AWS.
	if err := e.k.DisableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	if err := e.k.DisableKey(ctx, alice, arn); err != nil {
		t.Fatal(err)
	}
	state("Disabled", false)
	wantErr(t, gen(), CodeDisabled, arn+" is disabled.")
	if err := e.k.EnableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	if err := e.k.EnableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	state("Enabled", true)
	if err := gen(); err != nil {
		t.Fatal(err)
	}
	_, err := e.k.CancelKeyDeletion(ctx, alice, m.KeyID)
	wantErr(t, err, CodeInvalidState, arn+" is not pending deletion.")

	// PendingDeletion → CancelKeyDeletion → Disabled.
	for _, tt := range []struct {
		days      int
		code, msg string
	}{
		{6, CodeValidation, "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7"},
		{31, CodeValidation, "1 validation error detected: Value '31' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 30"},
		{-1, CodeValidation, "1 validation error detected: Value '-1' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{366, CodeValidation, "1 validation error detected: Value '366' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365"},
	} {
		_, err := e.k.ScheduleKeyDeletion(ctx, alice, m.KeyID, tt.days)
		wantErr(t, err, tt.code, tt.msg)
	}
	out, err := e.k.ScheduleKeyDeletion(ctx, alice, m.KeyID, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantDel := t0.Add(30 * time.Minute) // 30 "days" of one minute
	if out.KeyID != arn || out.KeyState != "PendingDeletion" || out.PendingWindowInDays != 30 || !out.DeletionDate.Equal(wantDel) {
		t.Errorf("ScheduleKeyDeletion = %+v", out)
	}
	got, _ := e.k.DescribeKey(ctx, alice, m.KeyID)
	if got.KeyState != "PendingDeletion" || got.Enabled || !got.DeletionDate.Equal(wantDel) {
		t.Errorf("pending key = %+v", got)
	}
	wantErr(t, gen(), CodeInvalidState, arn+" is pending deletion.")
	_, err = e.k.ScheduleKeyDeletion(ctx, alice, m.KeyID, 7)
	wantErr(t, err, CodeInvalidState, arn+" is pending deletion.")
	wantErr(t, e.k.EnableKey(ctx, alice, m.KeyID), CodeInvalidState, arn+" is pending deletion.")
	wantErr(t, e.k.DisableKey(ctx, alice, m.KeyID), CodeInvalidState, arn+" is pending deletion.")
	wantErr(t, e.k.CreateAlias(ctx, alice, "alias/late", m.KeyID), CodeInvalidState, arn+" is pending deletion.")
	if _, err := e.k.GetKeyPolicy(ctx, alice, m.KeyID, ""); err != nil {
		t.Errorf("GetKeyPolicy of a pending key: %v", err)
	}
	cancelled, err := e.k.CancelKeyDeletion(ctx, alice, m.KeyID)
	if err != nil || cancelled != arn {
		t.Fatalf("CancelKeyDeletion = %q, %v", cancelled, err)
	}
	state("Disabled", false)
	if got, _ := e.k.DescribeKey(ctx, alice, m.KeyID); !got.DeletionDate.IsZero() {
		t.Errorf("DeletionDate after cancel = %v", got.DeletionDate)
	}

	// The window passes: the key and its aliases are gone.
	if err := e.k.CreateAlias(ctx, alice, "alias/doomed", m.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.k.ScheduleKeyDeletion(ctx, alice, m.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(7*time.Minute - time.Millisecond)
	state("PendingDeletion", false)
	e.clock.Advance(time.Millisecond)
	_, err = e.k.DescribeKey(ctx, alice, m.KeyID)
	wantErr(t, err, CodeNotFound, "Key '"+arn+"' does not exist")
	wantErr(t, e.k.EnableKey(ctx, alice, arn), CodeNotFound, "Key '"+arn+"' does not exist")
	_, err = e.k.DescribeKey(ctx, alice, "alias/doomed")
	wantErr(t, err, CodeNotFound, "Alias arn:aws:kms:us-east-1:111122223333:alias/doomed is not found.")
	list, err := e.k.ListKeys(ctx, alice, 0, "")
	if err != nil || len(list.Keys) != 0 {
		t.Errorf("ListKeys after deletion = %+v, %v", list, err)
	}
}

func TestDeletedKeyIsPurgedEverywhere(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	m := e.createKey(t, alice)
	if err := e.k.CreateAlias(ctx, alice, "alias/a", m.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.k.ScheduleKeyDeletion(ctx, alice, m.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(8 * time.Minute)
	aliases, err := e.k.ListAliases(ctx, alice, "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aliases.Aliases {
		if a.AliasName == "alias/a" {
			t.Errorf("alias of a deleted key listed: %+v", a)
		}
	}
	if n, err := e.k.PurgeExpired(ctx); err != nil || n != 0 {
		t.Errorf("PurgeExpired after ListAliases purged = %d, %v", n, err)
	}
	left, _ := e.store.ListMeta(ctx, "kms/111122223333/")
	if len(left) != 0 {
		t.Errorf("documents left: %v", left)
	}

	m2 := e.createKey(t, bob)
	if _, err := e.k.ScheduleKeyDeletion(ctx, bob, m2.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(7 * time.Minute)
	if n, err := e.k.PurgeExpired(ctx); err != nil || n != 1 {
		t.Errorf("PurgeExpired = %d, %v, want 1", n, err)
	}
}

func TestListKeysPaging(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	want := map[string]bool{}
	for range 5 {
		want[e.createKey(t, alice).KeyID] = true
	}
	e.createKey(t, bob)
	e.createKey(t, aliceEU)
	var got []string
	marker := ""
	for pages := 0; ; pages++ {
		out, err := e.k.ListKeys(ctx, alice, 2, marker)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range out.Keys {
			if k.KeyArn != KeyARN("111122223333", "us-east-1", k.KeyID) {
				t.Errorf("KeyArn %s", k.KeyArn)
			}
			got = append(got, k.KeyID)
		}
		if !out.Truncated {
			if out.NextMarker != "" || pages != 2 {
				t.Errorf("last page: marker %q after %d pages", out.NextMarker, pages)
			}
			break
		}
		marker = out.NextMarker
	}
	if len(got) != 5 {
		t.Fatalf("listed %v", got)
	}
	for i, id := range got {
		if !want[id] || (i > 0 && got[i-1] >= id) {
			t.Errorf("listing %v: not the keys in id order", got)
		}
	}
	for _, tt := range []struct {
		limit     int
		marker    string
		code, msg string
	}{
		{-1, "", CodeValidation, "1 validation error detected: Value '-1' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{1001, "", CodeValidation, "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"},
		{10, "!!", CodeInvalidMarker, "Invalid marker !!"},
	} {
		_, err := e.k.ListKeys(ctx, alice, tt.limit, tt.marker)
		wantErr(t, err, tt.code, tt.msg)
	}
}

func TestKeyPolicies(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	m := e.createKey(t, alice)
	_, err := e.k.GetKeyPolicy(ctx, alice, m.KeyID, "other")
	wantErr(t, err, CodeNotFound, "No such policy exists")
	wantErr(t, e.k.PutKeyPolicy(ctx, alice, m.KeyID, "other", DefaultKeyPolicy(alice.Account, alice.Region), false), CodeNotFound, "No such policy exists")
	wantErr(t, e.k.PutKeyPolicy(ctx, alice, m.KeyID, "", "[]", false), CodeMalformedPolicy, "The policy is not a JSON document with a Statement.")
	wantErr(t, e.k.PutKeyPolicy(ctx, alice, m.KeyID, "", "", false), CodeValidation, "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null")
	lockout := `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Describe*"}}`
	wantErr(t, e.k.PutKeyPolicy(ctx, alice, m.KeyID, "", lockout, false), CodeMalformedPolicy, "The new key policy will not allow you to update the key policy in the future.")

	// A policy that lets bob generate data keys, and denies alice's principal carol decryption.
	policy := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":"kms:*","Resource":"*"},
	  {"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":["kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"},
	  {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/carol"},"Action":"kms:Decrypt","Resource":"*"}]}`
	if err := e.k.PutKeyPolicy(ctx, alice, m.Arn, "default", policy, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.k.GetKeyPolicy(ctx, alice, m.KeyID, ""); got != policy {
		t.Errorf("policy = %s", got)
	}
	bobAt := Caller{Account: bob.Account, Region: bob.Region, Principal: "arn:aws:iam::444455556666:user/bob"}
	out, err := e.k.GenerateDataKey(ctx, bobAt, &GenerateDataKeyIn{KeyID: m.Arn, KeySpec: "AES_256"})
	if err != nil {
		t.Fatalf("cross-account GenerateDataKey allowed by the key policy: %v", err)
	}
	_, err = e.k.Decrypt(ctx, bobAt, &DecryptIn{CiphertextBlob: out.CiphertextBlob})
	wantErr(t, err, CodeAccessDenied, "User: arn:aws:iam::444455556666:user/bob is not authorized to perform: kms:Decrypt on resource: "+m.Arn+" because no resource-based policy allows the kms:Decrypt action")
	carol := Caller{Account: alice.Account, Region: alice.Region, Principal: "arn:aws:iam::111122223333:user/carol"}
	_, err = e.k.Decrypt(ctx, carol, &DecryptIn{CiphertextBlob: out.CiphertextBlob})
	wantErr(t, err, CodeAccessDenied, "User: arn:aws:iam::111122223333:user/carol is not authorized to perform: kms:Decrypt on resource: "+m.Arn+" with an explicit deny in a resource-based policy")
	if _, err := e.k.Decrypt(ctx, alice, &DecryptIn{CiphertextBlob: out.CiphertextBlob}); err != nil {
		t.Errorf("owner Decrypt: %v", err)
	}
	// Management stays in the key's account, whatever the policy says.
	wantErr(t, e.k.DisableKey(ctx, bobAt, m.Arn), CodeNotFound, "Key '"+m.Arn+"' does not exist")
	// Config.Authorize replaces the built-in rule.
	k2 := e.keyring(t, func(c *Config) {
		c.Authorize = func(_ context.Context, c Caller, action, keyARN, _ string) error {
			return AccessDenied(c.principal(), action, keyARN, false)
		}
	})
	_, err = k2.DescribeKey(ctx, alice, m.KeyID)
	wantErr(t, err, CodeAccessDenied, "User: arn:aws:iam::111122223333:root is not authorized to perform: kms:DescribeKey on resource: "+m.Arn+" because no resource-based policy allows the kms:DescribeKey action")
}

func TestWildcardMatch(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"kms:*", "kms:decrypt", true},
		{"*", "kms:decrypt", true},
		{"kms:generatedatakey*", "kms:generatedatakey", true},
		{"kms:generatedatakey*", "kms:decrypt", false},
		{"kms:?ecrypt", "kms:decrypt", true},
		{"kms:describe*", "kms:describekey", true},
		{"kms:*key", "kms:enablekey", true},
		{"kms:*key", "kms:decrypt", false},
		{"", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	} {
		if got := wildcardMatch(tt.p, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tt.p, tt.s, got)
		}
	}
}

func TestOptOut(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.OptOut = []string{bob.Account} })
	ctx := t.Context()
	const msg = "The AWS Access Key Id needs a subscription for the service"
	_, err := e.k.CreateKey(ctx, bob, &CreateKeyIn{})
	wantErr(t, err, CodeOptInRequired, msg)
	var ke *Error
	if errors.As(err, &ke) && ke.HTTPStatus() != 403 {
		t.Errorf("OptInRequired status %d", ke.HTTPStatus())
	}
	_, err = e.k.GenerateDataKey(ctx, bob, &GenerateDataKeyIn{KeyID: KinesisManagedAlias, KeySpec: "AES_256"})
	wantErr(t, err, CodeOptInRequired, msg)
	_, err = e.k.StreamKey(ctx, bob, KinesisManagedAlias, "arn:aws:kinesis:us-east-1:444455556666:stream/s")
	wantKinesis(t, err, "KMSOptInRequired", msg)
	wantKinesis(t, e.k.CheckStreamKey(ctx, bob, "arn:aws:kms:us-east-1:444455556666:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", UseWrite), "KMSOptInRequired", msg)
	e.createKey(t, alice)
}

func TestTwoKeyringsShareTheStore(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	other := e.keyring(t, nil)
	m := e.createKey(t, alice)
	if err := e.k.CreateAlias(ctx, alice, "alias/shared", m.KeyID); err != nil {
		t.Fatal(err)
	}
	got, err := other.DescribeKey(ctx, alice, "alias/shared")
	if err != nil || got.KeyID != m.KeyID {
		t.Fatalf("other front-end: %+v, %v", got, err)
	}
	// A data key from one front-end opens on the other; a state change on one applies at once on both.
	dk, err := e.k.StreamKey(ctx, alice, "alias/shared", "arn:aws:kinesis:us-east-1:111122223333:stream/s")
	if err != nil {
		t.Fatal(err)
	}
	dk2, err := other.OpenStreamKey(ctx, alice, dk.Blob(), "arn:aws:kinesis:us-east-1:111122223333:stream/s")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := dk2.Open(dk.Seal([]byte("record"))); err != nil || string(p) != "record" {
		t.Fatalf("Open on the other front-end = %q, %v", p, err)
	}
	if err := other.DisableKey(ctx, alice, m.KeyID); err != nil {
		t.Fatal(err)
	}
	wantKinesis(t, e.k.CheckStreamKey(ctx, alice, dk.KeyARN(), UseWrite), "KMSDisabledException", m.Arn+" is disabled.")
	// Both create alias/aws/kinesis at once: one key wins, both see it.
	var ids [2]string
	errs := make(chan error, 2)
	for i, k := range []*Keyring{e.k, other} {
		go func() {
			m, err := k.DescribeKey(ctx, bob, KinesisManagedAlias)
			if err == nil {
				ids[i] = m.KeyID
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if ids[0] != ids[1] {
		t.Errorf("alias/aws/kinesis resolves to %s and %s", ids[0], ids[1])
	}
	keys, _ := other.ListKeys(ctx, bob, 0, "")
	if len(keys.Keys) != 1 {
		t.Errorf("bob's keys after the race: %+v (an orphan was left)", keys.Keys)
	}
}

func TestMasterKeyVerify(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	if err := e.k.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.keyring(t, nil).Verify(ctx); err != nil {
		t.Fatalf("same master key: %v", err)
	}
	m := e.createKey(t, alice)
	wrong := e.keyring(t, func(c *Config) { c.MasterKey = masterKey(8) })
	if err := wrong.Verify(ctx); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("Verify with a wrong master key: %v", err)
	}
	// Metadata still reads, but the key material does not open.
	if _, err := wrong.DescribeKey(ctx, alice, m.KeyID); err != nil {
		t.Errorf("DescribeKey: %v", err)
	}
	_, err := wrong.GenerateDataKey(ctx, alice, &GenerateDataKeyIn{KeyID: m.KeyID, KeySpec: "AES_256"})
	if !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("GenerateDataKey with a wrong master key: %v", err)
	}
	// The stored document holds no plaintext material: the material field is 60 sealed bytes.
	raw, _, _ := e.store.GetMeta(ctx, keyMetaKey(alice.Account, alice.Region, m.KeyID))
	if !strings.Contains(string(raw), `"material":"`) {
		t.Errorf("document: %s", raw)
	}
}
