package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/bwemu/bwemu/internal/apptest"
)

// buildBwemu builds this command with go build and extra flags into a
// directory removed when the calling container is done, and returns the
// binary's path.
func buildBwemu(ctx context.Context, flags ...string) string {
	GinkgoHelper()
	dir, err := os.MkdirTemp("", "bwemu-bin-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	bin := filepath.Join(dir, "bwemu")
	args := append(append([]string{"build", "-o", bin}, flags...), ".")
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go %v:\n%s", args, out)
	return bin
}

// startBwemu starts the built binary with args; the process is killed at
// the end of the spec if it is still running.
func startBwemu(bin string, args ...string) *gexec.Session {
	GinkgoHelper()
	s, err := gexec.Start(exec.Command(bin, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		s.Kill()
		Eventually(s).WithTimeout(5 * time.Second).Should(gexec.Exit())
	})
	return s
}

// interruptAndTime sends SIGINT and returns how long the process took to
// exit, failing when it takes longer than within.
func interruptAndTime(s *gexec.Session, within time.Duration) time.Duration {
	GinkgoHelper()
	began := time.Now()
	s.Signal(os.Interrupt)
	Eventually(s).WithTimeout(within).Should(gexec.Exit(), "still running %s after SIGINT", within)
	return time.Since(began)
}

// waitUntil waits for cond while the process runs; should the process
// exit first, it stops trying and shows what the process said.
func waitUntil(ctx context.Context, s *gexec.Session, what string, cond func() bool) {
	GinkgoHelper()
	Eventually(ctx, func() error {
		if s.ExitCode() != -1 {
			return StopTrying("bwemu exited " + itoa(s.ExitCode()) + " before " + what + "\n--- stdout\n" +
				string(s.Out.Contents()) + "--- stderr\n" + string(s.Err.Contents()))
		}
		if !cond() {
			return errors.New("not yet: " + what)
		}
		return nil
	}).Should(Succeed())
}

// hooked says whether the events app has received the webhook what.
func hooked(e *apptest.Hooks, what string) func() bool {
	return func() bool {
		for _, w := range e.Whats() {
			if w == what || what == "" {
				return true
			}
		}
		return false
	}
}

// grace is how long an interrupted command may take to end: the
// emulator's 2 s for the live calls' webhooks, and slack for a loaded
// machine.
const grace = 5 * time.Second

var _ = Describe("bwemu under real signals", Ordered, ContinueOnFailure, func() {
	var bin string
	BeforeAll(func(ctx SpecContext) {
		bin = buildBwemu(ctx)
	}, NodeTimeout(3*time.Minute))

	// expectInterrupted checks an interrupted run's exit and words.
	expectInterrupted := func(s *gexec.Session) {
		GinkgoHelper()
		Expect(s.ExitCode()).To(Equal(exitInterrupted))
		Expect(s.Command.ProcessState.Exited()).To(BeTrue(), "exited with its own code, not killed by the signal")
		all := string(s.Out.Contents()) + string(s.Err.Contents())
		Expect(all).To(ContainSubstring("interrupted"))
		Expect(all).NotTo(ContainSubstring("misbehaved"))
	}

	// inSlowWebhook starts `bwemu stream` for an hour against an app whose
	// webhooks (the disconnect too, with disconnect) never answer, and
	// waits until mediaStreamStarted is waiting.
	inSlowWebhook := func(ctx SpecContext, disconnect bool) (*gexec.Session, *apptest.WS) {
		GinkgoHelper()
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Hang: true})
		args := []string{"stream", app.URL(), "--events", events.EventsURL(), "--for", "1h"}
		if disconnect {
			args = append(args, "--disconnect", events.EventsURL())
		}
		s := startBwemu(bin, args...)
		waitUntil(ctx, s, "mediaStreamStarted", hooked(events, "mediaStreamStarted"))
		return s, app
	}

	Describe("bwemu stream, interrupted once", func() {
		It("during a webhook wait: ends the call within the grace, says interrupted, exits 130", func(ctx SpecContext) {
			s, app := inSlowWebhook(ctx, true)

			Expect(interruptAndTime(s, grace)).To(BeNumerically("<", grace))
			expectInterrupted(s)
			Expect(s.Err).To(gbytes.Say(`bwemu: interrupted: ending live calls within 2s \(interrupt again to exit at once\)`))
			Expect(string(s.Out.Contents())).To(MatchRegexp(`(?m)^INTERRUPTED after \S+ \(.+ of media\): no verdict on the app$`))
			Expect(string(s.Out.Contents())).To(ContainSubstring("cut off by the interrupt"))
			Expect(string(s.Out.Contents())).NotTo(ContainSubstring("FAIL"))

			By("the app saw a proper end of the stream")
			Expect(app.First()).To(apptest.HaveStartMediaStop())
			Expect(app.First().CloseCode).To(Equal(1000))
		}, NodeTimeout(20*time.Second))

		It("during a WebSocket handshake the app never answers: exits 130 within the grace", func(ctx SpecContext) {
			silent := apptest.NewSilent()
			events := apptest.NewHooks()
			s := startBwemu(bin, "stream", silent.URL(), "--events", events.EventsURL(), "--handshake-timeout", "1m")
			waitUntil(ctx, s, "the handshake", func() bool { return silent.Accepted() == 1 })

			Expect(interruptAndTime(s, grace)).To(BeNumerically("<", grace))
			expectInterrupted(s)
		}, NodeTimeout(20*time.Second))

		It("during a close handshake the app never answers: exits 130 within the grace", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.IgnoreClose())
			events := apptest.NewHooks()
			s := startBwemu(bin, "stream", app.URL(), "--events", events.EventsURL(), "--end", "stop", "--pace", "fast", "--for", "100ms", "--close-timeout", "1m")
			waitUntil(ctx, s, "the close frame", func() bool { return app.First().CloseCode == 1000 })

			Expect(interruptAndTime(s, grace)).To(BeNumerically("<", grace))
			expectInterrupted(s)
			// The close handshake was cut short by the interrupt, not
			// failed by the app: nothing is held against it.
			Expect(string(s.Out.Contents())).NotTo(ContainSubstring("before the interrupt"))
		}, NodeTimeout(20*time.Second))
	})

	It("exits 130 at once on a second SIGINT", func(ctx SpecContext) {
		s, _ := inSlowWebhook(ctx, false)
		s.Signal(os.Interrupt)
		Eventually(s.Err).WithContext(ctx).Should(gbytes.Say(`interrupt again to exit at once`))

		took := interruptAndTime(s, time.Second)
		Expect(took).To(BeNumerically("<", time.Second), "the second SIGINT exits without waiting for the grace")
		expectInterrupted(s)
		Expect(s.Err).To(gbytes.Say(`bwemu: interrupted again: exiting at once`))
		Expect(string(s.Out.Contents())).NotTo(ContainSubstring("INTERRUPTED after"), "no account: it exited at once")
	}, NodeTimeout(20*time.Second))

	It("treats SIGTERM as an interrupt", func(ctx SpecContext) {
		s, _ := inSlowWebhook(ctx, false)
		s.Signal(syscall.SIGTERM)
		Eventually(s).WithTimeout(grace).Should(gexec.Exit())
		expectInterrupted(s)
	}, NodeTimeout(20*time.Second))

	DescribeTable("every command that judges the app exits 130 within the grace when interrupted in a slow webhook",
		func(ctx SpecContext, args func(ws, events string) []string) {
			app := apptest.NewWS()
			events := apptest.NewHooks(apptest.Reply{Hang: true})
			s := startBwemu(bin, args(app.URL(), events.EventsURL())...)
			waitUntil(ctx, s, "a webhook", hooked(events, ""))

			Expect(interruptAndTime(s, grace)).To(BeNumerically("<", grace))
			expectInterrupted(s)
		},
		Entry("stream", func(ws, events string) []string {
			return []string{"stream", ws, "--events", events, "--disconnect", events, "--for", "1h"}
		}, NodeTimeout(20*time.Second)),
		Entry("run", func(ws, events string) []string {
			return []string{"run", exampleFile, "--ws", ws, "--events", events, "--disconnect", events, "--focus", "the caller hangs up"}
		}, NodeTimeout(20*time.Second)),
		Entry("conform", func(ws, events string) []string {
			return []string{"conform", "--ws", ws, "--events", events}
		}, NodeTimeout(20*time.Second)),
	)

	It("serve ends its live calls and exits 0 on SIGINT: being stopped is how it ends", func(ctx SpecContext) {
		apptest.NewConsumer(nil)
		s := startBwemu(bin, "serve", "--listen", "127.0.0.1:0")
		Eventually(s.Out).WithContext(ctx).Should(gbytes.Say(`\(Ctrl-C to stop`))

		Expect(interruptAndTime(s, grace)).To(BeNumerically("<", grace))
		Expect(s.ExitCode()).To(Equal(exitPass))
		Expect(string(s.Out.Contents())).To(HaveSuffix("stopped\n"))
	}, NodeTimeout(20*time.Second))
})

// watcher is interrupts running as main runs it, on a signal channel of
// its own.
type watcher struct {
	sigs   chan os.Signal
	runCtx context.Context // cancelled by the first signal
	stderr *bytes.Buffer   // what it wrote: read once exited is closed
	exited chan struct{}   // closed when it would exit the process
	done   chan struct{}   // closed when it returns
}

// watchInterrupts starts interrupts with the deadline after the first
// signal, for a run under ctx.
func watchInterrupts(ctx context.Context, deadline time.Duration) watcher {
	runCtx, cancel := context.WithCancelCause(ctx)
	DeferCleanup(func() { cancel(nil) })
	w := watcher{sigs: make(chan os.Signal, 2), runCtx: runCtx, stderr: &bytes.Buffer{},
		exited: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		interrupts(w.sigs, cancel, w.stderr, func() { close(w.exited) }, deadline)
	}()
	return w
}

var _ = Describe("the two-step interrupt", func() {
	It("cancels the run on the first signal and exits on the second", func(ctx SpecContext) {
		w := watchInterrupts(ctx, time.Minute)

		w.sigs <- os.Interrupt
		Eventually(w.runCtx.Done()).WithContext(ctx).Should(BeClosed())
		Expect(context.Cause(w.runCtx)).To(MatchError(errInterrupted))
		Consistently(w.exited).WithTimeout(50 * time.Millisecond).ShouldNot(BeClosed())

		w.sigs <- os.Interrupt
		Eventually(w.exited).WithContext(ctx).Should(BeClosed())
		Eventually(w.done).WithContext(ctx).Should(BeClosed())
		Expect(w.stderr.String()).To(Equal("\nbwemu: interrupted: ending live calls within 2s (interrupt again to exit at once)\n" +
			"bwemu: interrupted again: exiting at once\n"))
	}, timeout)

	It("exits anyway when the run is still not over at the deadline after the first signal", func(ctx SpecContext) {
		w := watchInterrupts(ctx, 200*time.Millisecond)
		w.sigs <- os.Interrupt
		Eventually(w.runCtx.Done()).WithContext(ctx).Should(BeClosed())
		Eventually(w.exited).WithContext(ctx).Should(BeClosed())
		Expect(w.stderr.String()).To(HaveSuffix("bwemu: still not done 200ms after the interrupt: exiting\n"))
	}, timeout)

	DescribeTable("the exit code of an interrupted command",
		func(command string, returned, want int) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(errInterrupted)
			Expect(exitCode(ctx, []string{command}, returned)).To(Equal(want))
			Expect(exitCode(context.Background(), []string{command}, returned)).To(Equal(returned), "not interrupted: as returned")
			other, cancelOther := context.WithCancelCause(context.Background())
			cancelOther(errors.New("something else"))
			Expect(exitCode(other, []string{command}, returned)).To(Equal(returned), "cancelled, but not by a signal")
		},
		Entry("stream that passed", "stream", exitPass, exitInterrupted),
		Entry("stream that failed", "stream", exitFail, exitInterrupted),
		Entry("run that failed", "run", exitFail, exitInterrupted),
		Entry("conform that passed", "conform", exitPass, exitInterrupted),
		Entry("a usage error stays 2", "run", exitUsage, exitUsage),
		Entry("serve, stopped as it is meant to be, stays 0", "serve", exitPass, exitPass),
		Entry("consumer stays 0", "consumer", exitPass, exitPass),
	)

	It("documents 130 in the usage", func(ctx SpecContext) {
		out := bwemu(ctx, "help")
		Expect(out.stdout).To(ContainSubstring("130 interrupted"))
		Expect(out.stdout).To(ContainSubstring("a second Ctrl-C exits 130 at once"))
	}, timeout)
})
