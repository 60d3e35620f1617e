package bench

import (
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// BenchmarkLoopbackFloor is the least CPU that pushing bytes to many readers over loopback TCP costs on
// this machine, with nothing made, framed or parsed: loopbackConns connections on 127.0.0.1, each
// sent loopbackEvent bytes at a time from one shared buffer (as a shard's subscriptions are sent one
// shared batch) and read in 256 KiB reads. It reports the CPU seconds, sender and reader together, per
// GB moved: the floor under what enhanced fan-out costs here (issue #5's note), measured alone:
//
//	go test -run '^$' -bench LoopbackFloor -benchtime 2000x ./internal/bench
func BenchmarkLoopbackFloor(b *testing.B) {
	const (
		loopbackConns = 20
		loopbackEvent = 600 << 10 // about one SubscribeToShardEvent of the fan-out bench
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	buf := make([]byte, loopbackEvent)
	var senders, readers sync.WaitGroup
	start := make(chan struct{})
	senders.Go(func() {
		for range loopbackConns {
			c, err := ln.Accept()
			if err != nil {
				b.Error(err)
				return
			}
			senders.Go(func() {
				defer c.Close()
				<-start
				for range b.N {
					if _, err := c.Write(buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	})
	for range loopbackConns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		readers.Go(func() {
			defer c.Close()
			n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{c}, make([]byte, 256<<10))
			if err != nil || n != int64(b.N)*loopbackEvent {
				b.Errorf("read %d bytes of %d: %v", n, int64(b.N)*loopbackEvent, err)
			}
		})
	}
	b.SetBytes(loopbackConns * loopbackEvent)
	cpu0, err := cpuTime(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0 := time.Now()
	close(start)
	senders.Wait()
	readers.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	cpu1, err := cpuTime(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	gb := float64(b.N) * loopbackConns * loopbackEvent / 1e9
	b.ReportMetric((cpu1-cpu0).Seconds()/gb, "core-s/GB")
	b.ReportMetric((cpu1-cpu0).Seconds()/elapsed.Seconds(), "cores")
}
