package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
)

// apiServer is the mock Voice API a file with target.api serves for its
// whole run. The Voice API runs calls on one engine, so the file's bxml:
// scenarios share it and its emulator (built from the file's defaults:);
// each scenario keeps to its own call, by call id.
type apiServer struct {
	e      *emulator.Emulator
	engine *bxml.Engine
	api    *voiceapi.Server
	srv    *http.Server
	done   chan struct{}
	// guard hangs up the calls of every scenario on the emulator when the
	// run is interrupted.
	guard *interruptGuard
}

// startAPI serves the Voice API on t.API.
func startAPI(ctx context.Context, f *File, t Target, pc emulator.Pace) (*apiServer, error) {
	e, conf, err := newEmulator(f, t, f.Defaults, sharedRecordDir(f), nil)
	if err != nil {
		return nil, err
	}
	engine := newEngine(e, pc, conf)
	api, err := voiceapi.New(&voiceapi.Options{Engine: engine, Username: t.APIUsername, Password: t.APIPassword,
		ClientID: t.APIClientID, ClientSecret: t.APIClientSecret})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("%s: target.api: %w", f.Path, err)
	}
	ln, err := net.Listen("tcp", t.API)
	if err != nil {
		_ = api.Close()
		e.Close()
		return nil, fmt.Errorf("%s: target.api: %w", f.Path, err)
	}
	a := &apiServer{e: e, engine: engine, api: api, done: make(chan struct{}), guard: watchInterrupt(ctx, e)}
	a.serve(ln)
	return a, nil
}

// serve serves the Voice API on ln until close.
func (a *apiServer) serve(ln net.Listener) {
	a.srv = &http.Server{Handler: a.api, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(a.done)
		_ = a.srv.Serve(ln)
	}()
}

// close ends the calls still live, then the server and the emulator.
func (a *apiServer) close() {
	a.guard.finish()
	_ = a.api.Close()
	_ = a.srv.Close()
	<-a.done
	_ = a.e.Close()
}

// runBXML starts the call through the BXML engine (through the Voice API
// when the file serves one, so the app can drive it), plays the steps,
// and ends the call if it has not ended by itself.
func (p *play) runBXML() (runErr error) {
	sc, b := p.sc, p.sc.BXML
	if p.api != nil {
		c, err := p.api.Inbound(voiceapi.InboundCall{URL: b.URL, Method: b.Method, Username: b.Username, Password: b.Password,
			From: sc.Call.From, To: sc.Call.To, Tag: sc.Call.Tag,
			DisconnectURL: p.disconnectURL(), DisconnectMethod: p.t.DisconnectMethod, CallbackTimeout: sc.Timeouts.Callback})
		if err != nil {
			return err
		}
		p.bxmlRun = c.Run
	} else {
		run, err := p.engine.Start(p.ctx, bxml.CallOptions{Call: p.callSpec(),
			URL: b.URL, Method: b.Method, Username: b.Username, Password: b.Password, EventType: b.Event})
		if err != nil {
			return err
		}
		p.bxmlRun = run
	}
	p.call = p.bxmlRun.Call
	// However the steps end, the call ends (as when BXML runs out) and
	// its webhooks are answered before the expectations are checked: as
	// long as the emulator's own timeouts let them take (see play.run).
	defer func() {
		ctx := context.WithoutCancel(p.ctx)
		grace := emulator.InterruptGrace + time.Second
		if p.ctx.Err() != nil {
			// Interrupted: the emulator's Shutdown hangs up
			// (watchInterrupt); the run ends with the call.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, grace)
			defer cancel()
		}
		if !p.call.Ended() && p.ctx.Err() == nil {
			if err := p.bxmlRun.Hangup(ctx); err != nil && !errors.Is(err, emulator.ErrCallEnded) && runErr == nil {
				runErr = fmt.Errorf("hanging up at the end: %w", err)
			}
		}
		select {
		case <-p.bxmlRun.Done():
		case <-ctx.Done():
			if runErr == nil {
				runErr = fmt.Errorf("the call's BXML run did not finish within %s of the end", grace)
			}
		}
	}()
	return p.steps()
}

// streamPoll is how often a step looks for a stream the BXML has not
// started yet.
const streamPoll = 10 * time.Millisecond

// stepStream is the stream a step acts on. With bxml: the app's BXML
// starts the streams, so the step waits for one of that name (""= the
// first) up to the handshake timeout.
func (p *play) stepStream(name string) (*StreamRun, error) {
	if p.bxmlRun == nil {
		if sr := p.stream(name); sr != nil {
			return sr, nil
		}
		return nil, fmt.Errorf("no stream named %q", name)
	}
	limit := p.sc.Timeouts.Handshake
	if limit <= 0 {
		limit = emulator.DefaultHandshakeTimeout
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(streamPoll)
	defer tick.Stop()
	what := "the BXML's first stream"
	if name != "" {
		what = fmt.Sprintf("a stream named %q", name)
	}
	for {
		p.collect()
		if sr := p.stream(name); sr != nil {
			return sr, nil
		}
		select {
		case <-tick.C:
		case <-p.call.Done():
			p.collect()
			if sr := p.stream(name); sr != nil {
				return sr, nil
			}
			return nil, fmt.Errorf("the call ended before its BXML started %s (%s)", what, p.startedNames())
		case <-deadline.C:
			return nil, fmt.Errorf("the BXML did not start %s within %s (%s)", what, limit, p.startedNames())
		case <-p.ctx.Done():
			return nil, p.ctx.Err()
		}
	}
}

func (p *play) startedNames() string {
	if len(p.order) == 0 {
		return "it started no stream"
	}
	names := ""
	for i, sr := range p.order {
		if i > 0 {
			names += ", "
		}
		names += fmt.Sprintf("%q", sr.Name)
	}
	return "started: " + names
}

// collect records the streams the call's BXML has started so far, in
// order; a name stands for its latest stream, unless that one was
// rejected as a duplicate of a live one.
func (p *play) collect() {
	all := p.call.Streams()
	for _, st := range all[len(p.order):] {
		run := &StreamRun{Name: st.Name, ID: st.ID, stream: st}
		p.order = append(p.order, run)
		p.streams[st.Name] = run
		if p.first == "" {
			p.first = st.Name
		}
	}
	for _, sr := range p.order {
		if r := sr.stream.Result(); r != nil && r.Cause == "duplicate" {
			if live := p.call.Stream(sr.Name); live != nil {
				p.streams[sr.Name] = p.byID(live.ID)
			}
		}
	}
}

func (p *play) byID(id string) *StreamRun {
	for _, sr := range p.order {
		if sr.ID == id {
			return sr
		}
	}
	return nil
}

// waitForEnd waits for the call to end by itself.
func (p *play) waitForEnd(d time.Duration) error {
	ended, err := within(p.ctx, d, p.bxmlRun.Done())
	if err != nil || ended {
		return err
	}
	if ops := p.apiOperations(); len(ops) > 0 {
		return fmt.Errorf("the call did not end within %s (its BXML is still running; the app's Voice API requests on the call: %s)", d, strings.Join(ops, ", "))
	}
	return fmt.Errorf("the call did not end within %s (its BXML is still running; the app did not hang up)", d)
}

// deliveries are the webhooks of the scenario: on a shared emulator, its
// call's only.
func (p *play) deliveries() []*emulator.Delivery { return p.ofCall(p.e.Deliveries()) }

// exchanges are the scenario's webhook deliveries and BXML fetches, for
// reports.
func (p *play) exchanges() []*emulator.Delivery { return p.ofCall(p.e.Exchanges()) }

// ofCall keeps, on a shared emulator, the scenario's call's own.
func (p *play) ofCall(all []*emulator.Delivery) []*emulator.Delivery {
	if !p.shared || p.call == nil {
		return all
	}
	var out []*emulator.Delivery
	for _, d := range all {
		if d.Event != nil && d.Event.CallID == p.call.ID {
			out = append(out, d)
		}
	}
	return out
}

// entries is the scenario's journal: on a shared emulator, its call's
// entries only.
func (p *play) entries() []emulator.Entry {
	all := p.e.Journal().Entries()
	if !p.shared || p.call == nil {
		return all
	}
	var out []emulator.Entry
	for _, e := range all {
		if e.CallID == p.call.ID {
			out = append(out, e)
		}
	}
	return out
}
