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

// check checks the app's URLs and the Basic users it requires.
func (a app) check(wsName string) error {
	if err := a.appURLs.check(wsName); err != nil {
		return err
	}
	if err := checkBasicUser("--ws-user", a.wsUser); err != nil {
		return err
	}
	return checkBasicUser("--event-user", a.eventUser)
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

// reportFile is a report a flag names: the flag and the file's path ("":
// none).
type reportFile struct {
	flag, path string
	f          *os.File
}

// reportFiles are the files a command reports into (--junit, --json,
// --html, --journal), created before anything runs: a bad path is bad
// usage, and a run that never starts leaves an earlier report alone.
type reportFiles []reportFile

// createReportFiles creates every named report file, or none: when one
// cannot be created it closes the others and says why as a usage error.
func createReportFiles(stderr io.Writer, synopsis string, files ...reportFile) (reportFiles, int, bool) {
	rf := reportFiles(files)
	for i := range rf {
		if rf[i].path == "" {
			continue
		}
		f, err := os.Create(rf[i].path)
		if err != nil {
			rf.close()
			return nil, usageError(stderr, synopsis, "%s: %v", rf[i].flag, err), false
		}
		rf[i].f = f
	}
	return rf, 0, true
}

// write renders the report flag names into its file, if it was asked
// for; a failure is said on stderr and does not change the verdict.
func (rf reportFiles) write(stderr io.Writer, flag string, render func(io.Writer) error) {
	if f := rf.file(flag); f != nil {
		if err := render(f); err != nil {
			fmt.Fprintf(stderr, "bwemu: %s: %v\n", flag, err)
		}
	}
}

// file is the file flag names, nil when none was asked for.
func (rf reportFiles) file(flag string) *os.File {
	for _, r := range rf {
		if r.flag == flag {
			return r.f
		}
	}
	return nil
}

func (rf reportFiles) close() {
	for _, r := range rf {
		if r.f != nil {
			r.f.Close()
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
