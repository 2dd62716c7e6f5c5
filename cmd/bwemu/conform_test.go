package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/buggy"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite/conformance"
)

// conformTimeout bounds a spec that runs the whole suite or waits out the
// suite's 3 s close-handshake timeout (the whole suite takes ~3–4 s).
var conformTimeout = SpecTimeout(time.Minute)

// Credentials the consumers are told to require.
const (
	conformWSUser, conformWSPassword       = "bandwidth", "ws-secret"
	conformEventUser, conformEventPassword = "bandwidth", "event-secret"
)

// conformCmd runs `bwemu conform args...`.
func conformCmd(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	return bwemu(ctx, append([]string{"conform"}, args...)...)
}

// startBuggy starts a consumer with defect d on loopback until the spec ends.
func startBuggy(d buggy.Defect) *buggy.Server {
	GinkgoHelper()
	s, err := buggy.Start(d, nil)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(s.Close)
	return s
}

// caseIDs are the IDs of the suite's cases whose ID matches re (all for
// nil), in ID order.
func caseIDs(re *regexp.Regexp) []string {
	var ids []string
	for _, c := range conformance.Cases() {
		if re == nil || re.MatchString(c.ID) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// caseTitles maps every case ID to its title.
func caseTitles() map[string]string {
	m := map[string]string{}
	for _, c := range conformance.Cases() {
		m[c.ID] = c.Title
	}
	return m
}

// verdictRow is one row of the conform table on stdout.
type verdictRow struct {
	ID, Verdict, Time, Title string
}

var (
	tableHeader  = regexp.MustCompile(`^CASE +VERDICT +TIME +CHECK$`)
	tableLine    = regexp.MustCompile(`^(\d+\.\d+) +(PASS|FAIL|NON-STRICT|INFO|SKIP) +(\S+) +(.+)$`)
	conformProgr = regexp.MustCompile(`^\[(\d+)/(\d+)\] (PASS|FAIL|NON-STRICT|INFO|SKIP) +(\d+\.\d+) (.+)$`)
	summaryLine  = regexp.MustCompile(`(?m)^(PASS|FAIL): (\d+) pass, (\d+) fail, (\d+) non-strict, (\d+) info, (\d+) skipped in \S+$`)
)

// verdictTable parses the table on stdout: the rows from the header line
// to the first blank line, every one well formed, in order.
func verdictTable(stdout string) []verdictRow {
	GinkgoHelper()
	ls := lines(stdout)
	start := slices.IndexFunc(ls, tableHeader.MatchString)
	Expect(start).To(BeNumerically(">=", 0), "no CASE/VERDICT/TIME/CHECK header on stdout")
	var rows []verdictRow
	for _, l := range ls[start+1:] {
		if l == "" {
			break
		}
		m := tableLine.FindStringSubmatch(l)
		Expect(m).NotTo(BeNil(), "a table row is not CASE VERDICT TIME CHECK: %q", l)
		_, err := time.ParseDuration(m[3])
		Expect(err).NotTo(HaveOccurred(), "the TIME of %q", l)
		rows = append(rows, verdictRow{ID: m[1], Verdict: m[2], Time: m[3], Title: m[4]})
	}
	return rows
}

// verdicts maps each row's ID to its verdict, checking along the way that
// the rows are the given cases, in order, each with its own title.
func verdicts(stdout string, ids []string) map[string]string {
	GinkgoHelper()
	rows := verdictTable(stdout)
	titles := caseTitles()
	got := map[string]string{}
	var order []string
	for _, r := range rows {
		Expect(r.Title).To(Equal(titles[r.ID]), "the title of case %s", r.ID)
		got[r.ID] = r.Verdict
		order = append(order, r.ID)
	}
	Expect(order).To(Equal(ids), "the table lists exactly the selected cases, in ID order")
	return got
}

// conformSummary is the last line's verdict and counts.
type conformSummary struct {
	Verdict                              string
	Pass, Fail, NonStrict, Info, Skipped int
}

// parseSummary parses the summary line, which must be stdout's last.
func parseSummary(stdout string) conformSummary {
	GinkgoHelper()
	ms := summaryLine.FindAllStringSubmatch(stdout, -1)
	Expect(ms).To(HaveLen(1), "exactly one summary line on stdout")
	Expect(lines(stdout)[len(lines(stdout))-1]).To(Equal(ms[0][0]), "the summary is the last line")
	n := func(i int) int { v, _ := strconv.Atoi(ms[0][i]); return v }
	return conformSummary{Verdict: ms[0][1], Pass: n(2), Fail: n(3), NonStrict: n(4), Info: n(5), Skipped: n(6)}
}

// countVerdicts counts the rows per verdict, as the summary must.
func countVerdicts(v map[string]string) conformSummary {
	var s conformSummary
	for _, verdict := range v {
		switch verdict {
		case "PASS":
			s.Pass++
		case "FAIL":
			s.Fail++
		case "NON-STRICT":
			s.NonStrict++
		case "INFO":
			s.Info++
		case "SKIP":
			s.Skipped++
		}
	}
	return s
}

// expectSummary checks the summary line: the verdict and counts that
// agree with the table.
func expectSummary(stdout, verdict string, table map[string]string) {
	GinkgoHelper()
	got := parseSummary(stdout)
	want := countVerdicts(table)
	want.Verdict = verdict
	Expect(got).To(Equal(want), "the summary line counts the table's verdicts")
}

// expectProgress checks stderr has one progress line per case, numbered
// from 1 in order out of the cases selected, each with the verdict the
// table gives that case, and nothing else.
func expectProgress(stderr string, table map[string]string) {
	GinkgoHelper()
	titles := caseTitles()
	ls := lines(stderr)
	Expect(ls).To(HaveLen(len(table)), "one progress line per case on stderr, and nothing else:\n%s", stderr)
	seen := map[string]bool{}
	for i, l := range ls {
		m := conformProgr.FindStringSubmatch(l)
		Expect(m).NotTo(BeNil(), "a progress line is not [I/N] VERDICT ID TITLE: %q", l)
		Expect(m[1]).To(Equal(strconv.Itoa(i+1)), "progress lines are numbered in order: %q", l)
		Expect(m[2]).To(Equal(strconv.Itoa(len(table))), "progress lines count out of the cases selected: %q", l)
		id := m[4]
		Expect(seen).NotTo(HaveKey(id), "case %s reported twice", id)
		seen[id] = true
		Expect(table).To(HaveKeyWithValue(id, m[3]), "the progress verdict of %s agrees with the table", id)
		Expect(m[5]).To(Equal(titles[id]))
	}
}

// progressIDs lists the case IDs of the progress lines, in order.
func progressIDs(stderr string) []string {
	GinkgoHelper()
	var ids []string
	for _, l := range lines(stderr) {
		m := conformProgr.FindStringSubmatch(l)
		Expect(m).NotTo(BeNil(), "a progress line is not [I/N] VERDICT ID TITLE: %q", l)
		ids = append(ids, m[4])
	}
	return ids
}

// failBlock is the `--- VERDICT ID: TITLE` block of stdout: the header and
// its indented lines.
func failBlock(stdout, verdict, id string) string {
	GinkgoHelper()
	head := "\n--- " + verdict + " " + id + ": " + caseTitles()[id] + "\n"
	i := strings.Index(stdout, head)
	Expect(i).To(BeNumerically(">=", 0), "no %q block on stdout", strings.TrimSpace(head))
	rest := stdout[i+1:]
	end := strings.Index(rest, "\n\n")
	Expect(end).To(BeNumerically(">=", 0))
	return rest[:end+1]
}

// expectJUnit checks the report against the table: one testcase per row,
// in order, named "ID TITLE" with the case's group as class (and as the
// testsuite, when there is one per group); a <failure> exactly for the
// failing rows, a <skipped> exactly for SKIP and INFO, never an <error>.
// nonStrictFails says whether a NON-STRICT row fails (not --lenient).
func expectJUnit(doc apptest.JUnit, ids []string, table map[string]string, nonStrictFails bool) {
	GinkgoHelper()
	groups := map[string]string{}
	for _, c := range conformance.Cases() {
		groups[c.ID] = c.Group
	}
	titles := caseTitles()
	Expect(doc.Name).To(Equal("bwemu conformance"))
	for _, s := range doc.Suites {
		for _, tc := range s.Cases {
			Expect(tc.Classname).To(Equal(s.Name), "a testsuite holds one group: %s", tc.Name)
		}
	}
	cases := doc.Cases()
	Expect(cases).To(HaveLen(len(ids)), "one testcase per case")
	Expect(doc.Tests).To(Equal(len(ids)))
	Expect(doc.Errors).To(BeZero())
	for i, tc := range cases {
		id := ids[i]
		Expect(tc.Name).To(Equal(id+" "+titles[id]), "testcase %d", i)
		Expect(tc.Classname).To(Equal("conformance." + groups[id]))
		_, err := strconv.ParseFloat(tc.Time, 64)
		Expect(err).NotTo(HaveOccurred(), "the time of %s", id)
		Expect(tc.Error).To(BeNil())
		switch v := table[id]; {
		case v == "FAIL" || (v == "NON-STRICT" && nonStrictFails):
			Expect(tc.Failure).NotTo(BeNil(), "%s is %s: a <failure>", id, v)
			Expect(tc.Failure.Message).To(HavePrefix(id+": "), "the failure message is the reason's first line")
			Expect(tc.Failure.Message).NotTo(ContainSubstring("\n"))
			Expect(tc.Failure.Text).To(HavePrefix(tc.Failure.Message))
			Expect(tc.Failure.Text).To(ContainSubstring("\njournal:\n"))
			if tc.Failure.Type != "" {
				Expect(tc.Failure.Type).To(Equal(strings.ToLower(v)), "the failure type of %s", id)
			}
			Expect(tc.Skipped).To(BeNil())
		case v == "SKIP" || v == "INFO":
			Expect(tc.Skipped).NotTo(BeNil(), "%s is %s: <skipped>", id, v)
			Expect(tc.Skipped.Message).To(HavePrefix(strings.ToLower(v)+": "+id+": "), "the skip says why")
			Expect(tc.Failure).To(BeNil())
		case v == "NON-STRICT":
			Expect(tc.Failure).To(BeNil(), "%s is non-strict, and lenient", id)
			Expect(tc.Skipped).To(BeNil())
			Expect(tc.SystemOut).To(HavePrefix("non-strict (lenient): " + id + ": "))
		default:
			Expect(v).To(Equal("PASS"))
			Expect(tc.Failure).To(BeNil(), "%s passed", id)
			Expect(tc.Skipped).To(BeNil(), "%s passed", id)
		}
	}
}

// conformJSON is conform's --json report, decoded independently.
type conformJSON struct {
	Passed      *bool  `json:"passed"`
	Lenient     *bool  `json:"lenient"`
	Interrupted *bool  `json:"interrupted"`
	Unreachable string `json:"unreachable"`
	Repetitions []struct {
		Repetition int             `json:"repetition"`
		Passed     bool            `json:"passed"`
		DurationMs float64         `json:"durationMs"`
		Results    json.RawMessage `json:"results"`
	} `json:"repetitions"`
	Results []struct {
		ID          string    `json:"id"`
		Group       string    `json:"group"`
		Title       string    `json:"title"`
		Status      string    `json:"status"`
		Reason      string    `json:"reason"`
		Start       time.Time `json:"start"`
		DurationMs  *float64  `json:"durationMs"`
		Journal     string    `json:"journal"`
		StreamID    string    `json:"streamId"`
		Interrupted bool      `json:"interrupted"`
	} `json:"results"`
}

func readConformJSON(path string) conformJSON {
	GinkgoHelper()
	r := readReport[conformJSON](path, true)
	Expect(r.Passed).NotTo(BeNil(), "passed is reported")
	Expect(r.Lenient).NotTo(BeNil(), "lenient is reported")
	Expect(r.Interrupted).NotTo(BeNil(), "interrupted is reported")
	return r
}

// expectJSON checks the report's results against the table: the same
// cases in the same order, each with its verdict, a reason that starts
// with the ID, and a journal for the failing ones.
func expectJSON(r conformJSON, ids []string, table map[string]string) {
	GinkgoHelper()
	var got []string
	titles := caseTitles()
	for _, res := range r.Results {
		got = append(got, res.ID)
		Expect(strings.ToUpper(res.Status)).To(Equal(table[res.ID]), "the JSON status of %s", res.ID)
		Expect(res.Title).To(Equal(titles[res.ID]))
		Expect(res.Group).NotTo(BeEmpty())
		Expect(res.Reason).To(HavePrefix(res.ID+": "), "the reason of %s", res.ID)
		Expect(res.DurationMs).NotTo(BeNil(), "durations in milliseconds, the unit in the key")
		Expect(*res.DurationMs).To(BeNumerically(">=", 0))
		Expect(res.Start).NotTo(BeZero(), "when %s began", res.ID)
		if res.Status == "fail" || res.Status == "non-strict" {
			Expect(res.Journal).NotTo(BeEmpty(), "a %s result carries the journal", res.Status)
		}
		if res.StreamID != "" {
			Expect(res.Journal).To(ContainSubstring("journal of stream "+res.StreamID), "the stream named is the one the journal shows")
		}
	}
	Expect(got).To(Equal(ids))
}

// reportPaths are --junit and --json files in a fresh directory.
func reportPaths() (junit, jsonOut string) {
	dir := GinkgoT().TempDir()
	return filepath.Join(dir, "conform.xml"), filepath.Join(dir, "conform.json")
}

var _ = Describe("bwemu conform", func() {
	Describe("against the reference consumer", func() {
		It("runs every case 1.1–8.2, passes, and says so on stdout, stderr, in JUnit and JSON", func(ctx SpecContext) {
			c := apptest.NewConsumer(nil)
			junit, jsonOut := reportPaths()
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--disconnect", c.DisconnectURL(), "--junit", junit, "--json", jsonOut)
			Expect(out.code).To(Equal(exitPass))

			By("listing every case in the table, with PASS, INFO or SKIP")
			all := caseIDs(nil)
			Expect(all).To(HaveLen(37))
			Expect(all[0]).To(Equal("1.1"))
			Expect(all[len(all)-1]).To(Equal("8.2"))
			table := verdicts(out.stdout, all)
			for _, id := range all {
				switch id {
				case "1.2", "5.10": // no credentials configured
					Expect(table).To(HaveKeyWithValue(id, "INFO"))
				case "5.11": // the app does not ask for GET
					Expect(table).To(HaveKeyWithValue(id, "INFO"))
				case "8.1", "8.2": // no --app-pid, no --app-metrics
					Expect(table).To(HaveKeyWithValue(id, "INFO"))
				case "6.1", "6.2": // not --bidirectional
					Expect(table).To(HaveKeyWithValue(id, "SKIP"))
				case "3.1": // INFO when the machine is too busy to keep the real-time pace
					Expect(table[id]).To(BeElementOf("PASS", "INFO"))
				default:
					Expect(table).To(HaveKeyWithValue(id, "PASS"))
				}
			}
			expectSummary(out.stdout, "PASS", table)
			if table["3.1"] == "PASS" {
				Expect(out.stdout).To(MatchRegexp(`(?m)^PASS: 30 pass, 0 fail, 0 non-strict, 5 info, 2 skipped in `))
			}

			By("explaining the INFO cases, not the passing or skipped ones")
			Expect(failBlock(out.stdout, "INFO", "1.2")).To(ContainSubstring("    1.2: no destination credentials configured"))
			Expect(failBlock(out.stdout, "INFO", "5.10")).To(ContainSubstring("    5.10: no webhook credentials configured"))
			Expect(failBlock(out.stdout, "INFO", "5.11")).To(ContainSubstring("--event-method GET"))
			Expect(failBlock(out.stdout, "INFO", "8.1")).To(ContainSubstring("    8.1: no app process given (no --app-pid"))
			Expect(failBlock(out.stdout, "INFO", "8.2")).To(ContainSubstring("    8.2: no metrics endpoint given (no --app-metrics URL --app-metric NAME"))
			Expect(out.stdout).NotTo(MatchRegexp(`(?m)^--- (PASS|SKIP|FAIL|NON-STRICT) `))

			By("reporting progress on stderr, one line per case")
			expectProgress(out.stderr, table)

			By("writing a JUnit report with one testcase per case, INFO and SKIP as skipped")
			doc := apptest.ReadJUnit(junit)
			expectJUnit(doc, all, table, true)
			Expect(doc.Failures).To(BeZero())
			Expect(doc.Skipped).To(Equal(countVerdicts(table).Info + countVerdicts(table).Skipped))

			By("writing a JSON report with every result")
			rep := readConformJSON(jsonOut)
			Expect(*rep.Passed).To(BeTrue())
			Expect(*rep.Lenient).To(BeFalse())
			Expect(*rep.Interrupted).To(BeFalse())
			expectJSON(rep, all, table)
		}, conformTimeout)

		It("passes, within 10s, an app that closes first on stop, takes POST webhooks only and refuses events on the wrong endpoint", func(ctx SpecContext) {
			c := apptest.NewConsumer(&consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
			began := time.Now()
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--disconnect", c.DisconnectURL())
			took := time.Since(began)
			Expect(out.code).To(Equal(exitPass))
			table := verdicts(out.stdout, caseIDs(nil))
			for id, v := range table {
				switch id {
				case "1.2", "5.10", "5.11", "8.1", "8.2":
					Expect(v).To(Equal("INFO"), "case %s", id)
				case "6.1", "6.2":
					Expect(v).To(Equal("SKIP"), "case %s", id)
				case "3.1": // INFO when the machine is too busy to keep the real-time pace
					Expect(v).To(BeElementOf("PASS", "INFO"), "case %s", id)
				default:
					Expect(v).To(Equal("PASS"), "case %s", id)
				}
			}
			Expect(took).To(BeNumerically("<", 10*time.Second))
			By("sending it no GET and no event on the wrong endpoint: it recorded every webhook it took")
			Expect(c.Events()).To(ContainElement(HaveField("Event.EventType", "disconnect")))
			for _, ev := range c.Events() {
				Expect(ev.Method).To(Equal(http.MethodPost))
			}
		}, conformTimeout)

		It("checks the refusals (1.2 and 5.10 PASS) with the credentials the consumer requires", func(ctx SpecContext) {
			c := apptest.NewConsumer(&consumer.Options{WSUser: conformWSUser, WSPassword: conformWSPassword,
				EventUser: conformEventUser, EventPassword: conformEventPassword})
			only := `^(1\.|5\.10$)`
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", only,
				"--ws-user", conformWSUser, "--ws-password", conformWSPassword,
				"--event-user", conformEventUser, "--event-password", conformEventPassword)
			Expect(out.code).To(Equal(exitPass))
			table := verdicts(out.stdout, caseIDs(regexp.MustCompile(only)))
			Expect(table).To(Equal(map[string]string{"1.1": "PASS", "1.2": "PASS", "1.3": "PASS", "5.10": "PASS"}))
			Expect(out.stdout).NotTo(ContainSubstring("\n--- "), "nothing to explain")
			expectSummary(out.stdout, "PASS", table)
			expectProgress(out.stderr, table)
		}, timeout)

		It("fails (exit 1) with one line when the credentials are not the ones the consumer requires", func(ctx SpecContext) {
			c := apptest.NewConsumer(&consumer.Options{WSUser: conformWSUser, WSPassword: conformWSPassword})
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", `^1\.1$`,
				"--ws-user", conformWSUser, "--ws-password", "wrong")
			Expect(out.code).To(Equal(exitFail))
			Expect(out.stdout).To(BeEmpty())
			Expect(lines(out.stderr)).To(HaveLen(1))
			Expect(out.stderr).To(And(ContainSubstring("401"), ContainSubstring("refused the destination credentials given (--ws-user/--ws-password")))
		}, timeout)

		It("runs the 6.x cases with --bidirectional against a consumer that echoes (6.1 and 6.2 PASS)", func(ctx SpecContext) {
			c := apptest.NewConsumer(&consumer.Options{Echo: true})
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", `^6\.`, "--bidirectional")
			Expect(out.code).To(Equal(exitPass))
			table := verdicts(out.stdout, []string{"6.1", "6.2"})
			Expect(table).To(Equal(map[string]string{"6.1": "PASS", "6.2": "PASS"}))
			expectSummary(out.stdout, "PASS", table)
			expectProgress(out.stderr, table)
		}, timeout)

		It(`runs only the 5.x cases with --only '^5\.', and reports only those`, func(ctx SpecContext) {
			c := apptest.NewConsumer(nil)
			junit, jsonOut := reportPaths()
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", `^5\.`,
				"--junit", junit, "--json", jsonOut)
			Expect(out.code).To(Equal(exitPass))
			five := caseIDs(regexp.MustCompile(`^5\.`))
			Expect(five).To(Equal([]string{"5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9", "5.10", "5.11", "5.12"}))
			table := verdicts(out.stdout, five)
			Expect(out.stdout).NotTo(MatchRegexp(`(?m)^[1-46-7]\.\d+ `), "no other case in the table")
			expectSummary(out.stdout, "PASS", table)
			expectProgress(out.stderr, table)
			expectJUnit(apptest.ReadJUnit(junit), five, table, true)
			expectJSON(readConformJSON(jsonOut), five, table)
		}, timeout)

		It("runs the cases one at a time with --parallel 1: progress comes in ID order", func(ctx SpecContext) {
			c := apptest.NewConsumer(nil)
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", `^5\.`, "--parallel", "1")
			Expect(out.code).To(Equal(exitPass))
			five := caseIDs(regexp.MustCompile(`^5\.`))
			table := verdicts(out.stdout, five)
			expectProgress(out.stderr, table)
			Expect(progressIDs(out.stderr)).To(Equal(five))
		}, timeout)
	})

	Describe("against a buggy consumer", func() {
		DescribeTable("fails (exit 1) with the case that catches the defect as FAIL, and says why",
			func(ctx SpecContext, d buggy.Defect, only string, failing []string, words []string) {
				s := startBuggy(d)
				junit, jsonOut := reportPaths()
				out := conformCmd(ctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--only", only,
					"--junit", junit, "--json", jsonOut)
				Expect(out.code).To(Equal(exitFail))

				ids := caseIDs(regexp.MustCompile(only))
				table := verdicts(out.stdout, ids)
				for _, id := range ids {
					if slices.Contains(failing, id) {
						Expect(table).To(HaveKeyWithValue(id, "FAIL"))
					} else {
						Expect(table[id]).To(BeElementOf("PASS", "INFO"), "only the defect's case fails")
					}
				}
				expectSummary(out.stdout, "FAIL", table)
				expectProgress(out.stderr, table)

				for _, id := range failing {
					block := failBlock(out.stdout, "FAIL", id)
					ls := lines(block)
					Expect(len(ls)).To(BeNumerically(">=", 2))
					Expect(ls[1]).To(HavePrefix("    "+id+": "), "the reason follows the header")
					for _, w := range words {
						Expect(block).To(ContainSubstring(w))
					}
					Expect(block).To(ContainSubstring("\n  journal:\n"), "the journal is shown")
				}

				doc := apptest.ReadJUnit(junit)
				expectJUnit(doc, ids, table, true)
				Expect(doc.Failures).To(Equal(len(failing)))
				rep := readConformJSON(jsonOut)
				Expect(*rep.Passed).To(BeFalse())
				expectJSON(rep, ids, table)
				// The <failure> message is the reason's first line.
				for i, res := range rep.Results {
					if slices.Contains(failing, res.ID) {
						first, _, _ := strings.Cut(res.Reason, "\n")
						Expect(doc.Cases()[i].Failure.Message).To(Equal(first))
						for _, w := range words {
							Expect(res.Reason).To(ContainSubstring(w))
						}
					}
				}
			},
			Entry("webhooks answered 500 on connection-error: 5.3",
				buggy.Status500OnConnectionError, `^5\.`, []string{"5.3"}, []string{"500", "connection-error", "204"}, timeout),
			Entry("new streams refused (503) after an aborted one: 4.3",
				buggy.RefuseAfterAbort, `^4\.3$`, []string{"4.3"}, []string{"503", "new stream"}, timeout),
			Entry("the close frame never answered: 4.1",
				buggy.NoCloseHandshake, `^4\.1$`, []string{"4.1"}, []string{"close", "never answered"}, conformTimeout),
			Entry("a stream the app broke in webhook cases, its webhooks answered: 5.1, 5.2",
				buggy.DropOnStop, `^5\.[12]$`, []string{"5.1", "5.2"}, []string{"a fault of the app", "dropped the connection"}, conformTimeout),
			Entry("mediaStreamStarted answered only once the stream is over: 5.12",
				buggy.StartedAfterStream, `^5\.12$`, []string{"5.12"}, []string{"mediaStreamStarted", "not answered within 15s", "live"}, conformTimeout),
		)

		It("--html writes one page, the failing case first, its failure drawn after the webhook it is about", func(ctx SpecContext) {
			s := startBuggy(buggy.Status500OnConnectionError)
			page := filepath.Join(GinkgoT().TempDir(), "conform.html")
			out := conformCmd(ctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--only", `^5\.[23]$`, "--html", page)
			Expect(out.code).To(Equal(exitFail))
			table := verdicts(out.stdout, []string{"5.2", "5.3"})
			Expect(table).To(Equal(map[string]string{"5.2": "PASS", "5.3": "FAIL"}))
			expectProgress(out.stderr, table)

			r := readHTMLReport(page)
			Expect(r.title).To(Equal("bwemu conform: FAIL"))
			titles := caseTitles()
			Expect(r.cases).To(Equal([]string{"5.3 " + titles["5.3"], "5.2 " + titles["5.2"]}))
			Expect(r.failures).To(HaveLen(1))
			Expect(r.failures[0].expectation).To(Equal("case 5.3 fail"))
			Expect(r.failures[0].text).To(ContainSubstring("stream "))
			Expect(r.failures[0].about).To(And(ContainSubstring("500"), ContainSubstring("mediaStreamStopped (connection-error)")))
			Expect(r.links).To(BeEmpty(), "nothing recorded, no journal file: no link out of the page")
		}, conformTimeout)

		Describe("that answers webhooks 200 instead of 204 (non-strict)", func() {
			var s *buggy.Server
			BeforeEach(func() { s = startBuggy(buggy.Status200) })
			nonStrict := []string{"5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9"}
			five := caseIDs(regexp.MustCompile(`^5\.`))

			expectNonStrict := func(out outcome) map[string]string {
				GinkgoHelper()
				table := verdicts(out.stdout, five)
				for _, id := range five {
					switch {
					case slices.Contains(nonStrict, id):
						Expect(table).To(HaveKeyWithValue(id, "NON-STRICT"))
						Expect(failBlock(out.stdout, "NON-STRICT", id)).To(And(ContainSubstring("200"), ContainSubstring("204")))
					case id == "5.12": // it judges when Started is answered, not how
						Expect(table).To(HaveKeyWithValue(id, "PASS"))
					default:
						Expect(table).To(HaveKeyWithValue(id, "INFO"))
					}
				}
				Expect(out.stdout).NotTo(MatchRegexp(`(?m)^\S+ +FAIL `))
				expectProgress(out.stderr, table)
				return table
			}

			It("fails without --lenient (exit 1), with NON-STRICT rows", func(ctx SpecContext) {
				junit, jsonOut := reportPaths()
				out := conformCmd(ctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--disconnect", s.DisconnectURL(), "--only", `^5\.`,
					"--junit", junit, "--json", jsonOut)
				Expect(out.code).To(Equal(exitFail))
				table := expectNonStrict(out)
				expectSummary(out.stdout, "FAIL", table)
				Expect(out.stdout).To(MatchRegexp(`(?m)^FAIL: 1 pass, 0 fail, 9 non-strict, 2 info, 0 skipped in `))
				doc := apptest.ReadJUnit(junit)
				expectJUnit(doc, five, table, true)
				Expect(doc.Failures).To(Equal(len(nonStrict)), "non-strict fails in JUnit without --lenient")
				rep := readConformJSON(jsonOut)
				Expect(*rep.Passed).To(BeFalse())
				Expect(*rep.Lenient).To(BeFalse())
				expectJSON(rep, five, table)
			}, timeout)

			It("passes with --lenient (exit 0), still showing the NON-STRICT rows", func(ctx SpecContext) {
				junit, jsonOut := reportPaths()
				out := conformCmd(ctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--disconnect", s.DisconnectURL(), "--only", `^5\.`, "--lenient",
					"--junit", junit, "--json", jsonOut)
				Expect(out.code).To(Equal(exitPass))
				table := expectNonStrict(out)
				expectSummary(out.stdout, "PASS", table)
				doc := apptest.ReadJUnit(junit)
				expectJUnit(doc, five, table, false)
				Expect(doc.Failures).To(BeZero(), "non-strict passes in JUnit with --lenient")
				rep := readConformJSON(jsonOut)
				Expect(*rep.Passed).To(BeTrue())
				Expect(*rep.Lenient).To(BeTrue())
				expectJSON(rep, five, table)
			}, timeout)
		})
	})

	Describe("an app that cannot be reached", func() {
		It("fails at once (exit 1) with one line when nothing listens at --ws, running no case", func(ctx SpecContext) {
			events := apptest.NewHooks()
			ws := apptest.RefusedURL()
			junit, jsonOut := reportPaths()
			began := time.Now()
			out := conformCmd(ctx, "--ws", ws, "--events", events.EventsURL(), "--junit", junit, "--json", jsonOut)
			Expect(time.Since(began)).To(BeNumerically("<", 5*time.Second))
			Expect(out.code).To(Equal(exitFail))
			Expect(out.stdout).To(BeEmpty(), "no table: no case ran")
			addr := strings.TrimSuffix(strings.TrimPrefix(ws, "ws://"), "/media")
			Expect(lines(out.stderr)).To(Equal([]string{"bwemu: nothing listens at " + addr + " (--ws " + ws + "), so no case ran — is the app running, and listening there?"}))
			Expect(events.Requests()).To(HaveLen(1), "the Stopped webhook of the stream that could not connect")
			rep := readConformJSON(jsonOut)
			Expect(*rep.Passed).To(BeFalse())
			Expect(rep.Unreachable).To(ContainSubstring("nothing listens at " + addr))
			Expect(rep.Results).To(BeEmpty())
			doc := apptest.ReadJUnit(junit)
			Expect(doc.Failures).To(Equal(1))
			Expect(doc.Cases()[0].Failure.Message).To(ContainSubstring("nothing listens at " + addr))
		}, timeout)

		It("fails with one line after --handshake-timeout when the app never answers the upgrade", func(ctx SpecContext) {
			silent := apptest.NewSilent()
			events := apptest.NewHooks()
			began := time.Now()
			out := conformCmd(ctx, "--ws", silent.URL(), "--events", events.EventsURL(), "--handshake-timeout", "500ms")
			Expect(time.Since(began)).To(BeNumerically("<", 4*time.Second))
			Expect(out.code).To(Equal(exitFail))
			Expect(lines(out.stderr)).To(HaveLen(1))
			Expect(out.stderr).To(ContainSubstring("no answer to the WebSocket upgrade within 500ms (--handshake-timeout)"))
		}, timeout)

		It("fails with one line when nothing listens at --disconnect", func(ctx SpecContext) {
			c := apptest.NewConsumer(nil)
			dead := "http" + strings.TrimPrefix(apptest.RefusedURL(), "ws")
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--disconnect", dead)
			Expect(out.code).To(Equal(exitFail))
			Expect(lines(out.stderr)).To(HaveLen(1))
			Expect(out.stderr).To(HavePrefix("bwemu: nothing listens at "))
			Expect(out.stderr).To(ContainSubstring("(--disconnect " + dead + ")"))
		}, timeout)
	})

	It("fails an app whose webhooks hang (answered only after the callbackTimeout), the whole suite in under a minute", func(ctx SpecContext) {
		s := startBuggy(buggy.HungWebhooks)
		began := time.Now()
		// The app's callbackTimeout is 2s, so a webhook is judged unanswered
		// after 2s, as Bandwidth would.
		out := conformCmd(ctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--disconnect", s.DisconnectURL(), "--callback-timeout", "2s")
		took := time.Since(began)
		Expect(out.code).To(Equal(exitFail))
		Expect(took).To(BeNumerically("<", time.Minute))
		table := verdicts(out.stdout, caseIDs(nil))
		for _, id := range caseIDs(regexp.MustCompile(`^5\.`)) {
			if id == "5.10" || id == "5.11" {
				continue
			}
			Expect(table).To(HaveKeyWithValue(id, "FAIL"))
			Expect(failBlock(out.stdout, "FAIL", id)).To(ContainSubstring("not answered within 2s"))
		}
		expectSummary(out.stdout, "FAIL", table)
	}, SpecTimeout(2*time.Minute))

	Describe("--ca", func() {
		It("trusts the CA in the file for a wss:// app (exit 0)", func(ctx SpecContext) {
			app, events := apptest.NewTLSWS(), apptest.NewHooks()
			out := conformCmd(ctx, "--ws", app.URL(), "--events", events.EventsURL(), "--only", `^1\.1$`, "--ca", app.CAFile())
			Expect(out.code).To(Equal(exitPass))
			Expect(verdicts(out.stdout, []string{"1.1"})).To(HaveKeyWithValue("1.1", "PASS"))
			Expect(app.Handshakes()).To(BeNumerically(">=", 1))
		}, timeout)

		It("without it, a wss:// app with an unknown certificate cannot be reached (exit 1, one line)", func(ctx SpecContext) {
			app, events := apptest.NewTLSWS(), apptest.NewHooks()
			out := conformCmd(ctx, "--ws", app.URL(), "--events", events.EventsURL(), "--only", `^1\.1$`)
			Expect(out.code).To(Equal(exitFail))
			Expect(lines(out.stderr)).To(HaveLen(1))
			Expect(out.stderr).To(ContainSubstring("certificate"))
			Expect(out.stderr).To(ContainSubstring("--ws " + app.URL()))
		}, timeout)
	})

	Describe("interrupted", func() {
		It("exits 130 and says so, leaving the cases not run as SKIP", func(ctx SpecContext) {
			app, events := apptest.NewWS(), apptest.NewHooks()
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, jsonOut := reportPaths()
			out := conformCmd(cctx, "--ws", app.URL(), "--events", events.EventsURL(), "--only", `^1\.1$`, "--json", jsonOut)
			Expect(out.code).To(Equal(exitInterrupted))
			table := verdicts(out.stdout, []string{"1.1"})
			Expect(table).To(HaveKeyWithValue("1.1", "SKIP"))
			Expect(lines(out.stderr)).To(ContainElement("bwemu: interrupted"))
			Expect(out.stdout).To(MatchRegexp(`(?m)^INTERRUPTED: 0 pass, 0 fail, 0 non-strict, 0 info, 1 skipped in \S+: no verdict on the app$`))
			Expect(out.stdout).NotTo(MatchRegexp(`(?m)^(PASS|FAIL)`), "an interrupted run reads neither as passed nor as failed")
			Expect(app.Handshakes()).To(BeZero(), "nothing ran")
			rep := readConformJSON(jsonOut)
			Expect(*rep.Interrupted).To(BeTrue())
			Expect(*rep.Passed).To(BeFalse())
		}, timeout)

		It("stops within ~2s while the app keeps webhooks waiting, exits 130 and writes its reports", func(ctx SpecContext) {
			s := startBuggy(buggy.HungWebhooks)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			junit, jsonOut := reportPaths()
			done := make(chan outcome, 1)
			go func() {
				defer GinkgoRecover()
				// A 2s callbackTimeout: the reachability check gives up on its
				// webhook after 2s, and the cases start waiting on theirs.
				done <- conformCmd(cctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--only", `^5\.`, "--junit", junit, "--json", jsonOut,
					"--callback-timeout", "2s")
			}()
			Eventually(s.Webhooks).WithTimeout(10*time.Second).Should(BeNumerically(">=", 2), "the run is waiting on webhooks")
			cancel()
			interrupted := time.Now()
			var out outcome
			Eventually(done).WithTimeout(10 * time.Second).Should(Receive(&out))
			Expect(time.Since(interrupted)).To(BeNumerically("<", 3*time.Second))
			Expect(out.code).To(Equal(exitInterrupted))
			Expect(lines(out.stderr)).To(ContainElement("bwemu: interrupted"))
			Expect(out.stdout).To(MatchRegexp(`(?m)^INTERRUPTED: .*: no verdict on the app$`))
			Expect(out.stdout).NotTo(ContainSubstring("the app misbehaved"))
			rep := readConformJSON(jsonOut)
			Expect(*rep.Interrupted).To(BeTrue())
			Expect(*rep.Passed).To(BeFalse())
			Expect(apptest.ReadJUnit(junit).Tests).To(BeNumerically(">", 0))
		}, SpecTimeout(time.Minute))
	})

	Describe("which URL gets which webhook, and how", func() {
		It("sends disconnect to --disconnect only: 5.8 PASS with it, INFO without", func(ctx SpecContext) {
			c := apptest.NewConsumer(&consumer.Options{StrictEvents: true})
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--disconnect", c.DisconnectURL(), "--only", `^5\.(8|9)$`)
			Expect(out.code).To(Equal(exitPass))
			Expect(verdicts(out.stdout, []string{"5.8", "5.9"})).To(Equal(map[string]string{"5.8": "PASS", "5.9": "PASS"}))

			c = apptest.NewConsumer(&consumer.Options{StrictEvents: true})
			out = conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", `^5\.(8|9)$`)
			Expect(out.code).To(Equal(exitPass))
			Expect(verdicts(out.stdout, []string{"5.8", "5.9"})).To(Equal(map[string]string{"5.8": "INFO", "5.9": "PASS"}))
			Expect(failBlock(out.stdout, "INFO", "5.8")).To(ContainSubstring("--disconnect"))
			Expect(c.Events()).NotTo(ContainElement(HaveField("Event.EventType", "disconnect")))
		}, timeout)

		It("sends GET webhooks only with --event-method GET / --disconnect-method GET (5.11 INFO otherwise)", func(ctx SpecContext) {
			c := apptest.NewConsumer(&consumer.Options{PostOnly: true})
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--disconnect", c.DisconnectURL(), "--only", `^5\.`)
			Expect(out.code).To(Equal(exitPass))
			Expect(verdicts(out.stdout, caseIDs(regexp.MustCompile(`^5\.`)))).To(HaveKeyWithValue("5.11", "INFO"))

			c = apptest.NewConsumer(nil)
			out = conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--disconnect", c.DisconnectURL(),
				"--event-method", "GET", "--disconnect-method", "GET", "--only", `^5\.(1|8|11)$`)
			Expect(out.code).To(Equal(exitPass))
			Expect(verdicts(out.stdout, []string{"5.1", "5.8", "5.11"})).To(Equal(map[string]string{"5.1": "PASS", "5.8": "PASS", "5.11": "PASS"}))
			for _, ev := range c.Events() {
				Expect(ev.Method).To(Equal(http.MethodGet))
			}
		}, timeout)

		It("fails 5.11 when the app refuses the GET it says it asks for", func(ctx SpecContext) {
			c := apptest.NewConsumer(&consumer.Options{PostOnly: true})
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--event-method", "GET", "--only", `^5\.11$`)
			Expect(out.code).To(Equal(exitFail))
			Expect(verdicts(out.stdout, []string{"5.11"})).To(HaveKeyWithValue("5.11", "FAIL"))
			Expect(failBlock(out.stdout, "FAIL", "5.11")).To(And(ContainSubstring("405"), ContainSubstring("--event-method GET")))
		}, timeout)
	})

	Describe("undocumented behaviour", func() {
		It("judges playAudio on a unidirectional stream NON-STRICT, advising --bidirectional; --lenient passes it", func(ctx SpecContext) {
			c := apptest.NewConsumer(nil)
			out := conformCmd(ctx, "--ws", c.WebSocketURL()+"?echo=1", "--events", c.EventsURL(), "--only", `^2\.1$`)
			Expect(out.code).To(Equal(exitFail))
			Expect(verdicts(out.stdout, []string{"2.1"})).To(HaveKeyWithValue("2.1", "NON-STRICT"))
			Expect(failBlock(out.stdout, "NON-STRICT", "2.1")).To(ContainSubstring("this app plays audio back: run with --bidirectional"))
			out = conformCmd(ctx, "--ws", c.WebSocketURL()+"?echo=1", "--events", c.EventsURL(), "--only", `^2\.1$`, "--lenient")
			Expect(out.code).To(Equal(exitPass))
		}, timeout)

		It("judges an app that drops the connection on an unknown eventType NON-STRICT (3.3)", func(ctx SpecContext) {
			s := startBuggy(buggy.DropOnUnknownEvent)
			out := conformCmd(ctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--only", `^3\.3$`)
			Expect(out.code).To(Equal(exitFail))
			Expect(verdicts(out.stdout, []string{"3.3"})).To(HaveKeyWithValue("3.3", "NON-STRICT"))
			Expect(failBlock(out.stdout, "NON-STRICT", "3.3")).To(And(ContainSubstring("bwemuFutureEvent"), ContainSubstring("dropped the connection")))
			out = conformCmd(ctx, "--ws", s.WebSocketURL(), "--events", s.EventsURL(), "--only", `^3\.3$`, "--lenient")
			Expect(out.code).To(Equal(exitPass))
		}, timeout)
	})

	Describe("leak checks (--app-pid, --app-metrics)", func() {
		// startAppProcess starts a buggy consumer in a process of its own
		// (this test binary, started again: see TestMain) until the spec ends.
		startAppProcess := func(d buggy.Defect, opts *buggy.Options) *buggy.Process {
			GinkgoHelper()
			p, err := buggy.StartProcess(d, opts, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(p.Close)
			return p
		}
		leakArgs := func(p *buggy.Process) []string {
			return []string{"--ws", p.WebSocketURL(), "--events", p.EventsURL(), "--only", `^8\.`,
				"--app-pid", strconv.Itoa(p.PID), "--app-metrics", p.MetricsURL(), "--app-metric", buggy.MetricName}
		}

		It("fails 8.1 and 8.2 (exit 1) for an app that keeps the sessions of aborted streams, found in its own process", func(ctx SpecContext) {
			if runtime.GOOS != "linux" {
				Skip("the process leak check reads Linux's /proc")
			}
			p := startAppProcess(buggy.LeakOnAbort, nil)
			out := conformCmd(ctx, leakArgs(p)...)
			Expect(out.code).To(Equal(exitFail))
			table := verdicts(out.stdout, []string{"8.1", "8.2"})
			Expect(table).To(Equal(map[string]string{"8.1": "FAIL", "8.2": "FAIL"}))
			expectSummary(out.stdout, "FAIL", table)
			expectProgress(out.stderr, table)
			Expect(failBlock(out.stdout, "FAIL", "8.1")).To(And(
				MatchRegexp(`\n    8\.1: \d+ sockets stayed open 5s after the last of 6 streams ended by a TCP reset, a silent drop or a close 1011 \(`),
				ContainSubstring(fmt.Sprintf("process %d held ", p.PID)),
				MatchRegexp(`its threads went from \d+ to \d+ \(reported, not judged`),
				ContainSubstring("without Bandwidth's stop message")))
			Expect(failBlock(out.stdout, "FAIL", "8.2")).To(ContainSubstring(fmt.Sprintf("    8.2: the gauge %s at %s was ", buggy.MetricName, p.MetricsURL())))
		}, conformTimeout)

		It("passes 8.1 and 8.2 (exit 0) for an app that releases its sessions on every ending", func(ctx SpecContext) {
			if runtime.GOOS != "linux" {
				Skip("the process leak check reads Linux's /proc")
			}
			p := startAppProcess(buggy.None, &buggy.Options{Backend: true})
			out := conformCmd(ctx, leakArgs(p)...)
			Expect(out.code).To(Equal(exitPass))
			table := verdicts(out.stdout, []string{"8.1", "8.2"})
			Expect(table).To(Equal(map[string]string{"8.1": "PASS", "8.2": "PASS"}))
			expectSummary(out.stdout, "PASS", table)
		}, conformTimeout)
	})

	Describe("--skip and --repeat", func() {
		It("leaves out the cases --skip matches", func(ctx SpecContext) {
			c := apptest.NewConsumer(nil)
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", `^4\.`, "--skip", `^4\.[3-6]$`)
			Expect(out.code).To(Equal(exitPass))
			table := verdicts(out.stdout, []string{"4.1", "4.2"})
			expectProgress(out.stderr, table)
		}, timeout)

		It("runs the suite N times and reports each case's worst verdict, in JUnit and JSON too", func(ctx SpecContext) {
			c := apptest.NewConsumer(nil)
			junit, jsonOut := reportPaths()
			out := conformCmd(ctx, "--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--only", `^5\.1$`, "--repeat", "3", "--junit", junit, "--json", jsonOut)
			Expect(out.code).To(Equal(exitPass))
			table := verdicts(out.stdout, []string{"5.1"})
			Expect(table).To(HaveKeyWithValue("5.1", "PASS"))
			Expect(out.stdout).To(ContainSubstring("\n3 repetitions, all passed\n"))
			expectSummary(out.stdout, "PASS", table)
			Expect(lines(out.stderr)).To(Equal([]string{"repetition 1 of 3", "[1/1] PASS       5.1 " + caseTitles()["5.1"],
				"repetition 2 of 3", "[1/1] PASS       5.1 " + caseTitles()["5.1"], "repetition 3 of 3", "[1/1] PASS       5.1 " + caseTitles()["5.1"]}))
			doc := apptest.ReadJUnit(junit)
			Expect(doc.Tests).To(Equal(3))
			Expect(doc.Cases()[1].Name).To(Equal("5.1 " + caseTitles()["5.1"] + " (repetition 2)"))
			rep := readConformJSON(jsonOut)
			Expect(*rep.Passed).To(BeTrue())
			Expect(rep.Repetitions).To(HaveLen(3))
		}, timeout)

		It("fails when any repetition fails, saying which", func(ctx SpecContext) {
			app, flaky := apptest.NewWS(), apptest.NewHooks()
			// An app that fails now and then: the second mediaStreamStarted of
			// 5.1's stream (its second repetition) is answered 500, every other
			// webhook 204.
			flaky.AnswerWhen(func(q apptest.Request) bool {
				return q.What() == protocol.EventMediaStreamStarted && q.Stream() == "started"
			}, apptest.Reply{}, apptest.Reply{Status: http.StatusInternalServerError, Body: "flaky"}, apptest.Reply{})
			out := conformCmd(ctx, "--ws", app.URL(), "--events", flaky.EventsURL(), "--only", `^5\.1$`, "--repeat", "3")
			Expect(out.code).To(Equal(exitFail))
			table := verdicts(out.stdout, []string{"5.1"})
			Expect(table).To(HaveKeyWithValue("5.1", "FAIL"))
			Expect(failBlock(out.stdout, "FAIL", "5.1")).To(And(ContainSubstring("FAIL in 1 of 3 repetitions (shown: repetition 2)"), ContainSubstring("500")))
			Expect(out.stdout).To(ContainSubstring("\n3 repetitions, 1 failed (repetition 2)\n"))
			expectSummary(out.stdout, "FAIL", table)
		}, timeout)
	})

	Describe("bad usage", func() {
		// ws and events stand for live fake apps' URLs, which record
		// whether anything reached them.
		const ws, events = "{WS}", "{EVENTS}"
		notPEM := func() string {
			GinkgoHelper()
			return scenarioFile("ca.pem", "not a certificate\n")
		}

		DescribeTable("exits 2 with one complaint and the usage line on stderr, and runs nothing",
			func(ctx SpecContext, args []string, complaint string) {
				app, hooks := apptest.NewWS(), apptest.NewHooks()
				var argv []string
				for _, a := range args {
					a = strings.ReplaceAll(a, ws, app.URL())
					a = strings.ReplaceAll(a, events, hooks.EventsURL())
					if a == "{NOT-PEM}" {
						a = notPEM()
					}
					argv = append(argv, a)
				}
				out := conformCmd(ctx, argv...)
				Expect(out.code).To(Equal(exitUsage))
				Expect(out.stdout).To(BeEmpty())
				ls := lines(out.stderr)
				Expect(len(ls)).To(BeNumerically(">=", 2))
				Expect(ls[0]).To(MatchRegexp(complaint))
				Expect(ls[0]).To(HavePrefix("bwemu: "))
				Expect(ls[1]).To(Equal("usage: " + conformSynopsis))
				bwemuLines := 0
				for _, l := range ls {
					if strings.HasPrefix(l, "bwemu: ") {
						bwemuLines++
					}
					Expect(l).NotTo(MatchRegexp(`^\[\d+/\d+\] `), "no case ran")
				}
				Expect(bwemuLines).To(Equal(1), "one complaint")
				Expect(app.Handshakes()).To(BeZero(), "no stream reached the app")
				Expect(hooks.Requests()).To(BeEmpty(), "no webhook reached the app")
			},
			entry("without --ws", []string{"--events", events}, `^bwemu: --ws and --events are required$`),
			entry("without --events", []string{"--ws", ws}, `^bwemu: --ws and --events are required$`),
			entry("without either", []string{}, `^bwemu: --ws and --events are required$`),
			entry("--ws http://x", []string{"--ws", "http://x", "--events", events}, `^bwemu: --ws: "http://x" is not a ws:// or wss:// URL$`),
			entry("--ws without a host", []string{"--ws", "ws:///media", "--events", events}, `^bwemu: --ws: "ws:///media" is not`),
			entry("--events ws://x", []string{"--ws", ws, "--events", "ws://x"}, `^bwemu: --events: "ws://x" is not an http:// or https:// URL$`),
			entry("a bad --only regular expression", []string{"--ws", ws, "--events", events, "--only", "(5"}, `^bwemu: --only: error parsing regexp: missing closing \)`),
			entry("an --only that matches no case", []string{"--ws", ws, "--events", events, "--only", `^9\.`}, `^bwemu: --only: no case matches "\^9`),
			entry("--parallel 0", []string{"--ws", ws, "--events", events, "--parallel", "0"}, `^bwemu: --parallel must be at least 1$`),
			entry("--parallel -1", []string{"--ws", ws, "--events", events, "--parallel", "-1"}, `^bwemu: --parallel must be at least 1$`),
			entry("--parallel that is not a number", []string{"--ws", ws, "--events", events, "--parallel", "many"}, `^bwemu: invalid value "many" for flag -parallel`),
			entry("an extra positional argument", []string{"--ws", ws, "--events", events, "extra"}, `^bwemu: unexpected argument "extra"$`),
			entry("a positional argument before the flags", []string{"extra", "--ws", ws, "--events", events}, `^bwemu: unexpected argument "extra"$`),
			entry("an unknown flag", []string{"--ws", ws, "--events", events, "--nope"}, `^bwemu: flag provided but not defined: -nope$`),
			entry("an unwritable --junit", []string{"--ws", ws, "--events", events, "--junit", "/nonexistent/x.xml"}, `^bwemu: --junit: .*/nonexistent/x\.xml`),
			entry("an unwritable --json", []string{"--ws", ws, "--events", events, "--json", "/nonexistent/x.json"}, `^bwemu: --json: .*/nonexistent/x\.json`),
			entry("an unwritable --html", []string{"--ws", ws, "--events", events, "--html", "/nonexistent/x.html"}, `^bwemu: --html: .*/nonexistent/x\.html`),
			entry("a missing --ca file", []string{"--ws", ws, "--events", events, "--ca", "/nonexistent/ca.pem"}, `^bwemu: --ca: .*/nonexistent/ca\.pem`),
			entry("a --ca file without a certificate", []string{"--ws", ws, "--events", events, "--ca", "{NOT-PEM}"}, `^bwemu: --ca: .*no PEM certificate found$`),
			entry("a bad --skip regular expression", []string{"--ws", ws, "--events", events, "--skip", "(5"}, `^bwemu: --skip: error parsing regexp: missing closing \)`),
			entry("a --skip that leaves no case", []string{"--ws", ws, "--events", events, "--only", `^5\.`, "--skip", `^5`}, `^bwemu: --skip: "\^5" leaves no case to run$`),
			entry("--repeat 0", []string{"--ws", ws, "--events", events, "--repeat", "0"}, `^bwemu: --repeat must be at least 1$`),
			entry("--disconnect ws://x", []string{"--ws", ws, "--events", events, "--disconnect", "ws://x"}, `^bwemu: --disconnect: "ws://x" is not an http:// or https:// URL$`),
			entry("--disconnect-method without --disconnect", []string{"--ws", ws, "--events", events, "--disconnect-method", "GET"}, `^bwemu: --disconnect-method needs --disconnect`),
			entry("--event-method PUT", []string{"--ws", ws, "--events", events, "--event-method", "PUT"}, `^bwemu: invalid value "PUT" for flag -event-method: want one of POST, GET$`),
			entry("--handshake-timeout 0", []string{"--ws", ws, "--events", events, "--handshake-timeout", "0"}, `^bwemu: --handshake-timeout must be positive, got 0s$`),
			entry("--callback-timeout that is not a duration", []string{"--ws", ws, "--events", events, "--callback-timeout", "soon"}, `^bwemu: invalid value "soon" for flag -callback-timeout`),
			entry("--app-pid that is not a number", []string{"--ws", ws, "--events", events, "--app-pid", "app"}, `^bwemu: invalid value "app" for flag -app-pid: parse error$`),
			entry("--app-pid -1", []string{"--ws", ws, "--events", events, "--app-pid", "-1"}, `^bwemu: --app-pid must be the app's process id \(a positive number\), got -1$`),
			entry("--leak-settle 0s", []string{"--ws", ws, "--events", events, "--leak-settle", "0s"}, `^bwemu: --leak-settle must be positive, got 0s$`),
			entry("--app-metrics without --app-metric", []string{"--ws", ws, "--events", events, "--app-metrics", "http://127.0.0.1:1/metrics"}, `^bwemu: --app-metrics needs --app-metric \(the name of the app's gauge of live sessions\)$`),
			entry("--app-metric without --app-metrics", []string{"--ws", ws, "--events", events, "--app-metric", "sessions"}, `^bwemu: --app-metric needs --app-metrics \(the URL of the app's Prometheus text endpoint\)$`),
			entry("--app-metrics ws://x", []string{"--ws", ws, "--events", events, "--app-metrics", "ws://x", "--app-metric", "sessions"}, `^bwemu: --app-metrics: "ws://x" is not an http:// or https:// URL$`),
		)

		It("writes no report when a usage error stops the run", func(ctx SpecContext) {
			junit, jsonOut := reportPaths()
			out := conformCmd(ctx, "--ws", "http://x", "--events", "http://x", "--junit", junit, "--json", jsonOut)
			Expect(out.code).To(Equal(exitUsage))
			Expect(junit).NotTo(BeAnExistingFile())
			Expect(jsonOut).NotTo(BeAnExistingFile())
		}, timeout)
	})

	DescribeTable("--help exits 0 and lists every flag on stdout",
		func(ctx SpecContext, args ...string) {
			out := bwemu(ctx, args...)
			Expect(out.code).To(Equal(exitPass))
			Expect(out.stderr).To(BeEmpty())
			Expect(out.stdout).To(HavePrefix("usage: " + conformSynopsis + "\n"))
			for _, flag := range []string{"ws", "events", "disconnect", "event-method", "disconnect-method", "junit", "json", "event-user", "event-password",
				"ws-user", "ws-password", "bidirectional", "only", "skip", "repeat", "lenient", "parallel", "ca",
				"handshake-timeout", "write-timeout", "close-timeout", "callback-timeout", "dead-peer-timeout",
				"app-pid", "app-metrics", "app-metric"} {
				Expect(out.stdout).To(MatchRegexp(`(?m)^  -`+regexp.QuoteMeta(flag)+`( |$)`), "the flag list has --%s", flag)
			}
			Expect(out.stdout).To(ContainSubstring("(default 4)"), "--parallel's default")
		},
		entry("conform --help", "conform", "--help"),
		entry("conform -h", "conform", "-h"),
		entry("help conform", "help", "conform"),
	)
})
