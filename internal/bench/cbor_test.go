package bench

import (
	"bytes"
	"encoding/base64"
	"hash/maphash"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestPutBodyCBOR: the CBOR body decodes (with an independent decoder) to the stream name and the
// records, stamped in place, and the hashes are those of the records' base64, as GetRecords returns it.
func TestPutBodyCBOR(t *testing.T) {
	data := [][]byte{bytes.Repeat([]byte{1}, 30), bytes.Repeat([]byte{2}, 300), {3, 4}}
	keys := []string{"k0", "k1", "k2"}
	b := newPutBodyCBOR("a-stream", data, keys)
	seed := maphash.MakeSeed()
	b.stampCBOR(seed, 7, 9, true)
	var got struct {
		StreamName string
		Records    []struct {
			Data         []byte
			PartitionKey string
		}
	}
	if err := cbor.Unmarshal(b.buf, &got); err != nil {
		t.Fatal(err)
	}
	if got.StreamName != "a-stream" || len(got.Records) != 3 {
		t.Fatalf("decoded %+v", got)
	}
	for i, r := range got.Records {
		if r.PartitionKey != keys[i] || !bytes.Equal(r.Data, b.data[i]) {
			t.Errorf("record %d = %x %q, want %x %q", i, r.Data, r.PartitionKey, b.data[i], keys[i])
		}
		stamp := []byte{0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, byte(i)}
		if n := min(len(r.Data), stampLen); !bytes.Equal(r.Data[:n], stamp[:n]) {
			t.Errorf("record %d starts %x, want the stamp %x", i, r.Data[:n], stamp[:n])
		}
		if want := hashData(seed, []byte(base64.StdEncoding.EncodeToString(r.Data))); b.hashes[i] != want {
			t.Errorf("record %d: hash of its base64 not kept", i)
		}
	}
}

// TestParsePutRecordsCBOR reads a response as kinesisd's CBOR codec writes it.
func TestParsePutRecordsCBOR(t *testing.T) {
	body, err := cbor.Marshal(map[string]any{
		"FailedRecordCount": 1,
		"Records": []map[string]any{
			{"SequenceNumber": "49", "ShardId": "shardId-000000000001"},
			{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := parsePutRecordsCBOR(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || string(res[0].seq) != "49" || string(res[0].shard) != "shardId-000000000001" || res[0].code != nil ||
		string(res[1].code) != "ProvisionedThroughputExceededException" || string(res[1].msg) != "Rate exceeded" {
		t.Errorf("parsed %+v", res)
	}
	if _, err := parsePutRecordsCBOR([]byte{0xff, 0x00}, nil); err == nil {
		t.Error("a malformed response parsed")
	}
}
