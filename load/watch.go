package load

import (
	"fmt"
	"runtime"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// Generator-bound limits: past them bwemu, not the app, is the bottleneck.
const (
	boundLatenessP99 = 10 * time.Millisecond
	boundCPUUse      = 0.9
)

// watch samples the run every second for the series and the progress
// line, until every call has ended; it then sends the series.
func (r *run) watch(deadline time.Time, finished <-chan struct{}, out chan<- []Second) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	every := r.o.ProgressEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	var series []Second
	var frames, skipped int64
	errors := 0
	lastShown := time.Now()
	// next measures the second since the last one.
	next := func() Second {
		late, blocked, hook := r.rec.second()
		f, sk, e := r.rec.frames.Load(), r.rec.skipped.Load(), r.rec.errorCount()
		sec := Second{T: len(series) + 1, Live: int(r.rec.live.Load()), Frames: f - frames, Skipped: sk - skipped,
			LatenessP99Ms: ms(late), BlockedMaxMs: ms(blocked), WebhookP99Ms: ms(hook), Errors: e - errors}
		frames, skipped, errors = f, sk, e
		return sec
	}
	for {
		select {
		case <-finished:
			// The last, partial second: what happened after the last tick
			// (skips and errors included) belongs in the series too.
			if sec := next(); len(series) == 0 || sec.Frames > 0 || sec.Skipped > 0 || sec.Errors > 0 {
				series = append(series, sec)
			}
			out <- series
			return
		case now := <-tick.C:
			sec := next()
			series = append(series, sec)
			if r.o.Progress != nil && (r.o.Terminal || now.Sub(lastShown) >= every-time.Millisecond*100) {
				lastShown = now
				r.progress(sec, now, deadline)
			}
		}
	}
}

// progress prints one line: elapsed, calls live and completed, frames/s,
// this second's lateness and webhook p99, errors, and the frames bwemu
// skipped so far when it skipped any (it is falling behind).
func (r *run) progress(sec Second, now, deadline time.Time) {
	elapsed := now.Sub(r.start).Truncate(time.Second)
	state := ""
	if n := r.rec.skipped.Load(); n > 0 {
		state = fmt.Sprintf("  skipped %d", n)
	}
	if now.After(deadline) {
		state += " (ending the live calls)"
	}
	line := fmt.Sprintf("%s/%s  calls %d live, %d done  %d frames/s  lateness p99 %.1fms  webhook p99 %.1fms  errors %d%s",
		elapsed, r.o.Duration, sec.Live, r.rec.completedCount(), sec.Frames, sec.LatenessP99Ms, sec.WebhookP99Ms, r.rec.errorCount(), state)
	if r.o.Terminal {
		fmt.Fprintf(r.o.Progress, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(r.o.Progress, line)
}

// summary assembles what the run measured.
func (r *run) summary(series []Second, cpu time.Duration) *Summary {
	end := time.Now()
	if r.o.Terminal && r.o.Progress != nil {
		fmt.Fprintln(r.o.Progress)
	}
	rec := r.rec
	s := &Summary{Version: SummaryVersion, Settings: r.o.settings(), Shards: 1, Start: r.start, End: end,
		Series: series, Histograms: map[string]*Hist{}, Interrupted: r.interrupted.Err() != nil}
	for name, h := range rec.histograms() {
		x, err := newHistSummary(h)
		if err != nil {
			continue // an in-range histogram always encodes
		}
		s.Histograms[name] = x
	}
	rec.mu.Lock()
	s.Started, s.Calls, s.Errors = rec.started, rec.completed, rec.errors
	s.Endings, s.ErrorsByCause = rec.endings, rec.causes
	rec.mu.Unlock()
	s.Frames, s.Skipped, s.Cut = rec.frames.Load(), rec.skipped.Load(), int(rec.cut.Load())
	r.mu.Lock()
	s.Slowest, s.Journals = r.slowest, r.journals
	if r.unjournaled > 0 {
		s.Journals = append(s.Journals, fmt.Sprintf("(%d more failed calls not journaled: --max-journals)", r.unjournaled))
	}
	r.mu.Unlock()
	s.Generator = r.generator(s, cpu, end.Sub(r.start))
	return s
}

// generator judges whether bwemu kept up during the run.
func (r *run) generator(s *Summary, cpu, wall time.Duration) Generator {
	budget := r.o.CPUBudget
	if budget <= 0 {
		budget = float64(runtime.GOMAXPROCS(0))
	}
	var lateness time.Duration
	if h := s.Histograms[HistLateness]; h != nil && h.Count > 0 && r.o.Stream.Pace != emulator.Fast {
		lateness = h.Quantile(0.99)
	}
	return judgeGenerator(lateness, s.Skipped, spreadOf(s.Series, r.o.Ramp), cpu, wall, budget)
}

// judgeGenerator says whether bwemu was the bottleneck: its own send
// lateness p99 (0 when not paced) over boundLatenessP99, any skipped
// frame (where says when they fell), or its CPU time over boundCPUUse of
// budget cores for wall.
func judgeGenerator(latenessP99 time.Duration, skipped int64, where skipSpread, cpu, wall time.Duration, budget float64) Generator {
	g := Generator{CPUSeconds: cpu.Seconds(), CPUBudget: budget}
	if wall > 0 && cpu > 0 {
		g.CPUUse = cpu.Seconds() / wall.Seconds() / budget
	}
	if latenessP99 > boundLatenessP99 {
		g.Reasons = append(g.Reasons, fmt.Sprintf("bwemu's own send lateness p99 is %s (over %s)", latenessP99.Round(time.Microsecond), boundLatenessP99))
	}
	if skipped > 0 {
		g.Reasons = append(g.Reasons, fmt.Sprintf("bwemu skipped %d frames: pacing fell behind%s", skipped, where))
	}
	if g.CPUUse >= boundCPUUse {
		g.Reasons = append(g.Reasons, fmt.Sprintf("bwemu used %.0f%% of its CPU budget (%.2g cores)", 100*g.CPUUse, budget))
	}
	if g.Bound = len(g.Reasons) > 0; g.Bound {
		g.Advice = "the figures about the app are not trustworthy: run fewer calls per process, or shard the load (--shard I/N) over more processes or machines"
		if where.mostlyRamp() {
			g.Advice += ", or spread the dialling with a longer --ramp"
		}
	}
	return g
}

// skipSpread is where in the run the skipped frames fell, by the series:
// a few slow seconds or the whole run, and how many while the calls
// were still ramping up (dialling costs more than pacing).
type skipSpread struct {
	seconds, of int    // seconds that skipped, of the series' seconds
	worst       Second // the second that skipped most
	total       int64  // skipped in the series' seconds
	inRamp      int64  // of which in the ramp's seconds
	ramp        time.Duration
}

func spreadOf(series []Second, ramp time.Duration) skipSpread {
	sp := skipSpread{of: len(series), ramp: ramp}
	rampSeconds := int((ramp + time.Second - 1) / time.Second)
	for _, sec := range series {
		if sec.Skipped == 0 {
			continue
		}
		sp.seconds++
		sp.total += sec.Skipped
		if sec.T <= rampSeconds {
			sp.inRamp += sec.Skipped
		}
		if sec.Skipped > sp.worst.Skipped {
			sp.worst = sec
		}
	}
	return sp
}

// mostlyRamp says most skipped frames fell during the ramp.
func (sp skipSpread) mostlyRamp() bool { return sp.inRamp > 0 && 2*sp.inRamp >= sp.total }

// String reads " (in 4 of 60 seconds, most in second 9: 812; 950 during the 10s ramp)".
func (sp skipSpread) String() string {
	if sp.seconds == 0 {
		return ""
	}
	s := fmt.Sprintf(" (in %d of %d seconds, most in second %d: %d", sp.seconds, sp.of, sp.worst.T, sp.worst.Skipped)
	if sp.inRamp > 0 {
		s += fmt.Sprintf("; %d during the %s ramp", sp.inRamp, sp.ramp)
	}
	return s + ")"
}
