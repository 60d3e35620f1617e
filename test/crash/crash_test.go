// Package crash_test is the crash campaign: the kinesisd binary killed with SIGKILL at random moments under load, resharding and deletes, restarted, and every acknowledged record checked.
package crash_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest/proc"
)

// The campaign is driven by environment variables, so that `go test ./test/crash/` runs a short one
// and `make crashtest` the long one:
//
//	KINESISD_CRASH_CYCLES  cycles (default 3)
//	KINESISD_CRASH_SEED    seed of the schedule: what each cycle does and when the kill comes (default: the clock)
//	KINESISD_CRASH_LOAD    longest load before the kill (Go duration, default 3s)
//	KINESISD_BIN           a built kinesisd to test instead of building cmd/kinesisd
//
// The seed fixes the schedule, not the interleaving of the load's goroutines with the kill.

const (
	writersPerStream = 2 // goroutines writing each stream, one PutRecords in flight each
	keysPerWriter    = 8 // partition keys a writer owns (no other writer uses them, so their order is known)
	maxBatch         = 250
	maxOpenShards    = 6 // resharding keeps each stream between 1 and this many open shards
	churnStream      = "crash-churn"
)

// streams are written in every cycle and resharded in some; churnStream is also deleted and created
// again in some cycles, and what was acknowledged in a deleted incarnation is not checked.
var streams = []struct {
	name   string
	shards int32
}{{"crash-a", 2}, {"crash-b", 3}, {"crash-c", 1}, {churnStream, 2}}

// What a cycle does besides writing.
type cycleKind int

const (
	plain cycleKind = iota
	reshard
	churn
	reshardChurn
)

func (k cycleKind) String() string {
	return [...]string{"write", "write+reshard", "write+delete", "write+reshard+delete"}[k]
}

// rec is what the campaign knows of the record with one id (ids index campaign.recs).
type rec struct {
	seqHash uint64 // FNV-64a of the acknowledged sequence number
	shard   uint32 // index in campaign.shardNames of the acknowledged shard
	state   uint8
	flags   uint8 // problems found with it (flagLost…), kept over all verifications
}

const (
	unacked  = iota // sent, not (yet) acknowledged: may be stored or not, but at most once
	acked           // acknowledged: must be stored once, with the acknowledged sequence number and shard
	excluded        // acknowledged on an incarnation of churnStream that was deleted since
)

const (
	flagLost = 1 << iota
	flagDup
	flagReordered
	flagChanged // stored, but not with the acknowledged sequence number or shard
)

// checkpoint is how far a verification has read a shard.
type checkpoint struct {
	after string // sequence number of the last record read ("" : none)
	done  bool   // a closed shard read to its end
}

type campaign struct {
	t      *testing.T
	dir    string
	p      *proc.Proc
	client *kinesis.Client

	mu         sync.Mutex
	recs       []rec // by id; id 0 is unused
	shardNames []string
	shardIndex map[string]uint32
	churnGen   int      // bumped when a DeleteStream of churnStream is about to be sent
	churnReady bool     // churnStream exists in generation churnGen and may be written
	churnIDs   []uint64 // ids acknowledged on churnStream in generation churnGen

	// Verification state: reset by a full verification, kept by an incremental one.
	seen      []uint8           // by id, times read back (saturating)
	lastOrder map[string]uint64 // stream/key → largest acknowledged id read back
	marks     map[string]checkpoint
	created   map[string]time.Time // stream → creation time when last verified (a new one resets its marks)

	acked int // records acknowledged, all cycles, churnStream's deleted incarnations included
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func TestCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process, cycle after cycle")
	}
	cycles := envInt(t, "KINESISD_CRASH_CYCLES", 3)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("KINESISD_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("KINESISD_CRASH_SEED=%q: %v", v, err)
		}
	}
	maxLoad := 3 * time.Second
	if v := os.Getenv("KINESISD_CRASH_LOAD"); v != "" {
		var err error
		if maxLoad, err = time.ParseDuration(v); err != nil || maxLoad < 200*time.Millisecond {
			t.Fatalf("KINESISD_CRASH_LOAD=%q: want a duration of at least 200ms", v)
		}
	}
	t.Logf("crash campaign: %d cycles, seed %d (KINESISD_CRASH_SEED=%d repeats the schedule)", cycles, seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	c := &campaign{
		t: t, dir: t.TempDir(),
		recs: make([]rec, 1), shardIndex: map[string]uint32{}, churnReady: true,
	}
	c.restart()
	for _, s := range streams {
		if _, err := c.client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(s.name), ShardCount: aws.Int32(s.shards)}); err != nil {
			t.Fatal(err)
		}
		if err := c.waitActive(t.Context(), s.name); err != nil {
			t.Fatal(err)
		}
	}

	for cycle := 1; cycle <= cycles; cycle++ {
		kind := cycleKind(rng.IntN(4))
		if cycle <= 3 { // a short campaign does each kind of cycle at least once
			kind = []cycleKind{plain, reshard, reshardChurn}[cycle-1]
		}
		killAfter := 200*time.Millisecond + time.Duration(rng.Int64N(int64(maxLoad-200*time.Millisecond)))
		full := cycle%10 == 0 || cycle == cycles
		before := c.acked
		ops, deletes := c.load(kind, killAfter, rng.Uint64())
		restartStart := time.Now()
		c.restart()
		restarted := time.Since(restartStart)
		c.ensureChurn()
		verifyStart := time.Now()
		v := c.verify(full)
		for _, e := range v.examples {
			t.Error(e)
		}
		mode := "incremental"
		if full {
			mode = "full"
		}
		t.Logf("cycle %3d/%d %-21s killed after %-6v +%6d acked (%8d total), %2d reshard ops, %d deletes; restart %v; %s check %v: lost %d, duplicated %d, reordered %d, changed %d",
			cycle, cycles, kind, killAfter.Round(time.Millisecond), c.acked-before, c.acked, ops, deletes,
			restarted.Round(time.Millisecond), mode, time.Since(verifyStart).Round(time.Millisecond), v.lost, v.dup, v.reord, v.changed)
	}
	lost, dup, reord, changed, excl := c.totals()
	c.selfCheck()
	if err := c.p.Stop(30 * time.Second); err != nil {
		t.Errorf("clean stop at the end: %v", err)
	}
	summary := fmt.Sprintf("crash campaign seed %d: cycles %d, acknowledged %d (%d of them on deleted streams, not checked), lost %d, duplicated %d, reordered %d, changed %d",
		seed, cycles, c.acked, excl, lost, dup, reord, changed)
	t.Log(summary)
	if lost+dup+reord+changed > 0 {
		t.Error(summary)
	}
}

// restart starts kinesisd on the data directory (the last process has ended).
func (c *campaign) restart() {
	c.t.Helper()
	c.p = proc.Start(c.t, bin, c.dir, "-throughput-limits=false")
	c.client = proc.NewClient(c.p.Endpoint, 2*time.Minute)
}

// load runs one cycle's load until killAfter and then kills the server with SIGKILL while the load
// still runs. It returns the resharding operations and deletes that succeeded.
func (c *campaign) load(kind cycleKind, killAfter time.Duration, seed uint64) (ops, deletes int) {
	ctx, cancel := context.WithCancel(c.t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for si, s := range streams {
		for w := range writersPerStream {
			wg.Go(func() { c.write(ctx, s.name, w, rand.New(rand.NewPCG(seed, uint64(si*writersPerStream+w)))) })
		}
	}
	var mu sync.Mutex
	if kind == reshard || kind == reshardChurn {
		wg.Go(func() {
			n := c.reshard(ctx, rand.New(rand.NewPCG(seed, 1000)))
			mu.Lock()
			ops = n
			mu.Unlock()
		})
	}
	if kind == churn || kind == reshardChurn {
		wg.Go(func() {
			n := c.deleteLoop(ctx, rand.New(rand.NewPCG(seed, 2000)))
			mu.Lock()
			deletes = n
			mu.Unlock()
		})
	}
	time.Sleep(killAfter)
	if c.p.HasExited() {
		c.t.Fatalf("kinesisd exited by itself during the load (%v); log:\n%s", c.p.ExitErr(), c.p.LogTail(50))
	}
	c.p.Kill()
	cancel()
	wg.Wait()
	return ops, deletes
}

// ids hands out n new record ids.
func (c *campaign) ids(n int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := uint64(len(c.recs))
	c.recs = append(c.recs, make([]rec, n)...)
	return first
}

// write sends PutRecords to stream until ctx ends, records of the writer's own partition keys in
// batches of random size, and records what was acknowledged.
func (c *campaign) write(ctx context.Context, stream string, w int, rng *rand.Rand) {
	for ctx.Err() == nil {
		gen := -1
		if stream == churnStream {
			c.mu.Lock()
			if c.churnReady {
				gen = c.churnGen
			}
			c.mu.Unlock()
			if gen < 0 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
		}
		n := 1 + rng.IntN(maxBatch)
		first := c.ids(n)
		entries := make([]types.PutRecordsRequestEntry, n)
		for i := range entries {
			key := fmt.Sprintf("w%d-k%d", w, rng.IntN(keysPerWriter))
			pad := strings.Repeat("x", rng.IntN(200))
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: fmt.Appendf(nil, "%d|%s|%s", first+uint64(i), key, pad)}
		}
		out, err := c.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil {
			// The server was killed under the request, or churnStream is being deleted: nothing of
			// this request was acknowledged.
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c.mu.Lock()
		if stream == churnStream && gen != c.churnGen {
			// A DeleteStream was sent meanwhile: these may have gone with the incarnation deleted.
			for i, r := range out.Records {
				if r.ErrorCode == nil {
					c.recs[first+uint64(i)].state = excluded
					c.acked++
				}
			}
			c.mu.Unlock()
			continue
		}
		for i, r := range out.Records {
			if r.ErrorCode != nil {
				continue
			}
			id := first + uint64(i)
			c.recs[id] = rec{seqHash: hashSeq(*r.SequenceNumber), shard: c.shardLocked(stream, *r.ShardId), state: acked}
			c.acked++
			if stream == churnStream {
				c.churnIDs = append(c.churnIDs, id)
			}
		}
		c.mu.Unlock()
	}
}

func hashSeq(seq string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(seq))
	return h.Sum64()
}

// shardLocked interns stream/shard; c.mu is held.
func (c *campaign) shardLocked(stream, shard string) uint32 {
	name := stream + "/" + shard
	i, ok := c.shardIndex[name]
	if !ok {
		i = uint32(len(c.shardNames))
		c.shardNames = append(c.shardNames, name)
		c.shardIndex[name] = i
	}
	return i
}

// reshard splits, merges and rescales the streams other than churnStream until ctx ends, one
// operation at a time, each followed by a wait for the stream to be ACTIVE again.
func (c *campaign) reshard(ctx context.Context, rng *rand.Rand) int {
	ops := 0
	for ctx.Err() == nil {
		stream := streams[rng.IntN(len(streams)-1)].name
		open, err := c.openShards(ctx, stream)
		if err != nil || len(open) == 0 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		switch op := rng.IntN(3); {
		case op == 0 && len(open) < maxOpenShards:
			s := open[rng.IntN(len(open))]
			lo, _ := new(big.Int).SetString(*s.HashKeyRange.StartingHashKey, 10)
			hi, _ := new(big.Int).SetString(*s.HashKeyRange.EndingHashKey, 10)
			if new(big.Int).Sub(hi, lo).Cmp(big.NewInt(2)) < 0 {
				continue
			}
			mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
			_, err = c.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: s.ShardId, NewStartingHashKey: aws.String(mid.Add(mid, big.NewInt(1)).String())})
		case op == 1 && len(open) > 1:
			i := rng.IntN(len(open) - 1) // open is sorted by hash range: i and i+1 are adjacent
			_, err = c.client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream), ShardToMerge: open[i].ShardId, AdjacentShardToMerge: open[i+1].ShardId})
		default:
			target := len(open) + 1
			if len(open) >= maxOpenShards || (len(open) > 1 && rng.IntN(2) == 0) {
				target = len(open) - 1
			}
			_, err = c.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(stream), TargetShardCount: aws.Int32(int32(target)), ScalingType: types.ScalingTypeUniformScaling})
		}
		if err != nil {
			time.Sleep(20 * time.Millisecond) // killed, or a limit: try another
			continue
		}
		ops++
		c.waitActive(ctx, stream)
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
	}
	return ops
}

// openShards lists stream's open shards in the order of their hash ranges.
func (c *campaign) openShards(ctx context.Context, stream string) ([]types.Shard, error) {
	all, err := c.listShards(ctx, stream)
	if err != nil {
		return nil, err
	}
	var open []types.Shard
	for _, s := range all {
		if s.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, s)
		}
	}
	slices.SortFunc(open, func(a, b types.Shard) int {
		x, _ := new(big.Int).SetString(*a.HashKeyRange.StartingHashKey, 10)
		y, _ := new(big.Int).SetString(*b.HashKeyRange.StartingHashKey, 10)
		return x.Cmp(y)
	})
	return open, nil
}

// listShards lists all of stream's shards, closed ones included.
func (c *campaign) listShards(ctx context.Context, stream string) ([]types.Shard, error) {
	var all []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream)}
	for {
		out, err := c.client.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Shards...)
		if out.NextToken == nil {
			return all, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// deleteLoop deletes churnStream and creates it again until ctx ends; writes to it stop from just
// before each DeleteStream until the new stream is ACTIVE.
func (c *campaign) deleteLoop(ctx context.Context, rng *rand.Rand) int {
	deletes := 0
	for {
		select {
		case <-ctx.Done():
			return deletes
		case <-time.After(100*time.Millisecond + time.Duration(rng.IntN(600))*time.Millisecond):
		}
		c.bumpChurn()
		if _, err := c.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(churnStream), EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
			return deletes
		}
		deletes++
		if err := c.createChurn(ctx); err != nil {
			return deletes
		}
	}
}

// bumpChurn starts a new generation of churnStream: what was acknowledged on it so far is no
// longer checked, and writes wait until createChurn sets churnReady.
func (c *campaign) bumpChurn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.churnGen++
	c.churnReady = false
	for _, id := range c.churnIDs {
		c.recs[id].state = excluded
	}
	c.churnIDs = nil
}

// createChurn waits for churnStream to be gone, creates it and waits for it to be ACTIVE.
func (c *campaign) createChurn(ctx context.Context) error {
	for {
		_, err := c.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(churnStream)})
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := c.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(churnStream), ShardCount: aws.Int32(2)}); err != nil {
		return err
	}
	if err := c.waitActive(ctx, churnStream); err != nil {
		return err
	}
	c.mu.Lock()
	c.churnReady = true
	c.mu.Unlock()
	return nil
}

// ensureChurn, after a restart, makes churnStream exist and be writable. If the kill came in the
// middle of a delete and create, the generation was bumped already, so that what is stored now is
// not checked whichever incarnation it is.
func (c *campaign) ensureChurn() {
	c.t.Helper()
	ctx := c.t.Context()
	out, err := c.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(churnStream)})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf), err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusDeleting:
		c.mu.Lock()
		ready := c.churnReady
		c.mu.Unlock()
		if ready {
			c.t.Errorf("%s is gone after the restart, though no DeleteStream was sent", churnStream)
			c.bumpChurn()
		}
		err = c.createChurn(ctx)
	case err == nil:
		err = c.waitActive(ctx, churnStream)
		c.mu.Lock()
		c.churnReady = true
		c.mu.Unlock()
	}
	if err != nil {
		c.t.Fatalf("%s after the restart: %v", churnStream, err)
	}
}

// waitActive waits until stream is ACTIVE.
func (c *campaign) waitActive(ctx context.Context, stream string) error {
	for {
		out, err := c.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			return err
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verify reads every stream back, each shard from where the last verification stopped (full: from
// TRIM_HORIZON, forgetting what was read before), parents before children, and flags records lost,
// duplicated, reordered within their partition key, or stored with another sequence number or
// shard than acknowledged.
func (c *campaign) verify(full bool) verdict {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if full || c.marks == nil {
		c.seen = make([]uint8, len(c.recs))
		c.lastOrder = map[string]uint64{}
		c.marks = map[string]checkpoint{}
		c.created = map[string]time.Time{}
	}
	if grow := len(c.recs) - len(c.seen); grow > 0 {
		c.seen = append(c.seen, make([]uint8, grow)...)
	}
	var v verdict
	flag := func(id uint64, f uint8, what string) {
		if c.recs[id].flags&f == 0 && len(v.examples) < 10 {
			v.examples = append(v.examples, fmt.Sprintf("record %d %s", id, what))
		}
		c.recs[id].flags |= f
		switch f {
		case flagDup:
			v.dup++
		case flagReordered:
			v.reord++
		case flagChanged:
			v.changed++
		}
	}
	ctx := c.t.Context()
	for _, s := range streams {
		sum, err := c.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(s.name)})
		if err != nil {
			c.t.Fatalf("verify %s: %v", s.name, err)
		}
		if created := *sum.StreamDescriptionSummary.StreamCreationTimestamp; !created.Equal(c.created[s.name]) {
			for k := range c.marks { // a new incarnation: read it all
				if strings.HasPrefix(k, s.name+"/") {
					delete(c.marks, k)
				}
			}
			c.created[s.name] = created
		}
		shards, err := c.listShards(ctx, s.name)
		if err != nil {
			c.t.Fatalf("verify %s: %v", s.name, err)
		}
		for _, sh := range lineageOrder(shards) {
			mark := s.name + "/" + *sh.ShardId
			cp := c.marks[mark]
			if cp.done {
				continue
			}
			in := &kinesis.GetShardIteratorInput{StreamName: aws.String(s.name), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
			if cp.after != "" {
				in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(cp.after)
			}
			it, err := c.client.GetShardIterator(ctx, in)
			if err != nil {
				c.t.Fatalf("verify %s: %v", mark, err)
			}
			iter := it.ShardIterator
			for iter != nil {
				res, err := c.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
				if err != nil {
					c.t.Fatalf("verify %s: GetRecords: %v", mark, err)
				}
				for _, r := range res.Records {
					cp.after = *r.SequenceNumber
					idText, rest, _ := strings.Cut(string(r.Data), "|")
					key, _, _ := strings.Cut(rest, "|")
					id, err := strconv.ParseUint(idText, 10, 64)
					if err != nil || id == 0 || id >= uint64(len(c.recs)) {
						c.t.Errorf("%s: a record the campaign did not write: %.80q", mark, r.Data)
						continue
					}
					if c.seen[id] < 255 {
						c.seen[id]++
					}
					if c.seen[id] == 2 {
						flag(id, flagDup, fmt.Sprintf("read twice, the second time at %s %s", mark, *r.SequenceNumber))
					}
					rc := c.recs[id]
					if rc.state != acked || c.seen[id] > 1 {
						continue
					}
					if rc.seqHash != hashSeq(*r.SequenceNumber) || c.shardNames[rc.shard] != mark {
						flag(id, flagChanged, fmt.Sprintf("acknowledged as %s, read at %s %s", c.shardNames[rc.shard], mark, *r.SequenceNumber))
					}
					ok := s.name + "/" + key
					if id <= c.lastOrder[ok] {
						flag(id, flagReordered, fmt.Sprintf("of key %s read after record %d", ok, c.lastOrder[ok]))
					} else {
						c.lastOrder[ok] = id
					}
				}
				iter = res.NextShardIterator
				if iter == nil {
					cp.done = true
				}
				if len(res.Records) == 0 && aws.ToInt64(res.MillisBehindLatest) == 0 {
					break // the end of an open shard: nothing is written while the check runs
				}
			}
			c.marks[mark] = cp
		}
	}
	for id := 1; id < len(c.recs); id++ {
		if c.recs[id].state == acked && c.seen[id] == 0 {
			if c.recs[id].flags&flagLost == 0 && len(v.examples) < 10 {
				v.examples = append(v.examples, fmt.Sprintf("record %d lost: acknowledged at %s", id, c.shardNames[c.recs[id].shard]))
			}
			c.recs[id].flags |= flagLost
			v.lost++
		}
	}
	return v
}

// verdict is what one verification found: records flagged for the first time or again, and up to ten
// of them described.
type verdict struct {
	lost, dup, reord, changed int
	examples                  []string
}

// selfCheck makes sure that verify sees what it looks for: it stores one record twice, two out of
// order, one under another sequence number than recorded, records one acknowledgement of a record
// never sent, and expects one of each problem from an incremental verification.
func (c *campaign) selfCheck() {
	c.t.Helper()
	put := func(id uint64, key string) (string, uint32) {
		c.t.Helper()
		out, err := c.client.PutRecord(c.t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("crash-a"), PartitionKey: aws.String(key), Data: fmt.Appendf(nil, "%d|%s|", id, key)})
		if err != nil {
			c.t.Fatal(err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return *out.SequenceNumber, c.shardLocked("crash-a", *out.ShardId)
	}
	ack := func(id uint64, seq string, shard uint32) {
		c.mu.Lock()
		c.recs[id] = rec{seqHash: hashSeq(seq), shard: shard, state: acked}
		c.mu.Unlock()
	}
	first := c.ids(5)
	lostID, dupID, early, late, changedID := first, first+1, first+2, first+3, first+4
	ack(lostID, "1", 0)
	seq, shard := put(dupID, "self-dup")
	ack(dupID, seq, shard)
	put(dupID, "self-dup")
	seq, shard = put(late, "self-order")
	ack(late, seq, shard)
	seq, shard = put(early, "self-order")
	ack(early, seq, shard)
	_, shard = put(changedID, "self-changed")
	ack(changedID, "2", shard)
	v := c.verify(false)
	if v.lost != 1 || v.dup != 1 || v.reord != 1 || v.changed != 1 {
		c.t.Errorf("self-check: verify found lost %d, duplicated %d, reordered %d, changed %d; want one of each:\n%s",
			v.lost, v.dup, v.reord, v.changed, strings.Join(v.examples, "\n"))
		return
	}
	c.t.Log("self-check: verify finds a lost, a duplicated, a reordered and a changed record")
}

// totals counts the records flagged over the whole campaign, and those acknowledged on a deleted
// incarnation of churnStream.
func (c *campaign) totals() (lost, dup, reord, changed, excl int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recs {
		if r.state == excluded {
			excl++
		}
		if r.flags&flagLost != 0 {
			lost++
		}
		if r.flags&flagDup != 0 {
			dup++
		}
		if r.flags&flagReordered != 0 {
			reord++
		}
		if r.flags&flagChanged != 0 {
			changed++
		}
	}
	return lost, dup, reord, changed, excl
}

// lineageOrder sorts shards so that every shard comes after its parents (a split's or merge's
// children hold the later records of the parents' partition keys).
func lineageOrder(shards []types.Shard) []types.Shard {
	byID := map[string]types.Shard{}
	for _, s := range shards {
		byID[*s.ShardId] = s
	}
	placed := map[string]bool{}
	var out []types.Shard
	var place func(s types.Shard)
	place = func(s types.Shard) {
		if placed[*s.ShardId] {
			return
		}
		placed[*s.ShardId] = true
		for _, parent := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
			if p, ok := byID[aws.ToString(parent)]; ok {
				place(p)
			}
		}
		out = append(out, s)
	}
	sorted := slices.Clone(shards)
	slices.SortFunc(sorted, func(a, b types.Shard) int { return strings.Compare(*a.ShardId, *b.ShardId) })
	for _, s := range sorted {
		place(s)
	}
	return out
}
