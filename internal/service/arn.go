package service

import (
	"crypto/rand"
	"fmt"
	"kinesisd/internal/service/stream"
	"regexp"
	"strconv"
	"strings"
)

// resourceARN is a parsed stream or consumer ARN:
// arn:<partition>:kinesis:<region>:<account>:stream/<name>[/consumer/<consumer>:<creation epoch seconds>].
type resourceARN struct {
	Region, Account, Stream string
	Consumer                string // "" for a stream ARN
	ConsumerSecs            int64  // the consumer's creation time, epoch seconds
}

// parseResourceARN parses a stream or consumer ARN; ok is false for anything else.
func parseResourceARN(arn string) (a resourceARN, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kinesis" {
		return resourceARN{}, false
	}
	a.Region, a.Account = parts[3], parts[4]
	rest, isStream := strings.CutPrefix(parts[5], "stream/")
	if !isStream {
		return resourceARN{}, false
	}
	name, consumer, hasConsumer := strings.Cut(rest, "/consumer/")
	if !namePattern.MatchString(name) || len(name) > 128 {
		return resourceARN{}, false
	}
	a.Stream = name
	if !hasConsumer {
		return a, true
	}
	cname, secs, found := strings.Cut(consumer, ":")
	n, err := strconv.ParseInt(secs, 10, 64)
	if !found || err != nil || n < 0 || !namePattern.MatchString(cname) || len(cname) > 128 {
		return resourceARN{}, false
	}
	a.Consumer, a.ConsumerSecs = cname, n
	return a, true
}

// consumerARN is the ARN of consumer c of stream: a new one for every registration.
func (s *Service) consumerARN(streamName string, c *stream.Consumer) string {
	return fmt.Sprintf("%s/consumer/%s:%d", s.arn(streamName), c.Name, c.CreatedMilli/1000)
}

// isLocal tells whether a parsed ARN is in this service's account and region.
func (s *Service) isLocal(a resourceARN) bool {
	return a.Account == s.cfg.Account && a.Region == s.cfg.Region
}

func (s *Service) arn(name string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", s.cfg.Region, s.cfg.Account, name)
}

var queueARNPattern = regexp.MustCompile(`^arn:aws.*:kinesis:.*:\d{12}:queue/\S+$`)

const queueARNPatternText = `arn:aws.*:kinesis:.*:\d{12}:queue/\S+`

// isQueueARN reports whether arn names a queue (arn:aws:kinesis:REGION:ACCOUNT:queue/ID).
func isQueueARN(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") && parts[2] == "kinesis" &&
		strings.HasPrefix(parts[5], "queue/")
}

// channelARNParts is a parsed channel ARN.
type channelARNParts struct{ Region, Account, ID string }

// parseChannelARN parses arn:<partition>:kinesis:<region>:<account>:channel/<id>.
func parseChannelARN(arn string) (channelARNParts, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kinesis" {
		return channelARNParts{}, false
	}
	id, ok := strings.CutPrefix(parts[5], "channel/")
	if !ok || id == "" || strings.ContainsAny(id, "/: \t\n") {
		return channelARNParts{}, false
	}
	return channelARNParts{Region: parts[3], Account: parts[4], ID: id}, true
}

// isChannelARN reports whether arn names a channel (arn:aws:kinesis:REGION:ACCOUNT:channel/ID).
func isChannelARN(arn string) bool {
	_, ok := parseChannelARN(arn)
	return ok
}

var channelARNPattern = regexp.MustCompile(`^arn:aws.*:kinesis:.*:\d{12}:channel/\S+$`)

const channelARNPatternText = `arn:aws.*:kinesis:.*:\d{12}:channel/\S+`

// resourceIDAlphabet and resourceIDLen shape the generated id that ends a channel's or a queue's ARN,
// as AWS's look (apu0zt8ge6utbndxe).
const (
	resourceIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	resourceIDLen      = 17
)

// newResourceID returns a new random id for a channel's or a queue's ARN.
func newResourceID() string {
	b := make([]byte, resourceIDLen)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = resourceIDAlphabet[int(b[i])%len(resourceIDAlphabet)]
	}
	return string(b)
}
