package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/bwemu/bwemu/suite/conformance"
)

// The leak cases (8.x) of bwemu's conformance suite, run the way a team
// would in CI: the agent built and started as a process of its own, and
// the suite given its PID (8.1 counts its sockets in /proc) and its
// /metrics gauge (8.2). Nothing on the wire shows the -leak bug — the
// agent answers every stream as before — so only these two cases see it.

// sessionsGauge is the agent's gauge of open backend sessions.
const sessionsGauge = "agent_backend_sessions"

// leakSettle is how long the agent has to be back at its baseline after
// the last stream of a leak case (Options.LeakSettle): the correct agent
// is back within milliseconds, and the leaking one need not be waited for
// the default 5 s. bwemu conform always waits the default.
const leakSettle = time.Second

// Bounds on the processes: to say where they listen, to stop after
// SIGTERM (the agent gives live calls 5 s), and to build.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = shutdownGrace + 5*time.Second
	buildTimeout = 3 * time.Minute
	// conformTimeout bounds a bwemu conform run of the two leak cases.
	conformTimeout = 45 * time.Second
)

// agentProcess is the agent binary running as a child process.
type agentProcess struct {
	pid                                int
	ws, events, disconnect, metricsURL string
}

// target is the agent as bwemu's conformance suite reaches it.
func (p *agentProcess) target() conformance.Target {
	return conformance.Target{WebSocket: p.ws, Events: p.events, Disconnect: p.disconnect, Bidirectional: true}
}

// leakOptions run the leak cases against the agent's process, by its PID
// (8.1) and by its gauge of backend sessions (8.2).
func (p *agentProcess) leakOptions() conformance.Options {
	return conformance.Options{Only: regexp.MustCompile(`^8\.`), AppPID: p.pid,
		AppMetrics: conformance.MetricsGauge{URL: p.metricsURL, Name: sessionsGauge}, LeakSettle: leakSettle}
}

// conformArgs are the bwemu conform flags for the same run.
func (p *agentProcess) conformArgs() []string {
	return []string{"conform", "--ws", p.ws, "--events", p.events, "--disconnect", p.disconnect, "--bidirectional",
		"--app-pid", strconv.Itoa(p.pid), "--app-metrics", p.metricsURL, "--app-metric", sessionsGauge, "--only", `^8\.`}
}

// goBuild builds the package pkg into dir/name and returns its path.
func goBuild(ctx context.Context, dir, name, pkg string) string {
	GinkgoHelper()
	bin := filepath.Join(dir, name)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build -o %s %s:\n%s", bin, pkg, out)
	return bin
}

// startAgentProcess starts the agent binary with args and -addr
// 127.0.0.1:0, and returns once it has printed where it listens. When the
// spec ends it gets SIGTERM, as a deployment stops it, and must exit 0.
func startAgentProcess(bin string, args ...string) *agentProcess {
	GinkgoHelper()
	// Not the spec's context: that one ends as the spec's body returns,
	// and would kill the agent before the cleanup below can stop it.
	stop, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(stop, bin, append(args, "-addr", "127.0.0.1:0")...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout // then it is killed
	s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	if err != nil {
		cancel()
	}
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		cancel()
		Eventually(s).WithTimeout(stopTimeout+time.Second).Should(gexec.Exit(exitOK), "the agent (process %d) after SIGTERM", cmd.Process.Pid)
	})

	Eventually(s.Out).WithTimeout(startTimeout).Should(gbytes.Say(`\(Ctrl-C to stop\)`), "the agent's banner")
	banner := string(s.Out.Contents())
	url := func(label string) string {
		m := regexp.MustCompile(`(?m)^  ` + label + ` +(\S+)$`).FindStringSubmatch(banner)
		Expect(m).NotTo(BeNil(), "no %s URL in the banner:\n%s", label, banner)
		return m[1]
	}
	p := &agentProcess{pid: cmd.Process.Pid, ws: url("websocket"), events: url("events"),
		disconnect: url("disconnect"), metricsURL: url("metrics")}
	Expect(p.pid).NotTo(Equal(os.Getpid()))
	return p
}

// statuses maps each result's ID to its verdict.
func statuses(results []conformance.Result) map[string]conformance.Status {
	m := map[string]conformance.Status{}
	for _, r := range results {
		m[r.ID] = r.Status
	}
	return m
}

// reasons is the results' reasons, to show when a verdict is not the one
// expected.
func reasons(results []conformance.Result) string {
	var s string
	for _, r := range results {
		s += fmt.Sprintf("%s %s: %s\n", r.ID, r.Status, r.Reason)
	}
	return s
}

func resultOf(results []conformance.Result, id string) conformance.Result {
	GinkgoHelper()
	for _, r := range results {
		if r.ID == id {
			return r
		}
	}
	Fail("no result for case " + id + " in:\n" + reasons(results))
	return conformance.Result{}
}

// leakEnding is how the leak cases' messages name the streams they ended.
const leakEnding = "6 streams ended by a TCP reset, a silent drop or a close 1011"

var _ = Describe("the agent binary under bwemu's leak cases (8.x)", Ordered, ContinueOnFailure, func() {
	var agentBin, bwemuBin string
	BeforeAll(func(ctx SpecContext) {
		if runtime.GOOS != "linux" {
			Skip("8.1 counts the agent's sockets in Linux's /proc: these specs run on Linux only (on " + runtime.GOOS + ")")
		}
		dir, err := os.MkdirTemp("", "agent-leak-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		agentBin = goBuild(ctx, dir, "agent", ".")
		bwemuBin = goBuild(ctx, dir, "bwemu", "github.com/bwemu/bwemu/cmd/bwemu")
	}, NodeTimeout(buildTimeout))

	It("fail 8.1 and 8.2 against -leak, naming the sockets and the gauge it leaves behind", func(ctx SpecContext) {
		p := startAgentProcess(agentBin, "-leak")
		results, err := conformance.Run(ctx, p.target(), p.leakOptions())
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("results", reasons(results))
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"8.1": conformance.Fail, "8.2": conformance.Fail}), reasons(results))

		By("8.1: two sockets per forgotten session, both ends of its loopback connection, after each kind of ending")
		Expect(resultOf(results, "8.1").Reason).To(HavePrefix("8.1: 12 sockets stayed open 1s after the last of " + leakEnding +
			" (4 sockets after the TCP resets, 4 sockets after the silent drops, 4 sockets after the internal-error closes (1011)): process " +
			strconv.Itoa(p.pid) + " held "))

		By("8.2: the gauge, up by one a stream (8.1, run first, had left 6 already)")
		Expect(resultOf(results, "8.2").Reason).To(HavePrefix(fmt.Sprintf("8.2: the gauge %s at %s was 6 before the faults and still 12 1s after the last of %s "+
			"(+2 after the TCP resets, +2 after the silent drops, +2 after the internal-error closes (1011)) — release what a stream holds",
			sessionsGauge, p.metricsURL, leakEnding)))
	}, SpecTimeout(time.Minute))

	It("pass 8.1 and 8.2 against the agent without -leak", func(ctx SpecContext) {
		p := startAgentProcess(agentBin)
		results, err := conformance.Run(ctx, p.target(), p.leakOptions())
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("results", reasons(results))
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"8.1": conformance.Pass, "8.2": conformance.Pass}), reasons(results))
		Expect(resultOf(results, "8.1").Reason).To(MatchRegexp(`^8\.1: after %s, process %d was back at its baseline within (?:\d+ms|0s): `+
			`\d+ file descriptors \(\d+ of them sockets\) before the faults, \d+ file descriptors \(\d+ of them sockets\) after;`, leakEnding, p.pid))
		Expect(resultOf(results, "8.2").Reason).To(MatchRegexp(`^8\.2: after %s, the gauge %s at %s was back at its baseline within (?:\d+ms|0s) \(0 before the faults, 0 after\)$`,
			leakEnding, sessionsGauge, regexp.QuoteMeta(p.metricsURL)))
	}, SpecTimeout(time.Minute))

	// bwemu conform waits the default settle time (5 s) for the leaking
	// agent, twice: this spec takes about 20 s.
	It("make bwemu conform --app-pid exit 1 against -leak, its report naming 8.1 and 8.2 FAIL", func(ctx SpecContext) {
		p := startAgentProcess(agentBin, "-leak")
		s, err := gexec.Start(exec.CommandContext(ctx, bwemuBin, p.conformArgs()...), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(ctx, s).WithTimeout(conformTimeout).Should(gexec.Exit(1))

		out := string(s.Out.Contents())
		Expect(out).To(MatchRegexp(`(?m)^8\.1 +FAIL +\S+ +releases the file descriptors and sockets of streams ended by a TCP reset`))
		Expect(out).To(MatchRegexp(`(?m)^8\.2 +FAIL +\S+ +brings its gauge of live sessions back to its baseline`))
		Expect(out).To(ContainSubstring("\n--- FAIL 8.1: releases the file descriptors and sockets"))
		Expect(out).To(ContainSubstring("    8.1: 12 sockets stayed open 5s after the last of " + leakEnding +
			" (4 sockets after the TCP resets, 4 sockets after the silent drops, 4 sockets after the internal-error closes (1011)): process " +
			strconv.Itoa(p.pid) + " held "))
		Expect(out).To(ContainSubstring(fmt.Sprintf("    8.2: the gauge %s at %s was 6 before the faults and still 12 5s after the last of %s",
			sessionsGauge, p.metricsURL, leakEnding)))
		Expect(out).To(MatchRegexp(`(?m)^FAIL: 0 pass, 2 fail, 0 non-strict, 0 info, 0 skipped in \S+$`))
		Expect(string(s.Err.Contents())).To(MatchRegexp(`(?m)^\[1/2\] FAIL +8\.1 `))
	}, SpecTimeout(time.Minute))

	It("make bwemu conform --app-pid exit 0 against the agent without -leak", func(ctx SpecContext) {
		p := startAgentProcess(agentBin)
		s, err := gexec.Start(exec.CommandContext(ctx, bwemuBin, p.conformArgs()...), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(ctx, s).WithTimeout(conformTimeout).Should(gexec.Exit(0))
		out := string(s.Out.Contents())
		Expect(out).To(MatchRegexp(`(?m)^8\.1 +PASS `))
		Expect(out).To(MatchRegexp(`(?m)^8\.2 +PASS `))
		Expect(out).To(MatchRegexp(`(?m)^PASS: 2 pass, 0 fail, 0 non-strict, 0 info, 0 skipped in \S+$`))
	}, SpecTimeout(time.Minute))
})
