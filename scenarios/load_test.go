package scenarios_test

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/scenarios"
)

func ptr[T any](v T) *T { return &v }

// mustParse parses src as t.yaml, which must be valid.
func mustParse(src string) *scenarios.File {
	GinkgoHelper()
	f, err := scenarios.Parse("t.yaml", []byte(src))
	Expect(err).NotTo(HaveOccurred())
	return f
}

var _ = Describe("Load", func() {
	var f *scenarios.File
	BeforeEach(func() {
		var err error
		f, err = scenarios.Load("testdata/full.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Scenarios).To(HaveLen(4))
	})

	It("reads the target, resolving the CA against the file's directory", func() {
		abs, err := filepath.Abs("testdata/certs/test-ca.pem")
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Path).To(Equal("testdata/full.yaml"))
		Expect(f.Target).To(Equal(scenarios.Target{
			WebSocket: "wss://127.0.0.1:8443/media", Events: "https://127.0.0.1:8443/events",
			EventMethod: "GET", Disconnect: "https://127.0.0.1:8443/calls",
			WSUser: "ws-user", WSPassword: "ws-secret", EventUser: "hook-user", EventPassword: "12345",
			CA: abs,
		}))
	})

	It("keeps the defaults as written, numbers as their text, params in order", func() {
		d := f.Defaults
		Expect(d.Call).To(Equal(scenarios.Call{From: "+15551112222", To: "+15553334444", Direction: "inbound", Tag: "base"}))
		Expect(d.Stream.Params).To(Equal([]protocol.StreamParam{
			{Name: "tenant", Value: "acme"}, {Name: "region", Value: "us"},
			{Name: "retries", Value: "3"}, {Name: "debug", Value: "true"},
		}))
		Expect(d.Stream.Audio).To(Equal("audio/beep.pcmu"))
		Expect(d.Stream.AudioSource.String()).To(Equal("beep.pcmu (100ms)"))
		Expect(d.Pace).To(Equal("realtime"))
		Expect(d.Speed).To(Equal(2.0))
		Expect(d.Timeouts).To(Equal(scenarios.Timeouts{Handshake: 10 * time.Second, Write: 5 * time.Second,
			CloseHandshake: 5 * time.Second, Callback: 15 * time.Second, DeadPeer: 2 * time.Second}))
		Expect(d.Options).To(Equal(scenarios.Options{DuplicateWebhooks: ptr(false), RejectOnConnectError: ptr(true)}))
		Expect(d.Expect.Webhooks.Status).To(Equal("2xx"))
		Expect(d.Expect.Webhooks.Within).To(Equal(time.Second))
		Expect(d.Extra).To(BeNil())
	})

	Describe("merging defaults into each scenario", func() {
		It("gives a scenario that sets nothing all of the defaults", func() {
			s := f.Scenarios[0]
			d := f.Defaults
			Expect(s.Call).To(Equal(d.Call))
			Expect(s.Stream).To(Equal(d.Stream))
			Expect(s.Pace).To(Equal(d.Pace))
			Expect(s.Speed).To(Equal(d.Speed))
			Expect(s.Timeouts).To(Equal(d.Timeouts))
			Expect(s.Options).To(Equal(d.Options))
			Expect(s.Expect).To(Equal(d.Expect))
			Expect(s.Extra).To(BeNil())
		})

		It("lets a scenario's own settings win field by field", func() {
			s := f.Scenarios[1]
			Expect(s.Call).To(Equal(scenarios.Call{From: "+15551112222", To: "+15553334444", Direction: "inbound", Tag: "own"}))
			Expect(s.Stream.Name).To(Equal("agent"), "from the defaults")
			Expect(s.Stream.Mode).To(BeEquivalentTo("unidirectional"), "from the defaults")
			Expect(s.Stream.Tracks).To(Equal("inbound"))
			Expect(s.Stream.Params).To(Equal([]protocol.StreamParam{{Name: "only", Value: "mine"}}), "params are replaced, not merged")
			Expect(s.Stream.Query).To(Equal([]protocol.StreamParam{{Name: "token", Value: "abc"}}))
			Expect(s.Stream.Destination).To(Equal("ws://127.0.0.1:9000/other"))
			Expect(s.Stream.Audio).To(Equal("sub/greeting.wav"))
			Expect(s.Stream.AudioSource.String()).To(Equal("greeting.wav (100ms)"))
			Expect(s.Stream.Pos.Line).To(Equal(39), "the scenario's own stream: (its first key)")
			Expect(s.Pace).To(Equal("fast"))
			Expect(s.Speed).To(Equal(0.5))
			Expect(s.Timeouts).To(Equal(scenarios.Timeouts{Handshake: 10 * time.Second, Write: time.Second,
				CloseHandshake: 5 * time.Second, Callback: 15 * time.Second, DeadPeer: 2 * time.Second}))
			Expect(s.Options).To(Equal(scenarios.Options{DuplicateWebhooks: ptr(true), RejectOnConnectError: ptr(true), AppCloseAsError: ptr(true)}))
			Expect(s.Extra).To(HaveLen(1))
			Expect(s.Extra[0].Name).To(Equal("extra"))
			Expect(s.Extra[0].AudioSource.String()).To(Equal("silence"))
		})

		It("lets a scenario's expectations win part by part", func() {
			e := f.Scenarios[1].Expect
			Expect(e.Started).To(Equal(ptr(false)))
			Expect(e.Stopped).To(Equal(&scenarios.EndingExpect{Pos: e.Stopped.Pos, Stream: "extra", Cause: "connection-error", ErrorMessage: "went silent"}))
			Expect(e.Rejected).To(Equal(&scenarios.EndingExpect{Pos: e.Rejected.Pos, Stream: "late", Cause: "duplicate", ErrorMessage: "already"}))
			Expect(e.Disconnect.Cause).To(Equal("hangup"))
			Expect(e.Webhooks).To(Equal(f.Defaults.Expect.Webhooks), "from the defaults")
			Expect(e.Close).To(Equal(&scenarios.CloseExpect{Pos: e.Close.Pos, Stream: "agent", By: "app", Code: 4001, Handshake: ptr(false)}))
			Expect(e.PlayAudio).To(Equal(&scenarios.PlayAudioExpect{Pos: e.PlayAudio.Pos, Stream: "late", Min: 3, Within: 2 * time.Second}))
			Expect(e.Violations).To(Equal(ptr(2)))
			Expect(e.AcceptsNewStream).To(Equal(ptr(true)))
		})

		It("takes an empty params or streams as set: nothing is inherited", func() {
			s := f.Scenarios[2]
			Expect(s.Stream.Params).To(BeEmpty())
			Expect(s.Stream.Params).NotTo(BeNil())
			Expect(s.Stream.Name).To(Equal("agent"))
			Expect(s.Extra).To(BeEmpty())
			Expect(s.Extra).NotTo(BeNil())
		})

		It("shares no pointers or slices between scenarios and the defaults", func() {
			a, b := f.Scenarios[0], f.Scenarios[2]
			a.Expect.Webhooks.Status = "204"
			*a.Expect.Violations = 7
			*a.Options.RejectOnConnectError = false
			a.Stream.Params[0].Value = "changed"
			Expect(b.Expect.Webhooks.Status).To(Equal("2xx"))
			Expect(*b.Expect.Violations).To(Equal(0))
			Expect(*b.Options.RejectOnConnectError).To(BeTrue())
			Expect(f.Defaults.Expect.Webhooks.Status).To(Equal("2xx"))
			Expect(f.Defaults.Stream.Params[0].Value).To(Equal("acme"))
		})

		It("lets false and 0 in a scenario override true and 2 in the defaults", func() {
			f := mustParse(`defaults:
  duplicateWebhooks: true
  expect: {violations: 2, acceptsNewStream: true, close: {handshake: true}}
scenarios:
  - name: a
    duplicateWebhooks: false
    expect: {violations: 0, acceptsNewStream: false}
    steps: [hangup]
`)
			s := f.Scenarios[0]
			Expect(s.Options.DuplicateWebhooks).To(Equal(ptr(false)))
			Expect(s.Expect.Violations).To(Equal(ptr(0)))
			Expect(s.Expect.AcceptsNewStream).To(Equal(ptr(false)))
			Expect(s.Expect.Close.Handshake).To(Equal(ptr(true)))
		})
	})

	It("reads every step form", func() {
		steps := f.Scenarios[1].Steps
		for i := range steps {
			Expect(steps[i].Pos.Line).To(Equal(52+i), "steps[%d]", i)
			Expect(steps[i].Pos.Col).To(Equal(9), "steps[%d]", i)
			steps[i].Pos = scenarios.Pos{}
		}
		start := steps[3].Start
		Expect(start).NotTo(BeNil())
		Expect(start.AudioSource.String()).To(Equal("tone:300Hz"))
		Expect(start.Pos).To(Equal(scenarios.Pos{File: "testdata/full.yaml", Line: 55, Col: 16}))
		Expect(steps).To(Equal([]scenarios.Step{
			{Kind: scenarios.StepMedia, Stream: "extra", Duration: 500 * time.Millisecond},
			{Kind: scenarios.StepSilence, Duration: time.Second},
			{Kind: scenarios.StepSilence, Stream: "agent", Duration: 250 * time.Millisecond},
			{Kind: scenarios.StepStart, Stream: "late", Start: start},
			{Kind: scenarios.StepStopStream, Stream: "late"},
			{Kind: scenarios.StepStopStream, Stream: "extra", Wait: true, Timeout: 3 * time.Second},
			{Kind: scenarios.StepStopStream, Wait: true},
			{Kind: scenarios.StepDuplicateWebhooks, On: false},
			{Kind: scenarios.StepDuplicateWebhooks, On: true},
			{Kind: scenarios.StepError, Stream: "agent"},
			{Kind: scenarios.StepAbort, Stream: "agent", Fault: "drop"},
			{Kind: scenarios.StepAbort, Fault: "reset"},
			{Kind: scenarios.StepError},
			{Kind: scenarios.StepStopStream},
			{Kind: scenarios.StepHangup},
		}))
	})

	It("reads a voice agent's say steps, record: and turn expectations", func() {
		s := f.Scenarios[3]
		Expect(s.Record).To(Equal("recordings"), "as written: the run resolves it against the file's directory")
		Expect(s.Pace).To(Equal("realtime"), "from the defaults")
		Expect(s.PacePos).To(Equal(f.Defaults.PacePos))
		Expect(s.Stream.Mode).To(BeEquivalentTo("bidirectional"))
		steps := s.Steps
		Expect(steps).To(HaveLen(5))
		for _, i := range []int{1, 3} {
			Expect(steps[i].Kind).To(Equal(scenarios.StepSay))
			Expect(steps[i].Audio).To(Equal("audio/hello.wav"))
			Expect(steps[i].AudioSource.String()).To(Equal("hello.wav (700ms)"))
		}
		Expect(steps[1].Stream).To(BeEmpty())
		Expect(steps[3].Stream).To(Equal("agent"))
		e := s.Expect
		Expect(e.Reply).To(Equal(&scenarios.ReplyExpect{Pos: e.Reply.Pos, Within: time.Second, Min: 200 * time.Millisecond}))
		Expect(e.BargeIn).To(Equal(&scenarios.BargeInExpect{Pos: e.BargeIn.Pos, Stream: "agent", Within: 500 * time.Millisecond}))
		Expect(e.Heard).To(Equal(&scenarios.HeardExpect{Pos: e.Heard.Pos, Tone: 440, AtLeast: 300 * time.Millisecond}))
		Expect(e.Stopped).To(Equal(f.Defaults.Expect.Stopped), "from the defaults")
	})

	It("places pace: where a scenario sets it, else where the defaults do", func() {
		f := mustParse(`defaults:
  pace: realtime
scenarios:
  - name: own
    pace: fast
    steps: [hangup]
  - name: inherited
    steps: [hangup]
`)
		Expect(f.Scenarios[0].PacePos).To(Equal(scenarios.Pos{File: "t.yaml", Line: 5, Col: 11}))
		Expect(f.Scenarios[1].PacePos).To(Equal(scenarios.Pos{File: "t.yaml", Line: 2, Col: 9}))
	})

	It("records where scenarios, streams and expectations are", func() {
		p := func(line, col int) scenarios.Pos {
			return scenarios.Pos{File: "testdata/full.yaml", Line: line, Col: col}
		}
		Expect(f.Scenarios[0].Pos).To(Equal(p(31, 5)))
		Expect(f.Scenarios[1].Pos).To(Equal(p(36, 5)))
		Expect(f.Defaults.Stream.Pos).To(Equal(p(16, 5)))
		Expect(f.Scenarios[0].Stream.Pos).To(Equal(p(16, 5)), "inherited from the defaults")
		Expect(f.Scenarios[1].Extra[0].Pos).To(Equal(p(50, 9)))
		e := f.Scenarios[1].Expect
		Expect(e.Stopped.Pos).To(Equal(p(69, 16)))
		Expect(e.Close.Pos).To(Equal(p(72, 14)))
		Expect(f.Scenarios[0].Expect.Webhooks.Pos).To(Equal(p(27, 15)))
	})

	It("resolves anchors, aliases and merge keys", func() {
		f := mustParse(`scenarios:
  - name: a
    stream: &agent {name: agent, tracks: both, params: {tenant: acme}}
    steps: &flow
      - media: 1s
      - hangup
  - name: b
    stream:
      <<: *agent
      tracks: inbound
    steps: *flow
`)
		a, b := f.Scenarios[0], f.Scenarios[1]
		Expect(b.Stream.Name).To(Equal("agent"))
		Expect(b.Stream.Tracks).To(Equal("inbound"))
		Expect(b.Stream.Params).To(Equal(a.Stream.Params))
		Expect(b.Steps).To(Equal(a.Steps))
	})

	It("takes a !!str-tagged number as a string", func() {
		f := mustParse(`scenarios:
  - name: !!str 42
    stream: {name: !!str 7}
    steps: [hangup]
`)
		Expect(f.Scenarios[0].Name).To(Equal("42"))
		Expect(f.Scenarios[0].Stream.Name).To(Equal("7"))
	})

	It("accepts webhooks status as the number 204 or the strings 204 and 2xx", func() {
		for _, v := range []string{`204`, `"204"`, `2xx`} {
			f := mustParse(`defaults: {expect: {webhooks: {status: ` + v + `}}}
scenarios: [{name: a, steps: [hangup]}]
`)
			Expect(f.Scenarios[0].Expect.Webhooks.Status).To(BeElementOf("204", "2xx"))
		}
	})

	It("leaves unset settings zero", func() {
		f := mustParse(`scenarios:
  - name: minimal
    steps: [hangup]
`)
		s := f.Scenarios[0]
		Expect(s.Settings).To(Equal(scenarios.Settings{Stream: scenarios.Stream{}}))
		Expect(f.Target).To(BeZero())
	})
})
