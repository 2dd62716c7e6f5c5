// Package apptest is the one fake app under test that every package's specs
// use, in net/http/httptest's shape: a WebSocket side (NewWS) that behaves as
// told and records each stream, an HTTP side (NewHooks) that records every
// webhook and BXML fetch and answers as told, both on 127.0.0.1:0, plain or
// with a test certificate; a listener that never answers (NewSilent), a
// JUnit decoder independent of the writer, queries over an HTML report
// (ParseHTML, Walk, Elements, Text), and the suites' leak check. It
// also starts what specs pair with the app: the reference consumer
// (NewConsumer) and the emulator (NewEmulator).
//
// A new misbehaviour of the app is written here once, as a Behaviour or a
// Reply, and every package's specs can use it.
//
// Everything is recorded before the emulator can observe its effect: a
// stream before the upgrade is answered, a message before the app acts on
// it, the emulator's close code before the app answers the close frame, a
// request before it is answered. A spec that waits for the emulator's side
// can therefore read the app's record without racing it.
//
// Constructors register their Close with Ginkgo's DeferCleanup, so they are
// called inside a spec (or a BeforeEach); Close may also be called early.
// The package is for specs only: it imports Ginkgo and Gomega.
package apptest
