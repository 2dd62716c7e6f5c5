package scenarios

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/internal/weburl"
)

// RunOptions control a run of scenario files.
type RunOptions struct {
	// WebSocket, Events and Disconnect override every file's target
	// (target.websocket, target.events, target.disconnect).
	WebSocket  string
	Events     string
	Disconnect string
	// CA overrides every file's target.ca: a PEM file (relative to the
	// working directory) trusted for wss:// streams, https:// webhooks and
	// https:// BXML fetches.
	CA string
	// Pace overrides every scenario's pace ("" keeps it; realtime when
	// neither says).
	Pace string
	// Parallel is how many scenarios run at once (default DefaultParallel).
	Parallel int
	// Focus, when set, runs only scenarios whose name matches.
	Focus *regexp.Regexp
	// Skip, when set, skips the scenarios whose name matches (of those
	// Focus selects).
	Skip *regexp.Regexp
	// Repeat runs each selected scenario that many times (default once),
	// each repetition a Result of its own, in order after the scenario's
	// first; any failing repetition fails the run.
	Repeat int
	// FailFast skips the scenarios not yet started once one fails.
	FailFast bool
	// JournalDir, when set, receives one JSON Lines journal per scenario.
	JournalDir string
	// OnStart and OnResult, when set, are called as scenarios begin and
	// end (from several goroutines at once when Parallel > 1).
	OnStart  func(*Scenario)
	OnResult func(*Result)
}

// Selected reports whether a run with these options runs the scenario:
// its name matches Focus (when set) and not Skip (when set).
func (o RunOptions) Selected(sc *Scenario) bool {
	return (o.Focus == nil || o.Focus.MatchString(sc.Name)) && (o.Skip == nil || !o.Skip.MatchString(sc.Name))
}

// ErrNothingSelected is returned by Run when Focus and Skip leave no
// scenario to run: a run of nothing would pass, and say nothing.
var ErrNothingSelected = errors.New("no scenario is left to run")

// DefaultParallel is how many scenarios run at once unless told: streams
// mostly wait on the clock and the app, so a few at a time cost little.
const DefaultParallel = 4

// Result is the outcome of one scenario (of one repetition of it).
type Result struct {
	File     string    `json:"file"`
	Scenario *Scenario `json:"-"`
	Name     string    `json:"name"`
	Pos      string    `json:"pos"`
	// Repetition is which run of the scenario this is, from 1, of
	// Repetitions, when RunOptions.Repeat is above 1 (both 0 otherwise).
	Repetition  int `json:"repetition,omitempty"`
	Repetitions int `json:"repetitions,omitempty"`
	// Status is passed, failed, skipped, error (the run itself broke) or
	// interrupted (the run was interrupted before the scenario finished:
	// no verdict on the app).
	Status   string        `json:"status"`
	Duration time.Duration `json:"durationNs"`
	Failures []Failure     `json:"failures,omitempty"`
	Error    string        `json:"error,omitempty"`
	Streams  []StreamRun   `json:"streams,omitempty"`
	// Webhooks are every webhook exchange of the scenario, in order.
	Webhooks    []*emulator.Delivery `json:"webhooks,omitempty"`
	Journal     []emulator.Entry     `json:"-"`
	JournalFile string               `json:"journal,omitempty"`
}

// Label names the result in reports: the scenario's name, followed by
// [i/n] for a repetition.
func (r *Result) Label() string {
	if r.Repetitions > 1 {
		return fmt.Sprintf("%s [%d/%d]", r.Name, r.Repetition, r.Repetitions)
	}
	return r.Name
}

// Result statuses.
const (
	Passed      = "passed"
	Failed      = "failed"
	Skipped     = "skipped"
	Errored     = "error"
	Interrupted = "interrupted"
)

// Failure is one expectation that did not hold.
type Failure struct {
	// Expectation names it as the file does, e.g. expect.stopped.
	Expectation string `json:"expectation"`
	Pos         string `json:"pos,omitempty"`
	// Message is the matcher's account: what was expected, what was seen.
	Message string `json:"message"`
	// Excerpt is the journal around it.
	Excerpt string `json:"excerpt,omitempty"`
}

// StreamRun is one stream of a scenario and how it went.
type StreamRun struct {
	Name   string                 `json:"name"`
	ID     string                 `json:"id"`
	Result *emulator.StreamResult `json:"result"`
	stream *emulator.Stream
}

// job is one scenario (one repetition of it) to run.
type job struct {
	f       *File
	sc      *Scenario
	res     *Result
	t       Target
	api     *apiServer // the file's Voice API, for bxml: scenarios
	journal string     // the journal file's name in JournalDir
}

// Run runs the scenarios of files and returns their results in file order
// (a scenario's repetitions together). Before anything runs it checks the
// files against the targets the options give them (see Check), and
// returns those Errors; and ErrNothingSelected when Focus and Skip leave
// nothing to run.
//
// When ctx ends (an interrupt), the live calls are hung up with their
// webhooks within emulator.InterruptGrace, the scenarios cut short are
// Interrupted and those not started too; Run then returns the results.
func Run(ctx context.Context, files []*File, opts RunOptions) ([]*Result, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	if opts.Repeat <= 0 {
		opts.Repeat = 1
	}
	if err := Check(files, opts); err != nil {
		return nil, err
	}
	if selected(files, opts) == 0 {
		return nil, ErrNothingSelected
	}
	if opts.JournalDir != "" {
		if err := os.MkdirAll(opts.JournalDir, 0o755); err != nil {
			return nil, fmt.Errorf("journal directory: %w", err)
		}
	}
	// One built-in consumer per set of credentials the files require.
	builtins := map[consumer.Options]*consumer.Server{}
	defer func() {
		for _, srv := range builtins {
			srv.Close()
		}
	}()
	var servers []*apiServer
	defer func() {
		for _, a := range servers {
			a.close()
		}
	}()
	var jobs []*job
	journals := map[string]bool{} // names taken: files may share a base name
	for _, f := range files {
		t, builtin := effectiveTarget(f.Target, opts)
		if builtin {
			creds := consumer.Options{WSUser: t.WSUser, WSPassword: t.WSPassword, EventUser: t.EventUser, EventPassword: t.EventPassword}
			srv := builtins[creds]
			if srv == nil {
				var err error
				if srv, err = consumer.Start("127.0.0.1:0", &creds); err != nil {
					return nil, fmt.Errorf("starting the built-in reference consumer: %w", err)
				}
				builtins[creds] = srv
			}
			t = useBuiltin(t, srv)
		}
		var api *apiServer
		if t.API != "" && fileSelected(f, opts) {
			a, err := startAPI(ctx, f, t, pace(opts.Pace, f.Defaults.Pace))
			if err != nil {
				return nil, err
			}
			servers = append(servers, a)
			api = a
		}
		for _, sc := range f.Scenarios {
			reps := opts.Repeat
			if !opts.Selected(sc) {
				reps = 1
			}
			for i := 1; i <= reps; i++ {
				r := &Result{File: f.Path, Scenario: sc, Name: sc.Name, Pos: sc.Pos.String()}
				if opts.Repeat > 1 && opts.Selected(sc) {
					r.Repetition, r.Repetitions = i, opts.Repeat
				}
				if !opts.Selected(sc) {
					r.Status = Skipped
				}
				j := &job{f: f, sc: sc, res: r, t: t, api: api}
				if opts.JournalDir != "" && r.Status != Skipped {
					j.journal = uniqueName(journals, journalName(f, sc, r.Repetition))
				}
				jobs = append(jobs, j)
			}
		}
	}

	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, opts.Parallel)
		mu     sync.Mutex
		failed bool
	)
	for _, j := range jobs {
		if j.res.Status == Skipped {
			continue
		}
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		mu.Lock()
		failFast := opts.FailFast && failed
		mu.Unlock()
		if ctx.Err() != nil || failFast {
			if acquired {
				<-sem // the slot was taken for a scenario that will not run
			}
			j.res.Status = Skipped
			if ctx.Err() != nil {
				j.res.Status, j.res.Error = Interrupted, "interrupted before it started: not run"
			}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if opts.OnStart != nil {
				opts.OnStart(j.sc)
			}
			runScenario(ctx, j, opts)
			mu.Lock()
			if j.res.Status != Passed {
				failed = true
			}
			mu.Unlock()
			if opts.OnResult != nil {
				opts.OnResult(j.res)
			}
		})
	}
	wg.Wait()
	out := make([]*Result, len(jobs))
	for i, j := range jobs {
		out[i] = j.res
	}
	return out, nil
}

// selected counts the scenarios a run with opts runs (once each).
func selected(files []*File, opts RunOptions) int {
	n := 0
	for _, f := range files {
		for _, sc := range f.Scenarios {
			if opts.Selected(sc) {
				n++
			}
		}
	}
	return n
}

func fileSelected(f *File, opts RunOptions) bool {
	return selected([]*File{f}, opts) > 0
}

// runScenario plays one call flow and checks its expectations. A bxml:
// scenario of a file with target.api runs on the file's shared emulator
// (api); every other scenario has an emulator of its own.
func runScenario(ctx context.Context, j *job, opts RunOptions) {
	r, sc := j.res, j.sc
	began := time.Now()
	defer func() { r.Duration = time.Since(began) }()
	p := &play{ctx: ctx, f: j.f, t: j.t, sc: sc, pace: pace(opts.Pace, sc.Pace), streams: map[string]*StreamRun{}}
	var guard *interruptGuard
	if sc.BXML != nil && j.api != nil {
		p.e, p.engine, p.api, p.shared = j.api.e, j.api.engine, j.api.api, true
		guard = j.api.guard
	} else {
		e, tlsConf, err := newEmulator(j.f, j.t, sc.Settings)
		if err != nil {
			r.Status, r.Error = Errored, err.Error()
			return
		}
		defer e.Close()
		p.e = e
		if sc.BXML != nil {
			p.engine = newEngine(e, p.pace, tlsConf)
		}
		// An interrupt hangs up the scenario's live calls at once, with
		// their webhooks, within emulator.InterruptGrace.
		guard = watchInterrupt(ctx, e)
	}
	runErr := p.run()
	var failures []Failure
	if runErr == nil && ctx.Err() == nil {
		p.results()
		failures = p.check()
	}
	var interrupted bool
	if p.shared {
		interrupted = guard.wait(ctx)
	} else {
		interrupted = guard.finish()
	}
	p.results()
	for _, sr := range p.order {
		r.Streams = append(r.Streams, *sr)
	}
	r.Webhooks = p.deliveries()
	switch {
	case interrupted:
		// Whatever was seen so far, the scenario did not run to its end:
		// its expectations say nothing about the app.
		r.Status, r.Error = Interrupted, "interrupted before the scenario finished; its live calls were hung up"
		if guard.err != nil {
			r.Error += fmt.Sprintf(" (webhooks still unanswered after %s were cut off)", emulator.InterruptGrace)
		}
	case runErr != nil:
		r.Status, r.Error = Errored, p.rootCause(runErr)
	default:
		r.Failures = failures
		r.Status = Passed
		if len(failures) > 0 {
			r.Status = Failed
		}
	}
	r.Journal = p.entries()
	if opts.JournalDir != "" {
		r.JournalFile = filepath.Join(opts.JournalDir, j.journal)
		if err := writeJournal(r.JournalFile, r.Journal); err != nil && r.Status != Interrupted {
			r.Status, r.Error = Errored, fmt.Sprintf("writing the journal: %v", err)
		}
	}
}

// results records the final result of every stream (and, with bxml:, the
// streams the BXML started).
func (p *play) results() {
	if p.bxmlRun != nil {
		p.collect()
	}
	for _, sr := range p.order {
		sr.Result = sr.stream.Result()
	}
}

// rootCause puts what broke the call's BXML, when it did, before the
// error of the step that found the call over.
func (p *play) rootCause(err error) string {
	if p.bxmlRun != nil {
		if berr := p.bxmlRun.Err(); berr != nil && !errors.Is(berr, bxml.ErrCallEnded) && !strings.Contains(err.Error(), berr.Error()) {
			return fmt.Sprintf("the call's BXML failed: %v; then %v", berr, err)
		}
	}
	return err.Error()
}

// interruptGuard hangs up an emulator's live calls when the run's context
// ends, and tells whether it did.
type interruptGuard struct {
	ctx  context.Context
	e    *emulator.Emulator
	stop func() bool
	done chan struct{}
	err  error // Shutdown's: the grace ran out
}

// watchInterrupt arranges for e.Shutdown, bounded by
// emulator.InterruptGrace, as soon as ctx ends.
func watchInterrupt(ctx context.Context, e *emulator.Emulator) *interruptGuard {
	g := &interruptGuard{ctx: ctx, e: e, done: make(chan struct{})}
	g.stop = context.AfterFunc(ctx, g.shutdown)
	return g
}

func (g *interruptGuard) shutdown() {
	defer close(g.done)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(g.ctx), emulator.InterruptGrace)
	defer cancel()
	g.err = g.e.Shutdown(sctx)
}

// finish stops watching; when the interrupt came first it makes sure the
// shutdown ran (the context is done before its AfterFuncs start, so stop
// may win the race), waits for it and reports true.
func (g *interruptGuard) finish() bool {
	if g.stop() {
		if g.ctx.Err() == nil {
			return false
		}
		g.shutdown()
		return true
	}
	<-g.done
	return true
}

// wait is finish for a guard shared by several scenarios, which stays
// armed: it reports whether the interrupt came, after the shutdown.
func (g *interruptGuard) wait(ctx context.Context) bool {
	if ctx.Err() == nil {
		return false
	}
	<-g.done
	return true
}

// writeJournal writes entries as JSON Lines, as Journal.WriteFile does.
func writeJournal(path string, entries []emulator.Entry) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func pace(override, own string) emulator.Pace {
	switch {
	case override != "":
		return emulator.Pace(override)
	case own != "":
		return emulator.Pace(own)
	}
	return emulator.Realtime
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// journalName is BASE-LINE-NAME.jsonl, with -rN before the extension for
// the Nth repetition.
func journalName(f *File, sc *Scenario, repetition int) string {
	base := strings.TrimSuffix(filepath.Base(f.Path), filepath.Ext(f.Path))
	name := strings.Trim(unsafeName.ReplaceAllString(sc.Name, "-"), "-")
	if repetition > 0 {
		return fmt.Sprintf("%s-%d-%s-r%d.jsonl", base, sc.Pos.Line, name, repetition)
	}
	return fmt.Sprintf("%s-%d-%s.jsonl", base, sc.Pos.Line, name)
}

// uniqueName returns name, or name with -2, -3, … before the extension
// when taken already has it, and records it as taken.
func uniqueName(taken map[string]bool, name string) string {
	stem, ext := strings.TrimSuffix(name, filepath.Ext(name)), filepath.Ext(name)
	n := name
	for i := 2; taken[n]; i++ {
		n = fmt.Sprintf("%s-%d%s", stem, i, ext)
	}
	taken[n] = true
	return n
}

// newEmulator makes a scenario's emulator (or a file's shared one) and
// returns the TLS configuration of the target's CA, nil when it has none:
// the emulator uses it for wss:// streams and https:// webhooks, and the
// BXML engine must be given it for https:// fetches (newEngine).
func newEmulator(f *File, t Target, sc Settings) (*emulator.Emulator, *tls.Config, error) {
	o := emulator.Options{Timeouts: emulator.Timeouts(sc.Timeouts)}
	o.DuplicateWebhooks = isTrue(sc.Options.DuplicateWebhooks)
	o.RejectOnConnectError = isTrue(sc.Options.RejectOnConnectError)
	o.AppCloseAsError = isTrue(sc.Options.AppCloseAsError)
	conf, err := tlsConfig(f, t)
	if err != nil {
		return nil, nil, err
	}
	o.TLSConfig = conf
	return emulator.New(&o), conf, nil
}

// tlsConfig trusts the target's CA; nil when it names none.
func tlsConfig(f *File, t Target) (*tls.Config, error) {
	if t.CA == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(resolvePath(f, t.CA))
	if err != nil {
		return nil, fmt.Errorf("target.ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("target.ca: %s holds no PEM certificate", t.CA)
	}
	return &tls.Config{RootCAs: pool}, nil
}

// newEngine makes a BXML engine on e. With a CA to trust, its fetches
// (BXML, PlayAudio files) trust it too; like the engine's own client, its
// transport keeps no idle connection, so nothing outlives the run.
func newEngine(e *emulator.Emulator, pc emulator.Pace, conf *tls.Config) *bxml.Engine {
	en := &bxml.Engine{Emulator: e, Pace: pc}
	if conf != nil {
		tr := weburl.NewTransport()
		tr.DisableKeepAlives = true
		tr.TLSClientConfig = conf.Clone()
		en.HTTPClient = &http.Client{Transport: tr}
	}
	return en
}

func resolvePath(f *File, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(f.Path), p)
}

func isTrue(b *bool) bool { return b != nil && *b }

// play is one scenario being played.
type play struct {
	ctx context.Context
	e   *emulator.Emulator
	// For bxml: the engine that runs the call's BXML and the call's run;
	// api and shared when the file serves the Voice API (the emulator is
	// then the file's, shared with its other bxml: scenarios).
	engine  *bxml.Engine
	bxmlRun *bxml.Run
	api     *voiceapi.Server
	shared  bool
	f       *File
	t       Target
	sc      *Scenario
	pace    emulator.Pace
	call    *emulator.Call
	streams map[string]*StreamRun // by name
	order   []*StreamRun
	first   string
}

func (p *play) run() (runErr error) {
	sc := p.sc
	if sc.BXML != nil {
		return p.runBXML()
	}
	spec := p.callSpec()
	call, err := p.e.NewCall(&spec)
	if err != nil {
		return err
	}
	p.call = call
	// However the scenario ends (a stream that cannot start, a failed step,
	// an interrupt), the call is hung up, as when BXML runs out, so the app
	// sees a proper end and its webhooks.
	defer func() {
		// On an interrupt the emulator's Shutdown hangs up (watchInterrupt).
		if !call.Ended() && p.ctx.Err() == nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), hangupGrace(sc.Timeouts))
			defer cancel()
			if err := call.Hangup(ctx); err != nil && !errors.Is(err, emulator.ErrCallEnded) && runErr == nil {
				runErr = fmt.Errorf("hanging up at the end: %w", err)
			}
		}
	}()
	for _, s := range append([]Stream{sc.Stream}, sc.Extra...) {
		if err := p.start(s); err != nil {
			return err
		}
	}
	return p.steps()
}

// steps carries out the scenario's steps in order.
func (p *play) steps() error {
	for i, st := range p.sc.Steps {
		if err := p.step(st); err != nil {
			return fmt.Errorf("%s: steps[%d] %s: %w", st.Pos, i, st.Kind, err)
		}
	}
	return nil
}

// callSpec is the scenario's call, as run() and runBXML() start it.
func (p *play) callSpec() emulator.CallSpec {
	c := p.sc.Call
	return emulator.CallSpec{From: c.From, To: c.To, Direction: c.Direction, Tag: c.Tag,
		DisconnectURL: p.disconnectURL(), DisconnectMethod: p.t.EventMethod, Username: p.t.EventUser, Password: p.t.EventPassword,
		CallbackTimeout: p.sc.Timeouts.Callback}
}

// disconnectURL is where the disconnect webhook goes: the target's
// disconnect URL only (none when unset), never its events URL.
func (p *play) disconnectURL() string {
	return p.t.Disconnect
}

// hangupGrace bounds the final hangup: a close handshake and two webhooks.
func hangupGrace(t Timeouts) time.Duration {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return or(t.CloseHandshake, emulator.DefaultCloseHandshakeTimeout) + 2*or(t.Callback, emulator.DefaultCallbackTimeout) + time.Second
}

// start starts a stream from the scenario's attributes.
func (p *play) start(s Stream) error {
	spec, err := p.spec(s)
	if err != nil {
		return err
	}
	st, err := p.call.StartStream(p.ctx, spec)
	var rej *emulator.RejectedError
	switch {
	case errors.As(err, &rej):
		st = rej.Stream
	case err != nil:
		return err
	}
	run := &StreamRun{Name: st.Name, ID: st.ID, stream: st}
	p.order = append(p.order, run)
	// A rejected duplicate does not replace the live stream of its name.
	if _, known := p.streams[st.Name]; !known || rej == nil {
		p.streams[st.Name] = run
	}
	if p.first == "" {
		p.first = st.Name
	}
	return nil
}

// spec turns scenario attributes into a StartStream spec for the target.
func (p *play) spec(s Stream) (emulator.StreamSpec, error) {
	dest := p.t.WebSocket
	if s.Destination != "" {
		dest = s.Destination
	}
	if len(s.Query) > 0 {
		u, err := url.Parse(dest)
		if err != nil {
			return emulator.StreamSpec{}, fmt.Errorf("destination %q: %w", dest, err)
		}
		q := u.Query()
		for _, kv := range s.Query {
			q.Add(kv.Name, kv.Value)
		}
		u.RawQuery = q.Encode()
		dest = u.String()
	}
	return emulator.StreamSpec{
		Name: s.Name, Mode: protocol.Mode(s.Mode), Tracks: s.Tracks, Destination: dest,
		DestinationUsername: p.t.WSUser, DestinationPassword: p.t.WSPassword,
		StreamEventURL: p.t.Events, StreamEventMethod: p.t.EventMethod, Username: p.t.EventUser, Password: p.t.EventPassword,
		Params: s.Params, Audio: s.AudioSource, Pace: p.pace, Speed: p.sc.Speed,
	}, nil
}

// stream returns the stream a step or expectation names ("" = the first).
func (p *play) stream(name string) *StreamRun {
	if name == "" {
		name = p.first
	}
	return p.streams[name]
}

// step carries out one step. A step on a stream that has already ended
// does nothing: the expectations judge how it ended.
func (p *play) step(st Step) error {
	ctx := p.ctx
	switch st.Kind {
	case StepStart:
		return p.start(*st.Start)
	case StepHangup:
		if p.call.Ended() {
			return nil
		}
		if p.bxmlRun != nil {
			if err := p.bxmlRun.Hangup(ctx); err != nil && !errors.Is(err, bxml.ErrCallEnded) {
				return err
			}
			return nil
		}
		return p.call.Hangup(ctx)
	case StepWait:
		return sleep(ctx, st.Duration)
	case StepWaitForEnd:
		return p.waitForEnd(st.Duration)
	case StepDuplicateWebhooks:
		p.e.SetDuplicateWebhooks(st.On)
		return nil
	}
	sr, err := p.stepStream(st.Stream)
	if err != nil {
		return err
	}
	s := sr.stream
	if s.Result() != nil {
		return nil
	}
	switch st.Kind {
	case StepMedia:
		err = s.Media(ctx, st.Duration)
	case StepSilence:
		err = s.Silence(ctx, st.Duration)
	case StepStopStream:
		if st.Wait {
			err = p.waitClosed(s, st.Timeout)
		} else {
			_, err = s.Stop(ctx)
		}
	case StepAbort:
		var fault emulator.Fault
		if fault, err = emulator.ParseFault(st.Fault); err == nil {
			_, err = s.Inject(ctx, fault)
		}
	case StepError:
		_, err = s.Inject(ctx, emulator.FaultError)
	default:
		return fmt.Errorf("unknown step kind %q", st.Kind)
	}
	if err != nil && s.Result() != nil && ctx.Err() == nil {
		return nil // the stream ended under the step: that is for the expectations
	}
	return err
}

// DefaultStopWait bounds <StopStream wait="true"> when the file gives no
// timeout (Bandwidth documents none).
const DefaultStopWait = 10 * time.Second

// waitClosed is <StopStream wait="true">: it waits for the app to close the
// stream, then stops it if the app has not.
func (p *play) waitClosed(s *emulator.Stream, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultStopWait
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.Done():
		return nil
	case <-t.C:
		_, err := s.Stop(p.ctx)
		return err
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}
