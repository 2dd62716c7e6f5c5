package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/prose"
	"github.com/bwemu/bwemu/internal/replay"
)

const replaySynopsis = "bwemu replay JOURNAL.jsonl --ws URL [--events URL] [--disconnect URL] [--stream ID|NAME] [--pace realtime|fast] [flags]"

// replayFlags are bwemu replay's flags; their names are a public interface.
type replayFlags struct {
	app      app
	stream   string
	pace     *choiceFlag
	audio    string
	timeouts emulator.Timeouts
	caFile   string
	journal  string
}

func (f *replayFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.app.ws, "ws", "", "the app's WebSocket URL (required): the recorded stream is replayed there")
	fs.StringVar(&f.app.events, "events", "", "the app's stream event URL (streamEventUrl); required when the recorded stream sent stream webhooks")
	fs.StringVar(&f.app.disconnect, "disconnect", "", "the app's disconnect URL (the call's disconnectUrl); without it no disconnect is sent and the recorded one is not compared")
	f.app.registerCredentials(fs)
	fs.StringVar(&f.stream, "stream", "", "the stream to replay, by id or name, when the journal holds several")
	f.pace = newChoice("", "realtime", "fast")
	fs.Var(f.pace, "pace", "realtime or fast (default: the journal's; realtime when it does not say)")
	fs.StringVar(&f.audio, "audio", "", "audio to send: silence, tone:HZ, FILE.wav or FILE.pcmu (default: the journal's)")
	// Zero defaults stand for the journal's timeouts.
	timeoutFlags(fs, &f.timeouts, emulator.Timeouts{}, "callbackTimeout: bound on each webhook request (default: the journal's)")
	fs.StringVar(&f.caFile, "ca", "", "PEM file of a CA to trust for wss:// and https:// URLs")
	fs.StringVar(&f.journal, "journal", "", "write the replay's own journal as JSON Lines to FILE")
}

// config checks the flags and JOURNAL; the journal itself is read by
// runReplay, whose complaints about it carry FILE:LINE and no usage line.
func (f *replayFlags) config(pos []string) (*replayConfig, error) {
	switch {
	case len(pos) == 0:
		return nil, usagef("no JOURNAL given: replay a journal written by bwemu stream --journal FILE or bwemu run --journal DIR")
	case len(pos) > 1:
		return nil, usagef("one JOURNAL at a time, got %d: %s", len(pos), strings.Join(pos, " "))
	case f.app.ws == "":
		return nil, usagef("--ws URL is required: the app's WebSocket URL to replay the stream against")
	}
	if err := f.app.check("--ws"); err != nil {
		return nil, err
	}
	c := &replayConfig{file: pos[0], stream: f.stream, pace: emulator.Pace(f.pace.value),
		timeouts: f.timeouts, journal: f.journal}
	if f.audio != "" {
		a, err := media.Parse(f.audio)
		if err != nil {
			return nil, usagef("--audio: %v", err)
		}
		c.audio = a
	}
	if err := checkTimeouts(f.timeouts, true); err != nil {
		return nil, err
	}
	tlsConfig, err := trustCA(f.caFile)
	if err != nil {
		return nil, err
	}
	c.target = replay.Target{WS: f.app.ws, Events: f.app.events, Disconnect: f.app.disconnect,
		WSUser: f.app.wsUser, WSPassword: f.app.wsPassword, EventUser: f.app.eventUser, EventPassword: f.app.eventPassword,
		TLSConfig: tlsConfig}
	return c, nil
}

// replayConfig is what bwemu replay was asked to do.
type replayConfig struct {
	file   string // the journal
	target replay.Target
	stream string // --stream, "" for the only one
	// pace, audio and timeouts override the journal's when set.
	pace     emulator.Pace
	audio    media.Audio
	timeouts emulator.Timeouts
	journal  string // the replay's own journal, "" for none
}

func parseReplay(args []string) (*replayConfig, error) {
	return parseCommand("replay", &replayFlags{}, args)
}

// runReplay replays one recorded stream against the app, prints then and
// now side by side, and exits 0 when the app did what it did then (and
// does not fail), 1 when it did not (or fails now), 2 for a journal it
// cannot replay, 130 when interrupted.
func runReplay(ctx context.Context, c *replayConfig, stdout, stderr io.Writer) int {
	p, code, ok := c.plan(stderr)
	if !ok {
		return code
	}
	reports, code, ok := createReportFiles(stderr, replaySynopsis, reportFile{flag: "--journal", path: c.journal})
	if !ok {
		return code
	}
	defer reports.close()
	journal := reports.file("--journal")
	c.header(stdout, p)
	began := time.Now()
	r, err := replay.Run(ctx, p, c.target)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: %s: the recorded stream cannot be started again: %v\n", c.file, err)
		return exitUsage
	}
	if r.Problem != "" {
		fmt.Fprintf(stderr, "bwemu: %s; it was ended within %s\n", r.Problem, emulator.InterruptGrace)
	}
	if r.CutOff > 0 {
		fmt.Fprintf(stderr, "bwemu: the call took longer than %s to end: %s still waiting for the app cut off\n",
			emulator.InterruptGrace, prose.Plural(r.CutOff, "webhook", "webhooks"))
	}
	if journal != nil {
		if err := emulator.WriteEntries(journal, r.Entries); err != nil {
			fmt.Fprintf(stderr, "bwemu: --journal: %v\n", err)
			return exitFail
		}
	}
	fmt.Fprintf(stdout, "  replayed   as stream %s on call %s (new ids), in %s\n\n", r.StreamID, r.CallID, time.Since(began).Round(time.Millisecond))
	rows := replay.Compare(p.Then, r.Now, c.target.Disconnect != "")
	printRows(stdout, rows)
	fmt.Fprintln(stdout)
	if journal != nil {
		fmt.Fprintf(stdout, "  journal    %s (%d entries)\n\n", c.journal, len(r.Entries))
	}
	return verdict(stdout, stderr, rows, r)
}

// plan reads the journal and plans the replay of its stream, with the
// flags' overrides; what is wrong with the journal or the choice of
// stream is printed, ok false.
func (c *replayConfig) plan(stderr io.Writer) (p *replay.Plan, code int, ok bool) {
	j, err := replay.ReadFile(c.file)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
		return nil, exitUsage, false
	}
	s, err := j.Select(c.stream)
	if err == nil {
		p, err = j.Plan(s)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
		return nil, exitUsage, false
	}
	if p.Events && c.target.Events == "" {
		return nil, usageError(stderr, replaySynopsis, "--events URL is required: the recorded stream sent its webhooks (%s) to a streamEventUrl",
			webhookEvents(p.Then)), false
	}
	if c.pace != "" {
		p.Spec.Pace = c.pace
	}
	if c.audio != nil {
		p.Spec.Audio, p.Spec.OutboundAudio = c.audio, nil
		p.AudioNotes = nil
	}
	t := &p.Options.Timeouts
	for _, o := range []struct{ flag, journal *time.Duration }{{&c.timeouts.Handshake, &t.Handshake}, {&c.timeouts.Write, &t.Write},
		{&c.timeouts.CloseHandshake, &t.CloseHandshake}, {&c.timeouts.Callback, &t.Callback}, {&c.timeouts.DeadPeer, &t.DeadPeer}} {
		if *o.flag > 0 {
			*o.journal = *o.flag
		}
	}
	return p, exitPass, true
}

// header says what the replay is about to do.
func (c *replayConfig) header(w io.Writer, p *replay.Plan) {
	s, spec := p.Recorded, p.Spec
	fmt.Fprintf(w, "bwemu replay %s → %s\n", c.file, c.target.WS)
	fmt.Fprintf(w, "  recorded   stream %s on call %s (journal format v%d)\n", s.ID, s.CallID, p.Version)
	name := spec.Name
	if name == "" {
		name = "(the stream id)"
	}
	fmt.Fprintf(w, "  start      name %s, tracks %s, %s", name, spec.Tracks, spec.Mode)
	if len(spec.Params) > 0 {
		var ps []string
		for _, p := range spec.Params {
			ps = append(ps, p.Name+"="+p.Value)
		}
		fmt.Fprintf(w, ", params %s", strings.Join(ps, ", "))
	}
	fmt.Fprintln(w)
	pace := string(spec.Pace)
	if spec.Pace == emulator.Realtime && spec.Speed > 0 && spec.Speed != 1 {
		pace = fmt.Sprintf("realtime ×%g", spec.Speed)
	}
	fmt.Fprintf(w, "  media      %s, %s pace, audio %s\n", p.Media, pace, spec.Audio)
	fmt.Fprintf(w, "  ending     %s\n", describeEnd(p))
	switch {
	case p.Events:
		fmt.Fprintf(w, "  webhooks   %s %s\n", spec.StreamEventMethod, c.target.Events)
	default:
		fmt.Fprintf(w, "  webhooks   none: the recorded stream sent none\n")
	}
	switch {
	case p.Disconnect && c.target.Disconnect != "":
		fmt.Fprintf(w, "  disconnect %s %s\n", p.Call.DisconnectMethod, c.target.Disconnect)
	case p.Disconnect:
		fmt.Fprintf(w, "  disconnect not sent (no --disconnect URL): the recorded one is not compared\n")
	default:
		fmt.Fprintf(w, "  disconnect none: the recorded call sent none\n")
	}
	notes := append(p.Notes, p.AudioNotes...)
	if p.DestinationAuth && c.target.WSUser == "" && c.target.WSPassword == "" {
		notes = append(notes, "the recorded handshake carried credentials, which a journal never keeps: give them with --ws-user and --ws-password")
	}
	if p.EventAuth && c.target.EventUser == "" && c.target.EventPassword == "" {
		notes = append(notes, "the recorded webhooks carried credentials, which a journal never keeps: give them with --event-user and --event-password")
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  note       %s\n", n)
	}
}

// describeEnd says how the replay ends the stream, and why so.
func describeEnd(p *replay.Plan) string {
	then := p.Then.Ending
	switch {
	case p.AwaitApp && p.Then.Handshake != 101:
		return fmt.Sprintf("the recorded stream never connected (%s): the replay tries again, then hangs up", then)
	case p.AwaitApp:
		return fmt.Sprintf("the app ended the recorded stream (%s) after %s of media: the replay streams as much, gives the app %s to end it again, then hangs up",
			then, p.Media, replay.AppEndWait)
	case p.End != then:
		return fmt.Sprintf("hangup after %s of media (the recorded stream then ended by %s, after the emulator's stop message)", p.Media, then)
	case p.End == emulator.EndHangup:
		return fmt.Sprintf("hangup after %s of media", p.Media)
	}
	return fmt.Sprintf("%s after %s of media, then the call hangs up", emulator.ChoiceName(p.End), p.Media)
}

// printRows prints the comparison as a table: what, then, now, verdict;
// a row not compared says why below the table.
func printRows(w io.Writer, rows []replay.Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  what\tthen\tnow\tsame?")
	var why []string
	for _, r := range rows {
		v := string(r.Verdict)
		if r.Why != "" {
			why = append(why, fmt.Sprintf("%s: %s", r.What, r.Why))
			v += fmt.Sprintf(" (%d)", len(why))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.What, r.Then, r.Now, v)
	}
	tw.Flush()
	for i, y := range why {
		fmt.Fprintf(w, "  (%d) %s\n", i+1, y)
	}
}

// verdict prints the verdict and returns the exit code.
func verdict(stdout, stderr io.Writer, rows []replay.Row, r *replay.Result) int {
	diff := replay.Differences(rows)
	failures := r.Now.Failures()
	if r.Problem != "" {
		failures = append(failures, r.Problem)
	}
	var names []string
	for _, d := range diff {
		names = append(names, d.What)
	}
	switch {
	case r.Interrupted:
		fmt.Fprintln(stdout, "INTERRUPTED: the replay was cut short: no verdict on the app")
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitInterrupted
	case len(diff) > 0:
		fmt.Fprintf(stdout, "DIFFERENT: the app did not do what it did then (%s)\n", strings.Join(names, ", "))
		if len(failures) > 0 {
			fmt.Fprintln(stdout, "  and now it fails:")
		}
	case len(failures) > 0:
		fmt.Fprintln(stdout, "SAME: the app did what it did then, and still fails:")
	default:
		fmt.Fprintln(stdout, "SAME: the app did what it did then")
		return exitPass
	}
	for _, f := range failures {
		fmt.Fprintf(stdout, "  - %s\n", f)
	}
	return exitFail
}

// webhookEvents names the stream webhooks an outcome holds.
func webhookEvents(o replay.Outcome) string {
	var names []string
	for _, w := range o.Webhooks {
		if w.Event != "disconnect" {
			names = append(names, w.Event)
		}
	}
	return strings.Join(names, ", ")
}
