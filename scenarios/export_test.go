package scenarios

// Format is format for the specs: a file written back reads as the same
// model, which the round-trip and fuzz specs check. Nothing outside the
// package needs it.
var Format = format
