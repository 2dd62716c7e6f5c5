package emulator

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"
)

// Default timeouts. Each is a named, configurable value in Timeouts.
const (
	// DefaultHandshakeTimeout bounds TCP connect, TLS and the HTTP upgrade.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds one frame write: an app that stops reading
	// fills the socket buffers and the write blocks past it. A blocked
	// write ends the stream between the timeout and an eighth more (the
	// margin kept within 5–250 ms) after it began: a watch expires it
	// (writewatch.go).
	DefaultWriteTimeout = 5 * time.Second
	// DefaultCloseHandshakeTimeout is how long the emulator waits for the
	// app's close frame after sending its own.
	DefaultCloseHandshakeTimeout = 5 * time.Second
	// DefaultCallbackTimeout is Bandwidth's callbackTimeout (1–25 s, 15 s default).
	DefaultCallbackTimeout = 15 * time.Second
	// DefaultDeadPeerTimeout is how long a silently dropped connection stays
	// quiet before the emulator, like a media server whose peer vanished,
	// declares it dead and sends mediaStreamStopped.
	DefaultDeadPeerTimeout = 2 * time.Second
)

// Timeouts are the emulator's named time limits; a zero field takes its default.
type Timeouts struct {
	Handshake      time.Duration
	Write          time.Duration
	CloseHandshake time.Duration
	Callback       time.Duration
	DeadPeer       time.Duration
}

// EndBound bounds Stream.Finish under these timeouts: three webhooks
// (Stopped, disconnect, and a Started still in flight), each retried once
// on a connection failure; one close handshake; a dead peer; a blocked
// write; and slack.
func (t Timeouts) EndBound() time.Duration {
	t = t.withDefaults()
	return 6*t.Callback + t.CloseHandshake + t.DeadPeer + t.Write + 5*time.Second
}

// DefaultTimeouts are the limits a zero Timeouts stands for.
func DefaultTimeouts() Timeouts { return Timeouts{}.withDefaults() }

func (t Timeouts) withDefaults() Timeouts {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.Handshake, DefaultHandshakeTimeout)
	def(&t.Write, DefaultWriteTimeout)
	def(&t.CloseHandshake, DefaultCloseHandshakeTimeout)
	def(&t.Callback, DefaultCallbackTimeout)
	def(&t.DeadPeer, DefaultDeadPeerTimeout)
	return t
}

// Options configure an Emulator. The zero value (or nil) works: it plays a
// Bandwidth account with a random application id and default timeouts.
type Options struct {
	// AccountID is the account of every call (digits in a string). Default "9901234".
	AccountID string
	// ApplicationID is the voice application of every call. Default: a random UUID.
	ApplicationID string

	Timeouts Timeouts

	// TLSConfig is used to dial wss:// destinations; set RootCAs to trust a test CA.
	TLSConfig *tls.Config
	// HTTPClient sends webhooks. Default: a client of the emulator's own,
	// whose idle connections Close releases. Its Timeout is not used: each
	// request is bounded by the call's callback timeout.
	HTTPClient *http.Client

	// DuplicateWebhooks delivers every webhook twice, as Bandwidth may when
	// it retries, to test that the app is idempotent.
	DuplicateWebhooks bool
	// RejectOnConnectError reports a failed connection (refused, handshake
	// timeout, non-101 answer) as mediaStreamRejected instead of the
	// default mediaStreamStopped; both are documented causes.
	RejectOnConnectError bool
	// AppCloseAsError reports an app's clean close with 1000/1001 as
	// connection-error instead of the default closed (undocumented by Bandwidth).
	AppCloseAsError bool
	// JournalMedia journals every media frame sent, not only the first of
	// each track and the totals. It costs an allocation per frame.
	JournalMedia bool

	// SendBuffer, when positive, is the socket send buffer (SO_SNDBUF) of
	// each stream's connection, in bytes. Zero keeps the system's
	// autotuned buffer, which on loopback grows to megabytes: an app that
	// stops reading is then noticed only minutes later. A small buffer
	// shows a slow app within seconds, as blocked writes.
	SendBuffer int

	// Meter, when set, observes every stream's handshake and frames as they
	// happen: the load driver's measurements. Nil costs nothing.
	Meter Meter

	// RecordDir, when set, records every stream (StreamSpec.Record) and
	// writes what its caller heard and said there as 8 kHz mono WAV files.
	RecordDir string
	// PlaybackBuffer bounds how much of a bidirectional app's audio waits
	// to be played; audio past it is dropped and journaled. Bandwidth
	// documents no limit: zero queues everything, as if it had none.
	PlaybackBuffer time.Duration

	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// A Meter observes streams as they run. Its methods are called on each
// stream's own goroutine, once per media message, so they must be safe for
// concurrent use and must neither block nor allocate.
type Meter interface {
	// Handshake is the time from dialling to the app's 101 (or its failure).
	Handshake(d time.Duration)
	// Frame is one media message written: lateness is how far past its
	// absolute deadline the write began (0 in fast pace), blocked how long
	// the write itself took, which grows when the app stops reading.
	Frame(lateness, blocked time.Duration)
	// Skipped is frames dropped because pacing fell behind.
	Skipped(frames int)
}

// DefaultAccountID is the account of calls when Options.AccountID is empty.
const DefaultAccountID = "9901234"
