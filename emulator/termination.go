package emulator

import (
	"fmt"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// Ending names one way a stream ends. Every ending is one row of
// Terminations: adding a fault means adding a row there.
type Ending string

// The ways a stream ends.
const (
	EndStopStream            Ending = "stop-stream"             // <StopStream> or its API/scenario equivalent
	EndHangup                Ending = "hangup"                  // the call ended
	EndConnectRefused        Ending = "connect-refused"         // nothing listens at the destination
	EndHandshakeTimeout      Ending = "handshake-timeout"       // TCP accepted, upgrade never answered
	EndHandshakeStatus       Ending = "handshake-status"        // upgrade answered with a non-101 status
	EndConnectFailed         Ending = "connect-failed"          // any other dial failure (DNS, TLS)
	EndAppAbnormalClose      Ending = "app-abnormal-close"      // the app's socket ended without a close frame
	EndAppClose              Ending = "app-close"               // the app sent a close frame with 1000 or 1001
	EndAppCloseCode          Ending = "app-close-code"          // the app sent a close frame with another code
	EndCloseHandshakeTimeout Ending = "close-handshake-timeout" // the app never answered the emulator's close frame
	EndWriteTimeout          Ending = "write-timeout"           // the app stopped reading; a write blocked
	EndReset                 Ending = "reset"                   // emulator-side TCP reset (injected)
	EndDrop                  Ending = "drop"                    // emulator-side silent drop, half-open (injected)
	EndInternalError         Ending = "error"                   // emulator-side internal error (injected)
	EndDuplicate             Ending = "duplicate"               // the stream name is live on the call
	EndTrackLimit            Ending = "track-limit"             // more than 4 tracks on the call
)

// Termination is one row of the table: what ends the stream, what goes on
// the wire, and which webhook with which cause follows (PROTOCOL §5).
type Termination struct {
	Ending Ending
	// By is who caused it: ByEmulator (on request), ByApp or ByNetwork.
	By string
	// Wire is what the emulator does on the socket.
	Wire string
	// Event and Cause of the webhook that follows.
	Event string
	Cause string
	// AppFault marks endings that count against the app under test.
	AppFault bool
	// Message is the errorMessage; %s is replaced by the detail of the
	// occurrence (an error text, a code). Empty for cause closed, which
	// carries no errorMessage.
	Message string
}

// Terminations is the termination table: every way a stream ends, in one place.
var Terminations = []Termination{
	{EndStopStream, ByEmulator, "stop message, close 1000, wait for the app's close", protocol.EventMediaStreamStopped, protocol.CauseClosed, false, ""},
	{EndHangup, ByEmulator, "stop message, close 1000, wait for the app's close; then disconnect", protocol.EventMediaStreamStopped, protocol.CauseClosed, false, ""},
	{EndConnectRefused, ByApp, "none: TCP connect refused", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, "could not connect to the websocket destination: connection refused (%s)"},
	{EndHandshakeTimeout, ByApp, "none: the upgrade got no answer in time", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, "connecting to the websocket timed out: no handshake answer within %s"},
	{EndHandshakeStatus, ByApp, "none: the upgrade was answered without 101", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, "the websocket handshake was refused: %s"},
	{EndConnectFailed, ByApp, "none: the connection could not be made", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, "could not connect to the websocket destination: %s"},
	{EndAppAbnormalClose, ByApp, "the app's socket ended without a close frame", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, "the websocket closed abnormally: %s"},
	{EndAppClose, ByApp, "the app's close frame (1000/1001), answered", protocol.EventMediaStreamStopped, protocol.CauseClosed, false, ""},
	{EndAppCloseCode, ByApp, "the app's close frame with an error code, answered", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, "the websocket was closed by the destination with %s"},
	{EndCloseHandshakeTimeout, ByApp, "stop message, close 1000, no close frame back in time; TCP closed", protocol.EventMediaStreamStopped, protocol.CauseClosed, true, ""},
	{EndWriteTimeout, ByApp, "a frame write blocked past the write timeout; TCP closed", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, "the destination stopped reading: a write blocked for more than %s"},
	{EndReset, ByNetwork, "TCP reset (SO_LINGER 0), no close frame", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, false, "the connection to the websocket was reset (%s)"},
	{EndDrop, ByNetwork, "all traffic stops, socket left half-open", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, false, "the connection to the websocket went silent: no traffic for %s"},
	{EndInternalError, ByEmulator, "close 1011, wait for the app's close", protocol.EventMediaStreamStopped, protocol.CauseError, false, "internal error: %s"},
	{EndDuplicate, ByEmulator, "none: never connected", protocol.EventMediaStreamRejected, protocol.CauseDuplicate, false, "a stream named %s is already active on this call"},
	{EndTrackLimit, ByEmulator, "none: never connected", protocol.EventMediaStreamRejected, protocol.CauseTrackLimit, false, "the call would stream %s tracks: at most 4 are allowed"},
}

// TerminationOf returns the row of an ending.
func TerminationOf(e Ending) Termination {
	for _, t := range Terminations {
		if t.Ending == e {
			return t
		}
	}
	panic(fmt.Sprintf("emulator: ending %q has no row in Terminations", e))
}

// connectEndings are the rows where the stream never connected; they may be
// reported as Rejected (Options.RejectOnConnectError).
func isConnectEnding(e Ending) bool {
	switch e {
	case EndConnectRefused, EndHandshakeTimeout, EndHandshakeStatus, EndConnectFailed:
		return true
	}
	return false
}

// classify turns an ending and its detail into the webhook event, cause and
// errorMessage, applying the switches of Options.
func (o *Options) classify(e Ending, detail string) (event, cause, message string) {
	row := TerminationOf(e)
	event, cause = row.Event, row.Cause
	if row.Message != "" {
		message = fmt.Sprintf(row.Message, detail)
	}
	if e == EndAppClose && o.AppCloseAsError {
		cause = protocol.CauseConnectionError
		message = fmt.Sprintf(TerminationOf(EndAppCloseCode).Message, detail)
	}
	if isConnectEnding(e) && o.RejectOnConnectError {
		event = protocol.EventMediaStreamRejected
	}
	return event, cause, message
}
