// Package buggy holds deliberately broken Bandwidth media-stream consumers,
// the project's test targets for its conformance suite (suite/conformance).
//
// [Start] runs one compact consumer on 127.0.0.1:0 with one [Defect]
// switched on; with [None] it behaves like the reference consumer
// (internal/consumer) and passes the suite. Each defect models a bug seen
// in real apps and names, in its doc comment, the conformance case that
// should catch it. The package's specs run the suite against every defect
// and check that it fails the right case with a reason that tells the
// developer what their app did wrong.
//
// The consumer serves GET /media (the StartStream destination),
// POST|GET /events (streamEventUrl) and POST|GET /disconnect (the call's
// disconnectUrl, served as /events is), and with [Options.Backend] GET
// /metrics (the gauge [MetricName] of the backend sessions its streams
// hold). [Server.Close] closes every hijacked connection and returns once
// every goroutine it started has ended. [StartProcess] serves one from a
// child process, for checks that read the app's process (conformance case
// 8.1).
package buggy
