// Package emulator plays Bandwidth's Programmable Voice media streams
// against an app under test, on loopback and for real.
//
// An Emulator holds calls; a Call holds streams. Call.StartStream does what
// a <StartStream> verb does: it opens a real WebSocket client connection to
// the app's destination (ws:// or wss://, Basic credentials in the
// handshake), sends the start message, then 20 ms PCMU media frames on
// absolute deadlines (Realtime) or as fast as the app reads (Fast), and
// finally, when the stream ends, the stop message and the close. The
// stream webhooks (mediaStreamStarted, Rejected, Stopped) and the call's
// disconnect are delivered in order, with Bandwidth's exact payloads, on a
// per-call sender that records every attempt (Delivery).
//
// Every way a stream ends is one row of Terminations: what ends it, what
// goes on the wire, which webhook and cause follow. Endings the emulator
// causes on request are Stream.Stop, Call.Hangup and Stream.Inject (TCP
// reset, silent drop, internal error); endings the app causes (refusing the
// connection, not answering the handshake, closing abnormally or with an
// error code, not answering the close frame, not reading) are detected and
// classified by the same table.
//
// Everything seen and done goes into the Journal, ordered and timestamped,
// with secrets redacted; it exports as JSON Lines.
//
// Concurrency: each stream's connection is owned by one goroutine that
// writes every data frame, plus one reader goroutine; the exported methods
// talk to them over channels and are safe for concurrent use. Blocking
// methods take a context. Close ends every stream and waits for every
// goroutine and connection the emulator started.
//
// The package never logs on its own and imports no test framework; the
// suite package builds Ginkgo/Gomega assertions on top of it.
package emulator
