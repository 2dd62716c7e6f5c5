// Package conformance is the consumer conformance suite: the stock checks
// every app that consumes Bandwidth media streams should pass, whatever it
// does with the audio. Each check is a Case, defined once as data (an ID,
// a group, a one-line title saying what a correct consumer does, and a Run
// function); Run executes them against a Target with a plain Go runner, so
// the same cases serve a Ginkgo wrapper, the bwemu conform command and any
// program of one's own.
//
//	results, err := conformance.Run(ctx, conformance.Target{
//		WebSocket: "ws://127.0.0.1:8080/media",
//		Events:    "http://127.0.0.1:8080/events",
//	}, conformance.Options{})
//	if err != nil { … } // a bad Target or Options; nothing ran
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
//     fields.
//   - 3.x media: it keeps reading at the real-time pace and keeps up with
//     a burst.
//   - 4.x endings: it completes the close handshake after a StopStream
//     and a hangup, and survives a TCP reset, a silent drop, an internal
//     error (close 1011) and broken handshakes, still accepting a new
//     stream after each.
//   - 5.x webhooks: every stream event and the disconnect is answered
//     exactly 204 (another 2xx is non-strict), promptly, also when it is a
//     duplicate or comes as a GET, and refused without the configured
//     Basic credentials.
//   - 6.x bidirectional (only with Target.Bidirectional): the app plays
//     valid audio back soon after the start and commits no protocol
//     violation.
//   - 7.x concurrency and recovery: several streams on one call, several
//     calls at once, and a fault on one stream leaving another intact.
//
// Cases() lists them all with their titles.
//
// # Verdicts
//
// Each case ends with one Status: Pass; Fail, with a Reason that starts
// with the case ID and says what the app did wrong and what to do instead;
// NonStrict, for an answer Bandwidth accepts but does not document (200
// or 201 instead of 204); Info, for a measurement or a check that does not
// apply (no credentials configured); Skip, for a case that does not apply
// to the target (6.x without Bidirectional, 5.x without an Events URL). On
// Fail and NonStrict, Result.Journal holds what the emulator recorded
// around the failure. The judgements are the suite package's Gomega
// matchers, run with a standalone Gomega, so a reason reads the same as a
// failed expectation in a Go spec or a scenario file.
//
// Each case builds its own emulator with short but safe timeouts
// (DefaultTimeouts, overridable with Options.Timeouts) and closes it when
// it ends; independent cases run in parallel (Options.Parallel, 4 by
// default), cases marked Serial (pacing, and the faults) run alone. Against a correct
// consumer the whole suite takes a few seconds. Cases running in parallel
// share the app, as Bandwidth's calls do: an app that cannot serve two
// streams at once fails more than the 7.x cases (Parallel: 1 isolates
// them).
//
// Only the case's own subject is judged: the socket cases (1.x to 4.x,
// 6.x, 7.x) send webhooks but leave their answers to the 5.x cases, and
// the probe after a fault (suite.AcceptNewStream) runs without webhooks.
// A stream that should end cleanly must end with Bandwidth's stop and
// close, the app's close frame back with a normal code, and no protocol
// violation (on a unidirectional stream, any message from the app is one).
//
// Run runs the cases; RunCase runs one of them (a Ginkgo wrapper makes
// each an It); Selected lists the cases an Options.Only selects; Passed
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
