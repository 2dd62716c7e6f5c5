package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bwemu/bwemu/internal/junit"
	"github.com/bwemu/bwemu/suite/conformance"
)

const conformSynopsis = "bwemu conform --ws URL --events URL [--junit FILE] [--json FILE] [--event-user U --event-password P] [--ws-user U --ws-password P] [--bidirectional] [--only PATTERN] [--lenient] [--parallel N] [--ca FILE]"

// conformCommand runs the consumer conformance suite against an app; its
// flags and exit codes are a public interface.
func conformCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("conform", conformSynopsis, stderr)
	var t conformance.Target
	fs.StringVar(&t.WebSocket, "ws", "", "the app's WebSocket URL (ws:// or wss://); required")
	fs.StringVar(&t.Events, "events", "", "the app's webhook URL (http:// or https://); required")
	fs.StringVar(&t.WSUser, "ws-user", "", "destination credentials the app requires: user")
	fs.StringVar(&t.WSPassword, "ws-password", "", "destination credentials the app requires: password")
	fs.StringVar(&t.EventUser, "event-user", "", "webhook Basic credentials the app requires: user")
	fs.StringVar(&t.EventPassword, "event-password", "", "webhook Basic credentials the app requires: password")
	fs.BoolVar(&t.Bidirectional, "bidirectional", false, "the app plays audio back: run the 6.x cases")
	only := fs.String("only", "", "run only cases whose number or title matches this regular expression (e.g. '^5\\.')")
	var o conformance.Options
	fs.BoolVar(&o.Lenient, "lenient", false, "count non-strict verdicts (e.g. 200 instead of 204) as passing")
	fs.IntVar(&o.Parallel, "parallel", 4, "cases run at once")
	junit := fs.String("junit", "", "write a JUnit XML report to FILE")
	jsonOut := fs.String("json", "", "write a JSON report to FILE")
	caFile := fs.String("ca", "", "PEM file of a CA to trust for wss://")
	pos, code, ok := parseFlags(fs, conformSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	switch {
	case len(pos) > 0:
		return usageError(stderr, conformSynopsis, "unexpected argument %q", pos[0])
	case t.WebSocket == "" || t.Events == "":
		return usageError(stderr, conformSynopsis, "--ws and --events are required")
	case o.Parallel < 1:
		return usageError(stderr, conformSynopsis, "--parallel must be at least 1")
	}
	if err := checkURL(t.WebSocket, "ws", "wss"); err != nil {
		return usageError(stderr, conformSynopsis, "--ws: %v", err)
	}
	if err := checkURL(t.Events, "http", "https"); err != nil {
		return usageError(stderr, conformSynopsis, "--events: %v", err)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return usageError(stderr, conformSynopsis, "--only: %v", err)
		}
		o.Only = re
		if len(conformance.Selected(re)) == 0 {
			return usageError(stderr, conformSynopsis, "--only: no case matches %q", *only)
		}
	}
	if *caFile != "" {
		pool, err := loadCA(*caFile)
		if err != nil {
			return usageError(stderr, conformSynopsis, "--ca: %v", err)
		}
		t.TLSConfig = &tls.Config{RootCAs: pool}
	}
	junitFile, jsonFile, code, ok := createReports(stderr, conformSynopsis, *junit, *jsonOut)
	if !ok {
		return code
	}
	defer closeAll(junitFile, jsonFile)

	var mu sync.Mutex
	done := 0
	o.OnResult = func(r conformance.Result) {
		mu.Lock()
		defer mu.Unlock()
		done++
		fmt.Fprintf(stderr, "[%d] %-10s %s %s\n", done, strings.ToUpper(string(r.Status)), r.ID, r.Title)
	}
	started := time.Now()
	results, err := conformance.Run(ctx, t, o)
	took := time.Since(started)
	if err != nil {
		return usageError(stderr, conformSynopsis, "%v", err)
	}
	// An interrupted run did not pass, whatever the cases it finished say.
	passed := conformance.Passed(results, o.Lenient) && ctx.Err() == nil
	printConformance(stdout, results, took, passed)
	if junitFile != nil {
		if err := writeConformanceJUnit(junitFile, results, took, o.Lenient); err != nil {
			fmt.Fprintf(stderr, "bwemu: --junit: %v\n", err)
		}
	}
	if jsonFile != nil {
		enc := json.NewEncoder(jsonFile)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Passed  bool                 `json:"passed"`
			Lenient bool                 `json:"lenient"`
			Results []conformance.Result `json:"results"`
		}{passed, o.Lenient, results}); err != nil {
			fmt.Fprintf(stderr, "bwemu: --json: %v\n", err)
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitFail
	}
	if !passed {
		return exitFail
	}
	return exitPass
}

func printConformance(w io.Writer, results []conformance.Result, took time.Duration, passed bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCASE\tVERDICT\tTIME\tCHECK")
	counts := map[conformance.Status]int{}
	for _, r := range results {
		counts[r.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, strings.ToUpper(string(r.Status)), r.Duration.Round(time.Millisecond), r.Title)
	}
	tw.Flush()
	for _, r := range results {
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
	verdict := "PASS"
	if !passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s: %d pass, %d fail, %d non-strict, %d info, %d skipped in %s\n", verdict,
		counts[conformance.Pass], counts[conformance.Fail], counts[conformance.NonStrict], counts[conformance.Info], counts[conformance.Skip], took.Round(time.Millisecond))
}

// writeConformanceJUnit writes one testcase per case, a testsuite per
// group; fail (and non-strict unless lenient) become failures, skip and
// info are skipped with their reason, so CI shows them without failing.
func writeConformanceJUnit(w io.Writer, results []conformance.Result, took time.Duration, lenient bool) error {
	var suites []junit.Suite
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Group]
		if !ok {
			i = len(suites)
			index[r.Group] = i
			suites = append(suites, junit.Suite{Name: "conformance." + r.Group})
		}
		c := junit.Case{Name: r.ID + " " + r.Title, Classname: "conformance." + r.Group}
		switch {
		case !r.Status.Passing(lenient):
			c.Failure = &junit.Message{Message: firstLine(r.Reason), Type: string(r.Status), Text: r.Reason + "\n\njournal:\n" + r.Journal}
		case r.Status == conformance.Skip || r.Status == conformance.Info:
			c.Skipped = &junit.Message{Message: string(r.Status) + ": " + firstLine(r.Reason)}
		case r.Status == conformance.NonStrict:
			c.SystemOut = "non-strict (lenient): " + r.Reason
		}
		suites[i].Add(c, r.Duration)
	}
	return junit.Write(w, "bwemu conformance", took, suites)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}
