package scenarios

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/internal/weburl"
)

// newEmulator makes a scenario's emulator (or a file's shared one) and
// returns the TLS configuration of the target's CA, nil when it has none:
// the emulator uses it for wss:// streams and https:// webhooks, and the
// BXML engine must be given it for https:// fetches (newEngine). With a
// recordDir every stream is recorded there.
func newEmulator(f *File, t Target, sc Settings, recordDir string, meter emulator.Meter) (*emulator.Emulator, *tls.Config, error) {
	o := emulator.Options{Timeouts: emulator.Timeouts(sc.Timeouts), Meter: meter, RecordDir: recordDir}
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
