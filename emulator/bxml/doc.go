// Package bxml parses BXML and executes it on emulated calls with
// Bandwidth's semantics, so an app's call flow (the BXML it serves, not a
// scenario written for the test) drives the media streams.
//
// # Parsing
//
// Parse reads a document with a <Response> or <Bxml> root, at most
// MaxDocument bytes, into typed verbs: StartStream (with its StreamParams),
// StopStream, Pause, SpeakSentence, PlayAudio, Ring, Redirect and Hangup.
// What Bandwidth answers as invalid BXML (malformed XML, another root, a
// value a verb cannot take such as mode="both" or a 13th StreamParam) is a
// *SyntaxError with its line. What Bandwidth accepts but the engine does
// not execute, or ignores, becomes a Warning: other verbs (Gather,
// Transfer, Record…) are skipped, and unknown attributes are ignored, such
// as the snake_case destination_username older SDKs wrote, whose
// credentials therefore never reach the app (what Bandwidth does with
// unknown attributes is undocumented; ignoring them is what makes that bug
// bite).
//
// # Executing
//
// Engine.Start creates the call, fetches the first BXML from the app (the
// answer or initiate webhook) and executes it on a goroutine of its own,
// verb by verb, as Bandwidth does:
//
//   - StartStream starts the stream and goes on at once (it does not
//     block); a relative streamEventUrl resolves against the URL that
//     served the document. A rejected stream (duplicate, track limit) does
//     not stop the BXML.
//   - StopStream stops the named stream (an unknown name does nothing)
//     without waiting for it to finish closing (a StartStream reusing the
//     name waits for that); with wait="true" it blocks until the stream
//     ends, normally because the app closed the socket, or until
//     Engine.StopStreamWaitTimeout (undocumented by Bandwidth; 30 s by
//     default), when it stops the stream itself.
//   - Pause and Ring wait their duration; Ring plays a RingToneHz tone to
//     the caller meanwhile.
//   - SpeakSentence plays a SpeechToneHz tone to the caller for
//     words × Engine.SpeechRate; PlayAudio plays a WAV file for its length,
//     and anything it cannot decode as a FallbackAudioDuration tone
//     (journaled). What is played to the caller is what outbound tracks carry.
//   - Redirect fetches new BXML (eventType redirect, the tag attribute
//     applied first, the fallback URL tried when the primary fails) and
//     goes on with it; Hangup ends the call.
//   - When the verbs run out the call hangs up: a StartStream as the last
//     verb opens a stream that closes almost at once, Bandwidth's classic
//     pitfall.
//
// A BXML fetch that fails (no answer within the callback timeout, an
// answer other than 2xx) ends the call with disconnect cause
// callback-error; a document that does not parse, with invalid-bxml and an
// errorMessage saying what is wrong. Relative URLs resolve against the URL
// that served the document; a document given to Run.Replace keeps the URL
// of the one it replaced.
//
// Run.Redirect, Run.Replace and Run.Hangup are the Voice API's call
// updates (redirectUrl, PUT …/bxml, state=completed): they interrupt the
// current verb at once, whatever it is waiting for.
//
// Choices where Bandwidth documents nothing, besides those above: the
// initiate webhook carries no answerTime; a Run.Redirect sends no
// credentials (RedirectWithAuth does); the tag set by <Redirect tag>
// travels in later BXML fetches but not in stream or disconnect webhooks,
// which keep the call's tag; an inbound call is answered when its first
// BXML starts.
//
// # The journal
//
// The engine journals each BXML fetch as an emulator.KindWebhook entry
// (Event answer, initiate or redirect; status, latency; never a password),
// and as KindBXML entries each document's warnings before it runs, each
// verb as it starts (Event is the verb's name, so its timestamp is when
// the verb began), interruptions, and how the BXML ended.
//
// # Lifetime
//
// A run ends when its call ends or Start's context is done (the call is
// then left as it is). It notices at once a call ended outside the engine
// (Call.Hangup, Emulator.Close) through Call.Done, so closing the emulator
// ends every run.
package bxml
