// Package consumer is bwemu's reference consumer: a small, deliberately
// correct implementation of the app side of Bandwidth's Programmable Voice
// media streams. It is the CLI's default target and the first thing the
// project's own tests run against, and it doubles as documentation: if you
// are writing an app that receives Bandwidth media streams, this is what
// "correct" looks like, with the reasons spelled out.
//
// # The two endpoints an app needs
//
// Bandwidth is a WebSocket client. It dials the StartStream destination
// (here GET /media), sends one JSON text frame per message and closes the
// socket when the stream ends. Separately it sends stream webhooks
// (mediaStreamStarted, mediaStreamRejected, mediaStreamStopped, and the
// call's disconnect) to streamEventUrl (here POST or GET /events).
//
// # What a correct consumer does on the socket
//
//   - Authenticate the handshake. The start message is not authenticated:
//     anyone who can reach the URL can claim any callId. Use the StartStream
//     destinationUsername/destinationPassword (sent as HTTP Basic on the
//     handshake) or a token in the destination's query string, and answer
//     401 before upgrading when it is wrong.
//   - Expect exactly one start first. It carries the callId, streamId,
//     streamName, the tracks with their audio format, and the StreamParams.
//     Everything later is interpreted relative to it (which tracks exist,
//     which stream a stop refers to).
//   - Treat media per track. With tracks="both" the inbound and outbound
//     audio arrive interleaved, told apart only by "track".
//     sequenceNumber is a string on the wire; whether it counts per stream or
//     per track is undocumented, so this consumer only requires it to
//     increase within each track, which holds under both readings.
//   - Decode the payload: base64 of raw G.711 µ-law at 8000 Hz, 160 bytes
//     (20 ms) per message in practice. No headers, no resampling.
//   - Expect stop before the close; it is the signal that the stream ended
//     on purpose (StopStream or hangup).
//   - Complete the close handshake: when Bandwidth sends a close frame,
//     answer with a close frame and then close the TCP connection. Dropping
//     the connection instead is reported by Bandwidth as an abnormal closure
//     (mediaStreamStopped with cause connection-error).
//   - Never die on a bad frame. A frame that does not parse is logged and
//     recorded; the socket stays up, because tearing down a live call's
//     audio over one odd message is worse than skipping it.
//   - In bidirectional mode, send audio back as playAudio messages (and
//     clear for barge-in). A WebSocket connection allows one writer at a
//     time, so all writes go through one lock. Never echo the outbound
//     track: it already contains your own playback, and echoing it would
//     feed the app's audio back to itself.
//
// # What a correct consumer does with webhooks
//
//   - Answer 204 quickly with no body; Bandwidth ignores the body and a
//     slow answer counts as a failed delivery.
//   - Be idempotent. Bandwidth retries an asynchronous webhook once when it
//     gets no answer at all, so the same event can arrive twice; it is
//     recognised by eventType, callId, mediaStream.id and eventTime, and
//     acknowledged again without being processed twice.
//   - Check the Basic credentials from StartStream's username/password.
//   - Accept both POST (JSON body) and GET (query parameters); which one
//     arrives depends on streamEventMethod.
//
// # Using it
//
// [Start] runs the consumer on its own listener (tests use 127.0.0.1:0);
// [New] returns a [Consumer] to mount in your own server. Point a
// StartStream's destination at [Server.WebSocketURL] (add ?echo=1 to have
// inbound audio played back) and its streamEventUrl at [Server.EventsURL].
// Everything the consumer saw is available as [Consumer.Streams] and
// [Consumer.Events], over HTTP as GET /state, and can be awaited without
// polling with [Consumer.WaitStreamClosed], [Consumer.WaitStream] and
// [Consumer.WaitEvent]. [Consumer.Observe] is told of each stream and
// webhook as it happens, for a live log.
package consumer
