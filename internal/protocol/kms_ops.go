package protocol

import (
	"context"
	"encoding/json"
	"net/http"

	"kinesisd/internal/kms"
)

// kmsOps are the KMS operations kinesisd answers, by X-Amz-Target operation name: each decodes KMS's
// input members, calls the Keyring method of the same name and writes KMS's output members. Read
// only.
var kmsOps = map[string]kmsOp{
	"CreateKey":           kmsCreateKey,
	"DescribeKey":         kmsDescribeKey,
	"ListKeys":            kmsListKeys,
	"EnableKey":           kmsKeyOnly((*kms.Keyring).EnableKey),
	"DisableKey":          kmsKeyOnly((*kms.Keyring).DisableKey),
	"ScheduleKeyDeletion": kmsScheduleKeyDeletion,
	"CancelKeyDeletion":   kmsCancelKeyDeletion,
	"CreateAlias":         kmsCreateAlias,
	"ListAliases":         kmsListAliases,
	"DeleteAlias":         kmsDeleteAlias,
	"GetKeyPolicy":        kmsGetKeyPolicy,
	"PutKeyPolicy":        kmsPutKeyPolicy,
	"GenerateDataKey":     kmsGenerateDataKey,
	"Decrypt":             kmsDecrypt,
}

func kmsValidation(msg string) *kmsError {
	return &kmsError{code: kms.CodeValidation, status: http.StatusBadRequest, msg: msg}
}

func kmsUnsupported(msg string) *kmsError {
	return &kmsError{code: kms.CodeUnsupportedOperation, status: http.StatusBadRequest, msg: msg}
}

// kmsKeyMetadata is KMS's KeyMetadata.
type kmsKeyMetadata struct {
	AWSAccountId                string
	KeyId                       string
	Arn                         string
	CreationDate                epochSeconds
	Enabled                     bool
	Description                 string
	KeyUsage                    string
	KeyState                    string
	DeletionDate                *epochSeconds `json:",omitempty"`
	PendingDeletionWindowInDays int           `json:",omitempty"`
	Origin                      string
	KeyManager                  string
	CustomerMasterKeySpec       string
	KeySpec                     string
	EncryptionAlgorithms        []string
	MultiRegion                 bool
}

type kmsKeyMetadataOut struct{ KeyMetadata kmsKeyMetadata }

func keyMetadataOut(m *kms.KeyMetadata) *kmsKeyMetadataOut {
	return &kmsKeyMetadataOut{KeyMetadata: kmsKeyMetadata{
		AWSAccountId: m.AWSAccountID, KeyId: m.KeyID, Arn: m.Arn, CreationDate: epochSeconds(m.CreationDate),
		Enabled: m.Enabled, Description: m.Description, KeyUsage: m.KeyUsage, KeyState: m.KeyState,
		DeletionDate: epochOrNil(m.DeletionDate), PendingDeletionWindowInDays: m.PendingDeletionWindowInDays,
		Origin: m.Origin, KeyManager: m.KeyManager, CustomerMasterKeySpec: m.CustomerMasterKeySpec, KeySpec: m.KeySpec,
		EncryptionAlgorithms: m.EncryptionAlgorithms, MultiRegion: m.MultiRegion,
	}}
}

func kmsCreateKey(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct {
		Policy, Description, KeyUsage, KeySpec, CustomerMasterKeySpec, Origin string
		CustomKeyStoreId, XksKeyId                                            string
		BypassPolicyLockoutSafetyCheck, MultiRegion                           bool
		Tags                                                                  []struct{ TagKey, TagValue string }
	}
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	if in.KeySpec != "" && in.CustomerMasterKeySpec != "" {
		return nil, kmsValidation("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
	}
	if in.CustomKeyStoreId != "" || in.XksKeyId != "" {
		return nil, &kmsError{code: "CustomKeyStoreNotFoundException", status: http.StatusBadRequest,
			msg: "kinesisd keeps no custom key stores: leave out CustomKeyStoreId and XksKeyId"}
	}
	tags := make([]kms.Tag, len(in.Tags))
	for i, t := range in.Tags {
		tags[i] = kms.Tag{Key: t.TagKey, Value: t.TagValue}
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	}
	m, err := k.CreateKey(ctx, c, &kms.CreateKeyIn{Description: in.Description, Policy: in.Policy, Tags: tags,
		KeySpec: spec, KeyUsage: in.KeyUsage, Origin: in.Origin, MultiRegion: in.MultiRegion,
		BypassPolicyLockoutSafetyCheck: in.BypassPolicyLockoutSafetyCheck})
	if err != nil {
		return nil, err
	}
	return keyMetadataOut(m), nil
}

// kmsKeyIn is the input of the operations that name one key.
type kmsKeyIn struct {
	KeyId       string
	GrantTokens []string
}

func kmsDescribeKey(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in kmsKeyIn
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	m, err := k.DescribeKey(ctx, c, in.KeyId)
	if err != nil {
		return nil, err
	}
	return keyMetadataOut(m), nil
}

// kmsKeyOnly is an operation that names one key and answers nothing (EnableKey, DisableKey).
func kmsKeyOnly(f func(*kms.Keyring, context.Context, kms.Caller, string) error) kmsOp {
	return func(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
		var in kmsKeyIn
		if err := decodeKMS(body, &in); err != nil {
			return nil, err
		}
		return nil, f(k, ctx, c, in.KeyId)
	}
}

// kmsPage is the input of the listing operations.
type kmsPage struct {
	KeyId  string
	Limit  int
	Marker string
}

func kmsListKeys(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in kmsPage
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	if in.Limit == 0 && hasMember(body, "Limit") {
		in.Limit = -1 // an explicit 0 is below the minimum, not the default
	}
	res, err := k.ListKeys(ctx, c, in.Limit, in.Marker)
	if err != nil {
		return nil, err
	}
	type entry struct{ KeyId, KeyArn string }
	out := struct {
		Keys       []entry
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{Keys: make([]entry, len(res.Keys)), NextMarker: res.NextMarker, Truncated: res.Truncated}
	for i, e := range res.Keys {
		out.Keys[i] = entry{e.KeyID, e.KeyArn}
	}
	return &out, nil
}

func kmsScheduleKeyDeletion(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct {
		KeyId               string
		PendingWindowInDays int
	}
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	if in.PendingWindowInDays == 0 && hasMember(body, "PendingWindowInDays") {
		in.PendingWindowInDays = -1 // an explicit 0 is below the minimum, not the default
	}
	res, err := k.ScheduleKeyDeletion(ctx, c, in.KeyId, in.PendingWindowInDays)
	if err != nil {
		return nil, err
	}
	return &struct {
		KeyId               string
		DeletionDate        epochSeconds
		KeyState            string
		PendingWindowInDays int
	}{res.KeyID, epochSeconds(res.DeletionDate), res.KeyState, res.PendingWindowInDays}, nil
}

func kmsCancelKeyDeletion(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in kmsKeyIn
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	arn, err := k.CancelKeyDeletion(ctx, c, in.KeyId)
	if err != nil {
		return nil, err
	}
	return &struct{ KeyId string }{arn}, nil
}

func kmsCreateAlias(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct{ AliasName, TargetKeyId string }
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	return nil, k.CreateAlias(ctx, c, in.AliasName, in.TargetKeyId)
}

func kmsDeleteAlias(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct{ AliasName string }
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	return nil, k.DeleteAlias(ctx, c, in.AliasName)
}

func kmsListAliases(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in kmsPage
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	if in.Limit == 0 && hasMember(body, "Limit") {
		in.Limit = -1
	}
	res, err := k.ListAliases(ctx, c, in.KeyId, in.Limit, in.Marker)
	if err != nil {
		return nil, err
	}
	type entry struct {
		AliasName       string
		AliasArn        string
		TargetKeyId     string        `json:",omitempty"`
		CreationDate    *epochSeconds `json:",omitempty"`
		LastUpdatedDate *epochSeconds `json:",omitempty"`
	}
	out := struct {
		Aliases    []entry
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{Aliases: make([]entry, len(res.Aliases)), NextMarker: res.NextMarker, Truncated: res.Truncated}
	for i, a := range res.Aliases {
		out.Aliases[i] = entry{a.AliasName, a.AliasArn, a.TargetKeyID, epochOrNil(a.CreationDate), epochOrNil(a.LastUpdatedDate)}
	}
	return &out, nil
}

func kmsGetKeyPolicy(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct{ KeyId, PolicyName string }
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	policy, err := k.GetKeyPolicy(ctx, c, in.KeyId, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &struct{ Policy, PolicyName string }{policy, "default"}, nil
}

func kmsPutKeyPolicy(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct {
		KeyId, PolicyName, Policy      string
		BypassPolicyLockoutSafetyCheck bool
	}
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	return nil, k.PutKeyPolicy(ctx, c, in.KeyId, in.PolicyName, in.Policy, in.BypassPolicyLockoutSafetyCheck)
}

// kmsCryptoIn are the members of GenerateDataKey and Decrypt that kinesisd does not support: a
// request that sets them is refused rather than answered as if they were not there.
type kmsCryptoIn struct {
	GrantTokens []string
	DryRun      bool
	Recipient   *struct{}
}

func (in *kmsCryptoIn) check() error {
	switch {
	case in.DryRun:
		return kmsUnsupported("kinesisd does not support DryRun")
	case in.Recipient != nil:
		return kmsUnsupported("kinesisd does not support Recipient (Nitro Enclaves attestation)")
	}
	return nil
}

func kmsGenerateDataKey(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct {
		KeyId             string
		KeySpec           string
		NumberOfBytes     int
		EncryptionContext map[string]string
		kmsCryptoIn
	}
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	if in.NumberOfBytes == 0 && hasMember(body, "NumberOfBytes") {
		in.NumberOfBytes = -1 // an explicit 0 is below the minimum, not absent
	}
	res, err := k.GenerateDataKey(ctx, c, &kms.GenerateDataKeyIn{KeyID: in.KeyId, KeySpec: in.KeySpec,
		NumberOfBytes: in.NumberOfBytes, EncryptionContext: in.EncryptionContext})
	if err != nil {
		return nil, err
	}
	return &struct {
		CiphertextBlob []byte
		Plaintext      []byte
		KeyId          string
	}{res.CiphertextBlob, res.Plaintext, res.KeyID}, nil
}

func kmsDecrypt(ctx context.Context, k *kms.Keyring, c kms.Caller, body []byte) (any, error) {
	var in struct {
		CiphertextBlob      []byte
		KeyId               string
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
		kmsCryptoIn
	}
	if err := decodeKMS(body, &in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	if in.EncryptionAlgorithm != "" && in.EncryptionAlgorithm != kms.KeySpecSymmetric {
		return nil, &kmsError{code: "InvalidKeyUsageException", status: http.StatusBadRequest,
			msg: "kinesisd's KMS keys are symmetric: EncryptionAlgorithm must be SYMMETRIC_DEFAULT, not " + in.EncryptionAlgorithm}
	}
	if len(in.CiphertextBlob) == 0 {
		return nil, kmsValidation("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null")
	}
	res, err := k.Decrypt(ctx, c, &kms.DecryptIn{CiphertextBlob: in.CiphertextBlob, KeyID: in.KeyId, EncryptionContext: in.EncryptionContext})
	if err != nil {
		return nil, err
	}
	return &struct {
		KeyId               string
		Plaintext           []byte
		EncryptionAlgorithm string
	}{res.KeyID, res.Plaintext, kms.KeySpecSymmetric}, nil
}

// hasMember reports whether the JSON object body sets member name (to anything but null).
func hasMember(body []byte, name string) bool {
	var m map[string]json.RawMessage
	if decodeKMS(body, &m) != nil {
		return false
	}
	v, ok := m[name]
	return ok && string(v) != "null"
}
