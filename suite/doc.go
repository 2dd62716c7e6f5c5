// Package suite holds Gomega matchers over what the emulator recorded: how
// a stream ended, how its connection closed, what the app sent back and how
// it answered the webhooks. The scenario runner uses the same matchers for
// its expect blocks, so an expectation means the same in a YAML file, in
// bwemu conform and in a Go spec.
//
// The matchers are plain Gomega matchers: they work in Ginkgo specs and
// with a standalone gomega.NewGomega outside Ginkgo alike.
//
//	g.Expect(stream).To(suite.HaveEnded(emulator.EndAppCloseCode))
//	g.Expect(stream).To(suite.HaveStopped("connection-error", "code 4001"))
//	g.Expect(stream).To(suite.HaveClosed(emulator.ByApp, 4001))
//	g.Expect(stream).To(suite.HaveWebhook("mediaStreamStopped", suite.BeAnsweredWith(204)))
//	g.Expect(e.Deliveries()).To(suite.BeAnswered2xx())
//	g.Expect(e).To(suite.AcceptNewStream(ctx, spec)) // the app still takes streams
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
//   - HaveEnded(ending): the row of emulator.Terminations it ended with.
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
//   - HaveSentPlayAudio(min, within): at least min valid playAudio messages
//     from the app, the first within the given time of the stream's start
//     (0: any time).
//   - HaveNoViolations(): the app sent nothing that breaks the protocol.
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
//     refused connection) fails with its error.
//
// AcceptNewStream(ctx, spec) takes the *emulator.Emulator itself: it runs a
// short stream on a new call and checks that it connected, closed cleanly
// and had its webhooks answered 2xx.
//
// # Failure messages
//
// A failure says what was expected and what was seen, then shows the
// record: the result (ending, event, cause, errorMessage, connection, close
// codes, media, what the app sent), the webhooks (event type, method, URL,
// status, latency, error, the app's answer and the JSON body sent) and, for
// a stream, the last ExcerptEntries journal entries of that stream, as
// JournalExcerpt renders them:
//
//	Expected stream "agent" (s-…) to have stopped with cause closed, but it ended as
//	mediaStreamStopped with cause connection-error and errorMessage "the websocket was
//	closed by the destination with code 4001 (bye)"
//	result:
//	  ending:        app-close-code (by app, an app fault)
//	  …
//	journal of stream s-… (9 entries):
//	     +0.000ms  handshake  app       GET ws://127.0.0.1:40123/media → 101 Switching Protocols
//	     +0.215ms  frame.out  emulator  start
//	     +0.480ms  close      app       close frame received: code 4001 (bye)
//	  …
package suite
