package scenarios

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/consumer"
)

// RunOptions control a run of scenario files.
type RunOptions struct {
	// WebSocket and Events override every file's target.
	WebSocket string
	Events    string
	// Pace overrides every scenario's pace ("" keeps it; realtime when
	// neither says).
	Pace string
	// Parallel is how many scenarios run at once (default DefaultParallel).
	Parallel int
	// Focus, when set, runs only scenarios whose name matches.
	Focus *regexp.Regexp
	// FailFast skips the scenarios not yet started once one fails.
	FailFast bool
	// JournalDir, when set, receives one JSON Lines journal per scenario.
	JournalDir string
	// OnStart and OnResult, when set, are called as scenarios begin and
	// end (from several goroutines at once when Parallel > 1).
	OnStart  func(*Scenario)
	OnResult func(*Result)
}

// DefaultParallel is how many scenarios run at once unless told: streams
// mostly wait on the clock and the app, so a few at a time cost little.
const DefaultParallel = 4

// Result is the outcome of one scenario.
type Result struct {
	File     string    `json:"file"`
	Scenario *Scenario `json:"-"`
	Name     string    `json:"name"`
	Pos      string    `json:"pos"`
	// Status is passed, failed, skipped or error (the run itself broke).
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

// Result statuses.
const (
	Passed  = "passed"
	Failed  = "failed"
	Skipped = "skipped"
	Errored = "error"
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

// Run runs the scenarios of files and returns their results in file order.
func Run(ctx context.Context, files []*File, opts RunOptions) ([]*Result, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
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
	type job struct {
		f       *File
		sc      *Scenario
		res     *Result
		t       Target
		api     *apiServer // the file's Voice API, for bxml: scenarios
		journal string     // the journal file's name in JournalDir
	}
	var jobs []*job
	journals := map[string]bool{} // names taken: files may share a base name
	for _, f := range files {
		t := f.Target
		if opts.WebSocket != "" {
			t.WebSocket = opts.WebSocket
		}
		if opts.Events != "" {
			t.Events = opts.Events
		}
		if t.WebSocket == "" {
			creds := consumer.Options{WSUser: t.WSUser, WSPassword: t.WSPassword, EventUser: t.EventUser, EventPassword: t.EventPassword}
			builtin := builtins[creds]
			if builtin == nil {
				srv, err := consumer.Start("127.0.0.1:0", &creds)
				if err != nil {
					return nil, fmt.Errorf("starting the built-in reference consumer: %w", err)
				}
				builtin, builtins[creds] = srv, srv
			}
			t.WebSocket = builtin.WebSocketURL()
			if t.Events == "" {
				t.Events = builtin.EventsURL()
			}
		}
		var api *apiServer
		if t.API != "" {
			a, err := startAPI(f, t, pace(opts.Pace, f.Defaults.Pace))
			if err != nil {
				return nil, err
			}
			servers = append(servers, a)
			api = a
		}
		for _, sc := range f.Scenarios {
			r := &Result{File: f.Path, Scenario: sc, Name: sc.Name, Pos: sc.Pos.String()}
			if opts.Focus != nil && !opts.Focus.MatchString(sc.Name) {
				r.Status = Skipped
			}
			j := &job{f: f, sc: sc, res: r, t: t, api: api}
			if opts.JournalDir != "" && r.Status != Skipped {
				j.journal = uniqueName(journals, journalName(f, sc))
			}
			jobs = append(jobs, j)
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
		stop := (opts.FailFast && failed) || ctx.Err() != nil
		mu.Unlock()
		if stop {
			if acquired {
				<-sem // the slot was taken for a scenario that will not run
			}
			j.res.Status = Skipped
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if opts.OnStart != nil {
				opts.OnStart(j.sc)
			}
			runScenario(ctx, j.f, j.t, j.sc, j.api, opts, j.journal, j.res)
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

// runScenario plays one call flow and checks its expectations. A bxml:
// scenario of a file with target.api runs on the file's shared emulator
// (api); every other scenario has an emulator of its own.
func runScenario(ctx context.Context, f *File, t Target, sc *Scenario, api *apiServer, opts RunOptions, journal string, r *Result) {
	began := time.Now()
	defer func() { r.Duration = time.Since(began) }()
	p := &play{ctx: ctx, f: f, t: t, sc: sc, pace: pace(opts.Pace, sc.Pace), streams: map[string]*StreamRun{}}
	if sc.BXML != nil && api != nil {
		p.e, p.engine, p.api, p.shared = api.e, api.engine, api.api, true
	} else {
		e, err := newEmulator(f, t, sc.Settings)
		if err != nil {
			r.Status, r.Error = Errored, err.Error()
			return
		}
		defer e.Close()
		p.e = e
		if sc.BXML != nil {
			p.engine = &bxml.Engine{Emulator: e, Pace: p.pace}
		}
	}
	if err := p.run(); err != nil {
		r.Status, r.Error = Errored, err.Error()
	}
	if p.bxmlRun != nil {
		p.collect()
	}
	for _, sr := range p.order {
		sr.Result = sr.stream.Result()
		r.Streams = append(r.Streams, *sr)
	}
	r.Webhooks = p.deliveries()
	if r.Status == "" {
		r.Failures = p.check()
		r.Status = Passed
		if len(r.Failures) > 0 {
			r.Status = Failed
		}
	}
	r.Journal = p.entries()
	if opts.JournalDir != "" {
		r.JournalFile = filepath.Join(opts.JournalDir, journal)
		if err := writeJournal(r.JournalFile, r.Journal); err != nil {
			r.Status, r.Error = Errored, fmt.Sprintf("writing the journal: %v", err)
		}
	}
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

func journalName(f *File, sc *Scenario) string {
	base := strings.TrimSuffix(filepath.Base(f.Path), filepath.Ext(f.Path))
	name := strings.Trim(unsafeName.ReplaceAllString(sc.Name, "-"), "-")
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

func newEmulator(f *File, t Target, sc Settings) (*emulator.Emulator, error) {
	o := emulator.Options{Timeouts: emulator.Timeouts(sc.Timeouts)}
	o.DuplicateWebhooks = isTrue(sc.Options.DuplicateWebhooks)
	o.RejectOnConnectError = isTrue(sc.Options.RejectOnConnectError)
	o.AppCloseAsError = isTrue(sc.Options.AppCloseAsError)
	if t.CA != "" {
		pem, err := os.ReadFile(resolvePath(f, t.CA))
		if err != nil {
			return nil, fmt.Errorf("target.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("target.ca: %s holds no PEM certificate", t.CA)
		}
		o.TLSConfig = &tls.Config{RootCAs: pool}
	}
	return emulator.New(&o), nil
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
		if !call.Ended() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), hangupGrace(sc.Timeouts))
			defer cancel()
			if err := call.Hangup(ctx); err != nil && runErr == nil {
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

// disconnectURL is where the disconnect webhook goes.
func (p *play) disconnectURL() string {
	if p.t.Disconnect != "" {
		return p.t.Disconnect
	}
	return p.t.Events
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
		Name: s.Name, Mode: s.Mode, Tracks: s.Tracks, Destination: dest,
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
		fault := map[string]emulator.Fault{"reset": emulator.EndReset, "drop": emulator.EndDrop}[st.Fault]
		_, err = s.Inject(ctx, fault)
	case StepError:
		_, err = s.Inject(ctx, emulator.EndInternalError)
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
