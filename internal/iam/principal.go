package iam

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Principal is the caller of a request.
type Principal struct {
	// Account is the caller's 12-digit account id.
	Account string
	// ARN is the caller's ARN: arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME,
	// arn:aws:iam::ACCOUNT:root, or an assumed-role session arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
	ARN string
}

// principals is a compiled Principal or NotPrincipal element.
type principals struct {
	not      bool
	any      bool       // "*" or {"AWS": "*"}
	accounts []string   // account ids, from "123456789012" or "arn:aws:iam::123456789012:root"
	arns     []string   // user, role and session ARNs, matched exactly
	roles    []roleName // the role ARNs again, so that a session of the role matches
	// Service, Federated and CanonicalUser principals are accepted and never match: kinesisd's callers are
	// IAM principals only.
}

type roleName struct{ partition, account, name string }

// match strengths: a resource policy Allow that names the caller's account only delegates to the account's
// identity policies; one that names the caller itself (or "*") grants by itself.
const (
	matchNone = iota
	matchAccount
	matchDirect
)

func parsePrincipals(raw json.RawMessage) (*principals, error) {
	ps := &principals{}
	var star string
	if err := unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, malformed(msgInvalidPrincipal, strconv.Quote(star))
		}
		ps.any = true
		return ps, nil
	}
	var m map[string]json.RawMessage
	if err := unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, malformed(msgInvalidPrincipal, strings.TrimSpace(string(raw)))
	}
	for _, k := range sortedKeys(m) {
		values, err := stringOrList(m[k])
		if err != nil {
			return nil, err
		}
		if len(values) == 0 {
			return nil, malformed(msgInvalidPrincipal, strconv.Quote(k)+":[]")
		}
		switch k {
		case "AWS":
			for _, val := range values {
				if err := ps.addAWS(val); err != nil {
					return nil, err
				}
			}
		case "Service", "Federated", "CanonicalUser":
			for _, val := range values {
				if val == "" || (strings.ContainsAny(val, "*?") && val != "*") {
					return nil, malformed(msgInvalidPrincipal, strconv.Quote(k)+":"+strconv.Quote(val))
				}
			}
		default:
			return nil, malformed(msgInvalidPrincipal, strconv.Quote(k)+":"+strconv.Quote(values[0]))
		}
	}
	return ps, nil
}

// addAWS adds one value of an "AWS" principal. IAM accepts "*", an account id, and the ARN of an account root,
// user, role or assumed-role session; wildcards inside a principal are refused.
func (ps *principals) addAWS(v string) error {
	bad := func() error { return malformed(msgInvalidPrincipal, `"AWS":`+strconv.Quote(v)) }
	if v == "*" {
		ps.any = true
		return nil
	}
	if strings.ContainsAny(v, "*?") {
		return bad()
	}
	if isAccountID(v) {
		ps.accounts = append(ps.accounts, v)
		return nil
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[3] != "" || !isAccountID(parts[4]) {
		return bad()
	}
	account, res := parts[4], parts[5]
	switch parts[2] {
	case "iam":
		switch {
		case res == "root":
			ps.accounts = append(ps.accounts, account)
		case strings.HasPrefix(res, "user/") && len(res) > len("user/"):
			ps.arns = append(ps.arns, v)
		case strings.HasPrefix(res, "role/") && len(res) > len("role/"):
			ps.arns = append(ps.arns, v)
			name := res[strings.LastIndexByte(res, '/')+1:]
			ps.roles = append(ps.roles, roleName{parts[1], account, name})
		default:
			return bad()
		}
	case "sts":
		if !strings.HasPrefix(res, "assumed-role/") || strings.Count(res, "/") != 2 {
			return bad()
		}
		ps.arns = append(ps.arns, v)
	default:
		return bad()
	}
	return nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// match returns how strongly ps names the caller (without regard to not).
func (ps *principals) match(p *Principal) int {
	if ps.any {
		return matchDirect
	}
	for _, a := range ps.arns {
		if a == p.ARN {
			return matchDirect
		}
	}
	if len(ps.roles) > 0 {
		if part, acct, role, ok := sessionRole(p.ARN); ok {
			for _, r := range ps.roles {
				if r.partition == part && r.account == acct && r.name == role {
					return matchDirect
				}
			}
		}
	}
	for _, a := range ps.accounts {
		if a == p.Account {
			if isRootOf(p.ARN, a) {
				return matchDirect
			}
			return matchAccount
		}
	}
	return matchNone
}

// applies returns the strength with which a statement with this Principal (or NotPrincipal) applies to p.
func (ps *principals) applies(p *Principal) int {
	m := ps.match(p)
	if !ps.not {
		return m
	}
	if m == matchNone {
		return matchDirect
	}
	return matchNone
}

// sessionRole splits arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION.
func sessionRole(arn string) (partition, account, role string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", "", "", false
	}
	partition, rest, _ = strings.Cut(rest, ":")
	rest, ok = strings.CutPrefix(rest, "sts::")
	if !ok {
		return "", "", "", false
	}
	account, rest, _ = strings.Cut(rest, ":")
	rest, ok = strings.CutPrefix(rest, "assumed-role/")
	if !ok {
		return "", "", "", false
	}
	role, _, ok = strings.Cut(rest, "/")
	return partition, account, role, ok
}

// isRootOf reports whether arn is arn:PARTITION:iam::account:root.
func isRootOf(arn, account string) bool {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return false
	}
	_, rest, _ = strings.Cut(rest, ":")
	rest, ok = strings.CutPrefix(rest, "iam::")
	return ok && len(rest) == len(account)+len(":root") && strings.HasPrefix(rest, account) && strings.HasSuffix(rest, ":root")
}
