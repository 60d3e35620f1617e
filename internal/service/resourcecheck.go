package service

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"kinesisd/internal/kerr"
)

// Checks of the list, map and ARN members the resource operations (tags, policies, metrics) add to the
// model, in the phrasing AWS uses for them.

var (
	resourceARNPattern = regexp.MustCompile(`^arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+$`)
)

const (
	resourceARNPatternText = `arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`
	tagKeyMax              = 128
	tagValueMax            = 256
	tagMapMax              = 200 // the model's TagMap; the 50-tag limit per resource is a rule of the service
	tagKeyListMax          = 50
)

// resourceARN checks a ResourceARN member: a stream or consumer ARN.
func (c *checker) resourceARN(val *string) {
	if val != nil && isChannelARN(*val) { // a channel's (channel.go)
		c.str("resourceARN", val, true, 1, 2048, channelARNPattern, channelARNPatternText)
		return
	}
	if val != nil && isQueueARN(*val) { // a queue's (queue.go)
		c.str("resourceARN", val, true, 1, 2048, queueARNPattern, queueARNPatternText)
		return
	}
	c.str("resourceARN", val, true, 1, 2048, resourceARNPattern, resourceARNPatternText)
}

// renderList renders a list as Java's List.toString does: [a, b].
func renderList(l []string) string { return "'[" + strings.Join(l, ", ") + "]'" }

// renderMap renders a map as Java's Map.toString does, {k=v, k2=v2}, in key order.
func renderMap(m map[string]string) string {
	keys := sortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "'{" + strings.Join(parts, ", ") + "}'"
}

// tagMap checks a TagMap member: 1..200 entries, keys 1..128 and values 0..256 characters.
func (c *checker) tagMap(path string, m map[string]string, required bool) {
	if m == nil {
		if required {
			c.v.Add(kerr.Null, path, "Member must not be null")
		}
		return
	}
	if len(m) < 1 {
		c.v.Add(renderMap(m), path, "Member must have length greater than or equal to 1")
	}
	if len(m) > tagMapMax {
		c.v.Add(renderMap(m), path, fmt.Sprintf("Member must have length less than or equal to %d", tagMapMax))
	}
	badKey, badValue := false, false
	for k, v := range m {
		if n := javaLen(k); n < 1 || n > tagKeyMax {
			badKey = true
		}
		if javaLen(v) > tagValueMax {
			badValue = true
		}
	}
	if badKey {
		c.v.Add(renderMap(m), path, fmt.Sprintf("Map keys must satisfy constraint: "+
			"[Member must have length less than or equal to %d, Member must have length greater than or equal to 1]", tagKeyMax))
	}
	if badValue {
		c.v.Add(renderMap(m), path, fmt.Sprintf("Map value must satisfy constraint: "+
			"[Member must have length less than or equal to %d, Member must have length greater than or equal to 0]", tagValueMax))
	}
}

// tagKeys checks a TagKeyList member: 1..50 keys of 1..128 characters.
func (c *checker) tagKeys(path string, l []string) {
	if l == nil {
		c.v.Add(kerr.Null, path, "Member must not be null")
		return
	}
	if len(l) < 1 {
		c.v.Add(renderList(l), path, "Member must have length greater than or equal to 1")
	}
	if len(l) > tagKeyListMax {
		c.v.Add(renderList(l), path, fmt.Sprintf("Member must have length less than or equal to %d", tagKeyListMax))
	}
	for _, k := range l {
		if n := javaLen(k); n < 1 || n > tagKeyMax {
			c.v.Add(renderList(l), path, fmt.Sprintf("Member must satisfy constraint: "+
				"[Member must have length less than or equal to %d, Member must have length greater than or equal to 1]", tagKeyMax))
			break
		}
	}
}

// enumList checks a list of enum values with length bounds.
func (c *checker) enumList(path string, l []string, required bool, min, max int, values ...string) {
	if l == nil {
		if required {
			c.v.Add(kerr.Null, path, "Member must not be null")
		}
		return
	}
	if len(l) < min {
		c.v.Add(renderList(l), path, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if len(l) > max {
		c.v.Add(renderList(l), path, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	for _, v := range l {
		if !slices.Contains(values, v) {
			c.v.Add(renderList(l), path, "Member must satisfy constraint: [Member must satisfy enum value set: ["+
				strings.Join(values, ", ")+"]]")
			break
		}
	}
}
