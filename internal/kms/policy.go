package kms

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// validatePolicy checks a key policy's length (1 to 32768, the model's) and that it is a JSON object
// with a Statement.
func validatePolicy(policy string) error {
	n := utf8.RuneCountInString(policy)
	if n < 1 {
		return validation("null", "policy", "Member must not be null")
	}
	if n > 32768 {
		return validation(quote(policy), "policy", "Member must have length less than or equal to 32768")
	}
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil || len(doc.Statement) == 0 {
		return newErr(CodeMalformedPolicy, "The policy is not a JSON document with a Statement.")
	}
	return nil
}

func lockoutError() *Error {
	return newErr(CodeMalformedPolicy, "The new key policy will not allow you to update the key policy in the future.")
}

// lockoutSafe reports whether policy lets the caller call PutKeyPolicy again (AWS's lockout safety
// check).
func lockoutSafe(policy string, c Caller) bool {
	allow, deny := evaluate(policy, c, "kms:PutKeyPolicy")
	return allow && !deny
}

// authorized checks that the caller may perform action on the key d: Config.Authorize when set,
// otherwise the built-in rule: an explicit Deny of the key policy refuses anyone; the key's own
// account is allowed everything else (its IAM policies are the policy engine's business); another
// account needs an Allow of the key policy.
func (k *Keyring) authorized(ctx context.Context, c Caller, action string, d *keyDoc) error {
	if k.authorize != nil {
		return k.authorize(ctx, c, action, d.arn(), d.Policy)
	}
	allow, deny := evaluate(d.Policy, c, action)
	switch {
	case deny:
		return AccessDenied(c.principal(), action, d.arn(), true)
	case c.Account == d.Account || allow:
		return nil
	}
	return AccessDenied(c.principal(), action, d.arn(), false)
}

type policyStatement struct {
	Effect    string
	Principal json.RawMessage
	Action    json.RawMessage
	NotAction json.RawMessage
	Condition map[string]map[string]json.RawMessage
}

// evaluate reads a key policy for caller and action: allow when a statement allows it, deny when a
// statement denies it. It knows the part of the policy grammar that key policies use here:
// Principal "*" or {"AWS": ARN, account id or "*", or a list of them}, Action/NotAction with
// wildcards, and one condition key, kms:CallerAccount (StringEquals); other conditions are ignored.
// A policy it cannot read allows and denies nothing.
func evaluate(policy string, c Caller, action string) (allow, deny bool) {
	var doc struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false, false
	}
	var stmts []policyStatement
	if json.Unmarshal(doc.Statement, &stmts) != nil {
		var one policyStatement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false, false
		}
		stmts = []policyStatement{one}
	}
	for _, s := range stmts {
		if !principalMatches(s.Principal, c) || !actionMatches(s, action) || !conditionMatches(s.Condition, c) {
			continue
		}
		switch s.Effect {
		case "Allow":
			allow = true
		case "Deny":
			deny = true
		}
	}
	return allow, deny
}

// stringOrList reads a JSON string or list of strings.
func stringOrList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	return nil
}

func principalMatches(raw json.RawMessage, c Caller) bool {
	var values []string
	if s := stringOrList(raw); s != nil {
		values = s // "Principal": "*"
	} else {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return false
		}
		values = stringOrList(m["AWS"])
	}
	root := "arn:" + partition(c.Region) + ":iam::" + c.Account + ":root"
	for _, v := range values {
		if v == "*" || v == c.Account || v == root || v == c.principal() {
			return true
		}
	}
	return false
}

func actionMatches(s policyStatement, action string) bool {
	if len(s.NotAction) > 0 {
		for _, p := range stringOrList(s.NotAction) {
			if wildcardMatch(strings.ToLower(p), strings.ToLower(action)) {
				return false
			}
		}
		return true
	}
	for _, p := range stringOrList(s.Action) {
		if wildcardMatch(strings.ToLower(p), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func conditionMatches(cond map[string]map[string]json.RawMessage, c Caller) bool {
	for op, keys := range cond {
		if op != "StringEquals" {
			continue
		}
		for key, raw := range keys {
			if !strings.EqualFold(key, "kms:CallerAccount") {
				continue
			}
			found := false
			for _, v := range stringOrList(raw) {
				found = found || v == c.Account
			}
			if !found {
				return false
			}
		}
	}
	return true
}

// wildcardMatch matches s against pattern, where '*' stands for any run of characters and '?' for
// one.
func wildcardMatch(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
