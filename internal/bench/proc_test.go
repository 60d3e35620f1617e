package bench

import (
	"os"
	"runtime/debug"
	"testing"
	"time"
)

func TestFollowThisProcess(t *testing.T) {
	// Memory that earlier tests (or runs, with -count) freed is still resident until the runtime
	// returns it: the 64 MiB below would reuse it and the RSS would not move. Return it first.
	debug.FreeOSMemory()
	p, err := follow(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer p.end()
	p.mark()
	// Use 200 ms of CPU (however long that takes on a busy machine), then hold 64 MiB of touched memory
	// for a few RSS samples.
	start, _ := cpuTime(os.Getpid())
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if now, _ := cpuTime(os.Getpid()); now-start >= 200*time.Millisecond {
			break
		}
		for range 1_000_000 {
		}
	}
	p.mark()
	held := make([]byte, 64<<20)
	for i := range held {
		held[i] = 1
	}
	time.Sleep(4 * rssEvery)
	s := p.end()
	held[len(held)-1] = 2 // keep held alive until after the samples

	if s.PID != os.Getpid() {
		t.Errorf("pid %d", s.PID)
	}
	if used := p.marks[1].cpu - p.marks[0].cpu; used < 200*time.Millisecond || s.CPUPct <= 0 {
		t.Errorf("%v of CPU between the marks, %.1f %%; want at least 200ms, a positive share", used, s.CPUPct)
	}
	if s.ReadCPUPct != 0 {
		t.Errorf("read CPU %.1f %% without read marks, want 0", s.ReadCPUPct)
	}
	if s.RSSIdleMiB <= 0 || s.RSSPeakMiB < s.RSSIdleMiB+48 {
		t.Errorf("RSS idle %.1f MiB, peak %.1f MiB; want a peak 64 MiB higher", s.RSSIdleMiB, s.RSSPeakMiB)
	}
	// The 64 MiB came after the write window closed (the second mark): its peak does not hold them.
	if s.RSSWritePeakMiB < s.RSSIdleMiB || s.RSSWritePeakMiB > s.RSSPeakMiB-48 {
		t.Errorf("RSS up to the second mark %.1f MiB (idle %.1f, peak %.1f); want it below the 64 MiB held after",
			s.RSSWritePeakMiB, s.RSSIdleMiB, s.RSSPeakMiB)
	}
	if again := p.end(); again != s {
		t.Errorf("a second end returned other statistics")
	}
}

func TestProcErrors(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	const noSuchPID = 1 << 30 // above any pid_max
	if _, err := cpuTime(noSuchPID); err == nil {
		t.Error("cpuTime of a process that does not exist: no error")
	}
	if _, err := rss(noSuchPID); err == nil {
		t.Error("rss of a process that does not exist: no error")
	}
	if _, err := follow(noSuchPID); err == nil {
		t.Error("follow a process that does not exist: no error")
	}
}
