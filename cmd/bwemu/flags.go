package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// commandFlags are one command's flags: register defines them on a flag
// set, and config checks what was given (with the positional arguments)
// and makes the command's config, or returns a usage error.
type commandFlags[C any] interface {
	register(fs *flag.FlagSet)
	config(pos []string) (C, error)
}

// parseCommand parses args, flags interspersed with positional arguments,
// with f's flags into the command's config. The error is a usage error or
// a *helpRequest.
func parseCommand[C any](name string, f commandFlags[C], args []string) (C, error) {
	fs := flagSet(name)
	f.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		var zero C
		return zero, err
	}
	return f.config(pos)
}

// commandFunc is how main runs a command: with its arguments, on the
// context an interrupt cancels, printing to stdout and stderr; it returns
// the exit code.
type commandFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// command makes a commandFunc of a command's parse and run functions. What
// parse refuses is printed here, with the command's usage line (or, for
// --help, the usage and every flag), so run starts from a valid config.
func command[C any](synopsis string, parse func(args []string) (C, error),
	run func(ctx context.Context, cfg C, stdout, stderr io.Writer) int) commandFunc {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		cfg, err := parse(args)
		if err != nil {
			return explain(err, synopsis, stdout, stderr)
		}
		return run(ctx, cfg, stdout, stderr)
	}
}

// badUsage is a complaint about the command line (exit 2).
type badUsage string

func (e badUsage) Error() string { return string(e) }

// usagef is a usage error.
func usagef(format string, args ...any) error { return badUsage(fmt.Sprintf(format, args...)) }

// helpRequest is --help (or -h): the flags the help lists.
type helpRequest struct{ fs *flag.FlagSet }

func (*helpRequest) Error() string { return "help requested" }

// explain prints what parsing refused and returns the exit code: for
// --help the usage and every flag on stdout (exit 0), else the complaint
// and the usage line on stderr (exit 2).
func explain(err error, synopsis string, stdout, stderr io.Writer) int {
	var help *helpRequest
	if errors.As(err, &help) {
		fmt.Fprintf(stdout, "usage: %s\n\nflags:\n", synopsis)
		help.fs.SetOutput(stdout)
		help.fs.PrintDefaults()
		return exitPass
	}
	return usageError(stderr, synopsis, "%v", err)
}

// usageError prints a one-line complaint and the command's usage line.
func usageError(stderr io.Writer, synopsis string, format string, args ...any) int {
	fmt.Fprintf(stderr, "bwemu: %s\nusage: %s\n(run with --help for every flag)\n", fmt.Sprintf(format, args...), synopsis)
	return exitUsage
}

// flagSet returns a flag set that prints nothing: explain does, one line
// for an error and everything for --help.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses flags that may come before or after positional
// arguments (bwemu stream ws://… --for 2s), returning the positionals;
// its errors are usage errors and *helpRequest.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			return nil, &helpRequest{fs}
		case err != nil:
			return nil, badUsage(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// noArguments refuses positional arguments.
func noArguments(pos []string) error {
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// pattern is a regular-expression flag's value: nil when it is not set.
func pattern(flag, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return re, nil
}

// appURLs are the app under test's URLs as the command line names them:
// its WebSocket (--ws, or stream's DESTINATION), its stream event URL
// (--events) and the call's disconnect URL (--disconnect); "" when not
// given.
type appURLs struct {
	ws, events, disconnect string
}

// check refuses a URL of the wrong scheme; wsName names the WebSocket
// URL's flag or argument in the complaint.
func (a appURLs) check(wsName string) error {
	for _, u := range []struct {
		name, value string
		schemes     []string
	}{{wsName, a.ws, []string{"ws", "wss"}}, {"--events", a.events, []string{"http", "https"}},
		{"--disconnect", a.disconnect, []string{"http", "https"}}} {
		if u.value == "" {
			continue
		}
		if err := checkURL(u.value, u.schemes...); err != nil {
			return usagef("%s: %v", u.name, err)
		}
	}
	return nil
}

// checkBasicUser refuses a Basic auth user with a colon: HTTP Basic
// cannot carry one (RFC 7617), so no client could ever be let in.
func checkBasicUser(flag, user string) error {
	if strings.Contains(user, ":") {
		return usagef("%s: a Basic auth user cannot contain ':' (RFC 7617), got %q", flag, user)
	}
	return nil
}

// checkListen refuses an address that is no HOST:PORT. An empty one would
// have the server listen on every interface, which a test tool should do
// only when told (:PORT or 0.0.0.0:PORT).
func checkListen(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil || addr == "" {
		return usagef("--listen: want HOST:PORT such as 127.0.0.1:8080 (port 0 picks a free one), got %q", addr)
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	article := "a"
	if strings.HasPrefix(schemes[0], "http") {
		article = "an" // "an http URL", as it is read aloud
	}
	return fmt.Errorf("%q is not %s %s:// URL", raw, article, strings.Join(schemes, ":// or "))
}

// kvFlag collects repeated k=v flags in order.
type kvFlag struct {
	keys, values []string
}

func (f *kvFlag) String() string {
	var parts []string
	for i := range f.keys {
		parts = append(parts, f.keys[i]+"="+f.values[i])
	}
	return strings.Join(parts, ",")
}

func (f *kvFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	f.keys = append(f.keys, k)
	f.values = append(f.values, v)
	return nil
}

// choiceFlag accepts one of a fixed set of words.
type choiceFlag struct {
	value   string
	choices []string
}

func newChoice(def string, choices ...string) *choiceFlag {
	return &choiceFlag{value: def, choices: choices}
}

func (f *choiceFlag) String() string { return f.value }

func (f *choiceFlag) Set(s string) error {
	for _, c := range f.choices {
		if strings.EqualFold(s, c) {
			f.value = c
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(f.choices, ", "))
}

// given says whether the command line set the flag name, so that an
// explicit zero can be told from the default.
func given(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// checkTimeouts refuses a timeout flag below zero, and one of zero unless
// zero means a default (replay's: the journal's).
func checkTimeouts(t emulator.Timeouts, zeroMeansDefault bool) error {
	for _, d := range []struct {
		flag string
		d    time.Duration
	}{{"handshake-timeout", t.Handshake}, {"write-timeout", t.Write}, {"close-timeout", t.CloseHandshake},
		{"callback-timeout", t.Callback}, {"dead-peer-timeout", t.DeadPeer}} {
		switch {
		case d.d < 0 && zeroMeansDefault:
			return usagef("--%s must not be negative, got %s", d.flag, d.d)
		case d.d <= 0 && !zeroMeansDefault:
			return usagef("--%s must be positive, got %s", d.flag, d.d)
		}
	}
	return nil
}

// timeoutFlags adds the five timeout flags with def as their defaults;
// callback is the --callback-timeout help, which differs between commands.
func timeoutFlags(fs *flag.FlagSet, t *emulator.Timeouts, def emulator.Timeouts, callback string) {
	fs.DurationVar(&t.Handshake, "handshake-timeout", def.Handshake, "bound on connect and WebSocket upgrade")
	fs.DurationVar(&t.Write, "write-timeout", def.Write, "bound on one frame write (an app that stops reading)")
	fs.DurationVar(&t.CloseHandshake, "close-timeout", def.CloseHandshake, "how long to wait for the app's close frame")
	fs.DurationVar(&t.Callback, "callback-timeout", def.Callback, callback)
	fs.DurationVar(&t.DeadPeer, "dead-peer-timeout", def.DeadPeer, "after a silent drop, how long until the stream is declared dead")
}
