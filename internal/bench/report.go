package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// result is a run's outcome; its JSON form is the last line `kinesisd bench` prints.
type result struct {
	RecordsPerSec     float64          `json:"records_per_sec"`
	MBPerSec          float64          `json:"mb_per_sec"` // MB = 10^6 bytes of data + partition key
	P50ms             float64          `json:"p50_ms"`
	P90ms             float64          `json:"p90_ms"`
	P99ms             float64          `json:"p99_ms"`
	MaxMs             float64          `json:"max_ms"`
	Records           int64            `json:"records"`
	FailedRecords     map[string]int64 `json:"failed_records"`
	FailedRequests    map[string]int64 `json:"failed_requests"`
	Workers           int              `json:"workers"`
	Shards            int              `json:"shards"`
	RecordSize        int              `json:"record_size"`
	RecordsPerRequest int              `json:"records_per_request"`
	DurationS         float64          `json:"duration_s"`
	RequestsPerSec    float64          `json:"requests_per_sec"`
	Requests          int64            `json:"requests"`
	Bytes             int64            `json:"bytes"`
	Stream            string           `json:"stream"`
	Endpoint          string           `json:"endpoint"`
	Protocol          string           `json:"protocol"`
	Read              *readResult      `json:"read,omitempty"`      // without -read=false
	Subscribe         *subscribeResult `json:"subscribe,omitempty"` // with -subscribers
	Server            *procStats       `json:"server,omitempty"`    // with -pid
	Client            *procStats       `json:"client,omitempty"`    // the bench itself

	answered int               // calls whose latency was measured
	examples map[string]string // first message per error code
}

// summarize merges the workers' tallies over a measured window of length window.
func summarize(tallies []*tally, window time.Duration) *result {
	res := &result{FailedRecords: map[string]int64{}, FailedRequests: map[string]int64{}, examples: map[string]string{}}
	var lat []time.Duration
	for _, t := range tallies {
		lat = append(lat, t.latencies...)
		res.Requests += t.requests
		res.Records += t.records
		res.Bytes += t.bytes
		for code, n := range t.failedRecords {
			res.FailedRecords[code] += n
		}
		for code, n := range t.failedRequests {
			res.FailedRequests[code] += n
		}
		for code, msg := range t.examples {
			if _, ok := res.examples[code]; !ok {
				res.examples[code] = msg
			}
		}
	}
	slices.Sort(lat)
	res.answered = len(lat)
	res.P50ms = ms(percentile(lat, 50))
	res.P90ms = ms(percentile(lat, 90))
	res.P99ms = ms(percentile(lat, 99))
	res.MaxMs = ms(percentile(lat, 100))
	res.DurationS = round(window.Seconds(), 3)
	if s := window.Seconds(); s > 0 {
		res.RecordsPerSec = round(float64(res.Records)/s, 1)
		res.MBPerSec = round(float64(res.Bytes)/1e6/s, 3)
		res.RequestsPerSec = round(float64(res.Requests)/s, 1)
	}
	return res
}

// percentile returns the exact p-th percentile (nearest rank) of sorted, or 0 if it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(x float64, digits int) float64 {
	scale := math.Pow(10, float64(digits))
	return math.Round(x*scale) / scale
}

// printTable writes the human summary.
func printTable(w io.Writer, res *result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "kinesisd bench: %s (%s), stream %s (%d shards), %d workers × %d records × %d bytes\n",
		res.Endpoint, res.Protocol, res.Stream, res.Shards, res.Workers, res.RecordsPerRequest, res.RecordSize)
	fmt.Fprintf(tw, "measured\t%.3f s\t(after the warm-up; calls count when they complete inside it)\n", res.DurationS)
	fmt.Fprintf(tw, "records/s\t%.1f\t(%d records acknowledged)\n", res.RecordsPerSec, res.Records)
	fmt.Fprintf(tw, "MB/s\t%.3f\t(MB = 10^6 bytes of data + partition key; %d bytes acknowledged)\n", res.MBPerSec, res.Bytes)
	fmt.Fprintf(tw, "requests/s\t%.1f\t(%d PutRecords calls, failed ones included)\n", res.RequestsPerSec, res.Requests)
	fmt.Fprintf(tw, "latency\t\t(of the %d PutRecords calls that got a PutRecords response)\n", res.answered)
	for _, p := range []struct {
		name string
		v    float64
	}{{"p50", res.P50ms}, {"p90", res.P90ms}, {"p99", res.P99ms}, {"max", res.MaxMs}} {
		fmt.Fprintf(tw, "  %s\t%.3f ms\t\n", p.name, p.v)
	}
	printFailures(tw, "failed records", res.FailedRecords, res.examples)
	printFailures(tw, "failed requests", res.FailedRequests, res.examples)
	if f := res.Subscribe; f != nil {
		fmt.Fprintf(tw, "subscribers\t%d\t(consumers, each with SubscribeToShard open on the shards subscribed to: %d subscriptions)\n", f.Consumers, f.Subscriptions)
		fmt.Fprintf(tw, "  received\t%d records\t(of %d: every acknowledged record to every consumer; %d bytes)\n", f.Records, f.Expected, f.Bytes)
		fmt.Fprintf(tw, "  records/s\t%.1f\t(%d received in the measured window, over every subscription)\n", f.RecordsPerSec, f.WindowRecords)
		fmt.Fprintf(tw, "  events\t%d\t(%d resubscriptions; MillisBehindLatest at most %d)\n", f.Events, f.Resubscribes, f.MaxBehindMs)
		fmt.Fprintf(tw, "  out of order\t%d\t(records not after the one their consumer received before on the shard)\n", f.OutOfOrder)
		fmt.Fprintf(tw, "  lag\tp50 %.3f ms, p99 %.3f ms, max %.3f ms\t(PutRecords acknowledged → event received; %d sampled records of the window, %d of them received before their acknowledgment)\n",
			f.LagP50Ms, f.LagP99Ms, f.LagMaxMs, f.LagSamples, f.LagBeforeAck)
		printFailures(tw, "  failures", f.Failures, f.examples)
	}
	if r := res.Read; r != nil {
		fmt.Fprintf(tw, "read-back\t%.3f s\t(GetRecords on %d shards in parallel, from TRIM_HORIZON to the tip)\n", r.Seconds, r.Shards)
		fmt.Fprintf(tw, "  records/s\t%.1f\t(%d records read)\n", r.RecordsPerSec, r.Records)
		fmt.Fprintf(tw, "  MB/s\t%.3f\t(%d bytes read)\n", r.MBPerSec, r.Bytes)
		fmt.Fprintf(tw, "  calls\t%d\t(%d throttled and retried)\n", r.Calls, r.Throttles)
		printFailures(tw, "  failed calls", r.Failures, r.examples)
		c := r.Check
		verdict := "passed"
		if !c.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(tw, "  check\t%s\t(%d acknowledged, %d read, %d matched, %d missing, %d mismatched, %d duplicated, %d out of order, %d not sent by this run)\n",
			verdict, c.Acked, c.Read, c.Matched, c.Missing, c.Mismatched, c.Duplicates, c.OutOfOrder, c.Extra)
	}
	for _, p := range []struct {
		name string
		s    *procStats
	}{{"server", res.Server}, {"client", res.Client}} {
		if p.s == nil {
			continue
		}
		fmt.Fprintf(tw, "%s pid %d\t\t\n", p.name, p.s.PID)
		fmt.Fprintf(tw, "  CPU\t%.1f %%\t(of one core, measured window; %.1f %% during the read-back)\n", p.s.CPUPct, p.s.ReadCPUPct)
		fmt.Fprintf(tw, "  RSS\t%.1f MiB\t(peak; %.1f MiB up to the end of the writes, %.1f MiB before the run)\n",
			p.s.RSSPeakMiB, p.s.RSSWritePeakMiB, p.s.RSSIdleMiB)
	}
	tw.Flush()
}

func printFailures(tw io.Writer, title string, counts map[string]int64, examples map[string]string) {
	if len(counts) == 0 {
		fmt.Fprintf(tw, "%s\t0\t\n", title)
		return
	}
	fmt.Fprintf(tw, "%s\t\t\n", title)
	for _, code := range slices.Sorted(maps.Keys(counts)) {
		msg := examples[code]
		if len(msg) > 120 {
			msg = msg[:117] + "..."
		}
		fmt.Fprintf(tw, "  %s\t%d\te.g. %q\n", code, counts[code], msg)
	}
}

// printJSON writes res as one line of JSON.
func printJSON(w io.Writer, res *result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
