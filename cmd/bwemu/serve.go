package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/livelog"
)

const serveSynopsis = "bwemu serve [--listen ADDR] [--account-id ID] [--username U --password P] [--client-id ID --client-secret S] [--pace realtime|fast] [--ca FILE] [--log-format text|json] [--color auto|always|never] [--quiet]"

// serveShutdownTimeout bounds how long requests in flight may take once
// the live calls have ended.
const serveShutdownTimeout = 2 * time.Second

// serveFlags are serve's flags.
type serveFlags struct {
	listen, accountID, caFile string
	api                       voiceapi.Options // the credentials
	pace                      *choiceFlag
	log                       liveLogFlags
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8081", "address to listen on (port 0 picks a free one)")
	fs.StringVar(&f.accountID, "account-id", emulator.DefaultAccountID, "the account the Voice API serves; requests for another get 403")
	fs.StringVar(&f.api.Username, "username", "", "Basic auth user of the API (with --password)")
	fs.StringVar(&f.api.Password, "password", "", "Basic auth password of the API")
	fs.StringVar(&f.api.ClientID, "client-id", "", "OAuth client id that gets Bearer tokens (with --client-secret)")
	fs.StringVar(&f.api.ClientSecret, "client-secret", "", "OAuth client secret")
	f.pace = newChoice("realtime", "realtime", "fast")
	fs.Var(f.pace, "pace", "media pace of the streams: realtime (20 ms per frame), or fast (only what POST …/media lets through)")
	fs.StringVar(&f.caFile, "ca", "", "PEM file of a CA to trust for wss:// destinations, https:// webhooks and BXML fetches")
	f.log.register(fs)
}

// serveConfig is what serve is asked to serve.
type serveConfig struct {
	listen string
	// api is the Voice API's account and credentials; serve adds the engine.
	api       voiceapi.Options
	pace      emulator.Pace
	tlsConfig *tls.Config // trusted for wss://, webhooks and BXML fetches; nil: the system's roots
	log       liveLog
}

func (f *serveFlags) config(pos []string) (*serveConfig, error) {
	if err := noArguments(pos); err != nil {
		return nil, err
	}
	switch {
	case f.accountID == "":
		return nil, usagef("--account-id must not be empty")
	case (f.api.Username == "") != (f.api.Password == ""):
		return nil, usagef("--username and --password go together")
	case (f.api.ClientID == "") != (f.api.ClientSecret == ""):
		return nil, usagef("--client-id and --client-secret go together")
	}
	if err := checkListen(f.listen); err != nil {
		return nil, err
	}
	if err := checkBasicUser("--username", f.api.Username); err != nil {
		return nil, err
	}
	tlsConfig, err := trustCA(f.caFile)
	if err != nil {
		return nil, err
	}
	c := &serveConfig{listen: f.listen, api: f.api, pace: emulator.Pace(f.pace.value), tlsConfig: tlsConfig, log: f.log.config()}
	c.api.AccountID = f.accountID
	return c, nil
}

func parseServe(args []string) (*serveConfig, error) {
	return parseCommand("serve", &serveFlags{}, args)
}

// runServe serves the mock Voice API (and its OAuth token endpoint) for
// apps in any language, with the control API (voiceapi.Server.Control)
// that plays the caller and the network, until its context ends; then it
// hangs up every live call with its webhooks (cut off after
// emulator.InterruptGrace) and exits 0: being stopped is how serve ends.
// Meanwhile it prints the live log of the journal on stdout.
func runServe(ctx context.Context, c *serveConfig, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: cannot listen on %s: %v\n", c.listen, err)
		return exitUsage
	}
	em := emulator.New(&emulator.Options{AccountID: c.api.AccountID, TLSConfig: c.tlsConfig})
	o := c.api
	o.Engine = &bxml.Engine{Emulator: em, Pace: c.pace}
	api, err := voiceapi.New(&o)
	if err != nil {
		_ = ln.Close()
		_ = em.Close()
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
		return exitUsage
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api) // the Voice API (/api/v2) and its token endpoint (/api/v1)
	mux.Handle(voiceapi.ControlPrefix, api.Control())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln) // http.ErrServerClosed after Shutdown
	}()
	// With the JSON log, stdout holds only its lines: the rest goes to stderr.
	notes := c.log.notes(stdout, stderr)
	printServing(notes, "http://"+ln.Addr().String(), c)
	// The log follows the journal from its first entry, so it misses
	// nothing that happened before it started.
	var follower *livelog.Follower
	if p := c.log.printer(stdout); p != nil {
		lines := livelog.NewJournal(em)
		follower = livelog.Follow(em.Journal(), livelog.Keep, func(e emulator.Entry) { p.Print(lines.Lines(e)...) })
	}

	<-ctx.Done()
	fmt.Fprintf(notes, "shutting down: hanging up %d live calls\n", liveCalls(api))
	// Calls end first, while the API still answers: an app may query a
	// call from its disconnect handler. Their webhooks get
	// emulator.InterruptGrace in all; then the runs end.
	emulatorShutdown(ctx, em, stderr)
	_ = api.Close()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-served
	_ = em.Close()
	if follower != nil {
		follower.Stop() // the hangups' lines come before "stopped"
	}
	fmt.Fprintln(notes, "stopped")
	return exitPass
}

// liveCalls counts the calls that have not ended.
func liveCalls(api *voiceapi.Server) int {
	live := 0
	for _, c := range api.Calls() {
		select {
		case <-c.Done():
		default:
			live++
		}
	}
	return live
}

// printServing says where everything is served, and how.
func printServing(w io.Writer, base string, c *serveConfig) {
	o := c.api
	authLine := "none: every request is accepted (set --username/--password or --client-id/--client-secret)"
	switch {
	case o.Username != "" && o.ClientID != "":
		authLine = fmt.Sprintf("Basic user %q, or Bearer tokens for OAuth client %q", o.Username, o.ClientID)
	case o.Username != "":
		authLine = fmt.Sprintf("Basic user %q", o.Username)
	case o.ClientID != "":
		authLine = fmt.Sprintf("Bearer tokens for OAuth client %q", o.ClientID)
	}
	fmt.Fprintf(w, `bwemu serve: Bandwidth's Voice API, emulated
  voice api  %[1]s%[6]s  (calls: %[1]s%[6]s/accounts/%[2]s/calls)
  oauth      %[1]s%[3]s
  control    %[1]s%[7]s
               POST calls {"url": initiateUrl, "from", "to", "disconnectUrl"}   place an inbound call
               POST calls/{callId}/hangup                                     the caller hangs up
               POST calls/{callId}/streams/{name}/fault {"fault": "reset|drop|error"}
               POST calls/{callId}/streams/{name}/media {"duration": "2s"}    (for --pace fast)
               GET  calls, GET calls/{callId}, GET journal (JSON Lines)
  account    %[2]s
  auth       %[4]s
  pace       %[5]s
(Ctrl-C to stop: live calls are hung up with their webhooks)
`, base, o.AccountID, voiceapi.TokenPath, authLine, c.pace, voiceapi.VoicePrefix, voiceapi.ControlPrefix)
}

// liveLogFlags are the live log's flags, which serve and consumer share.
type liveLogFlags struct {
	format, color *choiceFlag
	quiet         bool
}

func (f *liveLogFlags) register(fs *flag.FlagSet) {
	f.format = newChoice(string(livelog.Text), string(livelog.Text), string(livelog.JSON))
	fs.Var(f.format, "log-format", "the live log's format: text (a line of words per event) or json (a JSON object per line, alone on stdout)")
	f.color = newChoice("auto", "auto", "always", "never")
	fs.Var(f.color, "color", "colour the text log: auto (on a terminal, unless NO_COLOR is set), always or never")
	fs.BoolVar(&f.quiet, "quiet", false, "print no live log, only where things are served")
}

func (f *liveLogFlags) config() liveLog {
	return liveLog{format: livelog.Format(f.format.value), color: f.color.value, quiet: f.quiet}
}

// liveLog is how a server prints its live log: one line per call,
// stream, frame summary, close and webhook, as they happen.
type liveLog struct {
	format livelog.Format
	color  string // auto, always or never
	quiet  bool
}

// printer is the log's printer on stdout, nil with --quiet.
func (l liveLog) printer(stdout io.Writer) *livelog.Printer {
	if l.quiet {
		return nil
	}
	return livelog.NewPrinter(stdout, l.format, l.colorful(stdout))
}

// notes is where the server says what it serves and that it stops:
// stdout, but for the JSON log, whose stdout holds only JSON lines.
func (l liveLog) notes(stdout, stderr io.Writer) io.Writer {
	if l.format == livelog.JSON && !l.quiet {
		return stderr
	}
	return stdout
}

// colorful reports whether the text log on w is coloured: with --color
// always; with auto, on a terminal unless NO_COLOR is set and not empty
// (no-color.org: the flag, asked for each run, overrides it).
func (l liveLog) colorful(w io.Writer) bool {
	switch l.color {
	case "always":
		return true
	case "never":
		return false
	}
	return os.Getenv("NO_COLOR") == "" && writesToTerminal(w)
}

// writesToTerminal reports whether w is a terminal. Specs replace it:
// they run without one.
var writesToTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
