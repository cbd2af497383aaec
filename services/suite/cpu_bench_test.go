package suite_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clockTicks is the kernel's unit for CPU times in /proc (USER_HZ, 100 on
// every Linux platform Go supports).
const clockTicks = 100

// cpuSample is the CPU time used so far: by this process (the services, NATS and
// the load tool) and by the whole machine. The machine's busy time outside this
// process is PostgreSQL's, plus whatever else the host runs (about 1–2 % of a core
// on the project's machines); it is read from /proc/stat rather than per process,
// because a backend that exits during the window would take its time with it.
// Times per operation hold on a shared host whose speed varies between runs,
// unlike rates.
type cpuSample struct {
	self, busy, total time.Duration
	ok                bool
}

func sampleCPU() cpuSample {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return cpuSample{}
	}
	busy, total, ok := machineCPU()
	return cpuSample{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), busy: busy, total: total, ok: ok}
}

// reportPerOp reports the CPU time per operation between from and to, and how busy
// the machine's cores were.
func reportPerOp(b *testing.B, from, to cpuSample, ops int, unit string) {
	if !from.ok || !to.ok || ops == 0 || to.total == from.total {
		return
	}
	self, busy := to.self-from.self, to.busy-from.busy
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ops) }
	b.ReportMetric(perOp(self), "go_cpu_us/"+unit)
	b.ReportMetric(perOp(busy-self), "pg_cpu_us/"+unit)
	b.ReportMetric(100*float64(busy)/float64(to.total-from.total), "cpu_busy_%")
}

// machineCPU reads the busy and total time of all cores from the first line of
// /proc/stat (user nice system idle iowait irq softirq steal).
func machineCPU() (busy, total time.Duration, ok bool) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, false
	}
	var ticks [8]int64
	for i := range ticks {
		if ticks[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, false
		}
	}
	var all int64
	for _, t := range ticks {
		all += t
	}
	// Idle, waiting for the disk, or running another guest of the host: not ours.
	notBusy := ticks[3] + ticks[4] + ticks[7]
	tick := time.Second / clockTicks
	return time.Duration(all-notBusy) * tick, time.Duration(all) * tick, true
}
