package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// InitStream is one stream of -init-streams: created at start-up unless it exists.
type InitStream struct {
	Name           string
	Shards         int  // the shard count of a PROVISIONED stream; 0 when OnDemand
	OnDemand       bool // an ON_DEMAND stream
	RetentionHours int  // 0: AWS's default of 24 hours
}

// String is the item as -init-streams spells it.
func (s InitStream) String() string {
	shards := strconv.Itoa(s.Shards)
	if s.OnDemand {
		shards = "ON_DEMAND"
	}
	if s.RetentionHours == 0 {
		return s.Name + ":" + shards
	}
	return fmt.Sprintf("%s:%s:%dh", s.Name, shards, s.RetentionHours)
}

// streamNamePattern is the stream name rule of CreateStream.
var streamNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

// ParseInitStreams reads -init-streams: comma-separated NAME:SHARDS[:RETENTION] items, SHARDS a
// positive count or ON_DEMAND, RETENTION a Go duration of whole hours from 24h to 8760h. It returns
// the streams it could read and a problem for each item it could not.
func ParseInitStreams(v string) ([]InitStream, []error) {
	var (
		streams  []InitStream
		problems []error
		seen     = map[string]bool{}
	)
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		s, err := parseInitStream(item)
		if err == nil && seen[s.Name] {
			err = fmt.Errorf("stream %q is named twice", s.Name)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("%q: %w", item, err))
			continue
		}
		seen[s.Name] = true
		streams = append(streams, s)
	}
	return streams, problems
}

func parseInitStream(item string) (InitStream, error) {
	if strings.Contains(item, "/") {
		return InitStream{}, fmt.Errorf("an ACCOUNT/REGION/ prefix is not supported yet: streams are created in -account-id and -region")
	}
	parts := strings.Split(item, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return InitStream{}, fmt.Errorf("want NAME:SHARDS or NAME:SHARDS:RETENTION (e.g. orders:4, clicks:ON_DEMAND, audit:1:168h)")
	}
	s := InitStream{Name: parts[0]}
	if !streamNamePattern.MatchString(s.Name) {
		return InitStream{}, fmt.Errorf("stream name %q: 1 to 128 letters, digits, '_', '-' and '.'", s.Name)
	}
	if parts[1] == "ON_DEMAND" {
		s.OnDemand = true
	} else {
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 1 {
			return InitStream{}, fmt.Errorf("shards %q: a positive count or ON_DEMAND", parts[1])
		}
		s.Shards = n
	}
	if len(parts) == 3 {
		d, err := time.ParseDuration(parts[2])
		if err != nil || d%time.Hour != 0 || d < 24*time.Hour || d > 8760*time.Hour {
			return InitStream{}, fmt.Errorf("retention %q: whole hours from 24h to 8760h, such as 168h", parts[2])
		}
		s.RetentionHours = int(d / time.Hour)
	}
	return s, nil
}
