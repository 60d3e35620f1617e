package channel_test

import (
	"testing"
	"time"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// TestChannelTakeoverOnJetStream: two front-ends over one NATS JetStream deliver a channel one at a
// time (the lease); when the one delivering stops, the other takes over from the position in the
// destination, and every record is delivered once.
func TestChannelTakeoverOnJetStream(t *testing.T) {
	if kinesistest.Binary() != "" {
		t.Skip("two in-process front-ends over one NATS")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	f := startFakeS3(t)
	f.bucket(t, "shared")
	configure := func(c *config.Config) { c.S3Endpoint, c.ThroughputLimits = f.URL, false }
	a := kinesistest.Start(t, kinesistest.Engines[2], kinesistest.Options{Configure: configure})
	arn := onDemand(t, a.Client, "shared")
	createChannel(t, a.Client, arn, "shared", channelSpec{name: "shared", format: "JSON", compression: "NONE", freshness: 1})
	n := records(t)
	datas := make([]string, n)
	for i := range datas {
		datas[i] = jsonRecord("takeover", i)
	}
	put(t, a.Client, "shared", datas[:n/2])
	read := func() delivered { return decode(t, f.objects(t, "shared"), "shared", "JSON") }
	waitDelivered(t, a, read, datas[:n/2], 2*time.Minute)

	b := kinesistest.Start(t, kinesistest.Engines[2], kinesistest.Options{NATSURL: a.NATSURL(), Clock: a.Clock, Configure: configure})
	put(t, b.Client, "shared", datas[n/2:3*n/4])
	waitDelivered(t, a, read, datas[:3*n/4], 2*time.Minute)
	if got := metric(t, b.Endpoint, "kinesisd_channel_records_delivered_total", `channel="shared"`); got != 0 {
		t.Errorf("the second front-end delivered %v records while the first held the lease", got)
	}
	if err := a.Server.Close(t.Context()); err != nil { // the front-end alone: its NATS stays up for b
		t.Fatal(err)
	}
	put(t, b.Client, "shared", datas[3*n/4:])
	waitDelivered(t, b, read, datas, 2*time.Minute)
	if got := metric(t, b.Endpoint, "kinesisd_channel_records_delivered_total", `channel="shared"`); got < float64(n/4) {
		t.Errorf("the second front-end delivered %v records after the takeover, want at least %d", got, n/4)
	}
}
