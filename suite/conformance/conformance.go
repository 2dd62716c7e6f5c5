package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// Status is a case's verdict.
type Status string

// The verdicts, from best to worst: Pass; Info (informational, or not
// applicable for lack of configuration); Skip (not applicable to the
// target); NonStrict (accepted by Bandwidth, but not what it documents);
// Fail.
const (
	Pass      Status = "pass"
	Fail      Status = "fail"
	NonStrict Status = "non-strict"
	Info      Status = "info"
	Skip      Status = "skip"
)

// rank orders verdicts: when a case reports several, the highest wins.
func (s Status) rank() int {
	switch s {
	case Pass:
		return 0
	case Info:
		return 1
	case Skip:
		return 2
	case NonStrict:
		return 3
	case Fail:
		return 4
	}
	return -1
}

// Passing reports whether a result with this status counts as passing:
// everything but Fail, and but NonStrict unless lenient.
func (s Status) Passing(lenient bool) bool {
	switch s {
	case Pass, Info, Skip:
		return true
	case NonStrict:
		return lenient
	}
	return false
}

// Target is the app under test.
type Target struct {
	// WebSocket is the app's stream endpoint, the StartStream destination
	// (ws:// or wss://, may carry a query string). Required.
	WebSocket string
	// Events is the app's webhook endpoint, the streamEventUrl (http:// or
	// https://). Empty: no webhooks are sent and the 5.x cases are skipped.
	Events string
	// WSUser and WSPassword are the destination credentials the app
	// requires on the handshake (destinationUsername/destinationPassword),
	// if any.
	WSUser, WSPassword string
	// EventUser and EventPassword are the Basic credentials the app
	// requires on webhooks (StartStream's username/password), if any.
	EventUser, EventPassword string
	// Bidirectional says the app plays audio back: its streams are started
	// with mode=bidirectional and the 6.x cases run.
	Bidirectional bool
	// TLSConfig is used for wss:// and https:// endpoints (set RootCAs to
	// trust a test CA).
	TLSConfig *tls.Config
}

func (t Target) wsCredentials() bool    { return t.WSUser != "" || t.WSPassword != "" }
func (t Target) eventCredentials() bool { return t.EventUser != "" || t.EventPassword != "" }

// validate says what is wrong with the target, if anything.
func (t Target) validate() error {
	if t.WebSocket == "" {
		return errors.New("conformance: Target.WebSocket is required (the app's ws:// or wss:// stream endpoint)")
	}
	u, err := url.Parse(t.WebSocket)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("conformance: Target.WebSocket %q is not a ws:// or wss:// URL", t.WebSocket)
	}
	if t.Events != "" {
		u, err := url.Parse(t.Events)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("conformance: Target.Events %q is not an http:// or https:// URL", t.Events)
		}
	}
	return nil
}

// Case is one check of the suite.
type Case struct {
	// ID numbers the case within its group: "1.1".
	ID string
	// Group is one of handshake, start, media, endings, webhooks,
	// bidirectional, concurrency.
	Group string
	// Title says in one line what a correct consumer does.
	Title string
	// Serial cases never run alongside others: pacing measurements, and
	// the faults, so that an app a fault breaks for every stream is blamed
	// in the case that caused it, not in whichever case ran beside it.
	Serial bool
	// Run does the work and reports through c. It returns when done; the
	// emulators it made through c are closed afterwards.
	Run func(ctx context.Context, c *Check)
}

// The groups, in order.
const (
	GroupHandshake     = "handshake"
	GroupStart         = "start"
	GroupMedia         = "media"
	GroupEndings       = "endings"
	GroupWebhooks      = "webhooks"
	GroupBidirectional = "bidirectional"
	GroupConcurrency   = "concurrency"
)

// Groups lists the groups in the order their cases run.
func Groups() []string {
	return []string{GroupHandshake, GroupStart, GroupMedia, GroupEndings, GroupWebhooks, GroupBidirectional, GroupConcurrency}
}

// Options configure a run.
type Options struct {
	// Only selects the cases whose ID or title it matches; nil runs all.
	// Cases not selected are left out of the results.
	Only *regexp.Regexp
	// Lenient counts NonStrict as passing. Results keep their NonStrict
	// status either way; Passed(results, o.Lenient) applies it.
	Lenient bool
	// Parallel is how many independent cases run at once (default 4; 1
	// runs them one by one). Serial cases always run alone.
	Parallel int
	// Timeouts are the emulators' time limits; a zero field takes the
	// field of DefaultTimeouts.
	Timeouts emulator.Timeouts
	// OnResult, if set, receives each result as its case finishes (one
	// call at a time), for progress reports.
	OnResult func(Result)
}

func (o Options) validate() error {
	if o.Parallel < 0 {
		return fmt.Errorf("conformance: Options.Parallel is %d: want 0 (the default, %d) or more", o.Parallel, DefaultParallel)
	}
	t := o.Timeouts
	for name, d := range map[string]time.Duration{"Handshake": t.Handshake, "Write": t.Write,
		"CloseHandshake": t.CloseHandshake, "Callback": t.Callback, "DeadPeer": t.DeadPeer} {
		if d < 0 {
			return fmt.Errorf("conformance: Options.Timeouts.%s is negative (%s)", name, d)
		}
	}
	return nil
}

// DefaultParallel is how many cases run at once when Options.Parallel is 0.
const DefaultParallel = 4

// DefaultTimeouts are the emulator timeouts of every case: short, so a
// faulty app is found out quickly, but safe for a correct app on a busy
// machine.
func DefaultTimeouts() emulator.Timeouts {
	return emulator.Timeouts{
		Handshake:      5 * time.Second,
		Write:          5 * time.Second,
		CloseHandshake: 3 * time.Second,
		Callback:       5 * time.Second,
		DeadPeer:       300 * time.Millisecond,
	}
}

func (o Options) timeouts() emulator.Timeouts { return merge(o.Timeouts, DefaultTimeouts()) }

// CaseTimeout bounds one case: past it the case fails (an app that
// stopped answering altogether) and its emulators are closed.
const CaseTimeout = 90 * time.Second

// Result is the outcome of one case.
type Result struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Reason starts with the case ID. On Fail it says what the app did
	// wrong and what a correct consumer does; on Pass it carries what was
	// measured (latencies, pacing).
	Reason   string        `json:"reason"`
	Duration time.Duration `json:"durationNs"`
	// Journal is what the emulator recorded around the failure (the
	// matchers' record of the stream and its webhooks, the journal
	// excerpt), on Fail and NonStrict only.
	Journal string `json:"journal,omitempty"`
}

// Passed reports whether every result passes: none failed and, unless
// lenient, none is NonStrict. Info and Skip pass.
func Passed(results []Result, lenient bool) bool {
	for _, r := range results {
		if !r.Status.Passing(lenient) {
			return false
		}
	}
	return true
}

// Selected returns the cases o.Only selects (all of them when nil), in ID order.
func Selected(only *regexp.Regexp) []Case {
	var out []Case
	for _, c := range Cases() {
		if only == nil || only.MatchString(c.ID) || only.MatchString(c.Title) {
			out = append(out, c)
		}
	}
	return out
}

// Run runs the selected cases against the target and returns their
// results in ID order. Independent cases run Options.Parallel at a time;
// a Serial case waits for the cases before it and runs alone. The error
// is only for a bad Target or Options, in which case nothing ran. When ctx
// ends, the cases not yet started are reported as Skip.
func Run(ctx context.Context, t Target, o Options) ([]Result, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	cases := Selected(o.Only)
	results := make([]Result, len(cases))
	par := o.Parallel
	if par == 0 {
		par = DefaultParallel
	}
	var reportMu sync.Mutex
	report := func(i int, r Result) {
		results[i] = r
		if o.OnResult != nil {
			reportMu.Lock()
			defer reportMu.Unlock()
			o.OnResult(r)
		}
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, cs := range cases {
		if cs.Serial {
			wg.Wait()
			report(i, runCase(ctx, t, cs, o))
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			report(i, runCase(ctx, t, cs, o))
		}()
	}
	wg.Wait()
	return results, nil
}

// RunCase runs one case on its own, as Run would: for wrappers that make
// each case a test of their own (a Ginkgo It per case).
func RunCase(ctx context.Context, t Target, cs Case, o Options) (Result, error) {
	if err := t.validate(); err != nil {
		return Result{}, err
	}
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	if cs.Run == nil {
		return Result{}, fmt.Errorf("conformance: case %s has no Run function", cs.ID)
	}
	return runCase(ctx, t, cs, o), nil
}

func runCase(ctx context.Context, t Target, cs Case, o Options) Result {
	start := time.Now()
	res := Result{ID: cs.ID, Group: cs.Group, Title: cs.Title}
	if err := ctx.Err(); err != nil {
		res.Status, res.Reason = Skip, fmt.Sprintf("%s: not run: %v", cs.ID, err)
		return res
	}
	c := newCheck(t, cs, o.timeouts())
	cctx, cancel := context.WithTimeout(ctx, CaseTimeout)
	func() {
		defer func() {
			if p := recover(); p != nil {
				c.Fail("the case itself failed (a bug in bwemu, not in the app): %v", p)
			}
		}()
		cs.Run(cctx, c)
	}()
	timedOut := errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	c.cleanup()
	switch {
	case ctx.Err() != nil:
		res.Status, res.Reason = Skip, fmt.Sprintf("%s: interrupted: %v", cs.ID, ctx.Err())
		res.Duration = time.Since(start)
		return res
	case timedOut:
		c.Fail("the case did not finish within %s: the app stopped answering (see the journal)", CaseTimeout)
	}
	res.Status, res.Reason, res.Journal = c.verdict()
	res.Duration = time.Since(start)
	return res
}
