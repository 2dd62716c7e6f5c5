package emulator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator/media"
)

// Recording is what a stream's caller heard and said, frame by frame, as
// 8 kHz µ-law: Heard is the app's playback (silence where nothing played),
// Said the caller's audio. The files, when Options.RecordDir is set, are
// the same audio as WAV.
type Recording struct {
	Heard     []byte `json:"-"`
	Said      []byte `json:"-"`
	HeardFile string `json:"heardFile,omitempty"`
	SaidFile  string `json:"saidFile,omitempty"`
	// Error says why the files could not be written.
	Error string `json:"error,omitempty"`
}

// HeardSound is how much of what the caller heard was loud (not silence).
func (r *Recording) HeardSound() time.Duration { return media.Sound(r.Heard) }

// HeardTone is how long what the caller heard held a tone of hz.
func (r *Recording) HeardTone(hz float64) time.Duration { return media.ToneDuration(r.Heard, hz) }

// recorder keeps a stream's audio while it runs, on the stream's goroutine.
type recorder struct {
	on          bool
	heard, said []byte
}

func (rc *recorder) frame(heard, said *[media.FrameSize]byte) {
	if rc.on {
		rc.heard = append(rc.heard, heard[:]...)
		rc.said = append(rc.said, said[:]...)
	}
}

// result is the recording, written to dir when it is set.
func (rc *recorder) result(dir, name, id string) *Recording {
	if !rc.on {
		return nil
	}
	r := &Recording{Heard: rc.heard, Said: rc.said}
	if dir == "" {
		return r
	}
	base := filepath.Join(dir, fileSafe(name)+"-"+fileSafe(id))
	if name == id {
		base = filepath.Join(dir, fileSafe(id))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Error = fmt.Sprintf("recording: %v", err)
		return r
	}
	for _, f := range []struct {
		path  *string
		audio []byte
		kind  string
	}{{&r.HeardFile, r.Heard, "heard"}, {&r.SaidFile, r.Said, "said"}} {
		p := base + "-" + f.kind + ".wav"
		if err := media.WriteWAV(p, f.audio); err != nil {
			r.Error = err.Error()
			return r
		}
		*f.path = p
	}
	return r
}

// fileSafe keeps letters, digits, '-', '_' and '.' of s for a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
