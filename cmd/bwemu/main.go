// Command bwemu plays Bandwidth's Programmable Voice media streams against
// an app on loopback: it opens real WebSocket streams, sends PCMU audio,
// ends them every way a real call ends and checks how the app answered.
//
// Exit codes: 0 the app passed, 1 the app failed, 2 bad usage or input.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
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

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

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

exit codes: 0 the app passed, 1 the app failed, 2 bad usage or input
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal ends the run gracefully (the app still gets its
	// webhooks); restoring default handling lets a second one kill it.
	go func() { <-ctx.Done(); stop() }()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
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
		fmt.Fprintln(stdout, "bwemu", version)
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
