package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bwemu/bwemu/internal/junit"
	"github.com/bwemu/bwemu/suite/conformance"
)

const conformSynopsis = "bwemu conform --ws URL --events URL [--disconnect URL] [--event-method GET] [--disconnect-method GET] [--junit FILE] [--json FILE] [--event-user U --event-password P] [--ws-user U --ws-password P] [--bidirectional] [--only PATTERN] [--skip PATTERN] [--repeat N] [--lenient] [--parallel N] [--ca FILE] [--handshake-timeout D] [--write-timeout D] [--close-timeout D] [--callback-timeout D] [--dead-peer-timeout D]"

// conformFlagOf names the conform flag of a conformance.Target field.
var conformFlagOf = map[string]string{"WebSocket": "--ws", "Events": "--events", "Disconnect": "--disconnect"}

// conformCommand runs the consumer conformance suite against an app; its
// flags and exit codes are a public interface.
func conformCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("conform", conformSynopsis, stderr)
	var t conformance.Target
	fs.StringVar(&t.WebSocket, "ws", "", "the app's WebSocket URL (ws:// or wss://); required")
	fs.StringVar(&t.Events, "events", "", "the app's stream-event webhook URL, its streamEventUrl (http:// or https://); required")
	fs.StringVar(&t.Disconnect, "disconnect", "", "the app's disconnect webhook URL, the call's disconnectUrl; without it no disconnect is sent and 5.8 is INFO")
	eventMethod := newChoice("POST", "POST", "GET")
	fs.Var(eventMethod, "event-method", "the streamEventMethod the app's StartStream sets: POST or GET (GET runs 5.11)")
	disconnectMethod := newChoice("POST", "POST", "GET")
	fs.Var(disconnectMethod, "disconnect-method", "the call's disconnectMethod: POST or GET (GET runs 5.11 on disconnect; needs --disconnect)")
	fs.StringVar(&t.WSUser, "ws-user", "", "destination credentials the app requires: user")
	fs.StringVar(&t.WSPassword, "ws-password", "", "destination credentials the app requires: password")
	fs.StringVar(&t.EventUser, "event-user", "", "webhook Basic credentials the app requires: user")
	fs.StringVar(&t.EventPassword, "event-password", "", "webhook Basic credentials the app requires: password")
	fs.BoolVar(&t.Bidirectional, "bidirectional", false, "the app plays audio back: run the 6.x cases")
	only := fs.String("only", "", "run only cases whose number or title matches this regular expression (e.g. '^5\\.')")
	skip := fs.String("skip", "", "leave out cases whose number or title matches this regular expression (e.g. '^3\\.1$|^7\\.')")
	repeat := fs.Int("repeat", 1, "run the suite N times; any failing repetition fails the run")
	var o conformance.Options
	fs.BoolVar(&o.Lenient, "lenient", false, "count non-strict verdicts (e.g. 200 instead of 204) as passing")
	fs.IntVar(&o.Parallel, "parallel", 4, "cases run at once")
	junitPath := fs.String("junit", "", "write a JUnit XML report to FILE")
	jsonOut := fs.String("json", "", "write a JSON report to FILE")
	caFile := fs.String("ca", "", "PEM file of a CA to trust for wss:// and https://")
	def := conformance.DefaultTimeouts()
	fs.DurationVar(&o.Timeouts.Handshake, "handshake-timeout", def.Handshake, "bound on connect and WebSocket upgrade")
	fs.DurationVar(&o.Timeouts.Write, "write-timeout", def.Write, "bound on one frame write (an app that stops reading)")
	fs.DurationVar(&o.Timeouts.CloseHandshake, "close-timeout", def.CloseHandshake, "how long to wait for the app's close frame")
	fs.DurationVar(&o.Timeouts.Callback, "callback-timeout", def.Callback, fmt.Sprintf("the app's callbackTimeout (1s–25s on Bandwidth); each webhook gets the smaller of it and %s, the prompt bound", conformance.WebhookLatencyLimit))
	fs.DurationVar(&o.Timeouts.DeadPeer, "dead-peer-timeout", def.DeadPeer, "after a silent drop (4.4), how long until the stream is declared dead")
	pos, code, ok := parseFlags(fs, conformSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	t.EventMethod, t.DisconnectMethod = eventMethod.value, disconnectMethod.value
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case len(pos) > 0:
		return usageError(stderr, conformSynopsis, "unexpected argument %q", pos[0])
	case t.WebSocket == "" || t.Events == "":
		return usageError(stderr, conformSynopsis, "--ws and --events are required")
	case o.Parallel < 1:
		return usageError(stderr, conformSynopsis, "--parallel must be at least 1")
	case *repeat < 1:
		return usageError(stderr, conformSynopsis, "--repeat must be at least 1")
	case set["disconnect-method"] && t.Disconnect == "":
		return usageError(stderr, conformSynopsis, "--disconnect-method needs --disconnect (the URL the disconnect webhook goes to)")
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"handshake-timeout", o.Timeouts.Handshake}, {"write-timeout", o.Timeouts.Write}, {"close-timeout", o.Timeouts.CloseHandshake},
		{"callback-timeout", o.Timeouts.Callback}, {"dead-peer-timeout", o.Timeouts.DeadPeer}} {
		if f.d <= 0 {
			return usageError(stderr, conformSynopsis, "--%s must be positive, got %s", f.name, f.d)
		}
	}
	if err := checkURL(t.WebSocket, "ws", "wss"); err != nil {
		return usageError(stderr, conformSynopsis, "--ws: %v", err)
	}
	if err := checkURL(t.Events, "http", "https"); err != nil {
		return usageError(stderr, conformSynopsis, "--events: %v", err)
	}
	if t.Disconnect != "" {
		if err := checkURL(t.Disconnect, "http", "https"); err != nil {
			return usageError(stderr, conformSynopsis, "--disconnect: %v", err)
		}
	}
	for _, p := range []struct {
		flag string
		src  string
		dst  **regexp.Regexp
	}{{"--only", *only, &o.Only}, {"--skip", *skip, &o.Skip}} {
		if p.src == "" {
			continue
		}
		re, err := regexp.Compile(p.src)
		if err != nil {
			return usageError(stderr, conformSynopsis, "%s: %v", p.flag, err)
		}
		*p.dst = re
	}
	if len(conformance.Select(o.Only, nil)) == 0 {
		return usageError(stderr, conformSynopsis, "--only: no case matches %q", *only)
	}
	if len(conformance.Select(o.Only, o.Skip)) == 0 {
		return usageError(stderr, conformSynopsis, "--skip: %q leaves no case to run", *skip)
	}
	if *caFile != "" {
		pool, err := loadCA(*caFile)
		if err != nil {
			return usageError(stderr, conformSynopsis, "--ca: %v", err)
		}
		t.TLSConfig = &tls.Config{RootCAs: pool}
	}
	junitFile, jsonFile, code, ok := createReports(stderr, conformSynopsis, *junitPath, *jsonOut)
	if !ok {
		return code
	}
	defer closeAll(junitFile, jsonFile)

	started := time.Now()
	var reps []repetition
	var unreachable *conformance.UnreachableError
	for k := 1; k <= *repeat && (k == 1 || ctx.Err() == nil); k++ {
		if *repeat > 1 {
			fmt.Fprintf(stderr, "repetition %d of %d\n", k, *repeat)
		}
		var mu sync.Mutex
		done := 0
		o.OnResult = func(r conformance.Result) {
			mu.Lock()
			defer mu.Unlock()
			done++
			fmt.Fprintf(stderr, "[%d] %-10s %s %s\n", done, strings.ToUpper(string(r.Status)), r.ID, r.Title)
		}
		began := time.Now()
		results, err := conformance.Run(ctx, t, o)
		if errors.As(err, &unreachable) {
			break
		}
		if err != nil {
			return usageError(stderr, conformSynopsis, "%v", err)
		}
		reps = append(reps, repetition{N: k, Results: results, Took: time.Since(began),
			Passed: conformance.Passed(results, o.Lenient) && !anyInterrupted(results)})
	}
	took := time.Since(started)
	interrupted := ctx.Err() != nil

	rep := conformReport{Lenient: o.Lenient, Interrupted: interrupted}
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

	if unreachable != nil {
		fmt.Fprintf(stderr, "bwemu: %s\n", rep.Unreachable)
	} else {
		printConformance(stdout, rep, took)
	}
	if junitFile != nil {
		if err := writeConformanceJUnit(junitFile, rep, took); err != nil {
			fmt.Fprintf(stderr, "bwemu: --junit: %v\n", err)
		}
	}
	if jsonFile != nil {
		enc := json.NewEncoder(jsonFile)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "bwemu: --json: %v\n", err)
		}
	}
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitInterrupted
	case !rep.Passed:
		return exitFail
	}
	return exitPass
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

// statusRank orders verdicts from best to worst, for --repeat.
func statusRank(s conformance.Status) int {
	switch s {
	case conformance.Pass:
		return 0
	case conformance.Info:
		return 1
	case conformance.Skip:
		return 2
	case conformance.NonStrict:
		return 3
	case conformance.Fail:
		return 4
	}
	return -1
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
			case statusRank(r.Status) > statusRank(out[i].Status):
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
		id, rest, _ := strings.Cut(r.Reason, ": ")
		out[i].Reason = fmt.Sprintf("%s: %s in %d of %d repetitions (shown: repetition %d): %s", id, strings.ToUpper(string(r.Status)), count[r.ID], len(reps), which[r.ID], rest)
	}
	return out
}

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
		if r.Status == conformance.Pass || r.Status == conformance.Skip || r.Reason == "" {
			continue
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
	if len(rep.Repetitions) > 1 {
		var failed []string
		for _, r := range rep.Repetitions {
			if !r.Passed {
				failed = append(failed, strconv.Itoa(r.N))
			}
		}
		switch len(failed) {
		case 0:
			fmt.Fprintf(w, "\n%d repetitions, all passed\n", len(rep.Repetitions))
		default:
			fmt.Fprintf(w, "\n%d repetitions, %d failed (repetition %s)\n", len(rep.Repetitions), len(failed), strings.Join(failed, ", "))
		}
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
		c := junit.Case{Name: r.ID + " " + r.Title + suffix, Classname: "conformance." + r.Group}
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
