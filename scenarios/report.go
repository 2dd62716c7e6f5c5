package scenarios

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary counts results by status.
type Summary struct {
	Total    int           `json:"total"`
	Passed   int           `json:"passed"`
	Failed   int           `json:"failed"`
	Errors   int           `json:"errors"`
	Skipped  int           `json:"skipped"`
	Duration time.Duration `json:"durationNs"`
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
		default:
			s.Skipped++
		}
	}
	return s
}

// OK reports whether nothing failed or broke.
func (s Summary) OK() bool { return s.Failed == 0 && s.Errors == 0 }

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

// The JUnit XML shape CI systems render: one testsuite per file, one
// testcase per scenario.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the results as JUnit XML.
func WriteJUnit(w io.Writer, results []*Result, took time.Duration, started time.Time) error {
	sum := Summarize(results, took)
	doc := junitSuites{Name: "bwemu", Tests: sum.Total, Failures: sum.Failed, Errors: sum.Errors, Skipped: sum.Skipped, Time: seconds(took)}
	index := map[string]int{}
	var suiteTook []time.Duration // per suite
	for _, r := range results {
		i, ok := index[r.File]
		if !ok {
			i = len(doc.Suites)
			index[r.File] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: r.File, Timestamp: started.UTC().Format(time.RFC3339)})
			suiteTook = append(suiteTook, 0)
		}
		s := &doc.Suites[i]
		c := junitCase{Name: r.Name, Classname: r.File, File: r.File, Time: seconds(r.Duration)}
		if r.Scenario != nil {
			c.Line = r.Scenario.Pos.Line
		}
		s.Tests++
		switch r.Status {
		case Failed:
			s.Failures++
			var text strings.Builder
			for _, f := range r.Failures {
				fmt.Fprintf(&text, "%s%s\n%s\n", prefixPos(f.Pos), f.Expectation, f.Message)
				if f.showExcerpt() {
					fmt.Fprintf(&text, "\njournal:\n%s\n", f.Excerpt)
				}
				text.WriteString("\n")
			}
			c.Failure = &junitMessage{Message: r.Failures[0].summary(), Type: "expectation", Text: text.String()}
		case Errored:
			s.Errors++
			c.Error = &junitMessage{Message: r.Error, Type: "error", Text: r.Error}
		case Skipped:
			s.Skipped++
			c.Skipped = &junitMessage{Message: "not run"}
		}
		if r.JournalFile != "" {
			c.SystemOut = "journal: " + r.JournalFile
		}
		suiteTook[i] += r.Duration
		s.Time = seconds(suiteTook[i])
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// showExcerpt says whether a report should print the journal excerpt: the
// suite's stream matchers already end their message with the stream's
// journal, and printing it twice only buries the account.
func (f Failure) showExcerpt() bool {
	return f.Excerpt != "" && !strings.Contains(f.Message, "journal of stream")
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
	if r.Error != "" {
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
