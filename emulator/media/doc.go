// Package media makes the PCMU audio the emulator streams to an app.
//
// Bandwidth media streams carry G.711 µ-law (PCMU) at 8000 Hz mono in 20 ms
// messages, so everything here is shaped around one frame of FrameSize bytes.
//
// How the pieces fit:
//
//   - An Audio is a read-only, random-access source of frames: Frame(n, p)
//     copies frame n into p. Sources are immutable after construction, so one
//     Audio can feed any number of concurrent streams, and Frame never
//     allocates, so the per-frame hot path of a load test costs a memmove.
//   - Silence and Tone are endless synthetic sources; Tone precomputes its
//     waveform so a frame is a copy from a table.
//   - PCMU wraps raw µ-law bytes; LoadWAV and DecodeWAV turn a WAV file into
//     such a recording once, at load time: they read it with go-audio/wav, mix
//     it down to mono, resample it to 8 kHz and encode it with zaf/g711. All
//     the expensive work happens there, none of it per frame.
//   - Parse maps a CLI or scenario spec ("silence", "tone:440", "hello.wav",
//     "hello.ulaw") to one of the above.
//   - Encode base64-encodes a frame into a caller buffer, which is the payload
//     format of a Bandwidth "media" message, again without allocating.
//
// Recordings that run out, and frames before 0, are silence: a stream can keep
// asking for frames after the prompt ends without special cases.
package media
