package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/htmlreport"
	"github.com/bwemu/bwemu/internal/junit"
	"github.com/bwemu/bwemu/internal/reportjson"
	"github.com/bwemu/bwemu/internal/weburl"
	"github.com/bwemu/bwemu/suite/conformance"
)

const conformSynopsis = "bwemu conform --ws URL --events URL [--disconnect URL] [--event-method GET] [--disconnect-method GET] [--junit FILE] [--json FILE] [--html FILE] [--event-user U --event-password P] [--ws-user U --ws-password P] [--bidirectional] [--only PATTERN] [--skip PATTERN] [--repeat N] [--lenient] [--parallel N] [--ca FILE] [--handshake-timeout D] [--write-timeout D] [--close-timeout D] [--callback-timeout D] [--dead-peer-timeout D] [--app-pid PID] [--app-metrics URL --app-metric NAME] [--leak-settle D]"

// conformFlagOf names the conform flag of a conformance.Target field.
var conformFlagOf = map[string]string{"WebSocket": "--ws", "Events": "--events", "Disconnect": "--disconnect"}

// conformFlags are conform's flags.
type conformFlags struct {
	app                           app
	eventMethod, disconnectMethod *choiceFlag
	bidirectional, lenient        bool
	only, skip                    string
	repeat, parallel              int
	junit, json, html, ca         string
	timeouts                      emulator.Timeouts
	// appPID and appMetrics/appMetric are what the leak cases (8.x) look
	// at: the app's process, and its gauge of live sessions.
	appPID                int
	appMetrics, appMetric string
	leakSettle            time.Duration
	// fs tells a flag given from one left at its default.
	fs *flag.FlagSet
}

func (f *conformFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.app.ws, "ws", "", "the app's WebSocket URL (ws:// or wss://); required")
	fs.StringVar(&f.app.events, "events", "", "the app's stream-event webhook URL, its streamEventUrl (http:// or https://); required")
	fs.StringVar(&f.app.disconnect, "disconnect", "", "the app's disconnect webhook URL, the call's disconnectUrl; without it no disconnect is sent and 5.8 is INFO")
	f.eventMethod = newChoice("POST", "POST", "GET")
	fs.Var(f.eventMethod, "event-method", "the streamEventMethod the app's StartStream sets: POST or GET (GET runs 5.11)")
	f.disconnectMethod = newChoice("POST", "POST", "GET")
	fs.Var(f.disconnectMethod, "disconnect-method", "the call's disconnectMethod: POST or GET (GET runs 5.11 on disconnect; needs --disconnect)")
	f.app.registerCredentials(fs)
	fs.BoolVar(&f.bidirectional, "bidirectional", false, "the app plays audio back: run the 6.x cases")
	fs.StringVar(&f.only, "only", "", "run only cases whose number or title matches this regular expression (e.g. '^5\\.')")
	fs.StringVar(&f.skip, "skip", "", "leave out cases whose number or title matches this regular expression (e.g. '^3\\.1$|^7\\.')")
	fs.IntVar(&f.repeat, "repeat", 1, "run the suite N times; any failing repetition fails the run")
	fs.BoolVar(&f.lenient, "lenient", false, "count non-strict verdicts (e.g. 200 instead of 204) as passing")
	fs.IntVar(&f.parallel, "parallel", conformance.DefaultParallel, "cases run at once")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report to FILE")
	fs.StringVar(&f.json, "json", "", "write a JSON report to FILE")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report (failures first, a sequence diagram of each call) to FILE")
	fs.StringVar(&f.ca, "ca", "", "PEM file of a CA to trust for wss:// and https://")
	fs.IntVar(&f.appPID, "app-pid", 0, "the app's process id (Linux; the app in a process of its own): 8.1 counts its open file descriptors and sockets before and after streams end by a TCP reset, a silent drop and a close 1011")
	fs.StringVar(&f.appMetrics, "app-metrics", "", "the app's Prometheus text endpoint (http:// or https://) with a gauge of live sessions: 8.2 checks it comes back down after the same faults; needs --app-metric")
	fs.StringVar(&f.appMetric, "app-metric", "", "the name of the gauge of live sessions at --app-metrics")
	fs.DurationVar(&f.leakSettle, "leak-settle", conformance.DefaultLeakSettle, "how long after the last faulted stream the app has to be back at its baseline (8.x)")
	def := conformance.DefaultTimeouts()
	timeoutFlags(fs, &f.timeouts, def, fmt.Sprintf("the app's callbackTimeout (1s–25s on Bandwidth): a webhook answered later fails, one answered after %s non-strict", conformance.WebhookLatencyLimit))
}

// conformConfig is what conform is asked.
type conformConfig struct {
	target      conformance.Target
	opts        conformance.Options
	repeat      int
	junit, json string // the report files, "" for none
	html        string
}

// config checks the flags, in the order a user fixes them.
func (f *conformFlags) config(pos []string) (*conformConfig, error) {
	if err := noArguments(pos); err != nil {
		return nil, err
	}
	if err := f.checkValues(); err != nil {
		return nil, err
	}
	if err := f.app.check("--ws"); err != nil {
		return nil, err
	}
	o, err := f.options()
	if err != nil {
		return nil, err
	}
	tlsConfig, err := trustCA(f.ca)
	if err != nil {
		return nil, err
	}
	a := f.app
	t := conformance.Target{WebSocket: a.ws, Events: a.events, EventMethod: f.eventMethod.value,
		Disconnect: a.disconnect, DisconnectMethod: f.disconnectMethod.value, WSUser: a.wsUser, WSPassword: a.wsPassword,
		EventUser: a.eventUser, EventPassword: a.eventPassword, Bidirectional: f.bidirectional, TLSConfig: tlsConfig}
	return &conformConfig{target: t, opts: o, repeat: f.repeat, junit: f.junit, json: f.json, html: f.html}, nil
}

// checkValues refuses a missing URL, a count below one, a disconnect
// method without a disconnect URL, a negative process id, a metrics
// endpoint without its gauge (or the other way round) and a timeout that
// is not positive.
func (f *conformFlags) checkValues() error {
	switch {
	case f.app.ws == "" || f.app.events == "":
		return usagef("--ws and --events are required")
	case f.parallel < 1:
		return usagef("--parallel must be at least 1")
	case f.repeat < 1:
		return usagef("--repeat must be at least 1")
	case given(f.fs, "disconnect-method") && f.app.disconnect == "":
		return usagef("--disconnect-method needs --disconnect (the URL the disconnect webhook goes to)")
	case f.leakSettle <= 0:
		return usagef("--leak-settle must be positive, got %s", f.leakSettle)
	case f.appPID < 0:
		return usagef("--app-pid must be the app's process id (a positive number), got %d", f.appPID)
	case f.appMetrics != "" && f.appMetric == "":
		return usagef("--app-metrics needs --app-metric (the name of the app's gauge of live sessions)")
	case f.appMetric != "" && f.appMetrics == "":
		return usagef("--app-metric needs --app-metrics (the URL of the app's Prometheus text endpoint)")
	}
	if f.appMetrics != "" {
		if err := checkURL(f.appMetrics, "http", "https"); err != nil {
			return usagef("--app-metrics: %v", err)
		}
	}
	return checkTimeouts(f.timeouts, false)
}

// options are the run's options: the selection (which must leave a case
// to run), lenience, parallelism, timeouts and what the leak cases look at.
func (f *conformFlags) options() (conformance.Options, error) {
	o := conformance.Options{Lenient: f.lenient, Parallel: f.parallel, Timeouts: f.timeouts, AppPID: f.appPID, LeakSettle: f.leakSettle,
		AppMetrics: conformance.MetricsGauge{URL: f.appMetrics, Name: f.appMetric}}
	var err error
	if o.Only, err = pattern("--only", f.only); err != nil {
		return o, err
	}
	if o.Skip, err = pattern("--skip", f.skip); err != nil {
		return o, err
	}
	if len(conformance.Select(o.Only, nil)) == 0 {
		return o, usagef("--only: no case matches %q", f.only)
	}
	if len(conformance.Select(o.Only, o.Skip)) == 0 {
		return o, usagef("--skip: %q leaves no case to run", f.skip)
	}
	return o, nil
}

func parseConform(args []string) (*conformConfig, error) {
	return parseCommand("conform", &conformFlags{}, args)
}

// runConform runs the suite (--repeat times) and reports like a test
// runner: progress on stderr, the table and each finding on stdout, JUnit
// and JSON files.
func runConform(ctx context.Context, c *conformConfig, stdout, stderr io.Writer) int {
	reports, code, ok := createReportFiles(stderr, conformSynopsis, reportFile{flag: "--junit", path: c.junit},
		reportFile{flag: "--json", path: c.json}, reportFile{flag: "--html", path: c.html})
	if !ok {
		return code
	}
	defer reports.close()
	started := time.Now()
	reps, unreachable, err := c.repetitions(ctx, stderr)
	if err != nil {
		return usageError(stderr, conformSynopsis, "%v", err)
	}
	took := time.Since(started)
	rep := newConformReport(reps, unreachable, c.opts.Lenient, ctx.Err() != nil)
	if unreachable != nil {
		fmt.Fprintf(stderr, "bwemu: %s\n", rep.Unreachable)
	} else {
		printConformance(stdout, rep, took)
	}
	reports.write(stderr, "--junit", func(w io.Writer) error { return writeConformanceJUnit(w, rep, took) })
	reports.write(stderr, "--json", func(w io.Writer) error { return writeConformanceJSON(w, rep) })
	reports.write(stderr, "--html", func(w io.Writer) error {
		sub := fmt.Sprintf("%s · %s · took %s", weburl.Redact(c.target.WebSocket), started.UTC().Format("2006-01-02 15:04:05 UTC"), took.Round(time.Millisecond))
		return writeConformanceHTML(w, rep, sub, filepath.Dir(c.html))
	})
	switch {
	case rep.Interrupted:
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitInterrupted
	case !rep.Passed:
		return exitFail
	}
	return exitPass
}

// repetitions runs the suite --repeat times, printing a line on stderr as
// each case ends. It stops early at an interrupt, and at an app it cannot
// reach, which it returns; the error is a bad target or bad options.
func (c *conformConfig) repetitions(ctx context.Context, stderr io.Writer) ([]repetition, *conformance.UnreachableError, error) {
	var reps []repetition
	for k := 1; k <= c.repeat && (k == 1 || ctx.Err() == nil); k++ {
		if c.repeat > 1 {
			fmt.Fprintf(stderr, "repetition %d of %d\n", k, c.repeat)
		}
		o := c.opts
		o.OnResult = conformProgress(stderr, len(conformance.Select(o.Only, o.Skip)))
		began := time.Now()
		results, err := conformance.Run(ctx, c.target, o)
		var unreachable *conformance.UnreachableError
		if errors.As(err, &unreachable) {
			return reps, unreachable, nil
		}
		if err != nil {
			return nil, nil, err
		}
		reps = append(reps, repetition{N: k, Results: results, Took: time.Since(began),
			Passed: conformance.Passed(results, o.Lenient) && !anyInterrupted(results)})
	}
	return reps, nil, nil
}

// conformProgress prints a line for each case as it ends, numbered out of
// the total cases selected: [3/38] PASS 2.1 title.
func conformProgress(w io.Writer, total int) func(conformance.Result) {
	var mu sync.Mutex
	done := 0
	return func(r conformance.Result) {
		mu.Lock()
		defer mu.Unlock()
		done++
		fmt.Fprintf(w, "[%d/%d] %-10s %s %s\n", done, total, strings.ToUpper(string(r.Status)), r.ID, r.Title)
	}
}

// repetition is one run of the suite (--repeat).
type repetition struct {
	N       int                  `json:"repetition"`
	Passed  bool                 `json:"passed"`
	Took    time.Duration        `json:"durationNs"`
	Results []conformance.Result `json:"results"`
}

// conformReport is what conform found: the JSON report, and what the
// table and the JUnit report are made of.
type conformReport struct {
	Passed  bool `json:"passed"`
	Lenient bool `json:"lenient"`
	// Interrupted says the run was interrupted: it gives no verdict on the app.
	Interrupted bool `json:"interrupted"`
	// Unreachable says why the app could not be reached; no case ran.
	Unreachable string `json:"unreachable,omitempty"`
	// Results are the cases' results; with --repeat, each case's worst.
	Results []conformance.Result `json:"results"`
	// Repetitions are the runs of --repeat N (N > 1), in order.
	Repetitions []repetition `json:"repetitions,omitempty"`
}

// newConformReport is what the repetitions found: an app that could not
// be reached, one run's results, or each case's worst over several runs.
func newConformReport(reps []repetition, unreachable *conformance.UnreachableError, lenient, interrupted bool) conformReport {
	rep := conformReport{Lenient: lenient, Interrupted: interrupted}
	switch {
	case unreachable != nil:
		rep.Unreachable = unreachableLine(unreachable)
	case len(reps) == 1:
		rep.Results = reps[0].Results
	case len(reps) > 1:
		rep.Results = worstOf(reps)
		rep.Repetitions = reps
	}
	rep.Passed = unreachable == nil && !interrupted && len(reps) > 0
	for _, r := range reps {
		rep.Passed = rep.Passed && r.Passed
	}
	return rep
}

// unreachableLine is the one line conform says about an app it cannot reach.
func unreachableLine(e *conformance.UnreachableError) string {
	s := fmt.Sprintf("%s (%s %s), so no case ran", e.Problem, conformFlagOf[e.Endpoint], e.URL)
	if e.Hint != "" {
		s += " — " + e.Hint
	}
	return s
}

func anyInterrupted(results []conformance.Result) bool {
	for _, r := range results {
		if r.Interrupted {
			return true
		}
	}
	return false
}

// worstOf is each case's worst result over the repetitions, in ID order,
// its reason saying which repetition it came from and how many others
// shared it.
func worstOf(reps []repetition) []conformance.Result {
	var out []conformance.Result
	index := map[string]int{}
	which := map[string]int{}
	count := map[string]int{}
	for _, rep := range reps {
		for _, r := range rep.Results {
			i, seen := index[r.ID]
			switch {
			case !seen:
				index[r.ID] = len(out)
				out = append(out, r)
				which[r.ID], count[r.ID] = rep.N, 1
			case r.Status.WorseThan(out[i].Status):
				out[i] = r
				which[r.ID], count[r.ID] = rep.N, 1
			case r.Status == out[i].Status:
				count[r.ID]++
				out[i].Duration = max(out[i].Duration, r.Duration)
			}
		}
	}
	for i, r := range out {
		if r.Status == conformance.Pass {
			continue
		}
		rest := strings.TrimPrefix(r.Reason, r.ID+": ")
		out[i].Reason = fmt.Sprintf("%s: %s in %d of %d repetitions (shown: repetition %d): %s", r.ID, strings.ToUpper(string(r.Status)), count[r.ID], len(reps), which[r.ID], rest)
	}
	return out
}

// printConformance prints the table of verdicts, the reason (and
// journal) of each that is not a pass, and the verdict of the run.
func printConformance(w io.Writer, rep conformReport, took time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCASE\tVERDICT\tTIME\tCHECK")
	counts := map[conformance.Status]int{}
	for _, r := range rep.Results {
		counts[r.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, strings.ToUpper(string(r.Status)), r.Duration.Round(time.Millisecond), r.Title)
	}
	tw.Flush()
	for _, r := range rep.Results {
		printFinding(w, r)
	}
	if len(rep.Repetitions) > 1 {
		fmt.Fprintln(w, "\n"+repetitionsLine(rep.Repetitions))
	}
	verdict := "PASS"
	switch {
	case rep.Interrupted:
		verdict = "INTERRUPTED"
	case !rep.Passed:
		verdict = "FAIL"
	}
	line := fmt.Sprintf("\n%s: %d pass, %d fail, %d non-strict, %d info, %d skipped in %s", verdict,
		counts[conformance.Pass], counts[conformance.Fail], counts[conformance.NonStrict], counts[conformance.Info], counts[conformance.Skip], took.Round(time.Millisecond))
	if rep.Interrupted {
		line += ": no verdict on the app"
	}
	fmt.Fprintln(w, line)
}

// printFinding prints the reason of a result that is neither a pass nor
// a skip, and the journal of a failure (or non-strict).
func printFinding(w io.Writer, r conformance.Result) {
	if r.Status == conformance.Pass || r.Status == conformance.Skip || r.Reason == "" {
		return
	}
	fmt.Fprintf(w, "\n--- %s %s: %s\n", strings.ToUpper(string(r.Status)), r.ID, r.Title)
	for _, line := range strings.Split(strings.TrimRight(r.Reason, "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", line)
	}
	if r.Journal != "" && r.Status != conformance.Info {
		fmt.Fprintln(w, "  journal:")
		for _, line := range strings.Split(strings.TrimRight(r.Journal, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

// repetitionsLine says how many repetitions failed, and which.
func repetitionsLine(reps []repetition) string {
	var failed []string
	for _, r := range reps {
		if !r.Passed {
			failed = append(failed, strconv.Itoa(r.N))
		}
	}
	if len(failed) == 0 {
		return fmt.Sprintf("%d repetitions, all passed", len(reps))
	}
	return fmt.Sprintf("%d repetitions, %d failed (repetition %s)", len(reps), len(failed), strings.Join(failed, ", "))
}

// writeConformanceJUnit writes one testcase per case (per repetition with
// --repeat), a testsuite per group; fail (and non-strict unless lenient)
// become failures, skip and info are skipped with their reason, so CI
// shows them without failing. An app that could not be reached is one
// failed testcase.
func writeConformanceJUnit(w io.Writer, rep conformReport, took time.Duration) error {
	var suites []junit.Suite
	if rep.Unreachable != "" {
		s := junit.Suite{Name: "conformance.preflight"}
		s.Add(junit.Case{Name: "the app can be reached", Classname: "conformance.preflight",
			Failure: &junit.Message{Message: rep.Unreachable, Type: "unreachable", Text: rep.Unreachable}}, took)
		return junit.Write(w, "bwemu conformance", took, []junit.Suite{s})
	}
	index := map[string]int{}
	add := func(r conformance.Result, suffix string) {
		i, ok := index[r.Group]
		if !ok {
			i = len(suites)
			index[r.Group] = i
			suites = append(suites, junit.Suite{Name: "conformance." + r.Group})
		}
		c := junit.Case{Name: r.ID + " " + r.Title + suffix, Classname: "conformance." + r.Group, Started: r.Start}
		switch {
		case !r.Status.Passing(rep.Lenient):
			c.Failure = &junit.Message{Message: firstLine(r.Reason), Type: string(r.Status), Text: r.Reason + "\n\njournal:\n" + r.Journal}
		case r.Status == conformance.Skip || r.Status == conformance.Info:
			c.Skipped = &junit.Message{Message: string(r.Status) + ": " + firstLine(r.Reason)}
		case r.Status == conformance.NonStrict:
			c.SystemOut = "non-strict (lenient): " + r.Reason
		}
		suites[i].Add(c, r.Duration)
	}
	if len(rep.Repetitions) > 1 {
		for _, x := range rep.Repetitions {
			for _, r := range x.Results {
				add(r, fmt.Sprintf(" (repetition %d)", x.N))
			}
		}
	} else {
		for _, r := range rep.Results {
			add(r, "")
		}
	}
	return junit.Write(w, "bwemu conformance", took, suites)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}

// writeConformanceJSON writes the report as indented JSON.
func writeConformanceJSON(w io.Writer, rep conformReport) error {
	return reportjson.Write(w, rep)
}

// writeConformanceHTML writes the report as one HTML page, failures
// first: each case's verdict and reason and a sequence diagram of each of
// its calls, the failure drawn by the stream its journal names. With
// --repeat, each case is shown by its worst repetition, as in the table.
func writeConformanceHTML(w io.Writer, rep conformReport, subtitle, dir string) error {
	outcome := "PASS"
	switch {
	case rep.Interrupted:
		outcome = "INTERRUPTED"
	case !rep.Passed:
		outcome = "FAIL"
	}
	r := htmlreport.Report{Title: "bwemu conform", Subtitle: subtitle, Outcome: outcome, Dir: dir}
	counts := map[conformance.Status]int{}
	for _, res := range rep.Results {
		counts[res.Status]++
		r.Cases = append(r.Cases, conformanceCase(res))
	}
	for _, c := range []struct {
		label  string
		status conformance.Status
		v      htmlreport.Verdict
	}{{"pass", conformance.Pass, htmlreport.Pass}, {"fail", conformance.Fail, htmlreport.Fail}, {"non-strict", conformance.NonStrict, htmlreport.NonStrict},
		{"info", conformance.Info, htmlreport.Info}, {"skipped", conformance.Skip, htmlreport.Skip}} {
		r.Counts = append(r.Counts, htmlreport.Count{Label: c.label, N: counts[c.status], Verdict: c.v})
	}
	if rep.Unreachable != "" {
		r.Notes = append(r.Notes, "The app could not be reached: "+rep.Unreachable)
	}
	if rep.Interrupted {
		r.Notes = append(r.Notes, "The run was interrupted before it finished: it gives no verdict on the app.")
	}
	if len(rep.Repetitions) > 1 {
		r.Notes = append(r.Notes, repetitionsLine(rep.Repetitions)+"; each case is shown by its worst repetition.")
	}
	return htmlreport.Write(w, r)
}

// conformanceCase is a case as the HTML report shows it: a failing or
// non-strict case's reason (and the emulator's record of it) is its
// finding, drawn in its diagram; any other case's reason is what it
// measured.
func conformanceCase(r conformance.Result) htmlreport.Case {
	c := htmlreport.Case{Name: r.ID + " " + r.Title, Where: r.Group, Duration: r.Duration, Journal: r.Entries}
	switch r.Status {
	case conformance.Pass:
		c.Verdict = htmlreport.Pass
	case conformance.Fail:
		c.Verdict = htmlreport.Fail
	case conformance.NonStrict:
		c.Verdict = htmlreport.NonStrict
	case conformance.Info:
		c.Verdict = htmlreport.Info
	default:
		c.Verdict = htmlreport.Skip
	}
	if r.Interrupted {
		c.Verdict = htmlreport.Interrupted
	}
	if r.Status != conformance.Fail && r.Status != conformance.NonStrict {
		c.Reason = r.Reason
		return c
	}
	f := htmlreport.Finding{Expectation: "case " + r.ID + " " + string(r.Status), Message: r.Reason, StreamID: r.StreamID}
	if r.Journal != "" {
		f.Message += "\n\n" + r.Journal
	}
	c.Findings = []htmlreport.Finding{f}
	return c
}
