// Package load drives many real calls at once against one app and measures
// how it holds up: Run starts calls in a closed model (Calls at a time) or
// an open one (Rate a second), each on an emulator of its own that holds a
// stream and ends it as the Endings mix draws, or plays Options.Script
// (ScenarioScript makes one of a scenario). Frames and webhook answers go
// into HDR histograms; the Summary they make can be merged across shards
// (Merge), judged by thresholds (ParseThreshold, Evaluate) and written as
// JSON or as one offline HTML page (WriteHTML).
package load
