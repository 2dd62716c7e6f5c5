package protocol

// Webhook event types.
const (
	EventMediaStreamStarted  = "mediaStreamStarted"
	EventMediaStreamRejected = "mediaStreamRejected"
	EventMediaStreamStopped  = "mediaStreamStopped"
	EventDisconnect          = "disconnect"
)

// Causes of mediaStreamStopped and mediaStreamRejected.
const (
	CauseClosed          = "closed"
	CauseConnectionError = "connection-error"
	CauseError           = "error"
	CauseDuplicate       = "duplicate"
	CauseTrackLimit      = "track-limit"
)

// Causes of disconnect that the stream emulator produces.
const (
	DisconnectHangup      = "hangup"
	DisconnectInvalidBXML = "invalid-bxml"
)

// Directions of a call.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// StreamTypeWebSocket is mediaStream.type, the only type Bandwidth has.
const StreamTypeWebSocket = "WebSocket"

// Event is a webhook payload: the three stream events and disconnect share
// the call fields; the rest are omitted where an event has none, so the JSON
// carries exactly the fields Bandwidth documents for each event.
type Event struct {
	AccountID         string       `json:"accountId"`
	AnswerTime        *Time        `json:"answerTime,omitempty"`
	ApplicationID     string       `json:"applicationId"`
	CallID            string       `json:"callId"`
	CallURL           string       `json:"callUrl"`
	CallerDisplayName string       `json:"callerDisplayName,omitempty"`
	Cause             string       `json:"cause,omitempty"`
	Direction         string       `json:"direction"`
	EndTime           *Time        `json:"endTime,omitempty"`
	EnqueuedTime      *Time        `json:"enqueuedTime,omitempty"`
	ErrorID           string       `json:"errorId,omitempty"`
	ErrorMessage      string       `json:"errorMessage,omitempty"`
	EventTime         Time         `json:"eventTime"`
	EventType         string       `json:"eventType"`
	From              string       `json:"from"`
	MediaStream       *MediaStream `json:"mediaStream,omitempty"`
	OriginalStream    *MediaStream `json:"originalMediaStream,omitempty"`
	Privacy           *bool        `json:"privacy,omitempty"`
	StartTime         Time         `json:"startTime"`
	Tag               string       `json:"tag,omitempty"`
	To                string       `json:"to"`
}

// MediaStream describes the stream in a webhook. Duration is set on
// mediaStreamStopped only.
type MediaStream struct {
	Destination string    `json:"destination"`
	Duration    *Duration `json:"duration,omitempty"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	StartTime   Time      `json:"startTime"`
	Tracks      []string  `json:"tracks"`
	Type        string    `json:"type"`
}
