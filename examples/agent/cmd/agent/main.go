// Command agent runs the example voice agent: a bidirectional Bandwidth
// media-stream app that answers each caller's utterance with a tone and
// stops when the caller talks over it. See examples/agent/README.md.
//
//	agent [-addr 127.0.0.1:8080] [-tone 440] [-reply 1s]
//	      [-slow D] [-ignore-barge-in] [-leak]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bwemu/bwemu/examples/agent"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the server could not run
	exitUsage = 2 // a bad flag
)

// shutdownGrace is how long SIGINT/SIGTERM gives live calls to close.
const shutdownGrace = 5 * time.Second

const usage = "usage: agent [-addr 127.0.0.1:8080] [-tone 440] [-reply 1s] [-slow D] [-ignore-barge-in] [-leak] [-v]"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves the agent until ctx ends, then shuts it down gracefully. It
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		return exitUsage // parseFlags has said what is wrong
	}
	a, err := agent.New(cfg.opts)
	if err != nil {
		fmt.Fprintf(stderr, "agent: %v\n%s\n", err, usage)
		return exitUsage
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		_ = a.Close()
		fmt.Fprintf(stderr, "agent: cannot listen on %s: %v\n", cfg.addr, err)
		return exitError
	}
	return serve(ctx, a, ln, stdout, stderr)
}

// config is what the command line asks for.
type config struct {
	addr string // where to listen
	opts agent.Options
}

// parseFlags reads the command line. Every error it returns has been
// reported on stderr already; for -h (flag.ErrHelp) that is the usage.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	var cfg config
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to listen on (127.0.0.1:0 picks a free port)")
	fs.Float64Var(&cfg.opts.ToneHz, "tone", agent.DefaultToneHz, "pitch of the reply tone, in Hz")
	fs.DurationVar(&cfg.opts.ReplyLength, "reply", agent.DefaultReplyLength, "length of each reply")
	slow := fs.Duration("slow", 0, "bug: reply this long after the caller stops, instead of "+agent.DefaultReplyDelay.String())
	fs.BoolVar(&cfg.opts.IgnoreBargeIn, "ignore-barge-in", false, "bug: keep talking over the caller and never send clear")
	fs.BoolVar(&cfg.opts.LeakSessions, "leak", false, "bug: leave the backend session open when a socket ends without stop")
	verbose := fs.Bool("v", false, "log every utterance heard, not only calls and replies")
	if err := fs.Parse(args); err != nil {
		return config{}, err // the flag package has reported it
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "agent: unexpected argument %q\n%s\n", fs.Arg(0), usage)
		return config{}, errors.New("unexpected argument")
	}
	if *slow < 0 {
		fmt.Fprintf(stderr, "agent: -slow %s is negative\n%s\n", *slow, usage)
		return config{}, errors.New("negative -slow")
	}
	// -slow 0, the default, leaves the delay to agent.New, which makes it
	// agent.DefaultReplyDelay.
	cfg.opts.ReplyDelay = *slow
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg.opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return cfg, nil
}

// serve runs the agent's HTTP server on ln until ctx ends or the server
// fails, then shuts both down. It returns the exit code.
func serve(ctx context.Context, a *agent.Agent, ln net.Listener, stdout, stderr io.Writer) int {
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	printBanner(stdout, ln.Addr().String(), a.Options())

	code := exitOK
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintf(stderr, "agent: %v\n", err)
		code = exitError
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// http.Server.Shutdown does not wait for hijacked connections (the
	// media streams): the agent closes those itself.
	_ = srv.Shutdown(sctx)
	if err := a.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "agent: some calls did not close within %s and were cut\n", shutdownGrace)
	}
	return code
}

// printBanner says where the agent listens and how it will answer, so
// the user knows what to point a stream at.
func printBanner(stdout io.Writer, addr string, o agent.Options) {
	base := "http://" + addr
	fmt.Fprintf(stdout, "voice agent listening\n  websocket  %s\n  events     %s\n  disconnect %s\n  metrics    %s\n",
		"ws://"+addr+"/media", base+"/events", base+"/disconnect", base+"/metrics")
	fmt.Fprintf(stdout, "  replies    a %g Hz tone for %s, %s after the caller stops\n", o.ToneHz, o.ReplyLength, o.ReplyDelay)
	if bugs := describeBugs(o); bugs != "" {
		fmt.Fprintf(stdout, "  bugs       %s\n", bugs)
	}
	fmt.Fprintln(stdout, "(Ctrl-C to stop)")
}

// describeBugs names the bug switches that are on, for the banner.
func describeBugs(o agent.Options) string {
	var s string
	add := func(b string) {
		if s != "" {
			s += ", "
		}
		s += b
	}
	if o.ReplyDelay != agent.DefaultReplyDelay {
		add("-slow " + o.ReplyDelay.String())
	}
	if o.IgnoreBargeIn {
		add("-ignore-barge-in")
	}
	if o.LeakSessions {
		add("-leak")
	}
	return s
}
