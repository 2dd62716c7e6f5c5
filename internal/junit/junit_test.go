package junit

import (
	"bytes"
	"encoding/xml"
	"testing"
	"time"
)

func TestWriteCountsAndEscapes(t *testing.T) {
	var s Suite
	s.Name = "file.yaml"
	s.Add(Case{Name: "ok"}, time.Second)
	s.Add(Case{Name: "bad <&>", Failure: &Message{Message: "expect.stopped: ]]>", Text: "journal\x00"}}, 2*time.Second)
	s.Add(Case{Name: "skipped", Skipped: &Message{Message: "not run"}}, 0)
	var buf bytes.Buffer
	if err := Write(&buf, "bwemu", 3*time.Second, []Suite{s}); err != nil {
		t.Fatal(err)
	}
	var back Suites
	if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if back.Tests != 3 || back.Failures != 1 || back.Skipped != 1 || back.Time != "3.000" {
		t.Fatalf("totals %+v", back)
	}
	if got := back.Suites[0]; got.Time != "3.000" || got.Cases[1].Name != "bad <&>" || got.Cases[1].Failure.Message != "expect.stopped: ]]>" {
		t.Fatalf("suite %+v", got)
	}
}

// A suite of cases run in parallel took the wall-clock span of its cases,
// not their sum.
func TestSuiteTimeIsWallClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s Suite
	s.Add(Case{Name: "a", Started: t0}, 2*time.Second)
	s.Add(Case{Name: "b", Started: t0.Add(500 * time.Millisecond)}, 2*time.Second)
	s.Add(Case{Name: "c", Started: t0.Add(time.Second)}, time.Second)
	if s.Time != "2.500" {
		t.Errorf("suite time = %s, want 2.500 (the span, not the 5 s sum)", s.Time)
	}
	var unknown Suite
	unknown.Add(Case{Name: "a"}, time.Second)
	unknown.Add(Case{Name: "b"}, time.Second)
	if unknown.Time != "2.000" {
		t.Errorf("suite time without start times = %s, want the sum 2.000", unknown.Time)
	}
}
