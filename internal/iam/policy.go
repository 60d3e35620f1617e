// Package iam parses IAM JSON policy documents into compiled policies and evaluates requests against them as
// AWS does for Kinesis: identity and resource policies, explicit deny first, cross-account needing both.
package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of a policy document: it decides whether Principal is required or prohibited, and it
// names the policy type in AccessDeniedException messages.
type Kind uint8

const (
	// Identity is an identity-based policy, attached to a principal (the -policies file). It has no Principal.
	Identity Kind = iota + 1
	// Resource is a resource-based policy, attached to a stream or consumer (PutResourcePolicy). Each of its
	// statements names a Principal or NotPrincipal.
	Resource
)

// String is the policy type as AWS's access-denied messages spell it.
func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity-based"
	case Resource:
		return "resource-based"
	}
	return "unknown"
}

// Policy is a parsed and compiled policy document. It is immutable and safe for concurrent use.
type Policy struct {
	kind    Kind
	version string
	id      string
	stmts   []statement
}

// Kind returns the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Version returns the document's Version ("2012-10-17" or "2008-10-17"; "2008-10-17" when absent, as IAM reads it).
func (p *Policy) Version() string { return p.version }

// ID returns the document's Id element, "" when absent.
func (p *Policy) ID() string { return p.id }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.stmts) }

// statement is one compiled Statement.
type statement struct {
	sid         string
	deny        bool
	notAction   bool
	actions     []pattern // lower-cased, matched case-insensitively
	notResource bool
	resources   []pattern // matched case-sensitively
	principal   *principals
	conds       []condition
}

// MalformedError is a policy document that IAM would refuse. Message is worded like IAM's
// MalformedPolicyDocument messages; the caller chooses the error code that carries it (IAM's
// MalformedPolicyDocument, or Kinesis's InvalidArgumentException for PutResourcePolicy).
type MalformedError struct {
	Message string
}

func (e *MalformedError) Error() string { return e.Message }

func malformed(format string, args ...any) error {
	return &MalformedError{Message: fmt.Sprintf(format, args...)}
}

// The messages below are IAM's own, as IAM returns them in MalformedPolicyDocument errors and as users have
// quoted them (terraform-provider-aws, aws-cdk, localstack, boto issues; the re:Post article "Has prohibited
// field Principal"). Where no IAM wording could be found, the message follows the same style and says so.
const (
	msgSyntax            = "Syntax errors in policy."                 // invalid JSON, wrong element types
	msgLegacyParsing     = "The policy failed legacy parsing"         // unknown Version
	msgMissingStatement  = "Missing required field Statement"         //
	msgMissingEffect     = "Missing required field Effect"            //
	msgMissingPrincipal  = "Missing required field Principal"         // resource policy statement without one
	msgProhibitedPrinc   = "Has prohibited field Principal"           // identity policy with Principal/NotPrincipal
	msgNoActions         = "Policy statement must contain actions."   //
	msgNoResources       = "Policy statement must contain resources." //
	msgVendorPrefix      = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon          = "Actions/Condition can contain only one colon."                    //
	msgVendorWildcard    = "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards" //
	msgResourceFormat    = "Resource %s must be in ARN format or \"*\"."                      //
	msgInvalidPrincipal  = "Invalid principal in policy: %s"                                  // e.g. `"AWS":"foo"`
	msgInvalidCondType   = "Invalid Condition type : %s"                                      //
	msgDuplicateSid      = "Statement IDs (SID) in a single policy must be unique."           //
	msgBothElements      = "Policy statement must not contain both %s and %s."                // our wording
	msgInvalidEffect     = "Invalid effect: %s"                                               // our wording
	msgUnknownElement    = "Policy statement contains unknown element %s."                    // our wording
	msgConditionValue    = "Invalid Condition value for %s: %s"                               // our wording
	msgEmptyConditionKey = "Condition key must not be empty."                                 // our wording
)

// Parse parses and compiles an IAM JSON policy document of the given kind. A document IAM would refuse gives a
// *MalformedError.
func Parse(doc []byte, kind Kind) (*Policy, error) {
	if kind != Identity && kind != Resource {
		return nil, fmt.Errorf("iam: parse: unknown policy kind %d", kind)
	}
	var top map[string]json.RawMessage
	if err := unmarshal(doc, &top); err != nil || top == nil {
		return nil, malformed(msgSyntax)
	}
	p := &Policy{kind: kind, version: "2008-10-17"}
	for _, k := range sortedKeys(top) { // sorted, so that a document with several faults always gets the same message
		v := top[k]
		switch k {
		case "Version":
			if err := unmarshal(v, &p.version); err != nil {
				return nil, malformed(msgSyntax)
			}
			if p.version != "2012-10-17" && p.version != "2008-10-17" {
				return nil, malformed(msgLegacyParsing)
			}
		case "Id":
			if err := unmarshal(v, &p.id); err != nil {
				return nil, malformed(msgSyntax)
			}
		case "Statement":
		default:
			return nil, malformed(msgSyntax)
		}
	}
	raw, ok := top["Statement"]
	if !ok || isNull(raw) {
		return nil, malformed(msgMissingStatement)
	}
	var list []json.RawMessage
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		list = []json.RawMessage{raw}
	} else if err := unmarshal(raw, &list); err != nil {
		return nil, malformed(msgSyntax)
	}
	sids := make(map[string]bool, len(list))
	for _, r := range list {
		s, err := parseStatement(r, kind)
		if err != nil {
			return nil, err
		}
		if s.sid != "" {
			if sids[s.sid] {
				return nil, malformed(msgDuplicateSid)
			}
			sids[s.sid] = true
		}
		p.stmts = append(p.stmts, s)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage, kind Kind) (statement, error) {
	var s statement
	var m map[string]json.RawMessage
	if err := unmarshal(raw, &m); err != nil || m == nil {
		return s, malformed(msgSyntax)
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return s, malformed(msgUnknownElement, k)
		}
	}
	if v, ok := m["Sid"]; ok {
		if err := unmarshal(v, &s.sid); err != nil {
			return s, malformed(msgSyntax)
		}
	}
	v, ok := m["Effect"]
	if !ok {
		return s, malformed(msgMissingEffect)
	}
	var effect string
	if err := unmarshal(v, &effect); err != nil {
		return s, malformed(msgSyntax)
	}
	switch effect {
	case "Allow":
	case "Deny":
		s.deny = true
	default:
		return s, malformed(msgInvalidEffect, effect)
	}

	// Principal / NotPrincipal.
	pr, hasP := m["Principal"]
	npr, hasNP := m["NotPrincipal"]
	switch {
	case kind == Identity && (hasP || hasNP):
		return s, malformed(msgProhibitedPrinc)
	case hasP && hasNP:
		return s, malformed(msgBothElements, "Principal", "NotPrincipal")
	case kind == Resource && !hasP && !hasNP:
		return s, malformed(msgMissingPrincipal)
	case hasP || hasNP:
		r := pr
		if hasNP {
			r = npr
		}
		ps, err := parsePrincipals(r)
		if err != nil {
			return s, err
		}
		ps.not = hasNP
		s.principal = ps
	}

	// Action / NotAction.
	a, hasA := m["Action"]
	na, hasNA := m["NotAction"]
	if hasA && hasNA {
		return s, malformed(msgBothElements, "Action", "NotAction")
	}
	if hasNA {
		a, s.notAction = na, true
	}
	actions, err := stringOrList(a)
	if err != nil {
		return s, err
	}
	if len(actions) == 0 {
		return s, malformed(msgNoActions)
	}
	for _, act := range actions {
		if err := checkAction(act); err != nil {
			return s, err
		}
		s.actions = append(s.actions, compilePattern(act, true))
	}

	// Resource / NotResource.
	r, hasR := m["Resource"]
	nr, hasNR := m["NotResource"]
	if hasR && hasNR {
		return s, malformed(msgBothElements, "Resource", "NotResource")
	}
	if hasNR {
		r, s.notResource = nr, true
	}
	resources, err := stringOrList(r)
	if err != nil {
		return s, err
	}
	if len(resources) == 0 {
		return s, malformed(msgNoResources)
	}
	for _, res := range resources {
		if res != "*" && !isARN(res) {
			return s, malformed(msgResourceFormat, res)
		}
		s.resources = append(s.resources, compilePattern(res, false))
	}

	if c, ok := m["Condition"]; ok && !isNull(c) {
		s.conds, err = parseConditions(c)
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// checkAction validates one Action/NotAction value: "*", or vendor:action with one colon and a vendor free of
// wildcards.
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	vendor, rest, ok := strings.Cut(a, ":")
	switch {
	case !ok || vendor == "":
		return malformed(msgVendorPrefix)
	case strings.Contains(rest, ":"):
		return malformed(msgOneColon)
	case strings.ContainsAny(vendor, "*?"):
		return malformed(msgVendorWildcard)
	}
	return nil
}

// isARN reports whether s has the shape arn:partition:service:region:account:resource (wildcards allowed in
// every part but the "arn" prefix, as IAM allows them).
func isARN(s string) bool {
	return strings.HasPrefix(s, "arn:") && strings.Count(s, ":") >= 5
}

// stringOrList reads a JSON string or array of strings; an absent element reads as no values.
func stringOrList(raw json.RawMessage) ([]string, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	var one string
	if err := unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := unmarshal(raw, &list); err != nil {
		return nil, malformed(msgSyntax)
	}
	return list, nil
}

// scalarOrList reads a condition's values: a string, number or boolean, or an array of them, each as its
// string form (IAM accepts `"aws:SecureTransport": false` as well as `"false"`).
func scalarOrList(raw json.RawMessage) ([]string, bool) {
	var v any
	if err := unmarshal(raw, &v); err != nil {
		return nil, false
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := scalar(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := scalar(v)
	if !ok {
		return nil, false
	}
	return []string{s}, true
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// unmarshal decodes one JSON value, numbers kept as json.Number.
func unmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(data[d.InputOffset():])) != 0 {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
