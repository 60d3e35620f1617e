package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every architecture
// Linux runs Go on (the kernel keeps it fixed for user space whatever its internal HZ).
const clockTicks = 100

// rssEvery is how often a followed process's RSS is sampled for its peak.
const rssEvery = 50 * time.Millisecond

// cpuTime returns the CPU time (user + system) process pid has used, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// "pid (comm) state ppid …": comm may hold spaces and parentheses, so count fields after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// rss returns the resident set size of process pid in bytes, from VmRSS in /proc/<pid>/status.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest) // "123456", "kB"
			if len(f) == 2 && string(f[1]) == "kB" {
				if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
					return kb << 10, nil
				}
			}
			break
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS (a kernel thread, or a zombie)", pid)
}

// procStats is what the bench saw of a process: CPU as a percentage of one core, RSS in MiB.
type procStats struct {
	PID        int     `json:"pid"`
	CPUPct     float64 `json:"cpu_pct"`      // over the measured write window
	ReadCPUPct float64 `json:"read_cpu_pct"` // over the read-back (0 without one)
	RSSIdleMiB float64 `json:"rss_idle_mib"` // before the run
	RSSPeakMiB float64 `json:"rss_peak_mib"` // highest sample during the run
	// RSSWritePeakMiB is the highest sample up to the end of the write window (warm-up included),
	// before the read-back, whose reads have their own memory profile.
	RSSWritePeakMiB float64 `json:"rss_write_peak_mib"`
}

// process follows one process: its CPU time at marks, its RSS before the run and at its peak.
type process struct {
	pid       int
	idle      int64
	peak      atomic.Int64 // written by the sampling goroutine and by mark
	writePeak int64        // peak when the write window closed (mark 1); guarded by mu

	stop context.CancelFunc
	wg   sync.WaitGroup

	mu    sync.Mutex
	marks []cpuMark
	stats *procStats // once ended
}

type cpuMark struct {
	at  time.Time
	cpu time.Duration
	ok  bool
}

// follow starts following process pid: it reads its RSS now as the idle RSS and samples it every
// rssEvery until end is called.
func follow(pid int) (*process, error) {
	if _, err := cpuTime(pid); err != nil {
		return nil, err
	}
	idle, err := rss(pid)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{pid: pid, idle: idle, stop: cancel}
	p.peak.Store(idle)
	p.wg.Go(func() {
		tick := time.NewTicker(rssEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				p.sample()
			}
		}
	})
	return p, nil
}

func (p *process) sample() {
	if n, err := rss(p.pid); err == nil {
		for old := p.peak.Load(); n > old && !p.peak.CompareAndSwap(old, n); old = p.peak.Load() {
		}
	}
}

// mark records the process's CPU time now; stats takes the CPU between marks 0 and 1 (the write
// window) and 2 and 3 (the read-back).
func (p *process) mark() {
	cpu, err := cpuTime(p.pid)
	p.sample()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marks = append(p.marks, cpuMark{at: time.Now(), cpu: cpu, ok: err == nil})
	if len(p.marks) == 2 {
		p.writePeak = p.peak.Load()
	}
}

// end stops the sampling and returns the statistics; it may be called again.
func (p *process) end() *procStats {
	p.stop()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stats != nil {
		return p.stats
	}
	p.sample()
	pct := func(a, b int) float64 {
		if b >= len(p.marks) || !p.marks[a].ok || !p.marks[b].ok {
			return 0
		}
		wall := p.marks[b].at.Sub(p.marks[a].at)
		if wall <= 0 {
			return 0
		}
		return round(100*float64(p.marks[b].cpu-p.marks[a].cpu)/float64(wall), 1)
	}
	writePeak := p.writePeak
	if len(p.marks) < 2 {
		writePeak = p.peak.Load() // ended before the write window closed
	}
	p.stats = &procStats{PID: p.pid, CPUPct: pct(0, 1), ReadCPUPct: pct(2, 3),
		RSSIdleMiB: mib(p.idle), RSSPeakMiB: mib(p.peak.Load()), RSSWritePeakMiB: mib(writePeak)}
	return p.stats
}

func mib(n int64) float64 { return round(float64(n)/(1<<20), 1) }

// processes are the processes a run follows (the server given by -pid, and the bench itself); nil
// entries are skipped.
type processes []*process

func (ps processes) mark() {
	for _, p := range ps {
		if p != nil {
			p.mark()
		}
	}
}

// startCPUProfile writes the process's CPU profile to path until the returned function is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeAllocProfile writes the process's allocation profile (pprof's "allocs") to path; a failure is
// reported through progress, the run's results stand.
func writeAllocProfile(path string, progress func(format string, args ...any)) {
	f, err := os.Create(path)
	if err == nil {
		err = errors.Join(pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
	}
	if err != nil {
		progress("-memprofile: %v", err)
	}
}
