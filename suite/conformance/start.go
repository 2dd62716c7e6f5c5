package conformance

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// startMedia is how much audio the 2.x cases stream after the start.
const startMedia = time.Second

// startCase starts one stream shaped by shape, streams startMedia and
// stops it: the app must take the start, the media and the stop and
// complete the close handshake.
func startCase(ctx context.Context, c *Check, name, what, hint string, shape func(*emulator.StreamSpec)) {
	spec := c.Spec(name)
	shape(&spec)
	r, ok := c.streamOnce(ctx, spec, startMedia, what, hint)
	if !ok {
		return
	}
	c.Pass("%s: the app took the start, %s of audio (%s) and the stop, and completed the close handshake", what, r.MediaDuration, framesByTrack(r))
}

// 2.1
func startWithoutParams(ctx context.Context, c *Check) {
	startCase(ctx, c, "no-params", "after a start without streamParams",
		"streamParams is absent from the start message when the StartStream has no <StreamParam>: treat it as empty",
		func(s *emulator.StreamSpec) { s.Params = nil })
}

// 2.2
func startWithTwelveParams(ctx context.Context, c *Check) {
	startCase(ctx, c, "twelve-params", "after a start with 12 streamParams",
		"a StartStream may carry up to 12 <StreamParam> (names up to 256 characters, values up to 2048, any text): take them all",
		func(s *emulator.StreamSpec) { s.Params = twelveParams() })
}

// twelveParams are Bandwidth's maximum: 12 parameters, one with the
// longest name and one with the longest value, some text that needs
// escaping or is not ASCII, an empty value.
func twelveParams() []protocol.StreamParam {
	return []protocol.StreamParam{
		{Name: "tenant", Value: "acme"},
		{Name: "callerId", Value: "+15551112222"},
		{Name: "agentId", Value: "agent-0042"},
		{Name: "language", Value: "en-US"},
		{Name: "campaign", Value: "spring sale \"2026\" & more"},
		{Name: "ticket", Value: "12345"},
		{Name: "unicode", Value: "café ☕ 日本語 🎧"},
		{Name: "json", Value: `{"nested":{"list":[1,2,3]},"quote":"\""}`},
		{Name: "empty", Value: ""},
		{Name: "url", Value: "https://example.com/path?a=1&b=2#frag"},
		{Name: strings.Repeat("n", emulator.MaxParamNameLength), Value: "longest name"},
		{Name: "longestValue", Value: strings.Repeat("v", emulator.MaxParamValueLength)},
	}
}

// startTracks is 2.3, 2.4 and 2.5.
func startTracks(tracks string) func(context.Context, *Check) {
	return func(ctx context.Context, c *Check) {
		hint := map[string]string{
			protocol.TrackInbound:  "tracks=inbound streams the audio the platform receives from the call, on track inbound",
			protocol.TrackOutbound: "tracks=outbound streams only the audio played to the call, on track outbound: do not assume an inbound track",
			protocol.TracksBoth:    "tracks=both interleaves media on tracks inbound and outbound, told apart by \"track\": handle both, each with its own sequence",
		}[tracks]
		startCase(ctx, c, "tracks-"+tracks, fmt.Sprintf("with tracks=%s", tracks), hint,
			func(s *emulator.StreamSpec) { s.Tracks = tracks })
	}
}

// 2.6
func startWithExtraFields(ctx context.Context, c *Check) {
	startCase(ctx, c, "extra-fields", "after a start with unknown extra fields",
		"ignore fields you do not know in Bandwidth's messages: Bandwidth may add some any day",
		func(s *emulator.StreamSpec) {
			s.Params = []protocol.StreamParam{{Name: "tenant", Value: "acme"}}
			s.StartExtra = map[string]any{
				"sdkVersion":       "9.9.9",
				"futureFeature":    map[string]any{"enabled": true, "level": 3, "tags": []string{"a", "b"}},
				"regions":          []any{"us-east", 2, false},
				"mediaServerLoadX": 0.25,
			}
		})
}

// framesByTrack says how many media messages went on each track.
func framesByTrack(r *emulator.StreamResult) string {
	var parts []string
	for _, t := range []string{protocol.TrackInbound, protocol.TrackOutbound} {
		if n, ok := r.FramesByTrack[t]; ok {
			parts = append(parts, fmt.Sprintf("%d frames on %s", n, t))
		}
	}
	if len(parts) == 0 {
		return "no frames"
	}
	return strings.Join(parts, ", ")
}
