package media

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// specForms lists what Parse accepts, for its errors.
const specForms = `"silence", "tone:HZ" (e.g. tone:440), a .wav file, or a raw µ-law file (.pcmu, .ulaw, .raw)`

// Parse reads a CLI/scenario audio spec:
//
//	silence             endless silence
//	tone:HZ             endless sine, e.g. tone:440 (a trailing "Hz" is allowed, so String() round-trips)
//	PATH.wav            a WAV file, see LoadWAV
//	PATH.pcmu|ulaw|raw  raw 8 kHz µ-law bytes, see PCMU
//
// Keywords and extensions are case-insensitive; surrounding spaces are ignored.
func Parse(spec string) (Audio, error) {
	s := strings.TrimSpace(spec)
	lower := strings.ToLower(s)
	switch {
	case lower == "silence":
		return Silence(), nil
	case strings.HasPrefix(lower, "tone:"):
		num := strings.TrimSpace(s[len("tone:"):])
		if strings.HasSuffix(strings.ToLower(num), "hz") {
			num = strings.TrimSpace(num[:len(num)-2])
		}
		hz, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, fmt.Errorf("audio spec %q: %q is not a frequency in Hz: use tone:HZ, e.g. tone:440", spec, num)
		}
		a, err := Tone(hz)
		if err != nil {
			return nil, fmt.Errorf("audio spec %q: %w", spec, err)
		}
		return a, nil
	}
	switch strings.ToLower(filepath.Ext(s)) {
	case ".wav":
		return LoadWAV(s)
	case ".pcmu", ".ulaw", ".raw":
		return loadRaw(s)
	}
	return nil, fmt.Errorf("audio spec %q not understood: use %s", spec, specForms)
}

// loadRaw reads a headerless µ-law file: the bytes are the stream.
func loadRaw(path string) (Audio, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audio file: %w", err)
	}
	if len(data) == 0 {
		// An empty recording would have Duration 0, which means endless.
		return nil, fmt.Errorf("%s: empty file: raw µ-law audio needs at least one byte", path)
	}
	return &recording{data: data, name: filepath.Base(path)}, nil
}
