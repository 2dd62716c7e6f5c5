package apptest

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// JUnit is a JUnit XML report as a CI system reads it, decoded without the
// writer's own types. Either root CI systems read is taken: <testsuites>
// with a <testsuite> per group, or a single <testsuite>.
type JUnit struct {
	XMLName xml.Name
	Name    string `xml:"name,attr"`
	JUnitCounts
	Suites []JUnitSuite `xml:"testsuite"`
	Direct []JUnitCase  `xml:"testcase"` // a <testsuite> root's cases
}

// JUnitCounts are the counting attributes of the root and of a suite.
type JUnitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

// JUnitSuite is one <testsuite>.
type JUnitSuite struct {
	Name string `xml:"name,attr"`
	JUnitCounts
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []JUnitCase `xml:"testcase"`
}

// JUnitCase is one <testcase>.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitMessage `xml:"failure"`
	Error     *JUnitMessage `xml:"error"`
	Skipped   *JUnitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out"`
}

// JUnitMessage is a failure, error or skipped element.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// Cases is every testcase of the report, in document order.
func (d JUnit) Cases() []JUnitCase {
	out := append([]JUnitCase(nil), d.Direct...)
	for _, s := range d.Suites {
		out = append(out, s.Cases...)
	}
	return out
}

// ReadJUnit reads the report at path; see DecodeJUnit.
func ReadJUnit(path string) JUnit {
	GinkgoHelper()
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return decodeJUnit(raw, path)
}

// DecodeJUnit checks that raw is well-formed XML with the XML header (with
// xmllint too, when it is installed), decodes it, and checks that every
// count and time agrees with the testcases it counts.
func DecodeJUnit(raw []byte) JUnit {
	GinkgoHelper()
	return decodeJUnit(raw, "")
}

func decodeJUnit(raw []byte, path string) JUnit {
	GinkgoHelper()
	Expect(string(raw)).To(HavePrefix(xml.Header))
	dec := xml.NewDecoder(strings.NewReader(string(raw)))
	dec.Strict = true
	for {
		if _, err := dec.Token(); err != nil {
			Expect(errors.Is(err, io.EOF)).To(BeTrue(), "the JUnit report is not well-formed XML: %v", err)
			break
		}
	}
	xmllint(raw, path)
	var doc JUnit
	Expect(xml.Unmarshal(raw, &doc)).To(Succeed())
	Expect(doc.XMLName.Local).To(BeElementOf("testsuites", "testsuite"), "the root element")
	if doc.XMLName.Local == "testsuites" {
		Expect(doc.Direct).To(BeEmpty(), "testcases belong in a testsuite")
	} else {
		Expect(doc.Suites).To(BeEmpty(), "a testsuite root has no nested testsuite")
	}
	for _, s := range doc.Suites {
		expectCounts(s.JUnitCounts, s.Cases, "testsuite "+strconv.Quote(s.Name))
	}
	expectCounts(doc.JUnitCounts, doc.Cases(), "the report")
	return doc
}

// expectCounts checks counting attributes against the cases they count.
func expectCounts(got JUnitCounts, cases []JUnitCase, what string) {
	GinkgoHelper()
	want := JUnitCounts{Tests: len(cases), Time: got.Time}
	for _, c := range cases {
		switch {
		case c.Failure != nil:
			want.Failures++
		case c.Error != nil:
			want.Errors++
		case c.Skipped != nil:
			want.Skipped++
		}
	}
	Expect(got).To(Equal(want), "the counts of %s", what)
	_, err := strconv.ParseFloat(got.Time, 64)
	Expect(err).NotTo(HaveOccurred(), "the time of %s", what)
}

// xmllint checks the report with xmllint --noout when it is installed.
func xmllint(raw []byte, path string) {
	GinkgoHelper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		AddReportEntry("xmllint is not installed: well-formedness checked with encoding/xml only")
		return
	}
	if path == "" {
		path = filepath.Join(GinkgoT().TempDir(), "junit.xml")
		Expect(os.WriteFile(path, raw, 0o644)).To(Succeed())
	}
	out, err := exec.Command(bin, "--noout", path).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "xmllint --noout: %s", out)
	Expect(string(out)).To(BeEmpty())
}
