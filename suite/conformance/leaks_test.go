package conformance_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/buggy"
	"github.com/bwemu/bwemu/suite/conformance"
)

// leakSettle is the leak cases' settle time in these specs: a correct app
// is back within milliseconds, and a leaking one need not be waited for
// the default 5 s.
const leakSettle = time.Second

// leakTimeout bounds a spec that runs both leak cases against an app.
var leakTimeout = SpecTimeout(time.Minute)

// startAppProcess starts a buggy consumer with defect d in a process of
// its own (this test binary, started again: see TestMain), stopped when
// the spec ends.
func startAppProcess(d buggy.Defect, opts *buggy.Options) *buggy.Process {
	GinkgoHelper()
	p, err := buggy.StartProcess(d, opts, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(p.Close)
	Expect(p.PID).NotTo(Equal(os.Getpid()))
	return p
}

// leakOptions run the leak cases against the process p, by its PID and
// by its gauge.
func leakOptions(p *buggy.Process) conformance.Options {
	return conformance.Options{Only: regexp.MustCompile(`^8\.`), AppPID: p.PID,
		AppMetrics: conformance.MetricsGauge{URL: p.MetricsURL(), Name: buggy.MetricName}, LeakSettle: leakSettle}
}

func processTarget(p *buggy.Process) conformance.Target {
	return conformance.Target{WebSocket: p.WebSocketURL(), Events: p.EventsURL(), Disconnect: p.DisconnectURL()}
}

// onLinux skips a spec that reads /proc elsewhere.
func onLinux() {
	if runtime.GOOS != "linux" {
		Skip("the process leak check reads Linux's /proc")
	}
}

var _ = Describe("The leak cases (8.x)", func() {
	It("are informational without an app process or a metrics endpoint, saying how to give them", func(ctx SpecContext) {
		app := apptest.NewConsumer(nil)
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()},
			conformance.Options{Only: regexp.MustCompile(`^8\.`)})
		Expect(err).NotTo(HaveOccurred())
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"8.1": conformance.Info, "8.2": conformance.Info}), table(results))
		Expect(resultOf(results, "8.1").Reason).To(And(HavePrefix("8.1: no app process given (no --app-pid; Options.AppPID)"),
			ContainSubstring("run the app in a process of its own and give its PID")))
		Expect(resultOf(results, "8.2").Reason).To(And(HavePrefix("8.2: no metrics endpoint given (no --app-metrics URL --app-metric NAME; Options.AppMetrics)"),
			ContainSubstring("gauge of its live sessions")))
	}, leakTimeout)

	It("run alone, in the group leaks", func() {
		for _, c := range conformance.Selected(regexp.MustCompile(`^8\.`)) {
			Expect(c.Serial).To(BeTrue(), "case %s", c.ID)
			Expect(c.Group).To(Equal(conformance.GroupLeaks))
		}
	})

	It("find the sockets and sessions an app keeps for streams ended by a reset, a drop and a 1011, in its own process", func(ctx SpecContext) {
		onLinux()
		p := startAppProcess(buggy.LeakOnAbort, nil)
		results, err := conformance.Run(ctx, processTarget(p), leakOptions(p))
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("results", table(results))
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"8.1": conformance.Fail, "8.2": conformance.Fail}), table(results))

		By("8.1 naming how many sockets stayed open, after which endings, and the threads without judging them")
		r := resultOf(results, "8.1")
		// Each session is a loopback connection within the app's process:
		// two sockets, its own end and the backend's.
		Expect(r.Reason).To(HavePrefix("8.1: 12 sockets stayed open 1s after the last of 6 streams ended by a TCP reset, a silent drop or a close 1011 " +
			"(4 sockets after the TCP resets, 4 sockets after the silent drops, 4 sockets after the internal-error closes (1011)): process " + strconv.Itoa(p.PID) + " held "))
		Expect(r.Reason).To(MatchRegexp(`its threads went from \d+ to \d+ \(reported, not judged: runtimes keep idle threads\)`))
		Expect(r.Reason).To(ContainSubstring("— release what a stream holds (its AI backend session, files, timers) whenever its socket ends, however it ends"))
		Expect(r.Journal).To(ContainSubstring("journal of stream"))

		By("8.2 naming the gauge, its endpoint, and its value before and after (8.1, run first, left 6 sessions already)")
		r = resultOf(results, "8.2")
		Expect(r.Reason).To(HavePrefix(fmt.Sprintf("8.2: the gauge %s at %s was 6 before the faults and still 12 1s after the last of 6 streams ended by a TCP reset, a silent drop or a close 1011 (+2 after the TCP resets, +2 after the silent drops, +2 after the internal-error closes (1011)) — release what a stream holds",
			buggy.MetricName, p.MetricsURL())))
	}, leakTimeout)

	It("pass an app that releases its sessions on every ending, judged in its own process", func(ctx SpecContext) {
		onLinux()
		p := startAppProcess(buggy.None, &buggy.Options{Backend: true})
		results, err := conformance.Run(ctx, processTarget(p), leakOptions(p))
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("results", table(results))
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"8.1": conformance.Pass, "8.2": conformance.Pass}), table(results))
		Expect(resultOf(results, "8.1").Reason).To(MatchRegexp(
			`^8\.1: after 6 streams ended by a TCP reset, a silent drop or a close 1011, process %d was back at its baseline within (?:\d+ms|0s): `+
				`\d+ file descriptors \(\d+ of them sockets\) before the faults, \d+ file descriptors \(\d+ of them sockets\) after; its threads went from \d+ to \d+ \(reported, not judged`, p.PID))
		Expect(resultOf(results, "8.2").Reason).To(MatchRegexp(`^8\.2: after 6 streams .*, the gauge %s at %s was back at its baseline within (?:\d+ms|0s) \(0 before the faults, 0 after\)$`,
			buggy.MetricName, regexp.QuoteMeta(p.MetricsURL())))
	}, leakTimeout)

	It("pass the whole suite for a correct app in its own process, leak cases included", func(ctx SpecContext) {
		onLinux()
		p := startAppProcess(buggy.None, &buggy.Options{Backend: true})
		o := leakOptions(p)
		o.Only = nil
		results, err := conformance.Run(ctx, processTarget(p), o)
		Expect(err).NotTo(HaveOccurred())
		Expect(conformance.Passed(results, false)).To(BeTrue(), table(results))
		Expect(statuses(results)).To(And(HaveKeyWithValue("8.1", conformance.Pass), HaveKeyWithValue("8.2", conformance.Pass)), table(results))
	}, SpecTimeout(2*time.Minute))

	Describe("8.1, when the process cannot be judged", func() {
		It("is informational for the process running the suite, whose emulator's sockets would count too", func(ctx SpecContext) {
			app := apptest.NewConsumer(nil)
			r := runOne(ctx, conformance.Target{WebSocket: app.WebSocketURL()},
				conformance.Options{Only: regexp.MustCompile(`^8\.1$`), AppPID: os.Getpid()}, conformance.Info)
			Expect(r.Reason).To(And(ContainSubstring(fmt.Sprintf("--app-pid %d", os.Getpid())), ContainSubstring("is the one running the suite"),
				ContainSubstring("run the app in a process of its own")))
		})

		It("fails a process that holds nothing for the streams: it is not the app's, and nothing could be judged", func(ctx SpecContext) {
			onLinux()
			app := startAppProcess(buggy.None, nil)
			bystander := startAppProcess(buggy.None, nil)
			opts := conformance.Options{Only: regexp.MustCompile(`^8\.1$`), AppPID: bystander.PID, LeakSettle: leakSettle}
			r := runOne(ctx, processTarget(app), opts, conformance.Fail)
			Expect(r.Reason).To(And(HavePrefix(fmt.Sprintf("8.1: process %d held no more file descriptors or sockets while the case's streams were connected", bystander.PID)),
				ContainSubstring("give --app-pid the PID of the app's process itself")))
		}, leakTimeout)

		It("fails, naming the PID, when no such process runs", func(ctx SpecContext) {
			onLinux()
			app := apptest.NewConsumer(nil)
			pid := unusedPID()
			r := runOne(ctx, conformance.Target{WebSocket: app.WebSocketURL()},
				conformance.Options{Only: regexp.MustCompile(`^8\.1$`), AppPID: pid}, conformance.Fail)
			Expect(r.Reason).To(And(HavePrefix(fmt.Sprintf("8.1: no process %d (--app-pid; Options.AppPID): ", pid)),
				ContainSubstring("give the PID of the app's process")))
		})
	})

	Describe("8.2, when the gauge cannot be read", func() {
		// gaugeRun runs 8.2 against the reference consumer with the gauge
		// g, and expects a failure whose reason names the gauge and the URL.
		gaugeRun := func(ctx SpecContext, g conformance.MetricsGauge) string {
			GinkgoHelper()
			app := apptest.NewConsumer(nil)
			r := runOne(ctx, conformance.Target{WebSocket: app.WebSocketURL()},
				conformance.Options{Only: regexp.MustCompile(`^8\.2$`), AppMetrics: g}, conformance.Fail)
			Expect(r.Reason).To(HavePrefix(fmt.Sprintf("8.2: could not read the gauge %s at %s: ", g.Name, g.URL)))
			Expect(r.Reason).To(HaveSuffix("— give --app-metrics the URL of the app's Prometheus text endpoint and --app-metric the name of its gauge of live sessions (Options.AppMetrics)"))
			return r.Reason
		}

		It("fails when nothing listens at the endpoint", func(ctx SpecContext) {
			Expect(gaugeRun(ctx, conformance.MetricsGauge{URL: "http://" + apptest.RefusedAddr() + "/metrics", Name: "sessions"})).To(ContainSubstring("connection refused"))
		})

		It("fails when the endpoint answers 404", func(ctx SpecContext) {
			srv, err := buggy.Start(buggy.None, &buggy.Options{Backend: true})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(srv.Close)
			Expect(gaugeRun(ctx, conformance.MetricsGauge{URL: strings.TrimSuffix(srv.MetricsURL(), "/metrics") + "/nothing", Name: buggy.MetricName})).
				To(ContainSubstring("the endpoint answered 404, not 200"))
		})

		It("fails when the endpoint has no metric of that name, listing those it has", func(ctx SpecContext) {
			srv, err := buggy.Start(buggy.None, &buggy.Options{Backend: true})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(srv.Close)
			Expect(gaugeRun(ctx, conformance.MetricsGauge{URL: srv.MetricsURL(), Name: "agent_sessions"})).
				To(ContainSubstring("the endpoint has no metric of that name (it has " + buggy.MetricName + ")"))
		})

		It("fails when the endpoint does not serve the text format", func(ctx SpecContext) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = fmt.Fprintln(w, "<html>sessions: 3</html>")
			}))
			DeferCleanup(srv.Close)
			Expect(gaugeRun(ctx, conformance.MetricsGauge{URL: srv.URL + "/metrics", Name: "sessions"})).
				To(ContainSubstring("the endpoint does not serve the Prometheus text format"))
		})

		It("fails a gauge that never rises with the streams: it counts something else, and nothing could be judged", func(ctx SpecContext) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = fmt.Fprint(w, "# TYPE sessions gauge\nsessions 0\n")
			}))
			DeferCleanup(srv.Close)
			app := apptest.NewConsumer(nil)
			r := runOne(ctx, conformance.Target{WebSocket: app.WebSocketURL()}, conformance.Options{Only: regexp.MustCompile(`^8\.2$`),
				AppMetrics: conformance.MetricsGauge{URL: srv.URL + "/metrics", Name: "sessions"}, LeakSettle: leakSettle}, conformance.Fail)
			Expect(r.Reason).To(HavePrefix(fmt.Sprintf("8.2: the gauge sessions at %s/metrics stayed at 0 while the case's streams were connected", srv.URL)))
		}, leakTimeout)

		It("fails a counter, which never comes back down", func(ctx SpecContext) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = fmt.Fprint(w, "# TYPE sessions_total counter\nsessions_total 7\n")
			}))
			DeferCleanup(srv.Close)
			app := apptest.NewConsumer(nil)
			r := runOne(ctx, conformance.Target{WebSocket: app.WebSocketURL()}, conformance.Options{Only: regexp.MustCompile(`^8\.2$`),
				AppMetrics: conformance.MetricsGauge{URL: srv.URL + "/metrics", Name: "sessions_total"}}, conformance.Fail)
			Expect(r.Reason).To(HavePrefix(fmt.Sprintf("8.2: the gauge sessions_total at %s/metrics is a counter, not a gauge", srv.URL)))
		})
	})
})

// unusedPID is a process id no process can have: one past the kernel's
// largest.
func unusedPID() int {
	GinkgoHelper()
	raw, err := os.ReadFile("/proc/sys/kernel/pid_max")
	Expect(err).NotTo(HaveOccurred())
	max, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	Expect(err).NotTo(HaveOccurred())
	return max + 1
}
