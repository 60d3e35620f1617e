// Package kms is kinesisd's local key management service: a keyring of symmetric KMS keys per
// (account, region), kept in the store, that answers the KMS API's key operations and wraps the data
// keys that encrypt Kinesis records at rest.
//
// # Who calls it
//
// The HTTP edge routes each TrentService.<Op> to the Keyring method of the same name (CreateKey,
// DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, CreateAlias,
// DeleteAlias, ListAliases, GetKeyPolicy, PutKeyPolicy, GenerateDataKey, Decrypt), with the Caller
// taken from the request's signature; every refusal is an *Error, which carries KMS's error code,
// HTTP status and message and satisfies kerr.Error, so the edge's one error writer writes it as it is.
//
// The Kinesis service calls StreamKey when a stream's encryption starts or its cached data key is
// due for renewal, OpenStreamKey when it needs a data key it stored before (a front-end that has not
// cached it yet), and CheckStreamKey on every PutRecord(s), GetRecords and SubscribeToShard of an
// encrypted stream, since a key's state applies at once. Those three return Kinesis's errors
// (kerr.KMSDisabled, …) with KMS's messages; KinesisError maps any other error of this package the
// same way.
//
// # Stored documents
//
// One metadata document per key and per alias, both JSON, changed only by compare-and-set:
//
//	kms/<account>/<region>/key/<key id>        keyDoc
//	kms/<account>/<region>/alias/<name>        aliasDoc (name without its "alias/" prefix)
//	kms/master-check                           a constant sealed under the master key (Verify)
//
// Every front-end of a cluster sees the same documents, and export and backups carry them (they are
// neither stream documents nor leases). The key material inside a keyDoc is sealed under the master
// key (see sealMaterial), so the documents are safe to copy but useless without the master key.
//
// # Departures from AWS
//
// A key's state applies at once: AWS's Kinesis caches data keys and may go on using a disabled key
// for up to about five minutes; here CheckStreamKey reads the key's document on every call. Key ids
// are the only key identifiers (no multi-Region keys, no custom key stores, no imported material, no
// asymmetric or HMAC keys, no grants). ScheduleKeyDeletion's window is counted in
// Config.DeletionWindowUnit (a day by default), so tests can reach a deleted key.
package kms

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"kinesisd/internal/clock"
	"kinesisd/internal/storage"
)

// MasterKeySize is the length of the master key, in bytes (AES-256).
const MasterKeySize = 32

// DefaultRate is the default KMS call budget of an account, in data-key generations and
// decryptions per second: AWS's default quota "Cryptographic operations (symmetric) request rate",
// 10,000 requests per second shared by Decrypt, Encrypt, GenerateDataKey and the other symmetric
// cryptographic operations of an account and Region (higher in some Regions; see
// https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html). AWS raised it from
// 5,500 (1,200 before August 2018).
const DefaultRate = 10000

// DefaultMaxKeys is AWS's quota of KMS keys per account and Region ("Keys": 100,000).
const DefaultMaxKeys = 100000

// DefaultMaxAliasesPerKey is AWS's quota of aliases per KMS key ("Aliases per KMS key": 50).
const DefaultMaxAliasesPerKey = 50

// Config configures a Keyring. MasterKey and Store are required.
type Config struct {
	// Store holds the keyring's documents.
	Store storage.Store
	// MasterKey (MasterKeySize bytes) seals every key's material. The Keyring keeps its own copy.
	// It is never logged.
	MasterKey []byte
	// Clock is the keyring's only source of time (default clock.Real).
	Clock clock.Clock
	// Logger receives the keyring's messages (default: discarded). Key material and the master key
	// never reach it.
	Logger *slog.Logger
	// DeletionWindowUnit is how long one day of ScheduleKeyDeletion's PendingWindowInDays lasts
	// (default 24h). Tests shrink it so that a scheduled key is deleted within the test.
	DeletionWindowUnit time.Duration
	// Rate is each account's budget of data-key generations and decryptions per second (GenerateDataKey,
	// Decrypt, StreamKey and OpenStreamKey; nothing else counts), with a burst of one second's worth.
	// 0 means DefaultRate; a negative Rate means no budget.
	Rate float64
	// OptOut lists the accounts that are not subscribed to KMS: every call of theirs is refused with
	// OptInRequired (KMSOptInRequired for Kinesis). For tests.
	OptOut []string
	// MaxKeys is the most keys an account may hold in one region (0: DefaultMaxKeys).
	MaxKeys int
	// MaxAliasesPerKey is the most aliases one key may have (0: DefaultMaxAliasesPerKey).
	MaxAliasesPerKey int
	// Authorize, when set, decides whether caller may perform action (e.g. "kms:GenerateDataKey") on
	// the key keyARN whose key policy is policy; it returns nil or the refusal (an *Error with code
	// AccessDeniedException, see AccessDenied). Nil uses the built-in rule (see authorize): the key's
	// own account may do anything its key policy does not explicitly deny, another account only what
	// the key policy allows it.
	Authorize func(ctx context.Context, caller Caller, action, keyARN, policy string) error
}

// Caller is who makes a call and where: the account and region of the request's signature, and the
// principal's ARN ("" means the account's root).
type Caller struct {
	Account   string
	Region    string
	Principal string
}

// principal returns the caller's principal ARN, the account root when none was given.
func (c Caller) principal() string {
	if c.Principal != "" {
		return c.Principal
	}
	return "arn:" + partition(c.Region) + ":iam::" + c.Account + ":root"
}

// Keyring is the KMS of one kinesisd process; many Keyrings over one store (the front-ends of a
// cluster) share its keys. It is safe for concurrent use.
type Keyring struct {
	store     storage.Store
	master    cipher.AEAD
	clock     clock.Clock
	log       *slog.Logger
	dayUnit   time.Duration
	maxKeys   int
	maxAlias  int
	optOut    map[string]bool
	authorize func(ctx context.Context, caller Caller, action, keyARN, policy string) error
	budget    *budget

	// mu guards aeads: the opened key material of each key, by key ARN. Key material never changes,
	// so an entry stays valid for the key's life (states are read from the document on every call).
	mu    sync.Mutex
	aeads map[string]cipher.AEAD
}

// New returns a Keyring over cfg.Store. It reads nothing yet: call Verify at start to check that the
// master key is the one the store's keys were sealed under.
func New(cfg Config) (*Keyring, error) {
	if cfg.Store == nil {
		return nil, errors.New("kms: no store")
	}
	if len(cfg.MasterKey) != MasterKeySize {
		return nil, fmt.Errorf("kms: master key is %d bytes, want %d", len(cfg.MasterKey), MasterKeySize)
	}
	master, err := newGCM(cfg.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("kms: master key: %w", err)
	}
	k := &Keyring{
		store:     cfg.Store,
		master:    master,
		clock:     cfg.Clock,
		log:       cfg.Logger,
		dayUnit:   cfg.DeletionWindowUnit,
		maxKeys:   cfg.MaxKeys,
		maxAlias:  cfg.MaxAliasesPerKey,
		optOut:    make(map[string]bool, len(cfg.OptOut)),
		authorize: cfg.Authorize,
		aeads:     make(map[string]cipher.AEAD),
	}
	if k.clock == nil {
		k.clock = clock.Real{}
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	if k.dayUnit <= 0 {
		k.dayUnit = 24 * time.Hour
	}
	if k.maxKeys <= 0 {
		k.maxKeys = DefaultMaxKeys
	}
	if k.maxAlias <= 0 {
		k.maxAlias = DefaultMaxAliasesPerKey
	}
	for _, a := range cfg.OptOut {
		k.optOut[a] = true
	}
	rate := cfg.Rate
	if rate == 0 {
		rate = DefaultRate
	}
	if rate > 0 {
		k.budget = newBudget(rate)
	}
	return k, nil
}

const (
	metaPrefix     = "kms/"
	masterCheckKey = "kms/master-check"
	docVersion     = 1

	stateEnabled         = "Enabled"
	stateDisabled        = "Disabled"
	statePendingDeletion = "PendingDeletion"

	managerCustomer = "CUSTOMER"
	managerAWS      = "AWS"

	// KinesisManagedAlias is the alias of the AWS-managed key Kinesis uses by default. It exists in
	// every account and region: the key behind it is created on first use.
	KinesisManagedAlias = "alias/aws/kinesis"
)

// keyDoc is a key's stored document (kms/<account>/<region>/key/<id>). Times are Unix milliseconds.
type keyDoc struct {
	V           int    `json:"v"`
	KeyID       string `json:"keyId"`
	Account     string `json:"account"`
	Region      string `json:"region"`
	Created     int64  `json:"created"`
	Description string `json:"description,omitempty"`
	State       string `json:"state"`
	Deletion    int64  `json:"deletion,omitempty"` // when a PendingDeletion key is deleted
	WindowDays  int    `json:"windowDays,omitempty"`
	Manager     string `json:"manager"`
	Policy      string `json:"policy"`
	Tags        []Tag  `json:"tags,omitempty"`
	// Material is the key's 32 bytes of AES-256 key material sealed under the master key:
	// nonce (12) || ciphertext (32) || tag (16), with the key's ARN as additional data.
	Material []byte `json:"material"`
}

// aliasDoc is an alias's stored document (kms/<account>/<region>/alias/<name without "alias/">).
type aliasDoc struct {
	V       int    `json:"v"`
	Name    string `json:"name"` // with its "alias/" prefix
	KeyID   string `json:"keyId"`
	Created int64  `json:"created"`
	Updated int64  `json:"updated"`
}

func keyPrefix(account, region string) string {
	return metaPrefix + account + "/" + region + "/key/"
}

func aliasPrefix(account, region string) string {
	return metaPrefix + account + "/" + region + "/alias/"
}

func keyMetaKey(account, region, id string) string { return keyPrefix(account, region) + id }

func aliasMetaKey(account, region, name string) string {
	return aliasPrefix(account, region) + strings.TrimPrefix(name, "alias/")
}

// partition returns the ARN partition of region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// KeyARN returns the ARN of key id in account and region.
func KeyARN(account, region, id string) string {
	return "arn:" + partition(region) + ":kms:" + region + ":" + account + ":key/" + id
}

// AliasARN returns the ARN of alias name ("alias/…") in account and region.
func AliasARN(account, region, name string) string {
	return "arn:" + partition(region) + ":kms:" + region + ":" + account + ":" + name
}

func (d *keyDoc) arn() string { return KeyARN(d.Account, d.Region, d.KeyID) }

func (k *Keyring) now() time.Time { return k.clock.Now() }

// expired reports whether d is a key whose deletion window has passed: it no longer exists.
func (k *Keyring) expired(d *keyDoc) bool {
	return d.State == statePendingDeletion && k.now().UnixMilli() >= d.Deletion
}

// loadKey reads key id of (account, region). A key whose deletion window has passed is deleted
// (with its aliases) and reported as absent: ok is false then, as for a key that never existed.
func (k *Keyring) loadKey(ctx context.Context, account, region, id string) (d *keyDoc, version uint64, ok bool, err error) {
	mk := keyMetaKey(account, region, id)
	raw, version, err := k.store.GetMeta(ctx, mk)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("kms: read key %s: %w", id, err)
	}
	d = new(keyDoc)
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, 0, false, fmt.Errorf("kms: key document %s: %w", mk, err)
	}
	if k.expired(d) {
		if err := k.purge(ctx, d, version); err != nil {
			return nil, 0, false, err
		}
		return nil, 0, false, nil
	}
	return d, version, true, nil
}

// purge deletes an expired key's document at version and every alias that points to it. Another
// front-end may be doing the same: conflicts and absences are its work done.
func (k *Keyring) purge(ctx context.Context, d *keyDoc, version uint64) error {
	err := k.store.DeleteMeta(ctx, keyMetaKey(d.Account, d.Region, d.KeyID), version)
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("kms: delete key %s: %w", d.KeyID, err)
	}
	aliases, err := k.store.ListMeta(ctx, aliasPrefix(d.Account, d.Region))
	if err != nil {
		return fmt.Errorf("kms: list aliases: %w", err)
	}
	for _, e := range aliases {
		var a aliasDoc
		if json.Unmarshal(e.Value, &a) != nil || a.KeyID != d.KeyID {
			continue
		}
		err := k.store.DeleteMeta(ctx, e.Key, e.Version)
		if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("kms: delete alias %s: %w", a.Name, err)
		}
	}
	k.log.Info("kms key deleted at the end of its pending window", "key", d.arn())
	return nil
}

// PurgeExpired deletes every key of every account whose deletion window has passed, and their
// aliases, and returns how many it deleted. Reads already treat such keys as deleted; this frees
// their documents (a server may call it now and then).
func (k *Keyring) PurgeExpired(ctx context.Context) (int, error) {
	entries, err := k.store.ListMeta(ctx, metaPrefix)
	if err != nil {
		return 0, fmt.Errorf("kms: list keys: %w", err)
	}
	n := 0
	for _, e := range entries {
		if !strings.Contains(e.Key, "/key/") {
			continue
		}
		var d keyDoc
		if json.Unmarshal(e.Value, &d) != nil || !k.expired(&d) {
			continue
		}
		if err := k.purge(ctx, &d, e.Version); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// purgeExpiredIn deletes the keys of (account, region) whose deletion window has passed and returns
// their ids.
func (k *Keyring) purgeExpiredIn(ctx context.Context, account, region string) (map[string]bool, error) {
	entries, err := k.store.ListMeta(ctx, keyPrefix(account, region))
	if err != nil {
		return nil, fmt.Errorf("kms: list keys: %w", err)
	}
	gone := map[string]bool{}
	for _, e := range entries {
		var d keyDoc
		if json.Unmarshal(e.Value, &d) != nil || !k.expired(&d) {
			continue
		}
		if err := k.purge(ctx, &d, e.Version); err != nil {
			return nil, err
		}
		gone[d.KeyID] = true
	}
	return gone, nil
}

// updateKey applies change to key d.KeyID's document under compare-and-set, reading it again after a
// conflict, and returns the document written. change sees the current document and may refuse.
func (k *Keyring) updateKey(ctx context.Context, c Caller, id string, change func(*keyDoc) error) (*keyDoc, error) {
	for {
		d, version, ok, err := k.loadKey(ctx, c.Account, c.Region, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, keyNotFound(KeyARN(c.Account, c.Region, id))
		}
		if err := change(d); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("kms: encode key %s: %w", id, err)
		}
		_, err = k.store.PutMeta(ctx, keyMetaKey(d.Account, d.Region, d.KeyID), raw, version)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kms: write key %s: %w", id, err)
		}
		return d, nil
	}
}

// checkOptIn refuses an account that is not subscribed to KMS.
func (k *Keyring) checkOptIn(c Caller) error {
	if k.optOut[c.Account] {
		return optInRequired()
	}
	return nil
}
