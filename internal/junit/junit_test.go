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
