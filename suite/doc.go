// Package suite holds Gomega matchers over what the emulator recorded: how
// a stream ended, how its connection closed, what the app sent back and how
// it answered the webhooks. The scenario runner uses the same matchers for
// its expect blocks, so an expectation means the same in a YAML file, in
// bwemu conform and in a Go spec.
//
// The matchers are plain Gomega matchers: they work in Ginkgo specs and
// with a standalone gomega.NewGomega outside Ginkgo alike.
//
//	g.Expect(stream).To(suite.HaveNoAppFault())
//	g.Expect(stream).To(suite.HaveStopped("closed"))
//	g.Expect(stream).To(suite.HaveClosed(emulator.ByEmulator, 1000))
//	g.Expect(stream).To(suite.HaveWebhook("mediaStreamStopped", suite.BeAnsweredWith(204)))
//	g.Expect(e.Deliveries()).To(suite.BeAnswered2xx())
//	g.Expect(e).To(suite.AcceptNewStream(ctx, spec)) // the app still takes streams
//
//	// An ending the app caused, which this test means to provoke:
//	g.Expect(stream).To(suite.HaveEnded(emulator.EndAppCloseCode,
//		suite.HaveStopped("connection-error", "code 4001"),
//		suite.HaveClosed(emulator.ByApp, 4001)))
//
// # What they match
//
// Stream matchers take an *emulator.Stream or an *emulator.StreamResult and
// read the stream's final result. A stream that is still live is an error
// ("stream … is still live"), so both To and NotTo fail on it, and
// Eventually(stream).Should(…) waits for the end; once the stream has
// ended, Eventually gives up at once if the result does not match, since it
// can no longer change.
//
//   - HaveNoAppFault(): the stream did not end by a fault of the app (the
//     AppFault column of emulator.Terminations: connect-refused,
//     handshake-timeout, handshake-status, connect-failed,
//     app-abnormal-close, app-close-code, close-handshake-timeout,
//     write-timeout).
//   - HaveEnded(ending, matchers...): the row of emulator.Terminations it
//     ended with; once the ending matched, the matchers given run on the
//     same stream with that ending accepted (see below).
//   - HaveStopped(cause, errorMessage...) and HaveBeenRejected(cause,
//     errorMessage...): the webhook event (mediaStreamStopped or
//     mediaStreamRejected) and cause; the optional errorMessage expectation
//     is a substring (a format string when more arguments follow) or a
//     Gomega matcher for the whole text.
//   - HaveClosed(by, code): who closed the connection (emulator.ByEmulator,
//     ByApp, ByNetwork; "" for anyone) and, unless code is 0, the close code
//     of whoever closed: the one received when the app closed, the one sent
//     when the emulator did.
//   - HaveCompletedCloseHandshake(): both close frames were exchanged.
//   - HaveSentPlayAudio(min, within): at least min (1 or more) valid
//     playAudio messages from the app, the first within the given time of
//     the stream's start (0: any time).
//   - HaveNoViolations() and HaveAtMostViolations(max): the app sent
//     nothing (at most max things) that breaks the protocol. On a stream
//     that never connected this is an error: the app could break nothing.
//
// # App faults fail unless expected
//
// An ending the app caused fails every stream matcher, whatever it checks:
// HaveStopped, HaveBeenRejected, HaveClosed, HaveCompletedCloseHandshake,
// HaveNoViolations, HaveAtMostViolations, HaveSentPlayAudio, and HaveWebhook
// and the BeAnswered matchers when they are given the stream or its result.
// It is an error rather than a mismatch, so To and NotTo (and gomega.Not)
// all fail, and the message starts with the fault:
//
//	stream "agent" (s-…) ended with app-close-code, a fault of the app: cause connection-error,
//	errorMessage "the websocket was closed by the destination with code 4001 (bye)"
//	  expected:   to have stopped with cause closed, which an ending by a fault of the app fails …
//	  caused by:  the app
//	  close:      the app closed with code 4001 (bye) and the emulator answered 4001: close handshake complete
//	if this ending is what the test expects, expect it by name (expect.ending: app-close-code in a
//	scenario, suite.HaveEnded(emulator.EndAppCloseCode) in Go); …
//
// A test that means to see such an ending names it with HaveEnded, and gives
// HaveEnded the matchers that check the rest of the stream: they run only
// when the ending matched, and with it accepted. The suite's matchers accept
// it directly and inside gomega.Not, And, Or, SatisfyAll and SatisfyAny;
// any other matcher (WithTransform, HaveField…) is given the actual as it
// is. HaveEnded(ending) with no matchers checks the ending alone, and
// HaveNoAppFault() checks that there was no fault at all. Endings the app
// did not cause (stop-stream, hangup, app-close, reset, drop, error,
// duplicate, track-limit) need no naming.
//
// # Nothing happened is not a pass
//
// An expectation that would hold only because nothing happened is an
// error, so that To and NotTo both fail and say so: a BeAnswered matcher
// over no delivery ("no webhook was delivered, so none was answered with
// 204"), HaveWebhook(eventType, matchers...) when no webhook of that type
// was delivered, HaveNoViolations on a stream that never connected. A
// HaveSentPlayAudio of 0 messages is refused outright. HaveWebhook(eventType)
// without matchers states a fact either way: NotTo(HaveWebhook("x")) passes
// when no x was sent.
//
// Webhook matchers also take an *emulator.Delivery or a
// []*emulator.Delivery (Emulator.Deliveries, which holds the calls'
// disconnect webhooks too; a stream's own deliveries are its stream events):
//
//   - HaveWebhook(eventType, matchers...): some delivery of that event type
//     satisfies every matcher, each given the *emulator.Delivery.
//   - BeAnsweredWith(status), BeAnswered2xx(), BeAnsweredWithin(d): the app's
//     answer to the final attempt, for every delivery of the actual (there
//     must be at least one). A delivery that got no answer (a timeout, a
//     refused connection) fails with its error. A delivery cut off by an
//     interrupt (Emulator.Shutdown; Delivery.Interrupted) is not the app's
//     doing: it is judged neither way, and when it leaves the verdict open
//     the match is an error starting "interrupted:".
//   - HaveCause(cause): the cause the webhook event carried, e.g.
//     HaveWebhook("disconnect", HaveCause("hangup")).
//
// AcceptNewStream(ctx, spec) takes the *emulator.Emulator itself: it runs a
// short stream on a new call (200 ms of audio in real time, so an app that
// ends streams on its own has the time to) and checks that it connected,
// closed cleanly and had its webhooks answered 2xx. When ctx ends before it could tell, it
// is an error starting "interrupted:", never a failed step.
//
// # Failure messages
//
// A failure says what was expected and what was seen, the root cause
// first, in plain words (never a Go type: a matcher of another package
// given to HaveWebhook or HaveEnded is "the given matcher", and its own
// message loses Gomega's type annotations), then shows the record: the
// result (ending, event, cause, errorMessage, connection, close codes,
// media, what the app sent), the webhooks (event type, method, URL, status,
// latency, error, the app's answer and the JSON body sent) and, for a
// stream, the last ExcerptEntries journal entries of that stream, as
// JournalExcerpt renders them:
//
//	Expected stream "agent" (s-…) to have ended with app-close-code, then have stopped with
//	cause closed, but it ended with app-close-code (by app) as expected, and then 1 of 1
//	matchers did not hold
//	what the matchers said:
//	  want to have stopped with cause closed, but it ended as mediaStreamStopped with cause
//	  connection-error and errorMessage "the websocket was closed by the destination with
//	  code 4001 (bye)"
//	result:
//	  ending:        app-close-code (by app, an app fault)
//	  …
//	journal of stream s-… (9 entries):
//	     +0.000ms  handshake  app       GET ws://127.0.0.1:40123/media → 101 Switching Protocols
//	     +0.215ms  frame.out  emulator  start
//	     +0.480ms  close      app       close frame received: code 4001 (bye)
//	  …
package suite
