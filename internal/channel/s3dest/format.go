// Package s3dest is what a channel to general-purpose S3 writes: the record formats, compressions,
// object keys and dead-letter objects (the stores themselves are internal/channel/objstore's).
package s3dest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// Record is one stream record as a channel delivers it.
type Record struct {
	Data           []byte
	PartitionKey   string
	SequenceNumber string
	ShardID        string
	Arrival        time.Time
}

// ObjectOptions are what a channel's configuration asks of every request to its bucket: the account
// that must own it (ExpectedBucketOwner, sent as x-amz-expected-bucket-owner) and, on writes, the
// storage class (x-amz-storage-class). Empty fields are not sent. Only an S3 endpoint uses them: the
// embedded directory buckets and memory have one owner and one class.
type ObjectOptions struct {
	ExpectedBucketOwner, StorageClass string
}

// Rejected is a record that could not be converted to the channel's format, and why.
type Rejected struct {
	Record Record
	Reason string
}

// Encode renders recs in format, one record per line:
//   - JSON and GSR_JSON: each record's data, a JSON value, compacted onto one line (GSR_JSON is read
//     as JSON: no Glue Schema Registry is reachable, so the schema is not applied);
//   - STRING: each record's data, UTF-8 text, as it is (a record holding a line break or a carriage
//     return would not come back as one record, so it is rejected);
//   - BYTE_ARRAY: each record's data in standard base64.
//
// Records that cannot be rendered come back in rejected, in order, and are left out of body.
func Encode(format string, recs []Record) (body []byte, rejected []Rejected) {
	size := 0
	for _, r := range recs {
		size += base64.StdEncoding.EncodedLen(len(r.Data)) + 1 // the most any format writes
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	for _, r := range recs {
		switch format {
		case "JSON", "GSR_JSON":
			if !json.Valid(r.Data) {
				rejected = append(rejected, Rejected{r, "the record's data is not a JSON value"})
				continue
			}
			if err := json.Compact(b, r.Data); err != nil {
				rejected = append(rejected, Rejected{r, "the record's data is not a JSON value"})
				continue
			}
		case "STRING":
			if !utf8.Valid(r.Data) || bytes.ContainsAny(r.Data, "\r\n") {
				rejected = append(rejected, Rejected{r, "the record's data is not one line of UTF-8 text"})
				continue
			}
			b.Write(r.Data)
		default: // BYTE_ARRAY
			b.Write(base64.StdEncoding.AppendEncode(b.AvailableBuffer(), r.Data))
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), rejected
}

// deadLetter is a rejected record as a dead-letter object holds it (one JSON object per line).
type deadLetter struct {
	ShardID                     string `json:"shardId"`
	SequenceNumber              string `json:"sequenceNumber"`
	PartitionKey                string `json:"partitionKey"`
	ApproximateArrivalTimestamp int64  `json:"approximateArrivalTimestamp"` // Unix milliseconds
	Data                        []byte `json:"data"`                        // base64
	ErrorCode                   string `json:"errorCode"`
	ErrorMessage                string `json:"errorMessage"`
}

// EncodeDeadLetters renders rejected records for the dead-letter location: one JSON object per line
// with the record's data in base64, its shard, sequence number, partition key and arrival, and why.
func EncodeDeadLetters(rejected []Rejected) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range rejected {
		_ = enc.Encode(deadLetter{
			ShardID: r.Record.ShardID, SequenceNumber: r.Record.SequenceNumber, PartitionKey: r.Record.PartitionKey,
			ApproximateArrivalTimestamp: r.Record.Arrival.UnixMilli(), Data: r.Record.Data,
			ErrorCode: "RecordConversionFailed", ErrorMessage: r.Reason,
		})
	}
	return b.Bytes()
}

// DecodeDeadLetters reads a dead-letter object back (for tests and tools).
func DecodeDeadLetters(body []byte) ([]Rejected, error) {
	var out []Rejected
	dec := json.NewDecoder(bytes.NewReader(body))
	for dec.More() {
		var d deadLetter
		if err := dec.Decode(&d); err != nil {
			return nil, err
		}
		out = append(out, Rejected{Record{Data: d.Data, PartitionKey: d.PartitionKey, SequenceNumber: d.SequenceNumber,
			ShardID: d.ShardID, Arrival: time.UnixMilli(d.ApproximateArrivalTimestamp).UTC()}, d.ErrorMessage})
	}
	return out, nil
}

// Compress compresses body as compression says: NONE, GZIP or ZSTD.
func Compress(compression string, body []byte) ([]byte, error) {
	switch compression {
	case "GZIP":
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
		if _, err := w.Write(body); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case "ZSTD":
		w, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer w.Close()
		return w.EncodeAll(body, nil), nil
	}
	return body, nil
}

// Decompress reverses Compress.
func Decompress(compression string, body []byte) ([]byte, error) {
	switch compression {
	case "GZIP":
		r, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(r); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case "ZSTD":
		r, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return r.DecodeAll(body, nil)
	}
	return body, nil
}

// Extension is the file extension of format and compression: json, txt or b64, then .gz or .zst.
func Extension(format, compression string) string {
	ext := "json"
	switch format {
	case "STRING":
		ext = "txt"
	case "BYTE_ARRAY":
		ext = "b64"
	}
	switch compression {
	case "GZIP":
		ext += ".gz"
	case "ZSTD":
		ext += ".zst"
	}
	return ext
}

// KeyFields are what an object key is made of: the channel, the stream and shard, the first record's
// sequence number and arrival (so that the key of the object holding a run of records is the same
// whenever the run is delivered again: what makes delivery exactly once), and the extension.
type KeyFields struct {
	Channel, Stream, ShardID, FirstSequence string
	Arrival                                 time.Time
	Extension                               string
}

// DefaultTemplate is the key prefix of a channel without OutputKeyTemplate: the stream, then the
// first record's arrival hour (UTC).
const DefaultTemplate = "!{stream}/!{timestamp:yyyy/MM/dd/HH}/"

// Key is the object key of f under template: the template's placeholders expanded (!{stream},
// !{channel}, !{shard} and !{timestamp:PATTERN} with yyyy, MM, dd, HH, mm and ss of the first record's
// arrival in UTC), then <channel>-<shard>-<first sequence number>.<extension>. The expanded template is
// a prefix: the name that follows keeps every object's key unique and the same on a redelivery.
func Key(template string, f KeyFields) string {
	if template == "" {
		template = DefaultTemplate
	}
	return Expand(template, f) + fmt.Sprintf("%s-%s-%s.%s", f.Channel, f.ShardID, f.FirstSequence, f.Extension)
}

// Expand expands the placeholders of template for f.
func Expand(template string, f KeyFields) string {
	var b strings.Builder
	for {
		i := strings.Index(template, "!{")
		if i < 0 {
			b.WriteString(template)
			return b.String()
		}
		j := strings.IndexByte(template[i:], '}')
		if j < 0 {
			b.WriteString(template)
			return b.String()
		}
		b.WriteString(template[:i])
		name := template[i+2 : i+j]
		switch {
		case name == "stream":
			b.WriteString(f.Stream)
		case name == "channel":
			b.WriteString(f.Channel)
		case name == "shard":
			b.WriteString(f.ShardID)
		case strings.HasPrefix(name, "timestamp:"):
			b.WriteString(timePattern(strings.TrimPrefix(name, "timestamp:"), f.Arrival.UTC()))
		default:
			b.WriteString(template[i : i+j+1]) // unknown: kept as written
		}
		template = template[i+j+1:]
	}
}

// timePattern renders t with a Java-style pattern of yyyy, MM, dd, HH, mm and ss.
func timePattern(p string, t time.Time) string {
	r := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05")
	return t.Format(r.Replace(p))
}

// BucketName is the bucket an S3 bucket ARN names (arn:aws:s3:::NAME).
func BucketName(arn string) string {
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
