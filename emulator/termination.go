package emulator

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// Ending names one way a stream ends. Every ending is one row of the
// termination table (Terminations): adding a fault means adding a row there.
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
	By Actor
	// Wire is what the emulator does on the socket.
	Wire string
	// Event and Cause of the webhook that follows.
	Event string
	Cause string
	// AppFault marks endings that count against the app under test.
	AppFault bool
	// Injectable marks the faults the emulator can inject on a live stream
	// on request (Stream.Inject, ParseFault); their names are the Ending.
	Injectable bool
	// Message is the errorMessage; %s is replaced by the detail of the
	// occurrence (an error text, a code). Empty for cause closed, which
	// carries no errorMessage.
	Message string
}

// terminations is the termination table: every way a stream ends, in one place.
var terminations = []Termination{
	{EndStopStream, ByEmulator, "stop message, close 1000, wait for the app's close", protocol.EventMediaStreamStopped, protocol.CauseClosed, false, false, ""},
	{EndHangup, ByEmulator, "stop message, close 1000, wait for the app's close; then disconnect", protocol.EventMediaStreamStopped, protocol.CauseClosed, false, false, ""},
	{EndConnectRefused, ByApp, "none: TCP connect refused", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, false, "could not connect to the websocket destination: connection refused (%s)"},
	{EndHandshakeTimeout, ByApp, "none: the upgrade got no answer in time", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, false, "connecting to the websocket timed out: no handshake answer within %s"},
	{EndHandshakeStatus, ByApp, "none: the upgrade was answered without 101", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, false, "the websocket handshake was refused: %s"},
	{EndConnectFailed, ByApp, "none: the connection could not be made", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, false, "could not connect to the websocket destination: %s"},
	{EndAppAbnormalClose, ByApp, "the app's socket ended without a close frame", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, false, "the websocket closed abnormally: %s"},
	{EndAppClose, ByApp, "the app's close frame (1000/1001), answered", protocol.EventMediaStreamStopped, protocol.CauseClosed, false, false, ""},
	{EndAppCloseCode, ByApp, "the app's close frame with an error code, answered", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, false, "the websocket was closed by the destination with %s"},
	{EndCloseHandshakeTimeout, ByApp, "stop message, close 1000, no close frame back in time; TCP closed", protocol.EventMediaStreamStopped, protocol.CauseClosed, true, false, ""},
	{EndWriteTimeout, ByApp, "a frame write blocked past the write timeout; TCP closed", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, true, false, "the destination stopped reading: a write blocked for more than %s"},
	{EndReset, ByNetwork, "TCP reset (SO_LINGER 0), no close frame", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, false, true, "the connection to the websocket was reset (%s)"},
	{EndDrop, ByNetwork, "all traffic stops, socket left half-open", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, false, true, "the connection to the websocket went silent: no traffic for %s"},
	{EndInternalError, ByEmulator, "close 1011, wait for the app's close", protocol.EventMediaStreamStopped, protocol.CauseError, false, true, "internal error: %s"},
	{EndDuplicate, ByEmulator, "none: never connected", protocol.EventMediaStreamRejected, protocol.CauseDuplicate, false, false, "a stream named %s is already active on this call"},
	{EndTrackLimit, ByEmulator, "none: never connected", protocol.EventMediaStreamRejected, protocol.CauseTrackLimit, false, false, "the call would stream %s tracks: at most 4 are allowed"},
}

// Terminations returns a copy of the termination table, in its order.
func Terminations() []Termination { return slices.Clone(terminations) }

// TerminationOf returns the row of an ending, and whether there is one.
func TerminationOf(e Ending) (Termination, bool) {
	for _, t := range terminations {
		if t.Ending == e {
			return t, true
		}
	}
	return Termination{}, false
}

// row is the row of an ending the emulator itself produced.
func row(e Ending) Termination {
	t, ok := TerminationOf(e)
	if !ok {
		panic(fmt.Sprintf("emulator: ending %q has no row in the termination table", e))
	}
	return t
}

// Fault is an ending the emulator injects on a live stream on request: a
// row of the table marked Injectable.
type Fault Ending

// The faults the emulator can inject.
const (
	FaultReset = Fault(EndReset)         // TCP reset
	FaultDrop  = Fault(EndDrop)          // silent drop, half-open
	FaultError = Fault(EndInternalError) // internal error, close 1011
)

// Faults returns the injectable faults, in the table's order.
func Faults() []Fault {
	var out []Fault
	for _, t := range terminations {
		if t.Injectable {
			out = append(out, Fault(t.Ending))
		}
	}
	return out
}

// ParseFault returns the fault of that name ("reset", "drop", "error"), or
// an error that lists the names there are.
func ParseFault(name string) (Fault, error) {
	for _, f := range Faults() {
		if string(f) == name {
			return f, nil
		}
	}
	names := make([]string, 0, 3)
	for _, f := range Faults() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("%q is not a fault the emulator can inject (want one of %s)", name, strings.Join(names, ", "))
}

// isConnectEnding reports the rows where the stream never connected; they
// may be reported as Rejected (Options.RejectOnConnectError).
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
	r := row(e)
	event, cause = r.Event, r.Cause
	if r.Message != "" {
		message = fmt.Sprintf(r.Message, detail)
	}
	if e == EndAppClose && o.AppCloseAsError {
		cause = protocol.CauseConnectionError
		message = fmt.Sprintf(row(EndAppCloseCode).Message, detail)
	}
	if isConnectEnding(e) && o.RejectOnConnectError {
		event = protocol.EventMediaStreamRejected
	}
	return event, cause, message
}

// ChoosableEndings are the names of the endings a test may choose for a
// stream: "stop" (StopStream), "hangup" and every injectable fault, as the
// CLI's --end takes them.
func ChoosableEndings() []string {
	names := []string{"stop", "hangup"}
	for _, f := range Faults() {
		names = append(names, string(f))
	}
	return names
}

// EndingNamed is the ending a name of ChoosableEndings stands for.
func EndingNamed(name string) Ending {
	switch name {
	case "stop":
		return EndStopStream
	case "hangup":
		return EndHangup
	}
	return Ending(name) // a fault: its name is its ending
}

// ChoiceName is the name ChoosableEndings gives an ending.
func ChoiceName(e Ending) string {
	switch e {
	case EndStopStream:
		return "stop"
	case EndHangup:
		return "hangup"
	}
	return string(e)
}
