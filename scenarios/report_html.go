package scenarios

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bwemu/bwemu/internal/htmlreport"
)

// HTMLOptions say what the HTML report says of the run besides its
// results, and where it is written.
type HTMLOptions struct {
	// Dir is the directory the page is written to: links to recordings
	// and journal files are relative to it. Empty: the working directory.
	Dir string
	// Started is when the run began (zero: not said).
	Started time.Time
	// Interrupted says the run was cut short: it gives no verdict.
	Interrupted bool
}

// WriteHTML writes the results as one self-contained HTML page, failures
// first: each scenario's verdict, its failed expectations, the links to
// its recordings and, for each call, a sequence diagram of its journal
// with each failure drawn next to the event it is about.
func WriteHTML(w io.Writer, results []*Result, took time.Duration, o HTMLOptions) error {
	s := Summarize(results, took)
	outcome := "PASS"
	switch {
	case o.Interrupted:
		outcome = "INTERRUPTED"
	case !s.OK():
		outcome = "FAIL"
	}
	r := htmlreport.Report{Title: "bwemu run", Subtitle: runSubtitle(results, took, o.Started), Outcome: outcome, Dir: o.Dir,
		Counts: []htmlreport.Count{{Label: "passed", N: s.Passed, Verdict: htmlreport.Pass}, {Label: "failed", N: s.Failed, Verdict: htmlreport.Fail},
			{Label: "errors", N: s.Errors, Verdict: htmlreport.Error}, {Label: "skipped", N: s.Skipped, Verdict: htmlreport.Skip}}}
	if o.Interrupted || s.Interrupted > 0 {
		r.Counts = append(r.Counts, htmlreport.Count{Label: "interrupted", N: s.Interrupted, Verdict: htmlreport.Interrupted})
		r.Notes = append(r.Notes, "The run was interrupted before it finished: it gives no verdict on the app.")
	}
	for _, res := range results {
		r.Cases = append(r.Cases, htmlCase(res))
	}
	return htmlreport.Write(w, r)
}

// runSubtitle names the files run, when and for how long.
func runSubtitle(results []*Result, took time.Duration, started time.Time) string {
	var files []string
	for _, r := range results {
		if !slices.Contains(files, r.File) {
			files = append(files, r.File)
		}
	}
	parts := []string{strings.Join(files, ", ")}
	if !started.IsZero() {
		parts = append(parts, started.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	parts = append(parts, fmt.Sprintf("took %s", took.Round(time.Millisecond)))
	return strings.Join(parts, " · ")
}

func htmlCase(r *Result) htmlreport.Case {
	c := htmlreport.Case{Name: r.Label(), Where: r.Pos, Verdict: htmlVerdict(r.Status), Duration: r.Duration,
		Reason: r.Error, Advice: r.Advice, Journal: r.Journal, JournalFile: r.JournalFile}
	for _, f := range r.Failures {
		c.Findings = append(c.Findings, htmlreport.Finding{Expectation: f.Expectation, Pos: f.Pos, Message: f.Message, StreamID: f.StreamID})
	}
	for _, s := range r.Streams {
		c.Streams = append(c.Streams, htmlreport.Stream{ID: s.ID, Name: s.Name, Result: s.Result})
	}
	return c
}

func htmlVerdict(s Status) htmlreport.Verdict {
	switch s {
	case Passed:
		return htmlreport.Pass
	case Failed:
		return htmlreport.Fail
	case Errored:
		return htmlreport.Error
	case Interrupted:
		return htmlreport.Interrupted
	}
	return htmlreport.Skip
}
