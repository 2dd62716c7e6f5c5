package scenarios

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/junit"
	"github.com/bwemu/bwemu/internal/reportjson"
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
	return reportjson.Write(w, struct {
		Summary Summary   `json:"summary"`
		Results []*Result `json:"results"`
	}{Summarize(results, took), results})
}

// WriteJUnit writes the results as JUnit XML: a testsuite per file, a
// testcase per scenario, the failure's account and journal in its text
// (and the files of the streams recorded). A case's system-out names its
// journal file, each turn of the caller with the app's response latency,
// and the recordings.
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
		c := junit.Case{Name: r.Label(), Classname: r.File, File: r.File, Started: r.Start}
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
			text.WriteString(recordingsBlock(r, ""))
			c.Failure = &junit.Message{Message: r.Failures[0].summary(), Type: "expectation", Text: text.String()}
		case Errored:
			text := r.Error
			if rec := recordingsBlock(r, ""); rec != "" {
				text += "\n\n" + rec
			}
			c.Error = &junit.Message{Message: r.Error, Type: "error", Text: text}
		case Interrupted:
			// No verdict: the run was interrupted (not a fault of the app).
			c.Error = &junit.Message{Message: "interrupted", Type: "interrupted", Text: r.Error}
		case Skipped:
			c.Skipped = &junit.Message{Message: "not run"}
		}
		c.SystemOut = systemOut(r)
		suites[i].Add(c, r.Duration)
	}
	return junit.Write(w, "bwemu", took, suites)
}

// systemOut is what a JUnit case says of its run besides the verdict: the
// journal file, the turns and the recordings, a line each.
func systemOut(r *Result) string {
	var lines []string
	if r.JournalFile != "" {
		lines = append(lines, "journal: "+r.JournalFile)
	}
	for _, a := range r.Advice {
		lines = append(lines, "advice: "+a)
	}
	lines = append(lines, turnLines(r)...)
	lines = append(lines, recordingLines(r)...)
	return strings.Join(lines, "\n")
}

// turnLines describe each turn of the caller (say: steps) on each stream
// and how the app answered it, e.g. `stream "agent" turn 1: replied after
// 240ms, played 1s`.
func turnLines(r *Result) []string {
	var out []string
	for _, sr := range r.Streams {
		if sr.Result == nil {
			continue
		}
		oneWay := sr.stream != nil && sr.stream.Spec().Mode != protocol.ModeBidirectional
		for i, t := range sr.Result.Turns {
			line := fmt.Sprintf("stream %q turn %d: ", sr.Name, i+1)
			if oneWay {
				out = append(out, line+fmt.Sprintf("the caller spoke %s–%s (a unidirectional stream carries no reply)", roundMs(t.SpeechStart), roundMs(t.SpeechEnd)))
				continue
			}
			if t.Replied {
				line += fmt.Sprintf("replied after %s, played %s", roundMs(t.Latency), roundMs(t.Played))
			} else {
				line += fmt.Sprintf("no reply in the %s the caller listened", roundMs(t.Listened))
			}
			switch {
			case t.BargeIn && t.Stopped:
				line += fmt.Sprintf("; the caller interrupted the app, which stopped after %s", roundMs(t.StoppedAfter))
			case t.BargeIn:
				line += "; the caller interrupted the app, which talked on"
			}
			out = append(out, line)
		}
	}
	return out
}

// recordingLines name the files of each stream recorded (record:), or
// why they could not be written.
func recordingLines(r *Result) []string {
	var out []string
	for _, sr := range r.Streams {
		if sr.Result == nil || sr.Result.Recording == nil {
			continue
		}
		switch rec := sr.Result.Recording; {
		case rec.Error != "":
			out = append(out, fmt.Sprintf("stream %q was not recorded to files: %s", sr.Name, rec.Error))
		case rec.HeardFile != "":
			out = append(out, fmt.Sprintf("stream %q recorded: heard %s, said %s", sr.Name, rec.HeardFile, rec.SaidFile))
		}
	}
	return out
}

// recordingsBlock is the recordings of a result for a failure's account,
// each line after indent; "" when nothing was recorded to files.
func recordingsBlock(r *Result, indent string) string {
	lines := recordingLines(r)
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("recordings (what the caller heard and said):\n")
	for _, l := range lines {
		b.WriteString(indent + "  " + l + "\n")
	}
	return b.String()
}

func roundMs(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

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
// terminals: each failed expectation, what was seen and the journal, then
// the files of the streams recorded, to listen to.
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
	for _, a := range r.Advice {
		fmt.Fprintf(&b, "advice: %s\n", a)
	}
	if r.Status == Failed || r.Status == Errored {
		b.WriteString(recordingsBlock(r, "  "))
	}
	return b.String()
}
