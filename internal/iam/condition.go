package iam

import (
	"encoding/json"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// opKind is a condition operator's comparison, its negation and qualifiers kept apart.
type opKind uint8

const (
	opStringEquals opKind = iota + 1
	opStringEqualsFold
	opStringLike
	opArnLike // ArnEquals and ArnLike match alike in IAM: wildcards in both, component by component
	opBool
	opIP
	opNumericEq
	opNumericLt
	opNumericLe
	opNumericGt
	opNumericGe
	opDateEq
	opDateLt
	opDateLe
	opDateGt
	opDateGe
	opNull
)

// operators maps each base operator name (without ForAnyValue:/ForAllValues: and IfExists) to its comparison
// and whether it is negated. Names are case-sensitive, as IAM's are ("Invalid Condition type : stringEquals").
var operators = map[string]struct {
	kind   opKind
	negate bool
}{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsFold, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsFold, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"ArnEquals":                 {opArnLike, false},
	"ArnLike":                   {opArnLike, false},
	"ArnNotEquals":              {opArnLike, true},
	"ArnNotLike":                {opArnLike, true},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opStringEquals, false}, // base64 text compared as given
	"IpAddress":                 {opIP, false},
	"NotIpAddress":              {opIP, true},
	"NumericEquals":             {opNumericEq, false},
	"NumericNotEquals":          {opNumericEq, true},
	"NumericLessThan":           {opNumericLt, false},
	"NumericLessThanEquals":     {opNumericLe, false},
	"NumericGreaterThan":        {opNumericGt, false},
	"NumericGreaterThanEquals":  {opNumericGe, false},
	"DateEquals":                {opDateEq, false},
	"DateNotEquals":             {opDateEq, true},
	"DateLessThan":              {opDateLt, false},
	"DateLessThanEquals":        {opDateLe, false},
	"DateGreaterThan":           {opDateGt, false},
	"DateGreaterThanEquals":     {opDateGe, false},
	"Null":                      {opNull, false},
}

// set qualifiers for multivalued context keys.
const (
	setNone = iota
	setForAny
	setForAll
)

// builtin context keys that Evaluate fills from the Request when the caller's Context lacks them.
const (
	keyOther = iota
	keyPrincipalAccount
	keyPrincipalArn
)

// condition is one compiled (operator, key, values) triple of a Condition block.
type condition struct {
	name     string // the operator as written, e.g. "ForAnyValue:StringLikeIfExists"
	kind     opKind
	negate   bool
	ifExists bool
	set      uint8
	key      string // as written; matched case-insensitively
	builtin  uint8
	values   []string
	pats     []pattern    // StringLike
	arns     []arnPattern // ArnLike, ArnEquals
	prefixes []netip.Prefix
	nums     []float64
	times    []time.Time
	null     []bool // Null: true means "the key must be absent"
}

// parseConditions compiles a Condition element: {operator: {key: value or [values]}}. Operators are ANDed,
// keys within an operator are ANDed, values of one key are ORed.
func parseConditions(raw json.RawMessage) ([]condition, error) {
	var ops map[string]json.RawMessage
	if err := unmarshal(raw, &ops); err != nil || ops == nil {
		return nil, malformed(msgSyntax)
	}
	var out []condition
	for _, name := range sortedKeys(ops) {
		var keys map[string]json.RawMessage
		if err := unmarshal(ops[name], &keys); err != nil || keys == nil {
			return nil, malformed(msgSyntax)
		}
		for _, key := range sortedKeys(keys) {
			c, err := compileCondition(name, key, keys[key])
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	// Cheap comparisons first: a condition list is an AND, so order does not change the result.
	sort.SliceStable(out, func(i, j int) bool { return out[i].kind < out[j].kind })
	return out, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compileCondition(name, key string, raw json.RawMessage) (condition, error) {
	c := condition{name: name, key: key}
	base := name
	if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		base, c.set = rest, setForAny
	} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		base, c.set = rest, setForAll
	}
	if rest, ok := strings.CutSuffix(base, "IfExists"); ok && rest != "Null" {
		base, c.ifExists = rest, true
	}
	op, ok := operators[base]
	if !ok || (op.kind == opNull && (c.set != setNone || c.ifExists)) {
		return c, malformed(msgInvalidCondType, name)
	}
	c.kind, c.negate = op.kind, op.negate
	if key == "" {
		return c, malformed(msgEmptyConditionKey)
	}
	switch strings.ToLower(key) {
	case "aws:principalaccount":
		c.builtin = keyPrincipalAccount
	case "aws:principalarn":
		c.builtin = keyPrincipalArn
	}
	values, ok := scalarOrList(raw)
	if !ok {
		return c, malformed(msgSyntax)
	}
	c.values = values
	bad := func(v string) error { return malformed(msgConditionValue, name, v) }
	for _, v := range values {
		switch c.kind {
		case opStringLike:
			c.pats = append(c.pats, compilePattern(v, false))
		case opArnLike:
			c.arns = append(c.arns, compileARN(v))
		case opBool, opNull:
			var b bool
			switch strings.ToLower(v) {
			case "true":
				b = true
			case "false":
			default:
				return c, bad(v)
			}
			if c.kind == opNull {
				c.null = append(c.null, b)
			}
		case opIP:
			p, ok := parsePrefix(v)
			if !ok {
				return c, bad(v)
			}
			c.prefixes = append(c.prefixes, p)
		case opNumericEq, opNumericLt, opNumericLe, opNumericGt, opNumericGe:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(n) {
				return c, bad(v)
			}
			c.nums = append(c.nums, n)
		case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
			t, ok := parseDate(v)
			if !ok {
				return c, bad(v)
			}
			c.times = append(c.times, t)
		}
	}
	return c, nil
}

// arnPattern is an ArnLike/ArnEquals value split into its six colon-separated components; IAM matches each
// component separately, wildcards included.
type arnPattern struct {
	parts [6]pattern
	valid bool // false for a value of fewer than six components, which matches nothing
}

func compileARN(v string) arnPattern {
	var out arnPattern
	if v == "*" { // matches any ARN
		for i := range out.parts {
			out.parts[i] = compilePattern("*", false)
		}
		out.valid = true
		return out
	}
	rest := v
	for i := 0; i < 5; i++ {
		part, r, ok := strings.Cut(rest, ":")
		if !ok {
			return arnPattern{}
		}
		out.parts[i] = compilePattern(part, false)
		rest = r
	}
	out.parts[5] = compilePattern(rest, false)
	out.valid = true
	return out
}

// match matches v component by component.
func (p *arnPattern) match(v string) bool {
	if !p.valid {
		return false
	}
	rest := v
	for i := 0; i < 5; i++ {
		part, r, ok := strings.Cut(rest, ":")
		if !ok || !p.parts[i].match(part) {
			return false
		}
		rest = r
	}
	return p.parts[5].match(rest)
}

func parsePrefix(v string) (netip.Prefix, bool) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseDate reads the ISO 8601 forms IAM accepts in Date conditions, and epoch seconds.
func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// matchOne reports whether the request value v matches one of the condition's values, before negation.
func (c *condition) matchOne(v string) bool {
	switch c.kind {
	case opStringEquals:
		for _, x := range c.values {
			if x == v {
				return true
			}
		}
	case opStringEqualsFold:
		for _, x := range c.values {
			if strings.EqualFold(x, v) {
				return true
			}
		}
	case opStringLike:
		return matchAny(c.pats, v)
	case opArnLike:
		for i := range c.arns {
			if c.arns[i].match(v) {
				return true
			}
		}
	case opBool:
		for _, x := range c.values {
			if strings.EqualFold(x, v) {
				return true
			}
		}
	case opIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	case opNumericEq, opNumericLt, opNumericLe, opNumericGt, opNumericGe:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for _, x := range c.nums {
			if compareNum(c.kind, n, x) {
				return true
			}
		}
	case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, x := range c.times {
			if compareNum(c.kind-opDateEq+opNumericEq, float64(t.UnixNano()), float64(x.UnixNano())) {
				return true
			}
		}
	}
	return false
}

func compareNum(k opKind, a, b float64) bool {
	switch k {
	case opNumericEq:
		return a == b
	case opNumericLt:
		return a < b
	case opNumericLe:
		return a <= b
	case opNumericGt:
		return a > b
	case opNumericGe:
		return a >= b
	}
	return false
}

// test is one request value checked against the condition, negation applied.
func (c *condition) test(v string) bool {
	return c.matchOne(v) != c.negate
}

// eval evaluates the condition over the request's values for its key (none when the key is absent), with
// IAM's rules: an absent key fails a positive operator and satisfies a negated one ("If the policy condition
// requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
// present, the condition is true"), ...IfExists is true for an absent key, ForAllValues is true over an
// empty set and ForAnyValue false.
func (c *condition) eval(vals []string) bool {
	if c.kind == opNull {
		absent := len(vals) == 0
		for _, wantAbsent := range c.null {
			if wantAbsent == absent {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case c.ifExists:
			return true
		case c.set == setForAll:
			return true
		case c.set == setForAny:
			return false
		}
		return c.negate
	}
	switch c.set {
	case setForAny:
		for _, v := range vals {
			if c.test(v) {
				return true
			}
		}
		return false
	case setForAll:
		for _, v := range vals {
			if !c.test(v) {
				return false
			}
		}
		return true
	}
	// A single-valued operator: a value matches when any request value matches any policy value.
	for _, v := range vals {
		if c.matchOne(v) {
			return !c.negate
		}
	}
	return c.negate
}
