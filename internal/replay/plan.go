package replay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// defaultAudio is what a replay sends when the journal cannot give the
// recorded audio back: bwemu stream's default.
const defaultAudio = "tone:440"

// Plan is what a replay of one recorded stream does, and what the stream
// came to then.
type Plan struct {
	Recorded Stream
	// Version is the journal's format version.
	Version int
	// Spec and Call are the stream and its call as recorded, without the
	// app's URLs and credentials, which Run takes from its Target.
	Spec emulator.StreamSpec
	Call emulator.CallSpec
	// Options are the emulator's timeouts and switches as recorded.
	Options emulator.Options
	// Media is the media time to stream before the ending.
	Media time.Duration
	// End is how the emulator ends the stream after Media: the recorded
	// ending when the emulator brought it about (stop-stream, hangup, a
	// fault), else a hangup.
	End emulator.Ending
	// AwaitApp is true when the app (or the network) ended the recorded
	// stream before the emulator did: the replay streams Media, then gives
	// the app AppEndWait to end it again before it hangs up.
	AwaitApp bool
	// Events and Disconnect say that the recording sent stream webhooks
	// and the call's disconnect; a replay sends them where they went then.
	Events, Disconnect bool
	// DestinationAuth and EventAuth say the recording sent credentials,
	// which the journal does not keep.
	DestinationAuth, EventAuth bool
	// Then is what the stream came to in the recording.
	Then Outcome
	// Notes say what the journal did not tell and what the plan takes
	// instead; AudioNotes those about audio it could not give back, which
	// audio of the replay's own makes moot.
	Notes, AudioNotes []string
}

// AppEndWait is how long a replay waits, after the recorded media, for an
// app that ended the stream itself then to end it again now, before it
// hangs up: long enough for a close that follows the media at once, short
// enough not to stall a replay of an app that no longer closes.
const AppEndWait = 2 * time.Second

// Plan makes the plan to replay s, a stream of the journal.
func (j *Journal) Plan(s Stream) (*Plan, error) {
	if s.Rejected {
		return nil, j.at(s.first, "stream %s was rejected by the emulator (%s): it never reached the app, so there is nothing to replay", s.ID, s.Ending)
	}
	p := &Plan{Recorded: s, Version: j.Version, Then: OutcomeOf(j.Entries, s.CallID, s.ID)}
	if p.Then.Ending == "" {
		return nil, j.at(s.first, "stream %s has no ending in the journal (the run was cut short before it ended): there is nothing to compare a replay with", s.ID)
	}
	var setup *emulator.StreamSetup
	var start *protocol.StartMessage
	for i, e := range j.Entries {
		switch {
		case e.StreamID == s.ID && e.Kind == emulator.KindHandshake && e.Setup != nil:
			setup = e.Setup
		case e.StreamID == s.ID && e.Kind == emulator.KindFrameOut && e.Event == protocol.EventStart:
			var m protocol.StartMessage
			if err := json.Unmarshal(e.Data, &m); err != nil {
				return nil, j.at(i, "the start message of stream %s does not read as one: %s", s.ID, jsonProblem(err))
			}
			start = &m
		}
	}
	if setup == nil {
		setup = p.guessSetup(j, start)
	}
	if err := p.apply(setup, start, filepath.Dir(j.File)); err != nil {
		return nil, err
	}
	p.Media = p.Then.Media()
	for _, w := range p.Then.Webhooks {
		if w.Event == protocol.EventDisconnect {
			p.Disconnect = true
		} else {
			p.Events = true
		}
	}
	switch {
	case choosable(p.Then.Ending):
		p.End = p.Then.Ending
	case p.Then.Stopped:
		// The emulator had begun to end the stream (the app's part came
		// after its stop message): which of StopStream or hangup it was,
		// the journal does not say; hanging up covers both.
		p.End = emulator.EndHangup
	default:
		p.End, p.AwaitApp = emulator.EndHangup, true
	}
	return p, nil
}

// apply sets the plan's stream, call and options from the setup and the
// start message (which gives the name, tracks and StreamParams as the app
// got them).
func (p *Plan) apply(setup *emulator.StreamSetup, start *protocol.StartMessage, journalDir string) error {
	s := p.Recorded
	name := s.Name
	if name == s.ID {
		name = "" // named after its id: the replay's stream is named after its own
	}
	p.Spec = emulator.StreamSpec{Name: name, Mode: setup.Mode, Tracks: setup.Tracks, Pace: setup.Pace, Speed: setup.Speed,
		StreamEventMethod: setup.EventMethod}
	if start != nil {
		p.Spec.Params = append([]protocol.StreamParam(nil), start.StreamParams...)
		switch len(start.Metadata.Tracks) {
		case 1:
			p.Spec.Tracks = start.Metadata.Tracks[0].Name
		case 2:
			p.Spec.Tracks = protocol.TracksBoth
		}
	}
	var err error
	if p.Spec.Audio, err = p.audio("audio", setup.Audio, journalDir); err != nil {
		return err
	}
	if setup.OutboundAudio != "" {
		if p.Spec.OutboundAudio, err = p.audio("outbound audio", setup.OutboundAudio, journalDir); err != nil {
			return err
		}
	}
	c := setup.Call
	p.Call = emulator.CallSpec{From: c.From, To: c.To, Direction: c.Direction, Tag: c.Tag, DisconnectMethod: c.DisconnectMethod}
	p.Options = emulator.Options{AccountID: c.AccountID, Timeouts: setup.Timeouts.Timeouts(),
		DuplicateWebhooks: setup.DuplicateWebhooks, RejectOnConnectError: setup.RejectOnConnectError,
		AppCloseAsError: setup.AppCloseAsError, PlaybackBuffer: setup.PlaybackBuffer}
	p.DestinationAuth, p.EventAuth = setup.DestinationAuth, setup.EventAuth
	return nil
}

// audio loads the recorded audio source named name (media.Audio's
// String): silence and tones read back as they are; a clip ("hello.wav
// (1.5s)") from its file, here or beside the journal, when it is still
// there; otherwise defaultAudio, and a note says so.
func (p *Plan) audio(what, name, journalDir string) (media.Audio, error) {
	if name == "" {
		return media.Silence(), nil
	}
	if a, err := media.Parse(name); err == nil {
		return a, nil
	}
	file := name
	if i := strings.LastIndex(name, " ("); i > 0 {
		file = name[:i]
	}
	for _, path := range []string{file, filepath.Join(journalDir, file)} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if a, err := media.Parse(path); err == nil {
			return a, nil
		}
	}
	p.AudioNotes = append(p.AudioNotes, fmt.Sprintf("%s: the recording played %s, which is not here to play again: sending %s instead (--audio FILE to give it)", what, name, defaultAudio))
	a, err := media.Parse(defaultAudio)
	return a, err
}

// guessSetup makes a setup for a journal written before setups were
// journaled (format version 0), from what such a journal holds: the call
// in the webhooks' payloads, the mode in what the app sent back. What it
// cannot know — the pace, the audio, the timeouts — takes bwemu's
// defaults, and the notes say so.
func (p *Plan) guessSetup(j *Journal, start *protocol.StartMessage) *emulator.StreamSetup {
	s := p.Recorded
	setup := &emulator.StreamSetup{Mode: protocol.ModeUnidirectional, Tracks: protocol.TrackInbound, Pace: emulator.Realtime,
		Audio: defaultAudio, EventMethod: "POST",
		Call:     emulator.CallSetup{AccountID: emulator.DefaultAccountID, From: emulator.DefaultFrom, To: emulator.DefaultTo, DisconnectMethod: "POST"},
		Timeouts: emulator.TimeoutsSetup(emulator.DefaultTimeouts())}
	if start != nil && start.Metadata.AccountID != "" {
		setup.Call.AccountID = start.Metadata.AccountID
	}
	if p.Then.PlayAudio+p.Then.Clears > 0 {
		setup.Mode = protocol.ModeBidirectional
	}
	for _, e := range j.Entries {
		if e.Kind != emulator.KindWebhook || e.CallID != s.CallID || len(e.Data) == 0 {
			continue
		}
		var ev protocol.Event
		if json.Unmarshal(e.Data, &ev) != nil {
			continue
		}
		setup.Call.From, setup.Call.To, setup.Call.Direction, setup.Call.Tag = ev.From, ev.To, ev.Direction, ev.Tag
		// The method is only in the entry's words in such a journal:
		// "POST http://… → 204".
		method, _, _ := strings.Cut(e.Message, " ")
		if method == "GET" || method == "POST" {
			if e.Event == protocol.EventDisconnect {
				setup.Call.DisconnectMethod = method
			} else if e.StreamID == s.ID {
				setup.EventMethod = method
			}
		}
	}
	why := "sent no playAudio"
	if setup.Mode == protocol.ModeBidirectional {
		why = "sent playAudio or clear"
	}
	p.Notes = append(p.Notes, fmt.Sprintf("the journal predates format versions, so it does not say how the stream was set up: "+
		"%s mode (the app %s), realtime pace, %s, and bwemu's default timeouts", setup.Mode, why, defaultAudio))
	return setup
}
