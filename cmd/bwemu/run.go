package main

import (
	"context"
	"errors"
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
	validateSynopsis = "bwemu validate FILE..."
	runSynopsis      = "bwemu run FILE... [--ws URL] [--events URL] [--pace realtime|fast] [--parallel N] [--focus REGEX] [--junit FILE] [--json FILE] [--journal DIR] [--fail-fast]"
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

func validateCommand(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", validateSynopsis, stderr)
	pos, code, ok := parseFlags(fs, validateSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return usageError(stderr, validateSynopsis, "no scenario file given")
	}
	files, ok := loadFiles(pos, stderr)
	for _, f := range files {
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
	fs.StringVar(&o.WebSocket, "ws", "", "the app's WebSocket URL, overriding the files' target")
	fs.StringVar(&o.Events, "events", "", "the app's webhook URL, overriding the files' target")
	pace := newChoice("", "realtime", "fast")
	fs.Var(pace, "pace", "realtime or fast, overriding the files (default: each file's own, else realtime)")
	fs.IntVar(&o.Parallel, "parallel", scenarios.DefaultParallel, "scenarios run at once")
	focus := fs.String("focus", "", "run only scenarios whose name matches this regular expression")
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
	o.Pace = pace.value
	if *focus != "" {
		re, err := regexp.Compile(*focus)
		if err != nil {
			return usageError(stderr, runSynopsis, "--focus: %v", err)
		}
		o.Focus = re
	}
	for _, u := range []struct{ flag, v string }{{"--ws", o.WebSocket}, {"--events", o.Events}} {
		schemes := []string{"http", "https"}
		if u.flag == "--ws" {
			schemes = []string{"ws", "wss"}
		}
		if u.v != "" {
			if err := checkURL(u.v, schemes...); err != nil {
				return usageError(stderr, runSynopsis, "%s: %v", u.flag, err)
			}
		}
	}
	files, ok := loadFiles(pos, stderr)
	if !ok {
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

	total := 0
	for _, f := range files {
		for _, sc := range f.Scenarios {
			if o.Focus == nil || o.Focus.MatchString(sc.Name) {
				total++
			}
		}
	}
	prog := newProgress(stderr, total)
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
	printSummary(stdout, results, took)
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
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitFail
	}
	if !scenarios.Summarize(results, took).OK() {
		return exitFail
	}
	return exitPass
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

// printSummary prints the table of results, then the account of each failure.
func printSummary(w io.Writer, results []*scenarios.Result, took time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSCENARIO\tRESULT\tTIME\tFILE")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, strings.ToUpper(r.Status), r.Duration.Round(time.Millisecond), r.Pos)
	}
	tw.Flush()
	for _, r := range results {
		if r.Status != scenarios.Failed && r.Status != scenarios.Errored {
			continue
		}
		fmt.Fprintf(w, "\n--- %s: %s (%s)\n%s", strings.ToUpper(r.Status), r.Name, r.Pos, scenarios.FailureText(r))
		if r.JournalFile != "" {
			fmt.Fprintf(w, "  full journal: %s\n", r.JournalFile)
		}
	}
	s := scenarios.Summarize(results, took)
	verdict := "PASS"
	if !s.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d errors, %d skipped in %s\n", verdict, s.Passed, s.Failed, s.Errors, s.Skipped, took.Round(time.Millisecond))
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
	fmt.Fprintf(p.w, "[%d/%d] %-7s %s (%s)\n", p.finishedN, p.total, strings.ToUpper(r.Status), r.Name, r.Duration.Round(time.Millisecond))
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
