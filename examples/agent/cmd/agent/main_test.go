package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
)

var _ = Describe("the agent command", func() {
	DescribeTable("refuses bad usage with exit 2",
		func(args []string, complaint string) {
			stderr := gbytes.NewBuffer()
			Expect(run(context.Background(), args, io.Discard, stderr)).To(Equal(exitUsage))
			Expect(stderr).To(gbytes.Say(regexp.QuoteMeta(complaint)))
		},
		Entry("an unknown flag", []string{"-loud"}, "flag provided but not defined: -loud"),
		Entry("an argument", []string{"extra"}, `unexpected argument "extra"`),
		Entry("a tone above 4000 Hz", []string{"-tone", "5000", "-addr", "127.0.0.1:0"}, "tone 5000 Hz is out of range"),
		Entry("a negative -slow", []string{"-slow", "-1s"}, "-slow -1s is negative"),
	)

	It("serves until interrupted, then shuts down and exits 0", func(ctx SpecContext) {
		stdout := gbytes.NewBuffer()
		interrupt, cancel := context.WithCancel(context.Background())
		defer cancel()
		exited := make(chan int, 1)
		go func() {
			exited <- run(interrupt, []string{"-addr", "127.0.0.1:0", "-slow", "1s", "-leak"}, stdout, io.Discard)
		}()

		Eventually(stdout).WithTimeout(5 * time.Second).Should(gbytes.Say(`\(Ctrl-C to stop\)`))
		out := string(stdout.Contents())
		Expect(out).To(MatchRegexp(`websocket  ws://127\.0\.0\.1:\d+/media`))
		Expect(out).To(ContainSubstring("bugs       -slow 1s, -leak"))
		events := regexp.MustCompile(`events     (\S+)`).FindStringSubmatch(out)[1]

		resp, err := http.Post(events, "application/json", strings.NewReader(`{"eventType":"mediaStreamStarted"}`))
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusNoContent))

		cancel() // as SIGINT or SIGTERM does
		Eventually(exited).WithTimeout(5 * time.Second).Should(Receive(Equal(exitOK)))
	}, SpecTimeout(15*time.Second))
})
