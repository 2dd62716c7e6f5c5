// Package protocol holds Bandwidth's wire formats for media streams: the JSON
// messages on the WebSocket (start, media, stop from Bandwidth; playAudio and
// clear from the app) and the webhook payloads (mediaStreamStarted, Rejected,
// Stopped, disconnect), with the exact time, duration and id formats Bandwidth
// uses.
//
// The emulator writes these formats, the reference consumer and the test
// matchers read them; keeping them in one small package with no dependencies
// means all three agree on every field.
package protocol
