package media

import (
	"encoding/binary"

	"github.com/zaf/g711"
)

// PCM16ToMuLaw turns signed 16-bit little-endian mono PCM at rate Hz (as a
// bidirectional app's playAudio may carry it) into 8 kHz µ-law, resampled
// with the same band-limited filter as WAV files. Each chunk is resampled
// on its own, as Bandwidth receives it.
func PCM16ToMuLaw(le []byte, rate int) []byte {
	samples := make([]float64, len(le)/2)
	for i := range samples {
		samples[i] = float64(int16(binary.LittleEndian.Uint16(le[2*i:]))) / 32768
	}
	samples = resample(samples, rate)
	out := make([]byte, len(samples))
	for i, v := range samples {
		out[i] = g711.EncodeUlawFrame(toInt16(v))
	}
	return out
}
