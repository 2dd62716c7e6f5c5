package media

import (
	"encoding/base64"
	"fmt"
	"sync"
)

// EncodedFrameSize is the length of the base64 text of one frame, the
// "payload" of a Bandwidth media message: base64.StdEncoding.EncodedLen(FrameSize).
const EncodedFrameSize = (FrameSize + 2) / 3 * 4

// Encode fills dst with the standard base64 of frame n of a and returns the
// number of bytes used, EncodedFrameSize. It does not allocate, so a sender
// can call it every 20 ms per stream with a reused buffer. Like
// base64.Encoding.Encode, it panics if dst is too short (a programming error).
func Encode(a Audio, n int, dst []byte) int {
	if len(dst) < EncodedFrameSize {
		panic(fmt.Sprintf("media.Encode: dst has %d bytes, need %d", len(dst), EncodedFrameSize))
	}
	var raw [FrameSize]byte
	// A buffer passed through an interface method escapes to the heap, so
	// the sources of this package are called directly (their Frame keeps p
	// on the stack) and only foreign sources get a pooled buffer.
	switch s := a.(type) {
	case silence:
		s.Frame(n, raw[:])
	case *recording:
		s.Frame(n, raw[:])
	case *tableTone:
		s.Frame(n, raw[:])
	case *phaseTone:
		s.Frame(n, raw[:])
	default:
		buf := scratch.Get().(*[FrameSize]byte)
		a.Frame(n, buf[:])
		raw = *buf
		scratch.Put(buf)
	}
	base64.StdEncoding.Encode(dst[:EncodedFrameSize], raw[:])
	return EncodedFrameSize
}

var scratch = sync.Pool{New: func() any { return new([FrameSize]byte) }}
