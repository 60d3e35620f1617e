package kms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"kinesisd/internal/storage"
)

// aliasPattern is the model's AliasNameType pattern; KMS refuses ':' besides (with its own message).
var aliasPattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)

// validateAliasName checks a new or deleted alias's name as KMS does, in KMS's order.
func validateAliasName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 256 {
		c := "Member must have length less than or equal to 256"
		if n < 1 {
			c = "Member must have length greater than or equal to 1"
		}
		return validation(quote(name), "aliasName", c)
	}
	if !strings.HasPrefix(name, "alias/") {
		return newErr(CodeValidation, `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return newErr(CodeNotAuthorized, "")
	}
	if strings.Contains(name, ":") {
		return newErr(CodeValidation, name+" contains invalid characters for an alias")
	}
	if !aliasPattern.MatchString(name) || name == "alias/" {
		return validation(quote(name), "aliasName", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
	}
	return nil
}

// lookupAlias reads an alias of (account, region); alias/aws/kinesis exists in every account and
// region, its key created on first use.
func (k *Keyring) lookupAlias(ctx context.Context, account, region, name string) (*aliasDoc, error) {
	if name == KinesisManagedAlias {
		return k.managedKey(ctx, account, region)
	}
	a, _, ok, err := k.readAlias(ctx, account, region, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, aliasNotFound(AliasARN(account, region, name))
	}
	return a, nil
}

func (k *Keyring) readAlias(ctx context.Context, account, region, name string) (*aliasDoc, uint64, bool, error) {
	raw, version, err := k.store.GetMeta(ctx, aliasMetaKey(account, region, name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("kms: read alias %s: %w", name, err)
	}
	a := new(aliasDoc)
	if err := json.Unmarshal(raw, a); err != nil {
		return nil, 0, false, fmt.Errorf("kms: alias document %s: %w", name, err)
	}
	return a, version, true, nil
}

// managedKey returns alias/aws/kinesis of (account, region), creating its AWS-managed key the first
// time. Front-ends racing to create it agree through the alias's compare-and-set: the loser deletes
// the key it made and takes the winner's.
func (k *Keyring) managedKey(ctx context.Context, account, region string) (*aliasDoc, error) {
	for {
		a, _, ok, err := k.readAlias(ctx, account, region, KinesisManagedAlias)
		if err != nil || ok {
			return a, err
		}
		d, err := k.newKey(ctx, account, region, managerAWS, "Default key that protects my Kinesis data when no other key is defined", kinesisManagedPolicy(account, region), nil)
		if err != nil {
			return nil, err
		}
		now := k.now().UnixMilli()
		a = &aliasDoc{V: docVersion, Name: KinesisManagedAlias, KeyID: d.KeyID, Created: now, Updated: now}
		raw, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("kms: encode alias: %w", err)
		}
		_, err = k.store.PutMeta(ctx, aliasMetaKey(account, region, KinesisManagedAlias), raw, 0)
		if err == nil {
			k.log.Info("kms AWS-managed key created", "alias", KinesisManagedAlias, "key", d.arn())
			return a, nil
		}
		// Lost the race (or failed): remove the orphan key, then read the winner's alias.
		mk := keyMetaKey(account, region, d.KeyID)
		if _, v, gerr := k.store.GetMeta(ctx, mk); gerr == nil {
			_ = k.store.DeleteMeta(ctx, mk, v)
		}
		if !errors.Is(err, storage.ErrConflict) {
			return nil, fmt.Errorf("kms: write alias %s: %w", KinesisManagedAlias, err)
		}
	}
}

// CreateAlias gives the key targetKeyID (a key id or key ARN of the caller's account, Enabled or
// Disabled) the alias name ("alias/…").
func (k *Keyring) CreateAlias(ctx context.Context, c Caller, name, targetKeyID string) error {
	if err := k.checkOptIn(c); err != nil {
		return err
	}
	if err := validateAliasName(name); err != nil {
		return err
	}
	if strings.HasPrefix(targetKeyID, "alias/") || (strings.HasPrefix(targetKeyID, "arn:") && strings.Contains(targetKeyID, ":alias/")) {
		return newErr(CodeValidation, "Aliases must refer to keys. Not aliases")
	}
	if _, _, ok, err := k.readAlias(ctx, c.Account, c.Region, name); err != nil {
		return err
	} else if ok {
		return alreadyExists(c, name)
	}
	d, err := k.resolve(ctx, c, targetKeyID, false)
	if err != nil {
		return err
	}
	if err := k.authorized(ctx, c, "kms:CreateAlias", d); err != nil {
		return err
	}
	if d.State == statePendingDeletion {
		return pendingDeletion(d.arn())
	}
	if n, err := k.countAliases(ctx, c, d.KeyID); err != nil {
		return err
	} else if n >= k.maxAlias {
		return newErr(CodeLimitExceeded, fmt.Sprintf("The number of aliases of %s would exceed its quota of %d", d.arn(), k.maxAlias))
	}
	now := k.now().UnixMilli()
	raw, err := json.Marshal(&aliasDoc{V: docVersion, Name: name, KeyID: d.KeyID, Created: now, Updated: now})
	if err != nil {
		return fmt.Errorf("kms: encode alias: %w", err)
	}
	_, err = k.store.PutMeta(ctx, aliasMetaKey(c.Account, c.Region, name), raw, 0)
	if errors.Is(err, storage.ErrConflict) {
		return alreadyExists(c, name)
	}
	if err != nil {
		return fmt.Errorf("kms: write alias %s: %w", name, err)
	}
	return nil
}

// alreadyExists: AWS names the alias by its ARN.
func alreadyExists(c Caller, name string) *Error {
	return newErr(CodeAlreadyExists, fmt.Sprintf("An alias with the name %s already exists", AliasARN(c.Account, c.Region, name)))
}

func (k *Keyring) countAliases(ctx context.Context, c Caller, keyID string) (int, error) {
	entries, err := k.store.ListMeta(ctx, aliasPrefix(c.Account, c.Region))
	if err != nil {
		return 0, fmt.Errorf("kms: list aliases: %w", err)
	}
	n := 0
	for _, e := range entries {
		var a aliasDoc
		if json.Unmarshal(e.Value, &a) == nil && a.KeyID == keyID {
			n++
		}
	}
	return n, nil
}

// DeleteAlias deletes the alias name of the caller's account and region; its key is unchanged.
func (k *Keyring) DeleteAlias(ctx context.Context, c Caller, name string) error {
	if err := k.checkOptIn(c); err != nil {
		return err
	}
	if err := validateAliasName(name); err != nil {
		return err
	}
	for {
		_, version, ok, err := k.readAlias(ctx, c.Account, c.Region, name)
		if err != nil {
			return err
		}
		if !ok {
			return aliasNotFound(AliasARN(c.Account, c.Region, name))
		}
		err = k.store.DeleteMeta(ctx, aliasMetaKey(c.Account, c.Region, name), version)
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("kms: delete alias %s: %w", name, err)
		}
		return nil
	}
}

// AliasListEntry is one alias of ListAliases. TargetKeyID is empty for alias/aws/kinesis before its
// key exists (AWS lists its predefined aliases so); the dates are zero then.
type AliasListEntry struct {
	AliasName       string
	AliasArn        string
	TargetKeyID     string
	CreationDate    time.Time
	LastUpdatedDate time.Time
}

// ListAliasesOut is ListAliases's answer.
type ListAliasesOut struct {
	Aliases    []AliasListEntry
	NextMarker string
	Truncated  bool
}

// ListAliases lists the aliases of the caller's account and region in name order (only those of
// keyID's key when keyID is set), at most limit (1 to 100; 0 means the default, 50) after marker.
func (k *Keyring) ListAliases(ctx context.Context, c Caller, keyID string, limit int, marker string) (*ListAliasesOut, error) {
	if err := k.checkOptIn(c); err != nil {
		return nil, err
	}
	limit, err := checkLimit(limit, 50, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, err
	}
	target := ""
	if keyID != "" {
		d, err := k.resolve(ctx, c, keyID, false)
		if err != nil {
			return nil, err
		}
		target = d.KeyID
	}
	entries, err := k.store.ListMeta(ctx, aliasPrefix(c.Account, c.Region))
	if err != nil {
		return nil, fmt.Errorf("kms: list aliases: %w", err)
	}
	gone, err := k.purgeExpiredIn(ctx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	var all []AliasListEntry
	managed := false
	for _, e := range entries {
		var a aliasDoc
		if err := json.Unmarshal(e.Value, &a); err != nil {
			return nil, fmt.Errorf("kms: alias document %s: %w", e.Key, err)
		}
		if gone[a.KeyID] {
			continue
		}
		managed = managed || a.Name == KinesisManagedAlias
		all = append(all, AliasListEntry{
			AliasName:       a.Name,
			AliasArn:        AliasARN(c.Account, c.Region, a.Name),
			TargetKeyID:     a.KeyID,
			CreationDate:    time.UnixMilli(a.Created).UTC(),
			LastUpdatedDate: time.UnixMilli(a.Updated).UTC(),
		})
	}
	if !managed {
		all = append(all, AliasListEntry{AliasName: KinesisManagedAlias, AliasArn: AliasARN(c.Account, c.Region, KinesisManagedAlias)})
	}
	slices.SortFunc(all, func(a, b AliasListEntry) int { return strings.Compare(a.AliasName, b.AliasName) })
	out := &ListAliasesOut{Aliases: []AliasListEntry{}}
	for _, a := range all {
		if a.AliasName <= after || (target != "" && a.TargetKeyID != target) {
			continue
		}
		if len(out.Aliases) == limit {
			out.Truncated = true
			out.NextMarker = encodeMarker(out.Aliases[len(out.Aliases)-1].AliasName)
			break
		}
		out.Aliases = append(out.Aliases, a)
	}
	return out, nil
}
