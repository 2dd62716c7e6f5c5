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
	// fills the socket buffers and the write blocks past it.
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

	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// DefaultAccountID is the account of calls when Options.AccountID is empty.
const DefaultAccountID = "9901234"
