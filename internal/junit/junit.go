// Package junit writes the JUnit XML that CI systems render: testsuites,
// a testsuite per group, a testcase per check, with failure, error and
// skipped elements. bwemu run and bwemu conform both report through it.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// Counts are the totals a suite and the whole document carry.
type Counts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

// Suites is the document root.
type Suites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	Counts
	Suites []Suite `xml:"testsuite"`
}

// Suite is one group of cases.
type Suite struct {
	Name string `xml:"name,attr"`
	Counts
	Timestamp string `xml:"timestamp,attr,omitempty"`
	Cases     []Case `xml:"testcase"`
	took      time.Duration
	// first and last bound the cases that said when they started: the
	// suite's time is then wall-clock, not the sum of cases run in
	// parallel.
	first, last time.Time
}

// Case is one check. At most one of Failure, Error and Skipped is set.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	File      string   `xml:"file,attr,omitempty"`
	Line      int      `xml:"line,attr,omitempty"`
	Time      string   `xml:"time,attr"`
	Failure   *Message `xml:"failure"`
	Error     *Message `xml:"error"`
	Skipped   *Message `xml:"skipped"`
	SystemOut string   `xml:"system-out,omitempty"`
	// Started is when the case began, if known.
	Started time.Time `xml:"-"`
}

// Message is the body of a failure, error or skipped element.
type Message struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Seconds formats a duration as JUnit's time attribute.
func Seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// Add appends a case that took d to the suite, keeping the counts. The
// suite's time is the wall-clock span of its cases when they say when
// they started (Case.Started), otherwise the sum of their times.
func (s *Suite) Add(c Case, d time.Duration) {
	c.Time = Seconds(d)
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	case c.Skipped != nil:
		s.Skipped++
	}
	s.took += d
	s.Time = Seconds(s.took)
	if !c.Started.IsZero() {
		if s.first.IsZero() || c.Started.Before(s.first) {
			s.first = c.Started
		}
		if end := c.Started.Add(d); end.After(s.last) {
			s.last = end
		}
		s.Time = Seconds(s.last.Sub(s.first))
	}
	s.Cases = append(s.Cases, c)
}

// Write totals the suites and writes the document.
func Write(w io.Writer, name string, took time.Duration, suites []Suite) error {
	doc := Suites{Name: name, Counts: Counts{Time: Seconds(took)}, Suites: suites}
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
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
