package service

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"kinesisd/internal/kerr"
)

// Inputs, outputs and field checks of the enhanced fan-out consumer operations.

// RegisterStreamConsumerInput is the input of RegisterStreamConsumer.
type RegisterStreamConsumerInput struct {
	StreamARN    *string           `json:"StreamARN,omitempty"`
	ConsumerName *string           `json:"ConsumerName,omitempty"`
	StreamId     *string           `json:"StreamId,omitempty"`
	Tags         map[string]string `json:"Tags,omitempty"`
}

// RegisterStreamConsumerOutput is the output of RegisterStreamConsumer.
type RegisterStreamConsumerOutput struct {
	Consumer Consumer `json:"Consumer"`
}

// Consumer is a registered consumer as RegisterStreamConsumer and ListStreamConsumers show it.
type Consumer struct {
	ConsumerName              string    `json:"ConsumerName"`
	ConsumerARN               string    `json:"ConsumerARN"`
	ConsumerStatus            string    `json:"ConsumerStatus"`
	ConsumerCreationTimestamp Timestamp `json:"ConsumerCreationTimestamp"`
}

// ConsumerDescription is a registered consumer as DescribeStreamConsumer shows it.
type ConsumerDescription struct {
	ConsumerName              string    `json:"ConsumerName"`
	ConsumerARN               string    `json:"ConsumerARN"`
	ConsumerStatus            string    `json:"ConsumerStatus"`
	ConsumerCreationTimestamp Timestamp `json:"ConsumerCreationTimestamp"`
	StreamARN                 string    `json:"StreamARN"`
}

// ConsumerRef is how DescribeStreamConsumer and DeregisterStreamConsumer name a consumer: by
// ConsumerARN, or by StreamARN and ConsumerName, or by all three when they agree.
type ConsumerRef struct {
	StreamARN    *string `json:"StreamARN,omitempty"`
	ConsumerName *string `json:"ConsumerName,omitempty"`
	ConsumerARN  *string `json:"ConsumerARN,omitempty"`
	StreamId     *string `json:"StreamId,omitempty"`
}

// DescribeStreamConsumerInput is the input of DescribeStreamConsumer.
type DescribeStreamConsumerInput struct {
	ConsumerRef
}

// DescribeStreamConsumerOutput is the output of DescribeStreamConsumer.
type DescribeStreamConsumerOutput struct {
	ConsumerDescription ConsumerDescription `json:"ConsumerDescription"`
}

// DeregisterStreamConsumerInput is the input of DeregisterStreamConsumer.
type DeregisterStreamConsumerInput struct {
	ConsumerRef
}

// ListStreamConsumersInput is the input of ListStreamConsumers.
type ListStreamConsumersInput struct {
	StreamARN               *string    `json:"StreamARN,omitempty"`
	NextToken               *string    `json:"NextToken,omitempty"`
	MaxResults              *int64     `json:"MaxResults,omitempty"`
	StreamCreationTimestamp *Timestamp `json:"StreamCreationTimestamp,omitempty"`
	StreamId                *string    `json:"StreamId,omitempty"`
}

// ListStreamConsumersOutput is the output of ListStreamConsumers.
type ListStreamConsumersOutput struct {
	Consumers []Consumer `json:"Consumers"`
	NextToken *string    `json:"NextToken,omitempty"`
}

var (
	// consumerARNRe is the model's ConsumerARN pattern, matched whole as the service matches it.
	consumerARNRe = regexp.MustCompile(`^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+$`)
)

const (
	consumerARNReText = `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`
)

// consumerRef checks a ConsumerRef's members in model order.
func (c *checker) consumerRef(ref ConsumerRef) {
	c.str("streamARN", ref.StreamARN, false, 1, 2048, streamARNPattern, streamARNPatternText)
	c.str("consumerName", ref.ConsumerName, false, 1, 128, namePattern, namePatternText)
	c.str("consumerARN", ref.ConsumerARN, false, 1, 2048, consumerARNRe, consumerARNReText)
	c.streamID(ref.StreamId)
}

// consumerTagMap checks a TagMap member: 1..200 entries, keys 1..128 and values 0..256 characters.
// AWS renders the map as Java's Map.toString and reports a key or value failure with every
// constraint of its shape.
func (c *checker) consumerTagMap(path string, tags map[string]string) {
	if tags == nil {
		return
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + tags[k])
	}
	b.WriteString("}")
	rendered := kerr.Quote(b.String())
	if len(tags) < 1 {
		c.v.Add(rendered, path, "Member must have length greater than or equal to 1")
	}
	if len(tags) > 200 {
		c.v.Add(rendered, path, "Member must have length less than or equal to 200")
	}
	for _, k := range keys {
		if n := javaLen(k); n < 1 || n > 128 {
			c.v.Add(rendered, path, "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]")
			break
		}
	}
	for _, k := range keys {
		if javaLen(tags[k]) > 256 {
			c.v.Add(rendered, path, "Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]")
			break
		}
	}
}

// consumerTagLimit is the most tags one resource may carry (the model's TagMap allows 200 in a request).
const consumerTagLimit = 50

// checkConsumerTags applies the tag rules beyond the model: the characters AWS allows and the
// per-resource count.
func (s *Service) checkConsumerTags(stream, consumer string, tags map[string]string) error {
	for k, v := range tags {
		if !validTagText(k) || !validTagText(v) {
			return kerr.NewInvalidArgument("Some tags contain invalid characters. Valid characters: " +
				"Unicode letters, digits, white space, _ . / = + - % @.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return kerr.NewInvalidArgument(fmt.Sprintf("Failed to register consumer %s under stream %s and account %s "+
				"because some tags start with 'aws:'. 'aws:' is a reserved prefix.", consumer, stream, s.cfg.Account))
		}
	}
	if len(tags) > consumerTagLimit {
		return kerr.NewInvalidArgument(fmt.Sprintf("Failed to register consumer %s under stream %s and account %s "+
			"because a given consumer cannot have more than %d tags.", consumer, stream, s.cfg.Account, consumerTagLimit))
	}
	return nil
}

// validTagText tells whether s holds only what AWS allows in tags: Unicode letters, digits, white
// space and _ . / = + - % @ (a tab or newline is not allowed).
func validTagText(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == ' ':
		case strings.ContainsRune("_./=+-%@", r):
		default:
			return false
		}
	}
	return true
}
