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
  bwemu load [--calls N] [flags]       drive many real-time calls at once and measure the app
  bwemu load merge SHARD.json...       merge the summaries of sharded load runs
  bwemu replay JOURNAL.jsonl --ws URL  replay a recorded stream against the app, compare then and now
  bwemu consumer [--listen ADDR]       run the built-in reference consumer
  bwemu serve [--listen ADDR] [flags]  serve the mock Voice API (calls, OAuth) and a control API
  bwemu version
  bwemu help [COMMAND]

exit codes: 0 the app passed, 1 the app failed, 2 bad usage or input,
  130 interrupted (Ctrl-C or SIGTERM; the run says nothing about the app)

Ctrl-C (or SIGTERM) ends live calls with their webhooks within 2s; stream, run,
conform, load and replay then exit 130, serve and consumer (stopped as meant) 0;
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
	if c, ok := lookup(args[0]); ok && c.judges && (code == exitPass || code == exitFail) {
		return exitInterrupted
	}
	return code
}

// cliCommand is one of the CLI's commands.
type cliCommand struct {
	name string
	// judges says the command gives a verdict on the app, which an
	// interrupt voids (exitCode).
	judges bool
	run    commandFunc
}

// commands are the CLI's commands. Each parses its arguments into a
// config, then runs on it (see command).
var commands = []cliCommand{
	{"stream", true, command(streamSynopsis, parseStream, runStream)},
	{"run", true, command(runSynopsis, parseRun, runRun)},
	{"validate", true, command(validateSynopsis, parseValidate, runValidate)},
	{"conform", true, command(conformSynopsis, parseConform, runConform)},
	{"load", true, command(loadSynopsis, parseLoad, runLoad)},
	{"replay", true, command(replaySynopsis, parseReplay, runReplay)},
	{"consumer", false, command(consumerSynopsis, parseConsumer, runConsumer)},
	{"serve", false, command(serveSynopsis, parseServe, runServe)},
	{"version", false, command(versionSynopsis, parseVersion, runVersion)},
}

// lookup finds a command by name; --version is version.
func lookup(name string) (cliCommand, bool) {
	if name == "--version" {
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return cliCommand{}, false
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
	case "help", "-h", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "bwemu: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}
