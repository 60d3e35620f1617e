package service

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"

	"kinesisd/internal/kerr"
)

const (
	scalingUniform = "UNIFORM_SCALING"
	// shardCountWindow and shardCountUpdatesMax are AWS's limit of UpdateShardCount calls per stream:
	// 10 per rolling 24 hours.
	shardCountWindow     = 24 * time.Hour
	shardCountUpdatesMax = 10
	// streamShardMax is AWS's default limit of shards in one stream.
	streamShardMax = 10000
)

// UpdateShardCountInput is the input of UpdateShardCount.
type UpdateShardCountInput struct {
	StreamRef
	TargetShardCount *int64  `json:"TargetShardCount,omitempty"`
	ScalingType      *string `json:"ScalingType,omitempty"`
}

// UpdateShardCountOutput is the output of UpdateShardCount.
type UpdateShardCountOutput struct {
	StreamName        string `json:"StreamName"`
	StreamARN         string `json:"StreamARN"`
	CurrentShardCount int    `json:"CurrentShardCount"`
	TargetShardCount  int    `json:"TargetShardCount"`
}

// UpdateShardCount rescales a provisioned stream to TargetShardCount open shards of equal size, through
// splits and merges whose parents close and whose lineage ListShards and GetRecords show, when the
// UPDATING it starts ends.
func (s *Service) UpdateShardCount(ctx context.Context, in *UpdateShardCountInput) (*UpdateShardCountOutput, error) {
	var c checker
	c.enum("scalingType", in.ScalingType, true, scalingUniform)
	c.streamRef(in.StreamRef)
	c.integer("targetShardCount", in.TargetShardCount, true, 1, math.MaxInt32)
	if err := c.err(); err != nil {
		return nil, err
	}
	name, err := s.streamName(in.StreamRef)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate("UpdateShardCount", name); err != nil {
		return nil, err
	}
	target := int(*in.TargetShardCount)
	now := s.now()
	var current int
	_, err = s.reshard(ctx, name, func(doc *streamDoc) error {
		if err := s.provisionedOnly("UpdateShardCount", doc); err != nil {
			return err
		}
		if err := s.requireActive(doc); err != nil {
			return err
		}
		current = doc.openCount()
		counts := fmt.Sprintf("Current open shard count: %d, Target shard count: %d", current, target)
		since := now.Add(-shardCountWindow).UnixMilli()
		doc.ShardCountUpdates = slices.DeleteFunc(doc.ShardCountUpdates, func(ms int64) bool { return ms <= since })
		switch {
		case len(doc.ShardCountUpdates) >= shardCountUpdatesMax:
			return kerr.NewLimitExceeded(fmt.Sprintf("UpdateShardCount failed for stream %s under account %s. "+
				"The stream has been rescaled %d times in the last 24 hours, the most allowed.", name, s.cfg.Account, shardCountUpdatesMax))
		case target > streamShardMax:
			return kerr.NewLimitExceeded(fmt.Sprintf("Target shard count or number of open shards cannot be greater than %d. %s", streamShardMax, counts))
		case target > 2*current:
			return kerr.NewLimitExceeded("UpdateShardCount cannot scale up over double your current open shard count. " + counts)
		case 2*target < current:
			return kerr.NewLimitExceeded("UpdateShardCount cannot scale down below half your current open shard count. " + counts)
		}
		if target > current {
			if err := s.checkShardLimit(ctx, target-current); err != nil {
				return err
			}
		}
		doc.ShardCountUpdates = append(doc.ShardCountUpdates, now.UnixMilli())
		doc.schedule(pendingChange{Kind: pendingRescale, Count: target}, now.UnixMilli())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &UpdateShardCountOutput{StreamName: name, StreamARN: s.arn(name), CurrentShardCount: current, TargetShardCount: target}, nil
}

func (d *streamDoc) openCount() int {
	n := 0
	for i := range d.Shards {
		if !d.Shards[i].Closed {
			n++
		}
	}
	return n
}

// piece is an open shard during a rescale: its range and its position in the document.
type piece struct {
	start, end hashKey
	pos        int
}

// openPieces returns the document's open shards in hash-key order.
func (d *streamDoc) openPieces() []piece {
	var out []piece
	for i := range d.Shards {
		if sh := &d.Shards[i]; !sh.Closed {
			start, _ := parseHashKey(sh.StartHash)
			end, _ := parseHashKey(sh.EndHash)
			out = append(out, piece{start, end, i})
		}
	}
	slices.SortFunc(out, func(a, b piece) int {
		if a.start.less(b.start) {
			return -1
		}
		return 1
	})
	return out
}

// rescale turns the open shards into n shards of equal size (within 1), as AWS does, by real splits and
// merges. First every open shard that a target boundary falls inside is split there (a shard holding
// several boundaries is split again on its right child); then the pieces of each target range are
// merged left to right. Every child thus has one parent (split) or two adjacent ones (merge), and the
// short-lived shards in between close with no records, as AWS's own short-lived shards do.
func (s *Service) rescale(ctx context.Context, doc *streamDoc, n int, now int64) error {
	starts := uniformStarts(n)
	var pieces []piece
	k := 1 // next boundary to place
	for _, p := range doc.openPieces() {
		for k < n && !p.end.less(starts[k]) {
			if p.start.less(starts[k]) {
				left, right, err := s.splitAt(ctx, doc, p.pos, starts[k], now)
				if err != nil {
					return err
				}
				pieces = append(pieces, piece{p.start, starts[k].dec(), left})
				p = piece{starts[k], p.end, right}
			}
			k++
		}
		pieces = append(pieces, p)
	}
	t := 0
	for i := 0; i < len(pieces); {
		cur := pieces[i].pos
		i++
		for i < len(pieces) && (t+1 == n || pieces[i].start.less(starts[t+1])) {
			var err error
			if cur, err = s.mergePair(ctx, doc, cur, pieces[i].pos, now); err != nil {
				return err
			}
			i++
		}
		t++
	}
	return nil
}

// uniformStarts returns the starting hash keys of n shards dividing [0, 2^128−1] so that sizes differ
// by at most one: shard i starts at ⌊i·2^128/n⌋. (For the counts CreateStream divides exactly or with a
// remainder of one, this is CreateStream's division too.)
func uniformStarts(n int) []hashKey {
	out := make([]hashKey, n)
	for i := range n {
		v := new(big.Int).Lsh(big.NewInt(int64(i)), 128)
		out[i] = fromBig(v.Div(v, big.NewInt(int64(n))))
	}
	return out
}
