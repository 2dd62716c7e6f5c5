package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bwemu/bwemu/internal/prose"
	"github.com/bwemu/bwemu/scenarios"
)

const (
	validateSynopsis = "bwemu validate FILE... [--ws URL] [--events URL] [--disconnect URL]"
	runSynopsis      = "bwemu run FILE... [--ws URL] [--events URL] [--disconnect URL] [--ca FILE] [--pace realtime|fast] [--parallel N] [--focus REGEX] [--skip REGEX] [--repeat N] [--junit FILE] [--json FILE] [--html FILE] [--journal DIR] [--fail-fast]"
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
type targetFlags struct{ appURLs }

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.ws, "ws", "", "the app's WebSocket URL, overriding the files' target.websocket")
	fs.StringVar(&t.events, "events", "", "the app's stream event URL (streamEventUrl), overriding the files' target.events")
	fs.StringVar(&t.disconnect, "disconnect", "", "the app's disconnect URL (the call's disconnectUrl), overriding the files' target.disconnect")
}

// options are the run options that point the files at the app.
func (t *targetFlags) options() scenarios.RunOptions {
	return scenarios.RunOptions{WebSocket: t.ws, Events: t.events, Disconnect: t.disconnect}
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

// filesConfig is what validate is asked: the scenario files, and the app
// they would run against.
type filesConfig struct {
	files []string
	opts  scenarios.RunOptions
}

// validateFlags are validate's flags.
type validateFlags struct{ targetFlags }

func (f *validateFlags) config(pos []string) (*filesConfig, error) {
	if len(pos) == 0 {
		return nil, usagef("no scenario file given")
	}
	if err := f.check("--ws"); err != nil {
		return nil, err
	}
	return &filesConfig{files: pos, opts: f.options()}, nil
}

func parseValidate(args []string) (*filesConfig, error) {
	return parseCommand("validate", &validateFlags{}, args)
}

// runValidate loads and checks every file, saying ok for each good one.
func runValidate(_ context.Context, c *filesConfig, stdout, stderr io.Writer) int {
	files, ok := loadFiles(c.files, stderr)
	for _, f := range files {
		if !checkFiles([]*scenarios.File{f}, c.opts, stderr) {
			ok = false
			continue
		}
		fmt.Fprintf(stdout, "ok: %s (%s)\n", f.Path, prose.Plural(len(f.Scenarios), "scenario", "scenarios"))
	}
	if !ok {
		return exitUsage
	}
	return exitPass
}

// runFlags are run's flags.
type runFlags struct {
	targetFlags
	ca, focus, skip, junit, json, html, journal string
	pace                                        *choiceFlag
	parallel, repeat                            int
	failFast                                    bool
}

func (f *runFlags) register(fs *flag.FlagSet) {
	f.targetFlags.register(fs)
	fs.StringVar(&f.ca, "ca", "", "a PEM CA certificate to trust for wss:// streams, https:// webhooks and BXML fetches, overriding the files' target.ca")
	f.pace = newChoice("", "realtime", "fast")
	fs.Var(f.pace, "pace", "realtime or fast, overriding the files (default: each file's own, else realtime)")
	fs.IntVar(&f.parallel, "parallel", scenarios.DefaultParallel, "scenarios run at once")
	fs.StringVar(&f.focus, "focus", "", "run only scenarios whose name matches this regular expression")
	fs.StringVar(&f.skip, "skip", "", "skip scenarios whose name matches this regular expression")
	fs.IntVar(&f.repeat, "repeat", 1, "run each scenario N times (any failing repetition fails the run)")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report to FILE")
	fs.StringVar(&f.json, "json", "", "write a JSON report (results and webhook exchanges) to FILE")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report (failures first, a sequence diagram of each call) to FILE")
	fs.StringVar(&f.journal, "journal", "", "write one JSON Lines journal per scenario into DIR")
	fs.BoolVar(&f.failFast, "fail-fast", false, "stop starting scenarios after the first failure")
}

// runConfig is what run is asked.
type runConfig struct {
	filesConfig
	focus, skip string // as given, for the complaint when they select nothing
	junit, json string // the report files, "" for none
	html        string
}

func (f *runFlags) config(pos []string) (*runConfig, error) {
	switch {
	case len(pos) == 0:
		return nil, usagef("no scenario file given")
	case f.parallel < 1:
		return nil, usagef("--parallel must be at least 1")
	case f.repeat < 1:
		return nil, usagef("--repeat must be at least 1")
	}
	o := f.options()
	o.CA, o.Pace, o.Parallel, o.Repeat, o.JournalDir, o.FailFast = f.ca, f.pace.value, f.parallel, f.repeat, f.journal, f.failFast
	var err error
	if o.Focus, err = pattern("--focus", f.focus); err != nil {
		return nil, err
	}
	if o.Skip, err = pattern("--skip", f.skip); err != nil {
		return nil, err
	}
	if err := f.check("--ws"); err != nil {
		return nil, err
	}
	if _, err := trustCA(f.ca); err != nil {
		return nil, err // scenarios.Run loads it again, per file
	}
	return &runConfig{filesConfig: filesConfig{files: pos, opts: o}, focus: f.focus, skip: f.skip, junit: f.junit, json: f.json, html: f.html}, nil
}

func parseRun(args []string) (*runConfig, error) {
	return parseCommand("run", &runFlags{}, args)
}

// runRun runs the scenario files and reports like a test runner: progress
// on stderr, the table and each failure on stdout, JUnit and JSON files.
func runRun(ctx context.Context, c *runConfig, stdout, stderr io.Writer) int {
	files, code, ok := c.prepare(stderr)
	if !ok {
		return code
	}
	// Report files are created once the input is known good and before
	// anything runs: a bad path is bad input, and a broken scenario file
	// leaves an earlier report alone.
	reports, code, ok := createReportFiles(stderr, runSynopsis, reportFile{flag: "--junit", path: c.junit},
		reportFile{flag: "--json", path: c.json}, reportFile{flag: "--html", path: c.html})
	if !ok {
		return code
	}
	defer reports.close()

	o := c.opts
	prog := newProgress(stderr, o.Count(files)*o.Repeat)
	o.OnStart, o.OnResult = prog.started, prog.finished
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
	reports.write(stderr, "--junit", func(w io.Writer) error { return scenarios.WriteJUnit(w, results, took, started) })
	reports.write(stderr, "--json", func(w io.Writer) error { return scenarios.WriteJSON(w, results, took) })
	reports.write(stderr, "--html", func(w io.Writer) error {
		return scenarios.WriteHTML(w, results, took, scenarios.HTMLOptions{Dir: filepath.Dir(c.html), Started: started, Interrupted: interrupted})
	})
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

// prepare loads the files and checks them against the selection and the
// target, and creates the journal directory: whatever is wrong is bad
// input, said before anything runs.
func (c *runConfig) prepare(stderr io.Writer) ([]*scenarios.File, int, bool) {
	files, ok := loadFiles(c.files, stderr)
	if !ok {
		return nil, exitUsage, false
	}
	if c.opts.Count(files) == 0 {
		return nil, usageError(stderr, runSynopsis, "%s", nothingSelected(c.focus, c.skip)), false
	}
	if !checkFiles(files, c.opts, stderr) {
		return nil, exitUsage, false
	}
	if err := journalDir(c.opts.JournalDir); err != nil {
		return nil, usageError(stderr, runSynopsis, "%v", err), false
	}
	return files, 0, true
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

// printSummary prints the table of results, then the account of each
// failure. An interrupted run says so instead of a verdict.
func printSummary(w io.Writer, results []*scenarios.Result, took time.Duration, interrupted bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSCENARIO\tRESULT\tTIME\tFILE")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Label(), strings.ToUpper(string(r.Status)), r.Duration.Round(time.Millisecond), r.Pos)
	}
	tw.Flush()
	for _, r := range results {
		if r.Status != scenarios.Failed && r.Status != scenarios.Errored {
			if len(r.Advice) > 0 {
				fmt.Fprintf(w, "\n--- ADVICE: %s (%s)\n", r.Label(), r.Pos)
				for _, a := range r.Advice {
					fmt.Fprintf(w, "    %s\n", a)
				}
			}
			continue
		}
		fmt.Fprintf(w, "\n--- %s: %s (%s)\n%s", strings.ToUpper(string(r.Status)), r.Label(), r.Pos, scenarios.FailureText(r))
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
	fmt.Fprintf(p.w, "[%d/%d] %-7s %s (%s)\n", p.finishedN, p.total, strings.ToUpper(string(r.Status)), r.Label(), r.Duration.Round(time.Millisecond))
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
