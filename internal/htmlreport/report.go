package htmlreport

import (
	"fmt"
	"html/template"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// Verdict is a case's outcome as the page shows it.
type Verdict string

// The verdicts of scenarios (pass, fail, error, skip, interrupted) and of
// conformance cases (pass, fail, non-strict, info, skip).
const (
	Pass        Verdict = "pass"
	Fail        Verdict = "fail"
	Error       Verdict = "error"
	NonStrict   Verdict = "non-strict"
	Info        Verdict = "info"
	Skip        Verdict = "skip"
	Interrupted Verdict = "interrupted"
)

// rank orders the cases on the page: what failed first, since that is
// what the reader opened the report for; everything else keeps its order.
func (v Verdict) rank() int {
	switch v {
	case Fail, Error:
		return 0
	case NonStrict:
		return 1
	case Interrupted:
		return 2
	}
	return 3
}

// failing says the case is shown open, its diagram at once.
func (v Verdict) failing() bool { return v.rank() < 2 }

// Report is one page.
type Report struct {
	// Title heads the page ("bwemu run"); Subtitle says what ran where.
	Title, Subtitle string
	// Outcome is the run's verdict in a word (PASS, FAIL, INTERRUPTED).
	Outcome string
	// Counts are the totals shown under the title, in order.
	Counts []Count
	// Notes are said in a banner above the cases (an app that could not
	// be reached, an interrupted run).
	Notes []string
	// Cases are the scenarios or conformance cases, in run order; the
	// page puts the failures first.
	Cases []Case
	// Dir is the directory the page is written to: links to recordings
	// and journal files are made relative to it, so the page and the
	// files can be moved together. Empty: the working directory.
	Dir string
}

// Count is one total of the run ("3 passed").
type Count struct {
	Label   string
	N       int
	Verdict Verdict
}

// Case is one scenario (or repetition of one) or conformance case.
type Case struct {
	// Name is the scenario's name or the case's number and title.
	Name string
	// Where is the scenario's FILE:LINE:COL, or the case's group.
	Where    string
	Verdict  Verdict
	Duration time.Duration
	// Reason is a conformance case's reason, or why a scenario broke or
	// was interrupted.
	Reason   string
	Findings []Finding
	// Advice is what the app does that fails nothing but deserves a look
	// (a scenario's warnings on the app's BXML).
	Advice []string
	// Journal is every entry the case's emulators recorded; the diagrams
	// are drawn from it.
	Journal []emulator.Entry
	// Streams are the case's streams and their results, for recordings
	// and media figures the journal does not hold (lateness).
	Streams []Stream
	// JournalFile is the case's JSON Lines journal, if one was written.
	JournalFile string
}

// Finding is one expectation that did not hold.
type Finding struct {
	// Expectation names it (expect.stopped, or a case's number).
	Expectation string
	// Pos is where it is written (FILE:LINE:COL), if anywhere.
	Pos     string
	Message string
	// StreamID is the stream it is about, "" when it is about the call
	// or unknown: the diagram then places it as best it can.
	StreamID string
}

// Stream is one stream of a case.
type Stream struct {
	ID, Name string
	Result   *emulator.StreamResult
}

// Write writes r as one HTML page.
func Write(w io.Writer, r Report) error {
	return page.Execute(w, newPageView(r))
}

// pageView is what the template lays out, every decision already made.
type pageView struct {
	Title, Subtitle, Outcome string
	OutcomeClass             string
	Counts                   []countView
	Notes                    []string
	Cases                    []caseView
	Style                    template.CSS
}

type countView struct {
	Label string
	N     int
	Class string
}

type caseView struct {
	Anchor, Name, Where, Label, Class, Duration, Reason string
	Open                                                bool
	Findings                                            []findingView
	Advice                                              []string
	Diagrams                                            []*diagram
	Recordings                                          []recordingView
	JournalLink, JournalFile                            string
	Journal                                             []journalRow
	JournalCut                                          int
}

// findingView is a failure as the case shows it: the message's headline,
// and the record after it folded away (it can run long: every webhook's
// body).
type findingView struct {
	Expectation, Pos, Headline, Rest string
	RestLines                        int
}

type recordingView struct {
	Stream, Heard, Said, HeardLink, SaidLink, Error string
}

type journalRow struct {
	At, Kind, By, Stream, Message string
	Class                         string
}

// maxJournalRows bounds the journal table of a case: beyond it the page
// grows without helping, and the journal file holds everything.
const maxJournalRows = 400

func newPageView(r Report) pageView {
	v := pageView{Title: r.Title, Subtitle: r.Subtitle, Outcome: r.Outcome, Notes: r.Notes, Style: pageStyle}
	v.OutcomeClass = outcomeClass(r.Outcome)
	for _, c := range r.Counts {
		v.Counts = append(v.Counts, countView{Label: c.Label, N: c.N, Class: verdictClass(c.Verdict)})
	}
	order := make([]int, len(r.Cases))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return r.Cases[a].Verdict.rank() - r.Cases[b].Verdict.rank() })
	for n, i := range order {
		v.Cases = append(v.Cases, newCaseView(r.Cases[i], n+1, r.Dir))
	}
	return v
}

func newCaseView(c Case, n int, dir string) caseView {
	v := caseView{Anchor: fmt.Sprintf("case-%d", n), Name: c.Name, Where: c.Where, Label: strings.ToUpper(string(c.Verdict)),
		Class: verdictClass(c.Verdict), Reason: c.Reason, Advice: c.Advice, Open: c.Verdict.failing()}
	for _, f := range c.Findings {
		headline, rest, _ := strings.Cut(strings.TrimSpace(f.Message), "\n")
		rest = strings.TrimRight(rest, "\n ")
		fv := findingView{Expectation: f.Expectation, Pos: f.Pos, Headline: headline, Rest: rest}
		if rest != "" {
			fv.RestLines = strings.Count(rest, "\n") + 1
		}
		v.Findings = append(v.Findings, fv)
	}
	if c.Duration > 0 {
		v.Duration = roundDuration(c.Duration)
	}
	v.Diagrams = buildDiagrams(c)
	for _, s := range c.Streams {
		if s.Result == nil || s.Result.Recording == nil {
			continue
		}
		rec := s.Result.Recording
		rv := recordingView{Stream: s.Name, Heard: rec.HeardFile, Said: rec.SaidFile, Error: rec.Error,
			HeardLink: relLink(dir, rec.HeardFile), SaidLink: relLink(dir, rec.SaidFile)}
		if rv.Heard != "" || rv.Error != "" {
			v.Recordings = append(v.Recordings, rv)
		}
	}
	if c.JournalFile != "" {
		v.JournalFile, v.JournalLink = c.JournalFile, relLink(dir, c.JournalFile)
	}
	entries := c.Journal
	if len(entries) > maxJournalRows {
		v.JournalCut = len(entries) - maxJournalRows
		entries = entries[:maxJournalRows]
	}
	var t0 time.Time
	if len(c.Journal) > 0 {
		t0 = c.Journal[0].Time
	}
	for _, e := range entries {
		row := journalRow{At: offset(e.Time, t0), Kind: string(e.Kind), By: string(e.By), Stream: e.StreamName, Message: e.Message}
		if bad(e) {
			row.Class = "bad"
		}
		v.Journal = append(v.Journal, row)
	}
	return v
}

func verdictClass(v Verdict) string {
	switch v {
	case Fail, Error:
		return "fail"
	case NonStrict, Interrupted:
		return "warn"
	case Pass:
		return "pass"
	}
	return "muted"
}

func outcomeClass(outcome string) string {
	switch strings.ToUpper(outcome) {
	case "PASS":
		return "pass"
	case "FAIL":
		return "fail"
	}
	return "warn"
}

// relLink is a link to path (as a report names it: absolute, or relative
// to the working directory) from a page in dir, each segment escaped. It
// starts with ./ or ../ so no segment can pass for a URL scheme.
func relLink(dir, path string) string {
	if path == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	if dir == "" {
		dir = "."
	}
	base, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return ""
	}
	segs := strings.Split(filepath.ToSlash(rel), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	link := strings.Join(segs, "/")
	if !strings.HasPrefix(link, "../") {
		link = "./" + link
	}
	return link
}

// offset is t after t0 for the page: milliseconds to a tenth, seconds past
// ten of them.
func offset(t, t0 time.Time) string {
	if t.IsZero() || t0.IsZero() {
		return ""
	}
	d := t.Sub(t0)
	if d < 10*time.Second {
		return fmt.Sprintf("+%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("+%.2f s", d.Seconds())
}

// roundDuration shows a duration to the millisecond (to the tenth below one).
func roundDuration(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
