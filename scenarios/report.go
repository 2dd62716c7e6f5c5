package scenarios

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bwemu/bwemu/internal/junit"
)

// Summary counts results by status.
type Summary struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Errors  int `json:"errors"`
	Skipped int `json:"skipped"`
	// Interrupted counts the scenarios an interrupt cut short or kept
	// from starting: they have no verdict.
	Interrupted int           `json:"interrupted"`
	Duration    time.Duration `json:"durationNs"`
}

// Summarize counts results.
func Summarize(results []*Result, took time.Duration) Summary {
	s := Summary{Total: len(results), Duration: took}
	for _, r := range results {
		switch r.Status {
		case Passed:
			s.Passed++
		case Failed:
			s.Failed++
		case Errored:
			s.Errors++
		case Interrupted:
			s.Interrupted++
		default:
			s.Skipped++
		}
	}
	return s
}

// OK reports whether nothing failed, broke or was interrupted.
func (s Summary) OK() bool { return s.Failed == 0 && s.Errors == 0 && s.Interrupted == 0 }

// WriteJSON writes the JSON report: the summary, then every result with its
// failures, streams and webhook exchanges.
func WriteJSON(w io.Writer, results []*Result, took time.Duration) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Summary Summary   `json:"summary"`
		Results []*Result `json:"results"`
	}{Summarize(results, took), results})
}

// WriteJUnit writes the results as JUnit XML: a testsuite per file, a
// testcase per scenario, the failure's account and journal in its text.
func WriteJUnit(w io.Writer, results []*Result, took time.Duration, started time.Time) error {
	var suites []junit.Suite
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.File]
		if !ok {
			i = len(suites)
			index[r.File] = i
			suites = append(suites, junit.Suite{Name: r.File, Timestamp: started.UTC().Format(time.RFC3339)})
		}
		c := junit.Case{Name: r.Label(), Classname: r.File, File: r.File}
		if r.Scenario != nil {
			c.Line = r.Scenario.Pos.Line
		}
		switch r.Status {
		case Failed:
			var text strings.Builder
			for _, f := range r.Failures {
				fmt.Fprintf(&text, "%s%s\n%s\n", prefixPos(f.Pos), f.Expectation, f.Message)
				if f.showExcerpt() {
					fmt.Fprintf(&text, "\njournal:\n%s\n", f.Excerpt)
				}
				text.WriteString("\n")
			}
			c.Failure = &junit.Message{Message: r.Failures[0].summary(), Type: "expectation", Text: text.String()}
		case Errored:
			c.Error = &junit.Message{Message: r.Error, Type: "error", Text: r.Error}
		case Interrupted:
			// No verdict: the run was interrupted (not a fault of the app).
			c.Error = &junit.Message{Message: "interrupted", Type: "interrupted", Text: r.Error}
		case Skipped:
			c.Skipped = &junit.Message{Message: "not run"}
		}
		if r.JournalFile != "" {
			c.SystemOut = "journal: " + r.JournalFile
		}
		suites[i].Add(c, r.Duration)
	}
	return junit.Write(w, "bwemu", took, suites)
}

// showExcerpt says whether a report should print the journal excerpt:
// not when the message already ends with a journal, since printing it
// twice only buries the account.
func (f Failure) showExcerpt() bool {
	return f.Excerpt != "" && !f.JournalInMessage
}

func prefixPos(pos string) string {
	if pos == "" {
		return ""
	}
	return pos + ": "
}

// FailureText is the full account of a failed or broken result, for
// terminals: each failed expectation, what was seen and the journal.
func FailureText(r *Result) string {
	var b strings.Builder
	switch {
	case r.Status == Interrupted:
		fmt.Fprintf(&b, "%s\n", r.Error)
	case r.Error != "":
		fmt.Fprintf(&b, "error: %s\n", r.Error)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "%s%s\n", prefixPos(f.Pos), f.Expectation)
		for _, line := range strings.Split(strings.TrimRight(f.Message, "\n"), "\n") {
			fmt.Fprintf(&b, "    %s\n", line)
		}
		if f.showExcerpt() {
			b.WriteString("  journal around it:\n")
			for _, line := range strings.Split(strings.TrimRight(f.Excerpt, "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
	}
	return b.String()
}
