// Package scenarios owns bwemu's YAML scenario files: their model (File,
// Scenario, Step, Expect), the loader that reads them with positions so
// every problem is an Error at FILE:LINE:COL (Load, Parse), and Check,
// which refuses what cannot hold for the target a run gives a file. Run
// plays the scenarios a few at a time, each on an emulator of its own (or
// its file's, for BXML served a Voice API), and judges their expect blocks
// with the suite package's matchers, so an expectation means the same as
// in a Go spec; WriteJUnit, WriteJSON and WriteHTML write the reports.
package scenarios
