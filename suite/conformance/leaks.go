package conformance

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// The leak cases (8.x) end streams the ways that come without Bandwidth's
// stop message — a TCP reset, a silent drop, a close 1011 — and check that
// the app lets go of what it held for them. Nothing on the wire shows such
// a leak (the app answers every stream as before), so the cases look at
// the app itself: its process (8.1) or a gauge it exposes (8.2).

// DefaultLeakSettle is how long the app has, after the last stream of a
// leak case ended, to be back at its baseline (Options.LeakSettle).
const DefaultLeakSettle = 5 * time.Second

func (o Options) leakSettle() time.Duration {
	if o.LeakSettle > 0 {
		return o.LeakSettle
	}
	return DefaultLeakSettle
}

// leakFaults are the endings of the leak cases, in the order they run,
// with the words a message names them by.
var leakFaults = []struct {
	fault emulator.Fault
	after string
}{
	{emulator.FaultReset, "after the TCP resets"},
	{emulator.FaultDrop, "after the silent drops"},
	{emulator.FaultError, "after the internal-error closes (1011)"},
}

// leakStreams is how many streams each fault ends: more than one, so that
// what leaks once per stream shows as a count that grows with the streams.
const leakStreams = 2

// leakEndings says, in a message, how the leak cases' streams ended.
var leakEndings = fmt.Sprintf("%d streams ended by a TCP reset, a silent drop or a close 1011", leakStreams*len(leakFaults))

// leakPoll is how often a measure is read while waiting for it to settle.
const leakPoll = 50 * time.Millisecond

// leakStepSettle bounds the wait after each fault before the next one:
// ample for a correct app (it lets go within milliseconds), short enough
// that a leaking app does not make the case wait the whole settle time
// three times. Only the final wait, Options.LeakSettle, decides the
// verdict; the waits between faults say which ending leaks.
const leakStepSettle = time.Second

// leakHint is the advice of every leak the cases find.
const leakHint = "release what a stream holds (its AI backend session, files, timers) whenever its socket ends, however it ends: a TCP reset, a silent drop and a close 1011 come without Bandwidth's stop message, so cleanup that runs only on stop leaks once per such call"

// measure is one way of looking at what the app holds: how to read it,
// and what a reading holds beyond another ("" when nothing: back at or
// below it).
type measure[T any] struct {
	read   func(ctx context.Context) (T, error)
	beyond func(now, base T) string
}

// leakRun is what the faults of a leak case left behind.
type leakRun[T any] struct {
	// base is the reading before the first stream, after reading the
	// same twice in a row; after is the last reading.
	base, after T
	// left is what after holds beyond base, "" when the app was back.
	left string
	// byFault is what each fault left beyond the reading before it, for
	// the faults that left something ("4 sockets after the TCP resets").
	byFault []string
	// took is how long after the last stream ended the app was back.
	took time.Duration
	// rose says a reading taken while a stream was live held more than
	// the baseline: the measure sees the app's streams at all. Without
	// that, "back at its baseline" would hold only because nothing was
	// ever counted (a PID that is not the app's, a gauge of something
	// else), and judges nothing.
	rose bool
}

// faultsAndSettle measures the app, ends streams with each of the leak
// faults, and waits (up to Options.LeakSettle after the last) for the
// measure to come back to the baseline. When a reading fails, fail says
// why (during: once the faults had begun) and the run stops (false); so
// does a stream that went wrong (the check has recorded it).
func faultsAndSettle[T any](ctx context.Context, c *Check, m measure[T], fail func(err error, during bool)) (leakRun[T], bool) {
	var run leakRun[T]
	// A reading cut short by the case's end (its deadline, an interrupt)
	// says nothing about the app: the case's end is reported instead.
	during := false
	readFailed := func(err error) {
		if ctx.Err() == nil {
			fail(err, during)
		}
	}
	// The baseline: no stream of the case is open yet, and a previous
	// case's connections may still be closing, so it is the reading once
	// two in a row agree.
	base, err := steady(ctx, m)
	if err != nil {
		readFailed(err)
		return run, false
	}
	run.base = base
	during = true
	e := c.Emulator(nil)
	level, n := base, 0
	var lastEnded time.Time
	for _, f := range leakFaults {
		for range leakStreams {
			n++
			live := func() {
				if now, err := m.read(ctx); err == nil && m.beyond(now, base) != "" {
					run.rose = true
				}
			}
			if !c.faultStream(ctx, e, fmt.Sprintf("leak-%d-%s", n, f.fault), f.fault, live) {
				return run, false
			}
		}
		lastEnded = time.Now()
		now, beyond, err := settleTo(ctx, m, level, lastEnded.Add(min(leakStepSettle, c.opts.leakSettle())))
		if err != nil {
			readFailed(err)
			return run, false
		}
		if beyond != "" {
			run.byFault = append(run.byFault, beyond+" "+f.after)
			level = now
		}
	}
	after, left, err := settleTo(ctx, m, base, lastEnded.Add(c.opts.leakSettle()))
	if err != nil {
		readFailed(err)
		return run, false
	}
	run.after, run.left, run.took = after, left, time.Since(lastEnded)
	return run, ctx.Err() == nil
}

// faultStream opens a stream on a call of its own (no webhooks: its socket
// is the only connection to the app), streams a little, ends it with f and
// hangs the call up, which releases a dropped connection as the end of a
// real call does: only then can the app see that socket end.
func (c *Check) faultStream(ctx context.Context, e *emulator.Emulator, name string, f emulator.Fault, live func()) bool {
	call, ok := c.Call(e, false)
	if !ok {
		return false
	}
	defer func() { _ = call.Hangup(ctx) }()
	s, ok := c.Start(ctx, call, c.probeSpec(name))
	if !ok || !c.media(ctx, s, endingMedia, fmt.Sprintf("stream %q, before the %s", name, f), "") {
		return false
	}
	// The app must have taken the start (and opened what it holds for the
	// stream) before the fault, or there would be nothing to leak.
	settle(ctx, s)
	live()
	if _, err := s.Inject(ctx, f); err != nil {
		c.Fail("stream %q: %v", name, err)
		return false
	}
	return true
}

// steady reads m until two readings in a row agree on what is judged, and
// returns the last; after leakStepSettle it settles for the last one.
func steady[T any](ctx context.Context, m measure[T]) (T, error) {
	prev, err := m.read(ctx)
	if err != nil {
		return prev, err
	}
	deadline := time.Now().Add(leakStepSettle)
	tick := time.NewTicker(leakPoll)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return prev, ctx.Err()
		case <-tick.C:
		}
		now, err := m.read(ctx)
		if err != nil {
			return now, err
		}
		if m.beyond(now, prev) == "" && m.beyond(prev, now) == "" {
			return now, nil
		}
		prev = now
	}
	return prev, nil
}

// settleTo reads m every leakPoll until it holds nothing beyond base or
// the deadline passes, and returns the last reading and what it holds
// beyond base.
func settleTo[T any](ctx context.Context, m measure[T], base T, deadline time.Time) (T, string, error) {
	tick := time.NewTicker(leakPoll)
	defer tick.Stop()
	for {
		now, err := m.read(ctx)
		if err != nil {
			return now, "", err
		}
		beyond := m.beyond(now, base)
		if beyond == "" || !time.Now().Before(deadline) {
			return now, beyond, nil
		}
		select {
		case <-ctx.Done():
			return now, beyond, ctx.Err()
		case <-tick.C:
		}
	}
}

// byFault is the parenthesis that says which ending left what.
func byFault(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// 8.1
func releasesProcessResources(ctx context.Context, c *Check) {
	pid := c.opts.AppPID
	switch {
	case pid == 0:
		c.Info("no app process given (no --app-pid; Options.AppPID), so no leak was looked for: run the app in a process of its own and give its PID to have its open file descriptors and sockets counted before and after %s (Linux)", leakEndings)
		return
	case pid == os.Getpid():
		c.Info("the app process given (--app-pid %d; Options.AppPID) is the one running the suite, whose emulator's own sockets would be counted too, so no leak was looked for: run the app in a process of its own", pid)
		return
	}
	p, err := openProcess(pid)
	if err != nil {
		c.processProblem(pid, err, false)
		return
	}
	m := measure[holdings]{
		read:   func(context.Context) (holdings, error) { return p.holdings() },
		beyond: func(now, base holdings) string { return now.beyond(base) },
	}
	run, ok := faultsAndSettle(ctx, c, m, func(err error, during bool) { c.processProblem(pid, err, during) })
	if !ok {
		return
	}
	threads := fmt.Sprintf("its threads went from %d to %d (reported, not judged: runtimes keep idle threads)", run.base.threads, run.after.threads)
	if !run.rose {
		c.Fail("process %d held no more file descriptors or sockets while the case's streams were connected than before them (%s): it is not the process that serves the streams, so nothing could be judged — give --app-pid the PID of the app's process itself (not a shell or `go run` that started it)", pid, run.base)
		return
	}
	if run.left != "" {
		c.Fail("%s stayed open %s after the last of %s%s: process %d held %s before the faults and %s after; %s — %s",
			run.left, c.opts.leakSettle(), leakEndings, byFault(run.byFault), pid, run.base, run.after, threads, leakHint)
		return
	}
	c.Pass("after %s, process %d was back at its baseline within %s: %s before the faults, %s after; %s",
		leakEndings, pid, run.took.Round(time.Millisecond), run.base, run.after, threads)
}

// processProblem records why process pid could not be measured: not a
// leak, but a reason the check could not be made (Info), or an app that
// is not running (Fail). during says the faults had begun.
func (c *Check) processProblem(pid int, err error, during bool) {
	switch {
	case isNoProcfs(err):
		c.Info("leak checks by process read /proc, which this system does not have (%v): run bwemu on Linux, beside the app, or check a gauge of the app's live sessions instead (--app-metrics, --app-metric; Options.AppMetrics)", err)
	case isGone(err) && during:
		c.Fail("the app's process %d is gone: it exited during %s (%v) — a consumer must survive every way a stream can end", pid, leakEndings, err)
	case isGone(err):
		c.Fail("no process %d (--app-pid; Options.AppPID): %v — give the PID of the app's process, the one that serves the WebSocket, while it runs", pid, err)
	case isDenied(err):
		c.Info("the open files of process %d cannot be read (%v), so no leak was looked for: run bwemu as the app's user, or as root", pid, err)
	default:
		c.Info("the open files of process %d could not be read (%v), so no leak was looked for", pid, err)
	}
}

// 8.2
func releasesSessions(ctx context.Context, c *Check) {
	g := c.opts.AppMetrics
	if g.URL == "" {
		c.Info("no metrics endpoint given (no --app-metrics URL --app-metric NAME; Options.AppMetrics), so no leak was looked for: an app that exposes a Prometheus gauge of its live sessions can have it checked to come back down after %s", leakEndings)
		return
	}
	s := newScraper(g, c.Target.TLSConfig)
	c.Defer(s.close)
	m := measure[float64]{
		read: s.read,
		beyond: func(now, base float64) string {
			if now <= base {
				return ""
			}
			return "+" + formatValue(now-base)
		},
	}
	run, ok := faultsAndSettle(ctx, c, m, func(err error, during bool) {
		if during {
			c.Fail("%v, after it could be read before the faults: did the app exit during %s? — a consumer must survive every way a stream can end, and keep its metrics endpoint up", err, leakEndings)
			return
		}
		c.Fail("%v — give --app-metrics the URL of the app's Prometheus text endpoint and --app-metric the name of its gauge of live sessions (Options.AppMetrics)", err)
	})
	if !ok {
		return
	}
	if !run.rose {
		c.Fail("the gauge %s at %s stayed at %s while the case's streams were connected: it does not count the app's live sessions, so nothing could be judged — give --app-metric the gauge that rises with each live stream", g.Name, g.redactedURL(), formatValue(run.base))
		return
	}
	if run.left != "" {
		c.Fail("the gauge %s at %s was %s before the faults and still %s %s after the last of %s%s — %s",
			g.Name, g.redactedURL(), formatValue(run.base), formatValue(run.after), c.opts.leakSettle(), leakEndings, byFault(run.byFault), leakHint)
		return
	}
	c.Pass("after %s, the gauge %s at %s was back at its baseline within %s (%s before the faults, %s after)",
		leakEndings, g.Name, g.redactedURL(), run.took.Round(time.Millisecond), formatValue(run.base), formatValue(run.after))
}
