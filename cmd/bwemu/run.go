package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bwemu/bwemu/scenarios"
)

const (
	validateSynopsis = "bwemu validate FILE... [--ws URL] [--events URL] [--disconnect URL]"
	runSynopsis      = "bwemu run FILE... [--ws URL] [--events URL] [--disconnect URL] [--ca FILE] [--pace realtime|fast] [--parallel N] [--focus REGEX] [--skip REGEX] [--repeat N] [--junit FILE] [--json FILE] [--journal DIR] [--fail-fast]"
)

// loadFiles loads every file, printing every error of every file; ok is
// false when any file is bad.
func loadFiles(paths []string, stderr io.Writer) ([]*scenarios.File, bool) {
	var files []*scenarios.File
	ok := true
	for _, p := range paths {
		f, err := scenarios.Load(p)
		var fileErrs scenarios.Errors
		switch {
		case errors.As(err, &fileErrs):
			ok = false
			fmt.Fprintln(stderr, strings.TrimRight(err.Error(), "\n"))
			continue
		case err != nil:
			ok = false
			fmt.Fprintf(stderr, "bwemu: %v\n", err)
			continue
		}
		files = append(files, f)
	}
	return files, ok
}

// targetFlags are the flags that point scenario files at an app, shared
// by run and validate (which checks the files as run would run them).
type targetFlags struct {
	ws, events, disconnect string
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.ws, "ws", "", "the app's WebSocket URL, overriding the files' target.websocket")
	fs.StringVar(&t.events, "events", "", "the app's stream event URL (streamEventUrl), overriding the files' target.events")
	fs.StringVar(&t.disconnect, "disconnect", "", "the app's disconnect URL (the call's disconnectUrl), overriding the files' target.disconnect")
}

// check validates the URLs; complaint is "" when they are fine.
func (t *targetFlags) check() string {
	for _, u := range []struct{ flag, v string }{{"--ws", t.ws}, {"--events", t.events}, {"--disconnect", t.disconnect}} {
		schemes := []string{"http", "https"}
		if u.flag == "--ws" {
			schemes = []string{"ws", "wss"}
		}
		if u.v != "" {
			if err := checkURL(u.v, schemes...); err != nil {
				return fmt.Sprintf("%s: %v", u.flag, err)
			}
		}
	}
	return ""
}

func (t *targetFlags) apply(o *scenarios.RunOptions) {
	o.WebSocket, o.Events, o.Disconnect = t.ws, t.events, t.disconnect
}

// checkFiles prints what cannot hold for the files' targets under o
// (scenarios.Check), as load errors are printed; ok is false when
// anything was printed.
func checkFiles(files []*scenarios.File, o scenarios.RunOptions, stderr io.Writer) bool {
	err := scenarios.Check(files, o)
	if err == nil {
		return true
	}
	fmt.Fprintln(stderr, strings.TrimRight(err.Error(), "\n"))
	return false
}

func validateCommand(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", validateSynopsis, stderr)
	var tf targetFlags
	tf.register(fs)
	pos, code, ok := parseFlags(fs, validateSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return usageError(stderr, validateSynopsis, "no scenario file given")
	}
	if c := tf.check(); c != "" {
		return usageError(stderr, validateSynopsis, "%s", c)
	}
	files, ok := loadFiles(pos, stderr)
	var o scenarios.RunOptions
	tf.apply(&o)
	for _, f := range files {
		if !checkFiles([]*scenarios.File{f}, o, stderr) {
			ok = false
			continue
		}
		fmt.Fprintf(stdout, "ok: %s (%s)\n", f.Path, plural(len(f.Scenarios), "scenario", "scenarios"))
	}
	if !ok {
		return exitUsage
	}
	return exitPass
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", runSynopsis, stderr)
	var o scenarios.RunOptions
	var tf targetFlags
	tf.register(fs)
	fs.StringVar(&o.CA, "ca", "", "a PEM CA certificate to trust for wss:// streams, https:// webhooks and BXML fetches, overriding the files' target.ca")
	pace := newChoice("", "realtime", "fast")
	fs.Var(pace, "pace", "realtime or fast, overriding the files (default: each file's own, else realtime)")
	fs.IntVar(&o.Parallel, "parallel", scenarios.DefaultParallel, "scenarios run at once")
	focus := fs.String("focus", "", "run only scenarios whose name matches this regular expression")
	skip := fs.String("skip", "", "skip scenarios whose name matches this regular expression")
	fs.IntVar(&o.Repeat, "repeat", 1, "run each scenario N times (any failing repetition fails the run)")
	junit := fs.String("junit", "", "write a JUnit XML report to FILE")
	jsonOut := fs.String("json", "", "write a JSON report (results and webhook exchanges) to FILE")
	fs.StringVar(&o.JournalDir, "journal", "", "write one JSON Lines journal per scenario into DIR")
	fs.BoolVar(&o.FailFast, "fail-fast", false, "stop starting scenarios after the first failure")
	pos, code, ok := parseFlags(fs, runSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return usageError(stderr, runSynopsis, "no scenario file given")
	}
	if o.Parallel < 1 {
		return usageError(stderr, runSynopsis, "--parallel must be at least 1")
	}
	if o.Repeat < 1 {
		return usageError(stderr, runSynopsis, "--repeat must be at least 1")
	}
	o.Pace = pace.value
	for _, re := range []struct {
		flag, expr string
		dst        **regexp.Regexp
	}{{"--focus", *focus, &o.Focus}, {"--skip", *skip, &o.Skip}} {
		if re.expr == "" {
			continue
		}
		compiled, err := regexp.Compile(re.expr)
		if err != nil {
			return usageError(stderr, runSynopsis, "%s: %v", re.flag, err)
		}
		*re.dst = compiled
	}
	if c := tf.check(); c != "" {
		return usageError(stderr, runSynopsis, "%s", c)
	}
	tf.apply(&o)
	if o.CA != "" {
		if _, err := loadCA(o.CA); err != nil {
			return usageError(stderr, runSynopsis, "--ca: %v", err)
		}
	}
	files, ok := loadFiles(pos, stderr)
	if !ok {
		return exitUsage
	}
	total := 0
	for _, f := range files {
		for _, sc := range f.Scenarios {
			if o.Selected(sc) {
				total++
			}
		}
	}
	if total == 0 {
		return usageError(stderr, runSynopsis, "%s", nothingSelected(*focus, *skip))
	}
	if !checkFiles(files, o, stderr) {
		return exitUsage
	}
	if o.JournalDir != "" {
		if err := os.MkdirAll(o.JournalDir, 0o755); err != nil {
			return usageError(stderr, runSynopsis, "--journal: %v", err)
		}
	}
	// Report files are created once the input is known good and before
	// anything runs: a bad path is bad input, and a broken scenario file
	// leaves an earlier report alone.
	junitFile, jsonFile, code, ok := createReports(stderr, runSynopsis, *junit, *jsonOut)
	if !ok {
		return code
	}
	defer closeAll(junitFile, jsonFile)

	prog := newProgress(stderr, total*o.Repeat)
	o.OnStart = prog.started
	o.OnResult = prog.finished
	started := time.Now()
	results, err := scenarios.Run(ctx, files, o)
	took := time.Since(started)
	prog.done()
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
		return exitUsage
	}
	interrupted := ctx.Err() != nil
	printSummary(stdout, results, took, interrupted)
	if junitFile != nil {
		if err := scenarios.WriteJUnit(junitFile, results, took, started); err != nil {
			fmt.Fprintf(stderr, "bwemu: --junit: %v\n", err)
		}
	}
	if jsonFile != nil {
		if err := scenarios.WriteJSON(jsonFile, results, took); err != nil {
			fmt.Fprintf(stderr, "bwemu: --json: %v\n", err)
		}
	}
	if interrupted {
		// No verdict on the app: never exit 1 for an interrupt.
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitInterrupted
	}
	if !scenarios.Summarize(results, took).OK() {
		return exitFail
	}
	return exitPass
}

// nothingSelected says why --focus and --skip leave nothing to run.
func nothingSelected(focus, skip string) string {
	switch {
	case focus != "" && skip != "":
		return fmt.Sprintf("--focus %q and --skip %q leave no scenario to run", focus, skip)
	case focus != "":
		return fmt.Sprintf("--focus: no scenario matches %q", focus)
	}
	return fmt.Sprintf("--skip: every scenario matches %q, so none is left to run", skip)
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

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// printSummary prints the table of results, then the account of each
// failure. An interrupted run says so instead of a verdict.
func printSummary(w io.Writer, results []*scenarios.Result, took time.Duration, interrupted bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSCENARIO\tRESULT\tTIME\tFILE")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Label(), strings.ToUpper(r.Status), r.Duration.Round(time.Millisecond), r.Pos)
	}
	tw.Flush()
	for _, r := range results {
		if r.Status != scenarios.Failed && r.Status != scenarios.Errored {
			continue
		}
		fmt.Fprintf(w, "\n--- %s: %s (%s)\n%s", strings.ToUpper(r.Status), r.Label(), r.Pos, scenarios.FailureText(r))
		if r.JournalFile != "" {
			fmt.Fprintf(w, "  full journal: %s\n", r.JournalFile)
		}
	}
	s := scenarios.Summarize(results, took)
	verdict := "PASS"
	switch {
	case interrupted:
		verdict = "INTERRUPTED"
	case !s.OK():
		verdict = "FAIL"
	}
	cut := ""
	if interrupted || s.Interrupted > 0 {
		cut = fmt.Sprintf(", %d interrupted", s.Interrupted)
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d errors%s, %d skipped in %s\n", verdict, s.Passed, s.Failed, s.Errors, cut, s.Skipped, took.Round(time.Millisecond))
}

// progress shows scenarios as they run: a live line on a terminal, a plain
// line per finished scenario elsewhere (CI logs).
type progress struct {
	w         io.Writer
	live      bool
	total     int
	mu        sync.Mutex
	finishedN int
	running   []string
}

func newProgress(w io.Writer, total int) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, total: total, live: ok && isTerminal(f)}
}

func (p *progress) started(sc *scenarios.Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = append(p.running, sc.Name)
	p.redraw()
}

func (p *progress) finished(r *scenarios.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishedN++
	for i, n := range p.running {
		if n == r.Name {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "[%d/%d] %-7s %s (%s)\n", p.finishedN, p.total, strings.ToUpper(r.Status), r.Label(), r.Duration.Round(time.Millisecond))
	p.redraw()
}

func (p *progress) redraw() {
	if !p.live || len(p.running) == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K[%d/%d] running: %s", p.finishedN, p.total, strings.Join(p.running, ", "))
}

func (p *progress) done() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
