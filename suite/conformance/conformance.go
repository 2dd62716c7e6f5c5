package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/parallel"
	"github.com/bwemu/bwemu/internal/weburl"
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

// WorseThan reports whether s is a worse verdict than o, in the order the
// constants above list them: of two findings, the worse one decides.
func (s Status) WorseThan(o Status) bool { return s.rank() > o.rank() }

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

// Target is the app under test. Its fields bear the names of
// scenarios.Target's and of bwemu conform's flags (WebSocket --ws, Events
// --events, EventMethod --event-method, WSUser --ws-user, …).
type Target struct {
	// WebSocket is the app's stream endpoint, the StartStream destination
	// (ws:// or wss://, may carry a query string). Required.
	WebSocket string
	// Events is the app's webhook endpoint for stream events, the
	// streamEventUrl (http:// or https://). It receives mediaStreamStarted,
	// mediaStreamRejected and mediaStreamStopped, never disconnect. Empty:
	// no stream events are sent and the 5.x cases that need them are skipped.
	Events string
	// EventMethod is the streamEventMethod the app's StartStream sets:
	// POST (the default, when empty) or GET. Every stream of the run sends
	// its events with it; 5.11 checks GET deliveries only when it is GET.
	EventMethod string
	// Disconnect is the call's disconnectUrl (http:// or https://), the only
	// place a disconnect webhook goes. Empty: no disconnect is sent and 5.8
	// is informational, as on Bandwidth when a call has no disconnectUrl.
	Disconnect string
	// DisconnectMethod is the call's disconnectMethod: POST (the default,
	// when empty) or GET.
	DisconnectMethod string
	// WSUser and WSPassword are the destination credentials the app
	// requires on the handshake (destinationUsername/destinationPassword),
	// if any.
	WSUser, WSPassword string
	// EventUser and EventPassword are the Basic credentials the app
	// requires on webhooks (StartStream's username/password, and the
	// call's for disconnect), if any.
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

// eventsByGET and disconnectByGET say the app asked for GET webhooks.
func (t Target) eventsByGET() bool {
	return t.Events != "" && strings.EqualFold(t.EventMethod, http.MethodGet)
}
func (t Target) disconnectByGET() bool {
	return t.Disconnect != "" && strings.EqualFold(t.DisconnectMethod, http.MethodGet)
}

// validate says what is wrong with the target, if anything.
func (t Target) validate() error {
	if t.WebSocket == "" {
		return errors.New("conformance: Target.WebSocket is required (the app's ws:// or wss:// stream endpoint)")
	}
	u, err := url.Parse(t.WebSocket)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("conformance: Target.WebSocket %q is not a ws:// or wss:// URL", weburl.Redact(t.WebSocket))
	}
	for _, f := range []struct{ name, url string }{{"Events", t.Events}, {"Disconnect", t.Disconnect}} {
		if f.url == "" {
			continue
		}
		u, err := url.Parse(f.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("conformance: Target.%s %q is not an http:// or https:// URL", f.name, weburl.Redact(f.url))
		}
	}
	for _, f := range []struct{ name, method string }{{"EventMethod", t.EventMethod}, {"DisconnectMethod", t.DisconnectMethod}} {
		switch strings.ToUpper(f.method) {
		case "", http.MethodPost, http.MethodGet:
		default:
			return fmt.Errorf("conformance: Target.%s is %q: want POST or GET", f.name, f.method)
		}
	}
	return nil
}

// Case is one check of the suite.
type Case struct {
	// ID numbers the case within its group: "1.1".
	ID string
	// Group is one of handshake, start, media, endings, webhooks,
	// bidirectional, concurrency, leaks.
	Group string
	// Title says in one line what a correct consumer does.
	Title string
	// Serial cases never run alongside others: pacing measurements, and
	// the faults, so that an app a fault breaks for every stream is blamed
	// in the case that caused it, not in whichever case ran beside it; and
	// the leak checks, whose counts another case's streams would change.
	Serial bool
	// Webhooks marks the cases that judge the app's webhook answers (5.x):
	// their streams always carry webhooks, and a webhook the app leaves
	// unanswered past the callbackTimeout fails the case at once. The other
	// cases send webhooks too, but stop sending them once the app has left
	// one unanswered or answered one slower than WebhookLatencyLimit, so a
	// slow webhook endpoint cannot stall the run.
	Webhooks bool
	// Undocumented marks the cases about behaviour Bandwidth documents
	// nowhere (robustness a consumer should have): a failure is NonStrict,
	// never Fail.
	Undocumented bool
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
	GroupLeaks         = "leaks"
)

// Groups lists the groups in the order their cases run.
func Groups() []string {
	return []string{GroupHandshake, GroupStart, GroupMedia, GroupEndings, GroupWebhooks, GroupBidirectional, GroupConcurrency, GroupLeaks}
}

// Options configure a run.
type Options struct {
	// Only selects the cases whose ID or title it matches; nil runs all.
	// Cases not selected are left out of the results.
	Only *regexp.Regexp
	// Skip leaves out the cases whose ID or title it matches (after Only).
	Skip *regexp.Regexp
	// Lenient counts NonStrict as passing. Results keep their NonStrict
	// status either way; Passed(results, o.Lenient) applies it.
	Lenient bool
	// Parallel is how many independent cases run at once (default 4; 1
	// runs them one by one). Serial cases always run alone.
	Parallel int
	// Timeouts are the emulators' time limits; a zero field takes the
	// field of DefaultTimeouts. Timeouts.Callback is the app's
	// callbackTimeout: every webhook is given that long, as on Bandwidth.
	Timeouts emulator.Timeouts
	// CaseTimeout bounds each case: past it the case fails (the app
	// stopped answering) and its emulators are shut down. Zero: the
	// larger of DefaultCaseTimeout and twice the sum of the handshake,
	// write and close timeouts plus LeakSettle; a case that judges
	// webhooks (5.x) gets four callbackTimeouts more, since a call's
	// webhooks go one at a time and a correct app may take up to the
	// callbackTimeout for each.
	CaseTimeout time.Duration
	// AppPID is the process id of the app under test, for 8.1 (Linux
	// only): its open file descriptors and sockets are counted before and
	// after streams that end without Bandwidth's stop message. The process
	// must be the app's own, not the one running the suite (whose
	// emulator's sockets would be counted too). Zero: 8.1 is Info.
	AppPID int
	// AppMetrics is the app's Prometheus text endpoint and its gauge of
	// live sessions, for 8.2: the gauge must come back to where it was
	// after the same faults. Zero: 8.2 is Info.
	AppMetrics MetricsGauge
	// LeakSettle is how long the app has, after the last stream of a leak
	// case (8.x) ended, to be back at its baseline; it is checked every
	// 50 ms and the case goes on as soon as it is. Zero: DefaultLeakSettle.
	LeakSettle time.Duration
	// OnResult, if set, receives each result as its case finishes (one
	// call at a time), for progress reports.
	OnResult func(Result)
}

func (o Options) validate() error {
	if o.Parallel < 0 {
		return fmt.Errorf("conformance: Options.Parallel is %d: want 0 (the default, %d) or more", o.Parallel, DefaultParallel)
	}
	if o.CaseTimeout < 0 {
		return fmt.Errorf("conformance: Options.CaseTimeout is negative (%s)", o.CaseTimeout)
	}
	if o.AppPID < 0 {
		return fmt.Errorf("conformance: Options.AppPID is %d: want the app's process id, or 0 for none", o.AppPID)
	}
	if o.LeakSettle < 0 {
		return fmt.Errorf("conformance: Options.LeakSettle is negative (%s)", o.LeakSettle)
	}
	if err := o.AppMetrics.validate(); err != nil {
		return err
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

// parallelism is how many independent cases run at once.
func (o Options) parallelism() int {
	if o.Parallel == 0 {
		return DefaultParallel
	}
	return o.Parallel
}

// DefaultTimeouts are the emulator timeouts of every case: short, so a
// faulty app is found out quickly, but safe for a correct app on a busy
// machine. Callback is Bandwidth's default callbackTimeout.
func DefaultTimeouts() emulator.Timeouts {
	return emulator.Timeouts{
		Handshake:      5 * time.Second,
		Write:          5 * time.Second,
		CloseHandshake: 2 * time.Second,
		Callback:       emulator.DefaultCallbackTimeout,
		DeadPeer:       300 * time.Millisecond,
	}
}

func (o Options) timeouts() emulator.Timeouts { return merge(o.Timeouts, DefaultTimeouts()) }

// DefaultCaseTimeout is the least time a case gets before it fails as
// stalled (see Options.CaseTimeout). A case against a correct app takes a
// few seconds at most.
const DefaultCaseTimeout = 30 * time.Second

// caseTimeout is the deadline of each case.
func (o Options) caseTimeout(webhooks bool) time.Duration {
	if o.CaseTimeout > 0 {
		return o.CaseTimeout
	}
	t := o.timeouts()
	limit := max(DefaultCaseTimeout, 2*(t.Handshake+t.Write+t.CloseHandshake)+o.leakSettle())
	if webhooks {
		limit += 4 * t.Callback
	}
	return limit
}

// Result is the outcome of one case.
type Result struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Reason starts with the case ID. On Fail it says what the app did
	// wrong and what a correct consumer does; on Pass it carries what was
	// measured (latencies, pacing).
	Reason string `json:"reason"`
	// Start is when the case began; Duration how long it took.
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"durationNs"`
	// Journal is what the emulator recorded around the failure (the
	// matchers' record of the stream and its webhooks, the journal
	// excerpt), on Fail and NonStrict only.
	Journal string `json:"journal,omitempty"`
	// StreamID is the stream Journal shows first: the one the failure is
	// about.
	StreamID string `json:"streamId,omitempty"`
	// Entries are every journal entry of the case's emulators, in time
	// order, for reports that draw the case's calls (bwemu conform
	// --html); the JSON report leaves them out (Journal has the excerpt).
	Entries []emulator.Entry `json:"-"`
	// Interrupted is true when the run was interrupted (its context
	// ended) before the case could finish: Status is Skip, and the case
	// says nothing about the app.
	Interrupted bool `json:"interrupted,omitempty"`
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

// Selected returns the cases only selects (all of them when nil), in ID order.
func Selected(only *regexp.Regexp) []Case { return Select(only, nil) }

// Select returns the cases only selects (all when nil) that skip does not
// match (none is left out when nil), in ID order. Both match a case's ID or
// its title.
func Select(only, skip *regexp.Regexp) []Case {
	var out []Case
	for _, c := range Cases() {
		if only != nil && !only.MatchString(c.ID) && !only.MatchString(c.Title) {
			continue
		}
		if skip != nil && (skip.MatchString(c.ID) || skip.MatchString(c.Title)) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// Run runs the selected cases against the target and returns their
// results in ID order.
//
// It first checks, with one stream, that the app can be reached at all:
// when the WebSocket upgrade fails (nothing listens, no answer within the
// handshake timeout, an answer other than 101), or a webhook endpoint
// cannot be reached, Run returns an *UnreachableError and runs no case. A
// webhook endpoint that answers too slowly is noted instead: the cases that
// do not judge webhooks then send none, and the 5.x cases judge it (fail
// past the callbackTimeout, non-strict past WebhookLatencyLimit).
//
// Independent cases run Options.Parallel at a time; a Serial case waits for
// the cases before it and runs alone. Other errors are for a bad Target or
// Options, in which case nothing ran. When ctx ends (an interrupt), the
// cases under way stop within a couple of seconds (their calls are hung up
// with emulator.InterruptGrace to spare) and every case not finished is
// reported as Skip with Interrupted set.
func Run(ctx context.Context, t Target, o Options) ([]Result, error) {
	if err := validate(t, o); err != nil {
		return nil, err
	}
	cases := Select(o.Only, o.Skip)
	rs := &runState{}
	if ctx.Err() == nil && len(cases) > 0 {
		if err := preflight(ctx, t, o, rs); err != nil {
			return nil, err
		}
	}
	results := make([]Result, len(cases))
	var reportMu sync.Mutex
	report := func(i int, r Result) {
		results[i] = r
		if o.OnResult != nil {
			reportMu.Lock()
			defer reportMu.Unlock()
			o.OnResult(r)
		}
	}
	serial := func(i int) bool { return cases[i].Serial }
	outcomes := parallel.Run(ctx, len(cases), parallel.Options{Limit: o.parallelism(), Serial: serial}, func(i int) bool {
		report(i, runCase(ctx, t, cases[i], o, rs))
		return true // a failed case stops nothing: the suite has no fail-fast
	})
	for i, out := range outcomes {
		if out != parallel.Ran {
			report(i, notRun(cases[i], ctx.Err()))
		}
	}
	return results, nil
}

// RunCase runs one case on its own, as Run would: for wrappers that make
// each case a test of their own (a Ginkgo It per case). It does not check
// reachability first (see Preflight).
func RunCase(ctx context.Context, t Target, cs Case, o Options) (Result, error) {
	if err := validate(t, o); err != nil {
		return Result{}, err
	}
	if cs.Run == nil {
		return Result{}, fmt.Errorf("conformance: case %s has no Run function", cs.ID)
	}
	return runCase(ctx, t, cs, o, &runState{}), nil
}

// Preflight checks, with one stream, that the app can be reached: Run's
// first step, for wrappers that run the cases one by one with RunCase. It
// returns an *UnreachableError when it cannot be, another error for a bad
// Target or Options, and nil otherwise (also when ctx ended first).
func Preflight(ctx context.Context, t Target, o Options) error {
	if err := validate(t, o); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	return preflight(ctx, t, o, &runState{})
}

// validate says what is wrong with the target or the options, if anything.
func validate(t Target, o Options) error {
	if err := t.validate(); err != nil {
		return err
	}
	return o.validate()
}

// runState is what the cases of one run share.
type runState struct {
	// slowHooks, once set, says why the socket cases send no more
	// webhooks: the app left one unanswered past the callbackTimeout, or
	// answered one slower than WebhookLatencyLimit.
	slowHooks atomic.Pointer[string]
}

// markSlow records that the app is slow to answer webhooks (first reason wins).
func (rs *runState) markSlow(why string) { rs.slowHooks.CompareAndSwap(nil, &why) }

// slow is why the socket cases send no webhooks, "" while they do.
func (rs *runState) slow() string {
	if p := rs.slowHooks.Load(); p != nil {
		return *p
	}
	return ""
}

// overrun is the reason of a case that outlived its deadline: what the
// case saw last, since the deadline alone does not say whether the app
// stopped answering or was only slow.
func overrun(limit time.Duration, start time.Time, last emulator.Entry) string {
	msg := fmt.Sprintf("the case did not finish within %s", limit)
	if !last.Time.IsZero() {
		msg += fmt.Sprintf("; the last thing seen, %s into the case: %s", last.Time.Sub(start).Round(time.Millisecond), last.Message)
	}
	return msg + " — an app that stops answering, or answers slowly, keeps a case waiting (see the journal)"
}

func runCase(ctx context.Context, t Target, cs Case, o Options, rs *runState) Result {
	start := time.Now()
	res := Result{ID: cs.ID, Group: cs.Group, Title: cs.Title, Start: start}
	if err := ctx.Err(); err != nil {
		return notRun(cs, err)
	}
	limit := o.caseTimeout(cs.Webhooks)
	cctx, cancel := context.WithTimeout(ctx, limit)
	c := newCheck(t, cs, o, rs, cctx, cancel)
	deadline, _ := cctx.Deadline()
	overran := func() {
		if ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
			c.cut(overrun(limit, start, c.lastEntry()), true, deadline)
		}
	}
	stopDeadline := context.AfterFunc(cctx, overran)
	func() {
		defer func() {
			if p := recover(); p != nil {
				c.Fail("the case itself failed (a bug in bwemu, not in the app): %v", p)
			}
		}()
		cs.Run(cctx, c)
	}()
	// The case may return on its deadline before the AfterFunc has run;
	// stopping it then would lose the cut, so it is made here too (cut
	// happens once).
	stopDeadline()
	overran()
	cancel()
	c.cleanup(ctx)
	res.Entries = c.entries()
	if ctx.Err() != nil {
		res.Status, res.Reason, res.Interrupted = Skip, fmt.Sprintf("%s: interrupted before the case finished (%v)", cs.ID, ctx.Err()), true
		res.Duration = time.Since(start)
		return res
	}
	c.learn()
	res.Status, res.Reason, res.Journal, res.StreamID = c.verdict()
	res.Duration = time.Since(start)
	return res
}

// entries are the journals of the case's emulators as one, in time order
// (entries stamped alike keep their emulator's order).
func (c *Check) entries() []emulator.Entry {
	c.mu.Lock()
	emus := c.emus
	c.mu.Unlock()
	var out []emulator.Entry
	for _, e := range emus {
		out = append(out, e.Journal().Entries()...)
	}
	slices.SortStableFunc(out, func(a, b emulator.Entry) int { return a.Time.Compare(b.Time) })
	return out
}

// notRun is the result of a case an interrupt (err) kept from starting.
func notRun(cs Case, err error) Result {
	return Result{ID: cs.ID, Group: cs.Group, Title: cs.Title, Status: Skip,
		Reason: fmt.Sprintf("%s: not run: interrupted (%v)", cs.ID, err), Interrupted: true}
}
