package protocol

// Event types of the socket messages.
const (
	EventStart     = "start"
	EventMedia     = "media"
	EventStop      = "stop"
	EventPlayAudio = "playAudio"
	EventClear     = "clear"
)

// Track names, as in StartStream's tracks attribute and each media message.
const (
	TrackInbound  = "inbound"
	TrackOutbound = "outbound"
	TracksBoth    = "both" // the attribute value; never a track of its own
)

// Mode is StartStream's mode attribute.
type Mode string

// Stream modes.
const (
	ModeUnidirectional Mode = "unidirectional"
	ModeBidirectional  Mode = "bidirectional"
)

// MediaFormat describes a track's audio in the start message.
type MediaFormat struct {
	Encoding   string `json:"encoding"`
	SampleRate int    `json:"sampleRate"`
}

// TrackInfo is one entry of metadata.tracks on the socket (an object there,
// a plain string in webhooks).
type TrackInfo struct {
	Name        string      `json:"name"`
	MediaFormat MediaFormat `json:"mediaFormat"`
}

// Metadata identifies the stream in start and stop messages.
type Metadata struct {
	AccountID  string      `json:"accountId"`
	CallID     string      `json:"callId"`
	StreamID   string      `json:"streamId"`
	StreamName string      `json:"streamName"`
	Tracks     []TrackInfo `json:"tracks"`
}

// StreamParams are the StartStream's StreamParam children as a flat object.
// Parameters keep their BXML order on the wire (see MarshalJSON).
type StreamParams []StreamParam

// StreamParam is one <StreamParam name value/>.
type StreamParam struct {
	Name  string
	Value string
}

// StartMessage is the first message of every stream.
type StartMessage struct {
	EventType    string       `json:"eventType"`
	Metadata     Metadata     `json:"metadata"`
	StreamParams StreamParams `json:"streamParams,omitempty"`
}

// StopMessage is sent when the stream is stopped (StopStream or hangup),
// right before the close.
type StopMessage struct {
	EventType string   `json:"eventType"`
	Metadata  Metadata `json:"metadata"`
}

// MediaMessage carries 20 ms of base64 PCMU for one track. sequenceNumber
// is a string on Bandwidth's wire.
type MediaMessage struct {
	EventType      string `json:"eventType"`
	Track          string `json:"track"`
	SequenceNumber string `json:"sequenceNumber"`
	Payload        string `json:"payload"`
}

// AppMessage is what an app sends on a bidirectional stream: playAudio with
// media, or clear.
type AppMessage struct {
	EventType string    `json:"eventType"`
	Media     *AppMedia `json:"media,omitempty"`
}

// AppMedia is the audio of a playAudio message.
type AppMedia struct {
	ContentType string `json:"contentType"`
	Payload     string `json:"payload"`
}
