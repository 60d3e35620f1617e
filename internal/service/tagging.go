package service

import (
	"fmt"
	"slices"
	"strings"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
)

// The tag helpers that streams, consumers, queues and channels share: tags.go holds the operations.

// maxTags is how many tags one stream or consumer may carry.
const maxTags = 50

// Tag is a key and value as ListTagsForStream and ListTagsForResource return them.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// tagTarget names what tags are being changed on, as AWS's messages do: "stream orders".
type tagTarget struct {
	kind, name string // kind: stream or consumer
}

func (t tagTarget) String() string { return t.kind + " " + t.name }

// tagRuneAllowed tells whether r may appear in a tag key or value: Unicode letters, digits, white
// space and _ . / = + - % @ : (the set kinesalite established against AWS; AWS takes ':' too).
func tagRuneAllowed(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case strings.ContainsRune("_./=+-@%: ", r):
		return true
	case r >= 0xC0 && r <= 0x1FFF, r >= 0x2C00 && r <= 0xD7FF:
		return true
	}
	return false
}

// checkTagText refuses tag keys or values with characters AWS does not take: most with one message,
// '%' (which the first message lists) with another naming the action and the target.
func (s *Service) checkTagText(texts []string, action string, target tagTarget) error {
	for _, t := range texts {
		if strings.IndexFunc(t, func(r rune) bool { return !tagRuneAllowed(r) }) >= 0 {
			return kerr.NewInvalidArgument("Some tags contain invalid characters. Valid characters: " +
				"Unicode letters, digits, white space, _ . / = + - % @ :.")
		}
	}
	for _, t := range texts {
		if strings.Contains(t, "%") {
			return kerr.NewInvalidArgument(fmt.Sprintf("Failed to %s %s under account %s because some tags contained "+
				"illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@',':'.",
				action, target, s.cfg.Account))
		}
	}
	return nil
}

// mapTexts lists a tag map's keys and values.
func mapTexts(m map[string]string) []string {
	out := make([]string, 0, 2*len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, k, m[k])
	}
	return out
}

// addTags merges add into tags, refusing characters AWS refuses and more than 50 tags in all.
// AWS's message for the count still says 10, the limit before it was raised to 50.
func (s *Service) addTags(tags []stream.Tag, add map[string]string, target tagTarget) ([]stream.Tag, error) {
	if err := s.checkTagText(mapTexts(add), "add tags to", target); err != nil {
		return nil, err
	}
	merged := make(map[string]string, len(tags)+len(add))
	for _, t := range tags {
		merged[t.Key] = t.Value
	}
	for k, v := range add {
		merged[k] = v
	}
	if len(merged) > maxTags {
		return nil, kerr.NewInvalidArgument(fmt.Sprintf("Failed to add tags to %s under account %s because a given %s "+
			"cannot have more than 10 tags associated with it.", target, s.cfg.Account, target.kind))
	}
	out := make([]stream.Tag, 0, len(merged))
	for _, k := range sortedKeys(merged) {
		out = append(out, stream.Tag{Key: k, Value: merged[k]})
	}
	return out, nil
}

// removeTags drops keys from tags; keys a resource does not carry are ignored.
func (s *Service) removeTags(tags []stream.Tag, keys []string, target tagTarget) ([]stream.Tag, error) {
	if err := s.checkTagText(keys, "remove tags from", target); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(tags, func(t stream.Tag) bool { return slices.Contains(keys, t.Key) }), nil
}

// checkCreateTags applies AddTagsToStream's rules to CreateStream's Tags.
func (s *Service) checkCreateTags(name string, tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	_, err := s.addTags(nil, tags, tagTarget{"stream", name})
	return err
}

// listTags returns tags in key order (as AWS lists them).
func listTags(tags []stream.Tag) []Tag {
	out := make([]Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, Tag(t))
	}
	slices.SortFunc(out, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func consumerNotFound(arn, account string) error {
	return kerr.NewResourceNotFound(fmt.Sprintf("Consumer %s under account %s not found.", arn, account))
}
