// Package conformance is the consumer conformance suite: the stock checks
// every app that consumes Bandwidth media streams should pass, whatever it
// does with the audio. Each check is a Case, defined once as data (an ID,
// a group, a one-line title saying what a correct consumer does, and a Run
// function); Run executes them against a Target with a plain Go runner, so
// the same cases serve a Ginkgo wrapper, the bwemu conform command and any
// program of one's own.
//
//	results, err := conformance.Run(ctx, conformance.Target{
//		WebSocket:  "ws://127.0.0.1:8080/media",
//		Events:     "http://127.0.0.1:8080/events",
//		Disconnect: "http://127.0.0.1:8080/disconnect",
//	}, conformance.Options{})
//	var unreachable *conformance.UnreachableError
//	if errors.As(err, &unreachable) { … } // the app is down: no case ran
//	if err != nil { … }                    // a bad Target or Options; nothing ran
//	for _, r := range results {
//		fmt.Println(r.ID, r.Status, r.Reason)
//	}
//	ok := conformance.Passed(results, false)
//
// # The cases
//
//   - 1.x handshake: the app accepts the WebSocket upgrade, refuses it
//     without (or with wrong) destination credentials when it requires
//     them, and keeps working with a query string in the destination.
//   - 2.x start: the app takes every shape of start message: with no
//     StreamParams or the maximum of 12, each tracks value, unknown extra
//     fields (non-strict).
//   - 3.x media: it keeps reading at the real-time pace, keeps up with a
//     burst, and ignores a message with an unknown eventType (non-strict).
//   - 4.x endings: it completes the close handshake after a StopStream
//     and a hangup (closing first as it reads stop is fine), and survives
//     a TCP reset, a silent drop, an internal error (close 1011) and broken
//     handshakes, still accepting a new stream after each.
//   - 5.x webhooks: every stream event and the disconnect is answered
//     exactly 204 (another 2xx is non-strict), within the callbackTimeout
//     (after WebhookLatencyLimit is non-strict), also when it is a
//     duplicate, and refused without the configured Basic credentials;
//     webhooks come as GET only when the app asks for GET
//     (Target.EventMethod, Target.DisconnectMethod), disconnect only when
//     the target has a disconnect URL; mediaStreamStarted is answered while
//     its stream is live, not once it is over.
//   - 6.x bidirectional (only with Target.Bidirectional): the app plays
//     valid audio back soon after the start and commits no protocol
//     violation.
//   - 7.x concurrency and recovery: several streams on one call, several
//     calls at once (all live at the same moment), and a fault on one
//     stream leaving another intact.
//   - 8.x leaks: after streams ended by a TCP reset, a silent drop and a
//     close 1011 (no stop message), the app is back at its baseline
//     within Options.LeakSettle: its process's open file descriptors and
//     sockets (Options.AppPID, Linux's /proc; threads are reported, not
//     judged) and a Prometheus gauge of its live sessions
//     (Options.AppMetrics). Without them the cases are informational. The
//     app must run in a process of its own, or the emulator's sockets
//     would be counted with its own.
//
// Cases() lists them all with their titles.
//
// # Where webhooks go
//
// As on Bandwidth: stream events (mediaStreamStarted, Rejected, Stopped)
// go to Target.Events with Target.EventMethod and nowhere else; disconnect
// goes to Target.Disconnect with Target.DisconnectMethod, and nowhere when
// it is empty (5.8 is then informational). No case sends a GET the app did
// not ask for.
//
// # Verdicts
//
// Each case ends with one Status: Pass; Fail, with a Reason that starts
// with the case ID and says what the app did wrong and what to do instead;
// NonStrict, for behaviour Bandwidth accepts or does not document (200 or
// 201 instead of 204; playAudio on a unidirectional stream, whose advice is
// to run with --bidirectional; an eventType other than playAudio and clear;
// the cases marked Undocumented, 2.6 and 3.3), always with advice; Info,
// for a measurement or a check that does not apply (no credentials, no
// disconnect URL, no GET, no app process); Skip, for a case that does not apply to the
// target (6.x without Bidirectional, 5.x without an Events URL) or that an
// interrupt stopped (Result.Interrupted). A stream that ends by a fault of
// the app (emulator.StreamResult.AppFault) fails its case unless that
// ending is the case's subject. On Fail and NonStrict, Result.Journal holds
// what the emulator recorded around the failure. The judgements are the
// suite package's Gomega matchers, run with a standalone Gomega, so a
// reason reads the same as a failed expectation in a Go spec or a scenario
// file.
//
// # Time
//
// Run first checks, with one stream, that the app can be reached: an app
// that is down, never answers the upgrade, or whose webhook endpoint
// refuses connections is one *UnreachableError, at once, instead of every
// case failing the same way. Every webhook is given the app's
// callbackTimeout (Options.Timeouts.Callback, 15 s by default), as on
// Bandwidth: an answer past it fails, and an answer slower than
// WebhookLatencyLimit but inside it is non-strict (Bandwidth takes it). A
// case that judges webhooks fails at the first webhook left unanswered
// past the callbackTimeout, and once the app has left one so, or answered
// one slower than WebhookLatencyLimit, the other cases send it none. Every case has a deadline (Options.CaseTimeout). So
// a hung app fails the whole suite within a few callbackTimeouts (about
// 90 s at the default 15 s); a correct one passes it in a few seconds.
//
// Each case builds its own emulator with short but safe timeouts
// (DefaultTimeouts, overridable with Options.Timeouts) and shuts it down
// when it ends; independent cases run in parallel (Options.Parallel, 4 by
// default), cases marked Serial (pacing, the faults, the leak checks) run
// alone. Cases
// running in parallel share the app, as Bandwidth's calls do: an app that
// cannot serve two streams at once fails more than the 7.x cases
// (Parallel: 1 isolates them). When ctx ends, the cases under way stop
// within emulator.InterruptGrace and report Skip with Interrupted set.
//
// Only the case's own subject is judged: the socket cases (1.x to 4.x,
// 6.x, 7.x) send webhooks but leave their answers to the 5.x cases, and
// the probe after a fault (suite.AcceptNewStream) runs without webhooks.
// A stream that should end cleanly must end with Bandwidth's stop and
// close, the app's close frame back with a normal code, and no protocol
// violation.
//
// Run runs the cases; RunCase runs one of them (a Ginkgo wrapper makes
// each an It) and Preflight the reachability check; Select and Selected
// list the cases Options.Only selects and Options.Skip leaves out; Passed
// and Status.Passing judge results.
//
// # Writing a case
//
// A case's Run reports through its *Check: Check.Spec and Check.Call give
// a stream spec and a call aimed at the Target; Check.Start starts a
// stream and waits for the connection; Check.Expect judges a value with a
// matcher and records a failure with a hint for the developer; Pass,
// Fail, NonStrict, Info and Skip record verdicts directly (the worst one
// wins). The package uses Gomega's matchers but imports no test framework
// (no Ginkgo).
package conformance
