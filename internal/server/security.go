package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"kinesisd/internal/clock"
	"kinesisd/internal/config"
	"kinesisd/internal/iam"
	"kinesisd/internal/identity"
	"kinesisd/internal/kms"
	"kinesisd/internal/storage"
)

// errMasterKeyRequired refuses a start on NATS JetStream without -kms-master-key-file.
var errMasterKeyRequired = errors.New("-kms-master-key-file: required with NATS JetStream: every front-end must seal the KMS keys with one master key, so give each the same file (64 hex digits; created when missing)")

// openKeyring opens the KMS keyring over store, with the master key of -kms-master-key-file; without
// the flag a key is generated beside the data directory (with a warning to back it up apart) and a
// new one each start in memory, while on NATS JetStream, whose front-ends must share one, the flag is
// required.
func openKeyring(ctx context.Context, cfg *config.Config, store storage.Store, clk clock.Clock, log *slog.Logger, policies map[string]*iam.Policy) (*kms.Keyring, error) {
	var master []byte
	switch {
	case cfg.KMSMasterKeyFile != "" || (!cfg.InMemory && !cfg.IsNATS()):
		path := cfg.KMSMasterKeyFile
		if path == "" {
			path = filepath.Clean(cfg.DataDir) + ".kms-master-key"
		}
		key, created, err := kms.LoadOrCreateMasterKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("-kms-master-key-file: %w", err)
		}
		if created {
			log.Warn("generated the KMS master key: back it up apart from the data directory; without it the records of KMS-encrypted streams cannot be read", "file", path)
		}
		master = key
	case cfg.InMemory:
		master = make([]byte, kms.MasterKeySize)
		rand.Read(master)
	default:
		return nil, errMasterKeyRequired
	}
	kc := kms.Config{Store: store, MasterKey: master, Clock: clk, Logger: log,
		DeletionWindowUnit: cfg.KMSDeletionDay, Rate: float64(cfg.KMSRate), OptOut: cfg.KMSOptOut}
	if policies != nil {
		kc.Authorize = keyAuthorizer(policies)
	}
	keys, err := kms.New(kc)
	clear(master)
	if err != nil {
		return nil, err
	}
	if err := keys.Verify(ctx); err != nil {
		return nil, fmt.Errorf("-kms-master-key-file: %w", err)
	}
	return keys, nil
}

// loadPolicies reads -policies: a JSON object mapping principal names of the credentials file to their
// identity policies, returned by principal ARN.
func loadPolicies(path string, keys identity.Keys) (map[string]*iam.Policy, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-policies: %w", err)
	}
	var docs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &docs); err != nil {
		return nil, fmt.Errorf("-policies: %s is not a JSON object of principal names and policies: %w", path, err)
	}
	arns := make(map[string]string) // principal name → ARN
	for _, k := range keys {
		if k.Principal != "" {
			arns[k.Principal] = k.ARN()
		}
	}
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]*iam.Policy, len(docs))
	for _, name := range names {
		arn, ok := arns[name]
		if !ok {
			return nil, fmt.Errorf("-policies: %q is not a principal of -credentials", name)
		}
		p, err := iam.Parse(docs[name], iam.Identity)
		if err != nil {
			return nil, fmt.Errorf("-policies: the policy of %s: %w", name, err)
		}
		out[arn] = p
	}
	return out, nil
}

// keyAuthorizer decides the use of KMS keys with -policies: the caller's identity policy (or the
// implicit allow of its own account) and the key's policy, as IAM evaluates them (internal/iam).
func keyAuthorizer(policies map[string]*iam.Policy) func(ctx context.Context, c kms.Caller, action, keyARN, policy string) error {
	var compiled sync.Map // key policy document → *iam.Policy (nil: does not parse)
	return func(_ context.Context, c kms.Caller, action, keyARN, policy string) error {
		principal := c.Principal
		if principal == "" {
			principal = identity.RootARN(c.Account)
		}
		ident := policies[principal]
		if ident == nil {
			ident = iam.DefaultIdentity()
		}
		var kp *iam.Policy
		if v, ok := compiled.Load(policy); ok {
			kp = v.(*iam.Policy)
		} else {
			kp, _ = iam.Parse([]byte(policy), iam.Resource)
			compiled.Store(policy, kp)
		}
		req := &iam.Request{Action: action, Resource: keyARN, Principal: iam.Principal{Account: c.Account, ARN: principal}}
		d := iam.Evaluate(req, ident, kp)
		if d.Allowed() {
			return nil
		}
		if d.By == iam.Identity {
			return kms.Denied(d.Message(req))
		}
		return kms.AccessDenied(principal, action, keyARN, d.Effect == iam.ExplicitDeny)
	}
}
