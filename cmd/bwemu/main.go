// Command bwemu plays Bandwidth's Programmable Voice media streams against
// an app on loopback: it opens real WebSocket streams, sends PCMU audio,
// ends them every way a real call ends and checks how the app answered.
//
// Exit codes: 0 the app passed, 1 the app failed, 2 bad usage or input,
// 130 interrupted (Ctrl-C or SIGTERM: the run said nothing about the app).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// Exit codes, a public interface.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
	// exitInterrupted is the shell's code for a run ended by SIGINT: the
	// run said nothing about the app.
	exitInterrupted = 130
)

const usage = `bwemu: a Bandwidth media-stream emulator for testing stream consumers

usage:
  bwemu stream [DESTINATION] [flags]   one stream to a WebSocket app (default: the built-in consumer)
  bwemu run FILE... [flags]            run scenario files, report like a test runner
  bwemu validate FILE...               check scenario files without running them
  bwemu conform --ws URL --events URL  run the consumer conformance suite against an app
  bwemu consumer [--listen ADDR]       run the built-in reference consumer
  bwemu serve [--listen ADDR] [flags]  serve the mock Voice API (calls, OAuth) and a control API
  bwemu version
  bwemu help [COMMAND]

exit codes: 0 the app passed, 1 the app failed, 2 bad usage or input,
  130 interrupted (Ctrl-C or SIGTERM; the run says nothing about the app)

Ctrl-C (or SIGTERM) ends live calls with their webhooks within 2s; stream, run
and conform then exit 130, serve and consumer (stopped as meant) 0;
a second Ctrl-C exits 130 at once.
`

// errInterrupted is the cause of the CLI's context when a signal ended it.
var errInterrupted = errors.New("interrupted")

// interruptDeadline bounds an interrupted run whatever happens below: past
// it the process exits 130 even if something still waits.
const interruptDeadline = emulator.InterruptGrace + 5*time.Second

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go interrupts(sigs, cancel, os.Stderr, func() { os.Exit(exitInterrupted) }, interruptDeadline)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(ctx, os.Args[1:], code))
}

// interrupts turns signals into the two-step stop: the first cancels the
// run (commands then end live calls with their webhooks, bounded by
// emulator.InterruptGrace); the second exits at once, and so does the
// deadline after the first, should the run still not be over.
func interrupts(sigs <-chan os.Signal, cancel context.CancelCauseFunc, stderr io.Writer, exit func(), deadline time.Duration) {
	<-sigs
	fmt.Fprintf(stderr, "\nbwemu: interrupted: ending live calls within %s (interrupt again to exit at once)\n",
		emulator.InterruptGrace.Round(time.Second/10))
	cancel(errInterrupted)
	t := time.NewTimer(deadline)
	defer t.Stop()
	select {
	case <-sigs:
		fmt.Fprintln(stderr, "bwemu: interrupted again: exiting at once")
	case <-t.C:
		fmt.Fprintf(stderr, "bwemu: still not done %s after the interrupt: exiting\n", deadline)
	}
	exit()
}

// exitCode is the process's exit code: a command that gives a verdict on
// the app (stream, run, conform, validate) and was interrupted exits 130
// whatever it returned, for its verdict covers only part of the run.
// serve and consumer run until they are stopped, so a signal is their
// normal end: they keep their own code.
func exitCode(ctx context.Context, args []string, code int) int {
	if !errors.Is(context.Cause(ctx), errInterrupted) || len(args) == 0 {
		return code
	}
	switch args[0] {
	case "stream", "run", "conform", "validate":
		if code == exitPass || code == exitFail {
			return exitInterrupted
		}
	}
	return code
}

// run is the whole CLI, callable from specs.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// No panic reaches a user: report it as an internal error.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "bwemu: internal error: %v\n", r)
			code = exitUsage
		}
	}()
	if len(args) == 0 {
		fmt.Fprintf(stderr, "bwemu: no command given\n\n%s", usage)
		return exitUsage
	}
	switch args[0] {
	case "stream":
		return streamCommand(ctx, args[1:], stdout, stderr)
	case "run":
		return runCommand(ctx, args[1:], stdout, stderr)
	case "validate":
		return validateCommand(ctx, args[1:], stdout, stderr)
	case "conform":
		return conformCommand(ctx, args[1:], stdout, stderr)
	case "consumer":
		return consumerCommand(ctx, args[1:], stdout, stderr)
	case "serve":
		return serveCommand(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return exitPass
	case "help", "-h", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	fmt.Fprintf(stderr, "bwemu: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// version, when set at build time with -ldflags "-X main.version=v1.2.3",
// overrides the version in the build info.
var version string

// buildVersion is what `bwemu version` reports.
type buildVersion struct {
	Version  string // v1.2.3, a pseudo-version, or "dev"
	Commit   string // the VCS revision, empty when unknown
	Date     string // the revision's commit time (RFC 3339), empty when unknown
	Modified bool   // built from a tree with uncommitted changes
}

// versionOf reads the version from the build info: the main module's
// version (set by `go install …@vX` and, from a checkout, a pseudo-version
// of the commit), the VCS revision and its time. override (from -ldflags)
// wins over the module version; "(devel)" and nothing at all read as dev.
func versionOf(bi *debug.BuildInfo, ok bool, override string) buildVersion {
	v := buildVersion{Version: "dev"}
	if ok && bi != nil {
		if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.Date = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		v.Version = override
	}
	return v
}

// String is the one line `bwemu version` prints:
// "bwemu v1.2.3 (commit 0123456789ab, 2025-06-01T12:00:00Z)".
func (v buildVersion) String() string {
	var details []string
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if v.Modified {
			c += " with uncommitted changes"
		}
		details = append(details, "commit "+c)
	}
	if v.Date != "" {
		details = append(details, v.Date)
	}
	line := "bwemu " + v.Version
	if len(details) > 0 {
		line += " (" + strings.Join(details, ", ") + ")"
	}
	return line
}

// versionLine is the running binary's version line.
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok, version).String()
}
