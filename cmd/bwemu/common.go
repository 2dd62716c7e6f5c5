package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/internal/prose"
	"github.com/bwemu/bwemu/internal/weburl"
)

// app is the app under test as the command line names it: its URLs and
// the credentials it requires.
type app struct {
	appURLs
	wsUser, wsPassword       string // Basic auth the WebSocket handshake must carry
	eventUser, eventPassword string // Basic auth its webhooks must carry
}

// registerCredentials adds the flags that name the Basic credentials the
// app requires (destinationUsername/Password, the webhooks' username/password).
func (a *app) registerCredentials(fs *flag.FlagSet) {
	fs.StringVar(&a.wsUser, "ws-user", "", "destinationUsername: Basic auth user the app requires on the WebSocket handshake")
	fs.StringVar(&a.wsPassword, "ws-password", "", "destinationPassword: Basic auth password the app requires on the WebSocket handshake")
	fs.StringVar(&a.eventUser, "event-user", "", "username: Basic auth user the app requires on webhooks")
	fs.StringVar(&a.eventPassword, "event-password", "", "password: Basic auth password the app requires on webhooks")
}

// startBuiltin starts the built-in reference consumer on loopback as the
// app under test, requiring a's credentials, and returns a pointed at it:
// its WebSocket URL, and its webhook URLs where a names none. echo makes
// it play the caller's audio back.
func startBuiltin(a app, echo bool) (app, *consumer.Server, error) {
	srv, err := consumer.Start("127.0.0.1:0", &consumer.Options{WSUser: a.wsUser, WSPassword: a.wsPassword,
		EventUser: a.eventUser, EventPassword: a.eventPassword, Echo: echo})
	if err != nil {
		return a, nil, fmt.Errorf("cannot start the built-in consumer: %w", err)
	}
	a.ws = srv.WebSocketURL()
	if a.events == "" {
		a.events = srv.EventsURL()
	}
	if a.disconnect == "" {
		a.disconnect = srv.DisconnectURL()
	}
	return a, srv, nil
}

// trustCA is --ca: a TLS config that trusts the PEM CA at path, nil when
// path is empty.
func trustCA(path string) (*tls.Config, error) {
	if path == "" {
		return nil, nil
	}
	c, err := weburl.LoadCA(path)
	if err != nil {
		return nil, usagef("--ca: %v", err)
	}
	return c, nil
}

// journalDir is --journal DIR: it creates the directory before anything
// runs, so a bad path is bad usage.
func journalDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("--journal: %v", err)
	}
	return nil
}

// createReports creates the --junit and --json files (either may be
// unset), in that order, so a bad path is reported the same way each time.
func createReports(stderr io.Writer, synopsis, junit, jsonOut string) (junitFile, jsonFile *os.File, code int, ok bool) {
	files := []**os.File{&junitFile, &jsonFile}
	for i, r := range []struct{ flag, path string }{{"--junit", junit}, {"--json", jsonOut}} {
		if r.path == "" {
			continue
		}
		f, err := os.Create(r.path)
		if err != nil {
			closeAll(junitFile, jsonFile)
			return nil, nil, usageError(stderr, synopsis, "%s: %v", r.flag, err), false
		}
		*files[i] = f
	}
	return junitFile, jsonFile, 0, true
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// emulatorShutdown ends every live call of e with its webhooks, giving
// them emulator.InterruptGrace in all, and says on stderr what it had to
// cut off.
func emulatorShutdown(ctx context.Context, e *emulator.Emulator, stderr io.Writer) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emulator.InterruptGrace)
	defer cancel()
	err := e.Shutdown(sctx)
	cut := 0
	for _, d := range e.Deliveries() {
		if d.Interrupted() {
			cut++
		}
	}
	switch {
	case cut > 0:
		fmt.Fprintf(stderr, "bwemu: the calls took longer than %s to end: %s still waiting for the app cut off\n",
			emulator.InterruptGrace, prose.Plural(cut, "webhook", "webhooks"))
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "bwemu: ending the calls: %v\n", err)
	}
}
