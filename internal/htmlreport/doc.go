// Package htmlreport writes the HTML report of bwemu run and bwemu conform:
// one self-contained page (inline CSS, inline SVG, no script, nothing
// fetched) that opens offline, can be mailed or kept as a CI artifact.
//
// The page lists the cases failures first. Each case shows its verdict,
// what failed and, for each call of its journal, a sequence diagram with
// the emulator (playing Bandwidth) and the app as lanes: the WebSocket
// handshake, start, the span of media frames (per track, with lateness),
// stop, both close frames and who sent the first, every webhook with its
// answer and latency, and the injected faults. A failed expectation is
// drawn right after the event it is about (a webhook's answer, the
// stream's ending), or at least at the end of its stream.
//
// The package knows nothing of scenario files or conformance cases: their
// packages turn results into a Report (scenarios.WriteHTML, bwemu
// conform), and Write lays it out. Diagrams are built from the journal
// (emulator.Entry) alone, so both kinds of result draw the same way.
//
// Every string that reaches the page goes through html/template, so a
// journal message carrying the app's data is text, never markup.
package htmlreport
