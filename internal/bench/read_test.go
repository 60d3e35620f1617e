package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/maphash"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"kinesisd/internal/protocol/awsjson"
	"kinesisd/internal/service"
)

// getRecordsReply is a GetRecords response of n records of size bytes as the kinesisd server writes
// it (awsjson), with 56-digit increasing sequence numbers and 16 to 32 character partition keys, and
// the acknowledgments the writer kept of those records.
func getRecordsReply(tb testing.TB, seed maphash.Seed, n, size int) ([]byte, []ack) {
	rng := rand.New(rand.NewPCG(3, 4))
	seq, _ := new(big.Int).SetString("49590338271490256608559692538361571095921575989136588898", 10)
	step := big.NewInt(1_000_000_007_000)
	out := &service.GetRecordsOutput{NextShardIterator: new(string), MillisBehindLatest: 0}
	*out.NextShardIterator = "AAAAAAAAAAGq3Ve2mZ2i7x8XKpV1yLlYvCq2jx1e2Y6pSnNlZKvNq0A8Hk1xqjH4Xk5Y8Qn8y5l0kQ=="
	acks := make([]ack, 0, n)
	now := time.Unix(1_700_000_000, 123_000_000)
	for range n {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		key := fmt.Sprintf("%032x", rng.Uint64())[:16+rng.IntN(17)]
		s := seq.String()
		out.Records = append(out.Records, service.Record{SequenceNumber: s, Data: data, PartitionKey: key,
			ApproximateArrivalTimestamp: service.Timestamp{Time: now}})
		num, ok := parseSeq([]byte(s))
		if !ok {
			tb.Fatalf("parseSeq(%s) failed", s)
		}
		acks = append(acks, ack{seq: num, hash: hashData(seed, base64.StdEncoding.AppendEncode(nil, data))})
		seq.Add(seq, step)
	}
	body, err := awsjson.AppendGetRecords(nil, out)
	if err != nil {
		tb.Fatal(err)
	}
	return body, acks
}

// BenchmarkReadBackResponse is the read-back's work per GetRecords response of 10,000 × 1 KiB besides
// the network, as shardReader.read does it: parse the response, then check each record (parse its
// sequence number, hash its base64, compare with the acknowledgment, count its bytes).
func BenchmarkReadBackResponse(b *testing.B) {
	const n = 10_000
	seed := maphash.MakeSeed()
	body, acks := getRecordsReply(b, seed, n, 1024)
	r := &shardReader{seed: seed, check: newShardCheck(acks)}
	var res getResult
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := cpuNow(b)
	for b.Loop() {
		*r.check = shardCheck{acked: r.check.acked, c: checkCounts{Acked: n}}
		if err := parseGetRecords(body, &res); err != nil {
			b.Fatal(err)
		}
		r.checkRecords(res.records)
	}
	if c := r.check.finish(); c.Matched != n {
		b.Fatalf("%+v", c)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
	// The process's CPU time, less swayed than the clock by what else the machine runs.
	b.ReportMetric(float64((cpuNow(b)-cpu).Nanoseconds())/float64(b.N)/n, "cpu-ns/record")
}

// cpuNow is the CPU time (user and system) this process has used.
func cpuNow(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkRecordsOld is checkRecords as it was, on records read by recordsOld, kept to hold the new
// one to.
func (r *shardReader) checkRecordsOld(recs []getRecord) {
	for _, rec := range recs {
		seq, ok := parseSeq(rec.seq)
		if !ok {
			r.check.badSeq()
			continue
		}
		h := hashData(r.seed, rec.data)
		if want, ok := r.check.want(seq); ok && h != want {
			if text, ok := canonical(rec.data); ok {
				h = hashData(r.seed, text)
			}
		}
		r.check.see(seq, h)
		r.bytes += int64(decodedLen(rec.data) + len(rec.key))
	}
}

// recordsOld reads a records array as the scanner did before rawStr and plainRecord: by key, every
// string decoded (strTwoPass).
func recordsOld(body []byte) ([]getRecord, error) {
	s := &scanner{b: body}
	var dst []getRecord
	s.array(func() {
		var r getRecord
		s.object(func(key []byte) {
			switch string(key) {
			case "SequenceNumber":
				r.seq = s.strTwoPass()
			case "Data":
				r.data = s.strTwoPass()
			case "PartitionKey":
				r.key = s.strTwoPass()
			default:
				s.skip()
			}
		})
		dst = append(dst, r)
	})
	return dst, s.err
}

// escapeJSON writes text (base64) into a JSON string's text with escapes a server may use: every
// '/' as "\/" and, where every is set, every byte as "\u00XX".
func escapeJSON(text string, every bool) string {
	var b strings.Builder
	for _, c := range []byte(text) {
		switch {
		case every:
			fmt.Fprintf(&b, `\u%04X`, c)
		case c == '/':
			b.WriteString(`\/`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestCheckRecordsEscapedData(t *testing.T) {
	seed := maphash.MakeSeed()
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 8
	var acks []ack
	var texts []string // each record's base64, as sent
	for i := range n {
		data := make([]byte, 30+i)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		data[0] = 0xff // its base64 starts with '/'
		text := base64.StdEncoding.EncodeToString(data)
		texts = append(texts, text)
		acks = append(acks, ack{seq: seqNum{0, 0, uint64(i + 1)}, hash: hashData(seed, []byte(text))})
	}
	// wrong is text with one character changed to another of the alphabet, its bytes other than sent.
	wrong := func(text string) string {
		if text[5] == 'A' {
			return text[:5] + "B" + text[6:]
		}
		return text[:5] + "A" + text[6:]
	}
	tests := []struct {
		name string
		data func(i int, text string) string // the Data string's text as the server sends record i
		seqs []int                           // the sequence numbers sent, if not 1 to n
		want checkCounts                     // Acked, Read and Passed are set below
		old  bool                            // the old scanner and check counted the same
	}{
		{name: "plain", data: func(_ int, t string) string { return t }, want: checkCounts{Matched: n}, old: true},
		{name: `"\/"`, data: func(_ int, t string) string { return escapeJSON(t, false) }, want: checkCounts{Matched: n}, old: true},
		{name: `every byte "\u00XX"`, data: func(_ int, t string) string { return escapeJSON(t, true) }, want: checkCounts{Matched: n}, old: true},
		{name: "some records escaped", data: func(i int, t string) string { return escapeJSON(t, i%2 == 0) }, want: checkCounts{Matched: n}, old: true},
		{name: `escaped line breaks (not canonical base64, the bytes sent)`, data: func(_ int, t string) string { return t[:8] + `\r\n` + escapeJSON(t[8:], false) },
			want: checkCounts{Matched: n}, old: true},
		{name: `"\/", other bytes`, data: func(_ int, t string) string { return escapeJSON(wrong(t), false) }, want: checkCounts{Mismatched: n}, old: true},
		{name: `"\u00XX", other bytes`, data: func(_ int, t string) string { return escapeJSON(wrong(t), true) }, want: checkCounts{Mismatched: n}, old: true},
		{name: `"\u00XX" of a quote`, data: func(_ int, t string) string { return `\u0022` + escapeJSON(t, true) }, want: checkCounts{Mismatched: n}, old: true},
		{name: `"\\"`, data: func(_ int, t string) string { return t[:4] + `\\` + t[4:] }, want: checkCounts{Mismatched: n}, old: true},
		{name: "not acknowledged, escaped", data: func(_ int, t string) string { return escapeJSON(t, true) }, seqs: []int{101, 102},
			want: checkCounts{Missing: n, Extra: 2}, old: true},
		// Today a Data string that is not valid JSON is read as other bytes than sent; the scanner used
		// to reject the whole response (and the shard was left unread: its records missing).
		{name: `invalid escape "\x"`, data: func(_ int, t string) string { return `\x` + t }, want: checkCounts{Mismatched: n}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seqs := tt.seqs
			if seqs == nil {
				for i := range n {
					seqs = append(seqs, i+1)
				}
			}
			var body bytes.Buffer
			body.WriteByte('[')
			var wantBytes int64
			for i, seq := range seqs {
				if i > 0 {
					body.WriteByte(',')
				}
				text := texts[i]
				data := tt.data(i, text)
				fmt.Fprintf(&body, `{"SequenceNumber":"%d","ApproximateArrivalTimestamp":1.7E9,"Data":"%s","PartitionKey":"k%d"}`, seq, data, i)
				wantBytes += int64(decodedLen(dataText([]byte(data))) + len(fmt.Sprint("k", i)))
			}
			body.WriteByte(']')

			s := &scanner{b: body.Bytes()}
			recs := s.records(nil)
			if s.err != nil {
				t.Fatalf("%s: %v", body.Bytes(), s.err)
			}
			r := &shardReader{seed: seed, check: newShardCheck(slices.Clone(acks))}
			r.checkRecords(recs)
			got := r.check.finish()
			got.judge(true)
			want := tt.want
			want.Acked, want.Read = n, int64(len(seqs))
			want.Passed, want.StrictExtra = want.Matched == n && want.Extra == 0, true
			if got != want {
				t.Errorf("%s:\ngot  %+v\nwant %+v", body.Bytes(), got, want)
			}
			if r.bytes != wantBytes {
				t.Errorf("%d bytes counted, want %d", r.bytes, wantBytes)
			}

			old, err := recordsOld(body.Bytes())
			if !tt.old {
				if err == nil {
					t.Errorf("the old scanner read %s", body.Bytes())
				}
				return
			}
			if err != nil {
				t.Fatalf("the old scanner: %v", err)
			}
			ro := &shardReader{seed: seed, check: newShardCheck(slices.Clone(acks))}
			ro.checkRecordsOld(old)
			oc := ro.check.finish()
			oc.judge(true)
			if oc != got || ro.bytes != r.bytes {
				t.Errorf("the old check counted %+v, %d bytes; the new %+v, %d bytes", oc, ro.bytes, got, r.bytes)
			}
		})
	}
}
