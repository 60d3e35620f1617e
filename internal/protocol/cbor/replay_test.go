package cbor_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/clock"
	"kinesisd/internal/kinesistest"
)

// The fixtures' pinned values (testdata/make_fixtures.py).
const (
	fixtureMS     = 1738951482123 // 2025-02-07T18:04:42.123Z
	fixtureStream = "cbor-fixture"
)

var (
	fixtureSeq  = "49590338271490256608559692538361571095921575989136588898"
	fixtureIter = "AAAAAAAAAAE" + string(bytes.Repeat([]byte("x"), 149))
	seqShape    = regexp.MustCompile(`^[1-9][0-9]{55}$`)
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".cbor")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameAsFixture compares a reply with its fixture head by head, byte for byte, except where the fixture
// holds a placeholder: there the reply must hold a value of the placeholder's shape.
func sameAsFixture(t *testing.T, got, want []byte) {
	t.Helper()
	gt, err := tokens(got)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	wt, err := tokens(want)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(gt) != len(wt) {
		t.Fatalf("reply has %d items, fixture %d\n got: %s\nwant: %s", len(gt), len(wt), diag(got), diag(want))
	}
	for i := range wt {
		g, w := gt[i], wt[i]
		switch {
		case w.major == 3 && w.text() == fixtureSeq:
			if g.major != 3 || g.info == 31 || !seqShape.MatchString(g.text()) {
				t.Errorf("item %d: % x is no sequence number", i, g.raw)
			}
		case w.major == 3 && w.text() == fixtureIter:
			if g.major != 3 || g.info == 31 || g.payload() == 0 {
				t.Errorf("item %d: % x is no iterator", i, g.raw)
			}
		case !bytes.Equal(g.raw, w.raw):
			t.Errorf("item %d: % x, fixture % x\n got: %s\nwant: %s", i, g.raw, w.raw, diag(got), diag(want))
			return
		}
	}
}

// TestFixturesReplay sends the request fixtures to a server whose clock is pinned where the fixtures
// say, and compares the replies with the reply fixtures.
func TestFixturesReplay(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Clock: clock.NewFake(time.UnixMilli(fixtureMS))})
	if _, err := s.Client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(fixtureStream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	c := newJavaClient(s.Endpoint)

	r := c.call(t, "PutRecords", fixture(t, "putrecords.request"))
	r.decode(t, new(any))
	sameAsFixture(t, r.body, fixture(t, "putrecords.response"))

	r = c.call(t, "GetShardIterator", fixture(t, "getsharditerator-at-timestamp.request"))
	var it struct{ ShardIterator string }
	r.decode(t, &it)
	sameAsFixture(t, r.body, fixture(t, "getsharditerator-at-timestamp.response"))

	// The GetRecords fixture with the live iterator spliced in for its placeholder, every other byte kept.
	placeholder := append([]byte{0x60 | 20}, "ITERATOR-PLACEHOLDER"...)
	req := fixture(t, "getrecords.request")
	if bytes.Count(req, placeholder) != 1 {
		t.Fatal("no iterator placeholder in getrecords.request.cbor")
	}
	live := jackson(it.ShardIterator)
	r = c.call(t, "GetRecords", bytes.Replace(req, placeholder, live, 1))
	r.decode(t, new(any))
	sameAsFixture(t, r.body, fixture(t, "getrecords.response"))

	r = c.call(t, "DescribeStreamSummary", fixture(t, "error-not-found.request"))
	r.wantError(t, "ResourceNotFoundException", http.StatusBadRequest, "Stream missing under account 000000000000 not found.")
	if want := fixture(t, "error-not-found.response"); !bytes.Equal(r.body, want) {
		t.Errorf("error reply % x\nfixture     % x", r.body, want)
	}

	// kinesalite's replies to an empty CBOR body, byte for byte.
	for _, tt := range []struct{ op, fixture string }{{"NoSuchOperation", "unknown-operation.response"}, {"ListStreams", "serialization.response"}} {
		r := c.call(t, tt.op, []byte{})
		if want := fixture(t, tt.fixture); r.status != http.StatusBadRequest || !bytes.Equal(r.body, want) ||
			r.header.Get("Content-Type") != "application/x-amz-cbor-1.1" {
			t.Errorf("%s with an empty body: %d % x, want 400 % x", tt.op, r.status, r.body, want)
		}
	}

	// LocalStack's Java SDK PutRecord body, against a stream of its name.
	if _, err := s.Client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("test"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var put struct{ ShardId, SequenceNumber string }
	c.call(t, "PutRecord", fixture(t, "putrecord-localstack.request")).decode(t, &put)
	if put.ShardId != "shardId-000000000000" || !seqShape.MatchString(put.SequenceNumber) {
		t.Errorf("PutRecord: %+v", put)
	}
}

// TestFixturesIndependentDecoder runs the fixture script's check: every fixture is what the Jackson
// rules give and what python3-cbor2 reads. It is skipped where python3-cbor2 is not installed.
func TestFixturesIndependentDecoder(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import cbor2").Run(); err != nil {
		t.Skip("python3-cbor2 not installed (apt-get install python3-cbor2)")
	}
	cmd := exec.Command("/usr/bin/python3", "-B", "make_fixtures.py", "--check")
	cmd.Dir = "testdata"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("make_fixtures.py --check: %v\n%s", err, out)
	}
}
