package iam

import "strings"

// Request is one authorization question: may Principal perform Action on Resource, in this Context?
type Request struct {
	// Action is the IAM action, e.g. "kinesis:PutRecords" (KinesisOperation gives each operation's).
	Action string
	// Resource is the ARN the action is on (Operation.Resource), or "*" for an account-level operation.
	Resource string
	// ResourceAccount is the account that owns Resource. Empty means the account field of the Resource ARN,
	// or the caller's own account when Resource is "*".
	ResourceAccount string
	// Principal is the caller.
	Principal Principal
	// Context holds the request's condition keys and their values, e.g. "aws:SourceIp": {"192.0.2.7"},
	// "aws:SecureTransport": {"false"}, "aws:RequestedRegion": {"us-east-1"}. Keys are matched
	// case-insensitively, as IAM matches them (an exact match is found fastest). A key with several values
	// is a multivalued key, for ForAnyValue:/ForAllValues:. aws:PrincipalAccount and aws:PrincipalArn are
	// taken from Principal when absent. Evaluate does not modify the map.
	Context map[string][]string
}

// Effect is the outcome of an evaluation.
type Effect uint8

const (
	// ImplicitDeny: no policy that is needed allowed the request. The zero Decision is an implicit deny.
	ImplicitDeny Effect = iota
	// Allow: the request is allowed.
	Allow
	// ExplicitDeny: a Deny statement matched; nothing can override it.
	ExplicitDeny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Decision is the result of Evaluate.
type Decision struct {
	Effect Effect
	// By is the kind of policy that decided: for Allow, the policy whose Allow made the request possible
	// (Resource for cross-account access); for ExplicitDeny, the policy holding the Deny; for ImplicitDeny,
	// the policy type whose Allow was missing. It names the policy type in Message.
	By Kind
	// Sid is the Sid of the deciding statement when there is one and it has a Sid (for logs, never for
	// the client: AWS does not reveal it).
	Sid string
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Effect == Allow }

// Message is AWS's AccessDeniedException message for a refused request, "" for an allowed one. The shapes
// are those of the IAM User Guide, "Troubleshoot access denied error messages"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html): "User: user is not
// authorized to perform: action on resource: resource because no type policy allows the action action" and
// "... with an explicit deny in a type policy", type being "identity-based" or "resource-based" (with "an"
// before "identity-based"). For an action
// on no particular resource ("*") the guide's example leaves " on resource: …" out ("User:
// arn:aws:iam::777788889999:user/MaryMajor is not authorized to perform: codecommit:ListRepositories because
// no identity-based policy allows the codecommit:ListRepositories action"), and so does Message.
func (d Decision) Message(req *Request) string {
	if d.Effect == Allow {
		return ""
	}
	by := d.By
	if by == 0 {
		by = Identity
	}
	var b strings.Builder
	b.WriteString("User: ")
	b.WriteString(req.Principal.ARN)
	b.WriteString(" is not authorized to perform: ")
	b.WriteString(req.Action)
	if req.Resource != "*" && req.Resource != "" {
		b.WriteString(" on resource: ")
		b.WriteString(req.Resource)
	}
	if d.Effect == ExplicitDeny {
		b.WriteString(" with an explicit deny in ")
		b.WriteString(article(by))
		b.WriteString(by.String())
		b.WriteString(" policy")
	} else {
		b.WriteString(" because no ")
		b.WriteString(by.String())
		b.WriteString(" policy allows the ")
		b.WriteString(req.Action)
		b.WriteString(" action")
	}
	return b.String()
}

// Evaluate decides req as AWS does for one account's identity policy and the resource's policy, either of
// which may be nil (no such policy):
//
//   - an explicit Deny in either policy wins (the identity policy's is reported when both deny);
//   - same account: an Allow in either policy suffices. A resource policy Allow that names only the caller's
//     account (an account id or :root ARN) delegates to the account's identity policies and does not grant
//     by itself; one naming the caller's ARN (or its role, for a role session) or "*" does;
//   - cross-account: the identity policy and the resource policy must both allow (the identity policy's
//     missing Allow is reported first).
//
// The implicit Allow that kinesisd gives a principal without a policy is the caller's choice: pass
// DefaultIdentity() as identity. identity must be an Identity policy and resource a Resource policy.
func Evaluate(req *Request, identity, resource *Policy) Decision {
	var id, res result
	if identity != nil {
		id = identity.eval(req)
	}
	if resource != nil {
		res = resource.eval(req)
	}
	switch {
	case id.deny:
		return Decision{Effect: ExplicitDeny, By: Identity, Sid: id.denySid}
	case res.deny:
		return Decision{Effect: ExplicitDeny, By: Resource, Sid: res.denySid}
	}
	if req.resourceAccount() == req.Principal.Account {
		switch {
		case res.allow == matchDirect:
			return Decision{Effect: Allow, By: Resource, Sid: res.allowSid}
		case id.allow != matchNone:
			return Decision{Effect: Allow, By: Identity, Sid: id.allowSid}
		}
		return Decision{Effect: ImplicitDeny, By: Identity}
	}
	switch {
	case id.allow == matchNone:
		return Decision{Effect: ImplicitDeny, By: Identity}
	case res.allow == matchNone:
		return Decision{Effect: ImplicitDeny, By: Resource}
	}
	return Decision{Effect: Allow, By: Resource, Sid: res.allowSid}
}

// result is one policy's verdict on a request.
type result struct {
	deny     bool
	denySid  string
	allow    int // the strongest principal match among the Allow statements that apply (matchNone: none)
	allowSid string
}

func (p *Policy) eval(req *Request) result {
	var r result
	for i := range p.stmts {
		s := &p.stmts[i]
		m := s.applies(req)
		if m == matchNone {
			continue
		}
		if s.deny {
			return result{deny: true, denySid: s.sid}
		}
		if m > r.allow {
			r.allow, r.allowSid = m, s.sid
		}
	}
	return r
}

// applies returns how strongly statement s applies to req: matchNone when it does not, matchDirect for an
// identity policy statement or a resource policy statement naming the caller, matchAccount for one naming
// the caller's account only.
func (s *statement) applies(req *Request) int {
	if matchAny(s.actions, req.Action) == s.notAction {
		return matchNone
	}
	if matchAny(s.resources, req.Resource) == s.notResource {
		return matchNone
	}
	m := matchDirect
	if s.principal != nil {
		if m = s.principal.applies(&req.Principal); m == matchNone {
			return matchNone
		}
	}
	for i := range s.conds {
		c := &s.conds[i]
		var buf [1]string
		if !c.eval(req.values(c, &buf)) {
			return matchNone
		}
	}
	return m
}

// values returns the request's values for c's key, nil when it has none. buf holds a built-in key's value.
func (r *Request) values(c *condition, buf *[1]string) []string {
	if v, ok := r.Context[c.key]; ok {
		return v
	}
	for k, v := range r.Context {
		if strings.EqualFold(k, c.key) {
			return v
		}
	}
	switch c.builtin {
	case keyPrincipalAccount:
		buf[0] = r.Principal.Account
	case keyPrincipalArn:
		buf[0] = r.Principal.ARN
	default:
		return nil
	}
	if buf[0] == "" {
		return nil
	}
	return buf[:]
}

// resourceAccount is the account that owns the request's resource.
func (r *Request) resourceAccount() string {
	if r.ResourceAccount != "" {
		return r.ResourceAccount
	}
	if r.Resource == "*" || r.Resource == "" {
		return r.Principal.Account
	}
	return AccountOf(r.Resource)
}

// AccountOf returns the account field of an ARN (arn:partition:service:region:ACCOUNT:resource), "" when s
// is not an ARN.
func AccountOf(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return ""
	}
	for i := 0; i < 3; i++ {
		if _, rest, ok = strings.Cut(rest, ":"); !ok {
			return ""
		}
	}
	account, _, ok := strings.Cut(rest, ":")
	if !ok {
		return ""
	}
	return account
}

// article is "an " before "identity-based", "a " before "resource-based", as AWS writes them ("with an
// explicit deny in an identity-based policy").
func article(k Kind) string {
	if k == Identity {
		return "an "
	}
	return "a "
}

// defaultIdentity is the implicit identity policy of issue #17, compiled once; it is never modified.
var defaultIdentity = mustParse(`{"Version":"2012-10-17","Statement":[{"Sid":"KinesisdDefault","Effect":"Allow","Action":["kinesis:*","kms:*"],"Resource":"*"}]}`, Identity)

// DefaultIdentity returns the identity policy kinesisd applies to a principal that has none in the -policies
// file, and to every caller when there is no -policies file: Allow kinesis:* and kms:* on every resource.
// Because cross-account access also needs the owner's resource policy, it allows everything in the caller's
// own account and, in another account, exactly what that account's resource policies allow.
func DefaultIdentity() *Policy { return defaultIdentity }

func mustParse(doc string, kind Kind) *Policy {
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		panic("iam: built-in policy: " + err.Error())
	}
	return p
}
