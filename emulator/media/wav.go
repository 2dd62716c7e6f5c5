package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	"github.com/zaf/g711"
)

// WAVE fmt chunk format tags this package knows about.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xFFFE
)

// Sample rates outside this range are not audio anyone records, and the
// bound keeps a corrupt header from making the resampler produce gigabytes.
const (
	minWAVRate = 1000
	maxWAVRate = 768000
)

// supportedWAV ends every "wrong kind of file" error, so the user learns what
// to convert to.
const supportedWAV = "bwemu reads integer PCM WAV (8/16/24/32-bit), IEEE float WAV (32/64-bit) or µ-law/A-law WAV"

// formatNames names common non-PCM encodings in errors.
var formatNames = map[uint16]string{
	0x0002:   "Microsoft ADPCM",
	wavFloat: "IEEE float",
	0x0011:   "IMA ADPCM",
	0x0031:   "GSM 6.10",
	0x0050:   "MPEG",
	0x0055:   "MP3",
}

// LoadWAV reads the WAV file at path into memory as 8 kHz PCMU; see DecodeWAV.
// The source is named after the file's base name.
func LoadWAV(path string) (Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio file: %w", err)
	}
	defer f.Close()
	rec, err := decodeWAV(f, path) // errors name the path as given
	if err != nil {
		return nil, err
	}
	rec.name = filepath.Base(path) // reports stay short
	return rec, nil
}

// DecodeWAV reads a whole WAV file from r and converts it to 8 kHz mono PCMU.
// It accepts integer PCM of 8, 16, 24 or 32 bits (also as
// WAVE_FORMAT_EXTENSIBLE up to 24 bits), and µ-law or A-law, with any number
// of channels (averaged to mono) at any sample rate from 1 to 768 kHz
// (resampled). name labels the source and its errors.
func DecodeWAV(r io.ReadSeeker, name string) (Audio, error) {
	rec, err := decodeWAV(r, name)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return rec, nil
}

func decodeWAV(r io.ReadSeeker, name string) (rec *recording, err error) {
	// go-audio/wav was written for well-formed files, not hostile ones.
	// Should a malformed file still find a panic in it, one bad prompt file
	// must not take the emulator down.
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("%s: malformed WAV file (decoder failed: %v): %s", name, p, supportedWAV)
		}
	}()

	d, end, err := readHeader(r, name)
	if err != nil {
		return nil, err
	}
	toFloat, err := sampleConverter(d, name)
	if err != nil {
		return nil, err
	}
	if d.SampleRate < minWAVRate || d.SampleRate > maxWAVRate {
		return nil, fmt.Errorf("%s: unsupported WAV sample rate %d Hz: bwemu resamples %d–%d Hz", name, d.SampleRate, minWAVRate, maxWAVRate)
	}
	samples, err := readSamples(r, d, end, name)
	if err != nil {
		return nil, err
	}
	rec, err = toMuLaw(samples, int(d.NumChans), int(d.SampleRate), d.WavAudioFormat == wavMuLaw, toFloat)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rec.name = name
	return rec, nil
}

// readHeader checks the file's chunks and reads its fmt chunk; end is
// where the RIFF data ends.
func readHeader(r io.ReadSeeker, name string) (d *wav.Decoder, end int64, err error) {
	end, err = checkRIFF(r, name)
	if err != nil {
		return nil, 0, err
	}
	if err := guardChunks(r, end, name); err != nil {
		return nil, 0, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	d = wav.NewDecoder(r)
	d.ReadInfo()
	if err := d.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s: unreadable WAV header: %w", name, err)
	}
	if d.NumChans == 0 || d.BitDepth == 0 || d.SampleRate == 0 {
		return nil, 0, fmt.Errorf("%s: WAV has no usable fmt chunk (missing, truncated, or 0 channels, bits or rate): %s", name, supportedWAV)
	}
	return d, end, nil
}

// readSamples reads the data chunk's interleaved samples.
func readSamples(r io.ReadSeeker, d *wav.Decoder, end int64, name string) ([]int, error) {
	data, err := readData(r, d, end, name)
	if err != nil {
		return nil, err
	}
	if d.WavAudioFormat == wavFloat {
		return floatSamples(data, int(d.BitDepth)), nil
	}
	// Hand the exact sample bytes to the library: its own chunk reader
	// rounds odd sizes up and would decode the RIFF pad byte as a sample.
	d.PCMChunk.R = bytes.NewReader(data)
	buf, err := d.FullPCMBuffer()
	if err != nil {
		return nil, fmt.Errorf("%s: reading WAV samples: %w", name, err)
	}
	return buf.Data, nil
}

// toMuLaw turns interleaved samples into 8 kHz mono µ-law: channels are
// averaged, the rate resampled, and 8 kHz mono µ-law kept byte for byte.
func toMuLaw(interleaved []int, channels, rate int, muLaw bool, toFloat func(int) float64) (*recording, error) {
	samples := interleaved[:len(interleaved)/channels*channels]
	if muLaw && channels == 1 && rate == SampleRate {
		// Already what Bandwidth streams: keep the bytes untouched.
		out := make([]byte, len(samples))
		for i, v := range samples {
			out[i] = byte(v)
		}
		return &recording{data: out}, nil
	}
	mono := make([]float64, len(samples)/channels)
	for f := range mono {
		var sum float64
		for _, v := range samples[f*channels : (f+1)*channels] {
			sum += toFloat(v)
		}
		mono[f] = sum / float64(channels)
	}
	mono = resample(mono, rate)
	if len(mono) == 0 {
		// A few samples at a high rate round to none at 8 kHz; a
		// zero-length recording would read as an endless source.
		return nil, errors.New("WAV holds no audio samples (shorter than one 8 kHz sample)")
	}
	out := make([]byte, len(mono))
	for i, v := range mono {
		out[i] = g711.EncodeUlawFrame(toInt16(v))
	}
	return &recording{data: out}, nil
}

// checkRIFF rejects non-WAV input with a clear message before the library
// sees it (its own errors read like "hell - format not supported"), and
// returns the size of the input.
func checkRIFF(r io.ReadSeeker, name string) (int64, error) {
	end, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if end == 0 {
		return 0, fmt.Errorf("%s: empty file: %s", name, supportedWAV)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil || string(head[0:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		return 0, fmt.Errorf("%s: not a WAV file (no RIFF/WAVE header): %s", name, supportedWAV)
	}
	return end, nil
}

// sampleConverter checks the encoding in the fmt chunk and returns how to
// turn one sample, as go-audio/wav decodes it, into [-1, 1).
func sampleConverter(d *wav.Decoder, name string) (func(int) float64, error) {
	bits := d.BitDepth
	switch d.WavAudioFormat {
	case wavPCM, wavExtensible:
		// go-audio/wav cannot read the sub-format GUID of an extensible
		// file. Integer PCM is the only 8/16/24-bit sub-format in use,
		// but 32-bit ones are as often float, which would play as noise.
		if d.WavAudioFormat == wavExtensible && bits == 32 {
			return nil, fmt.Errorf("%s: unsupported WAV encoding (32-bit WAVE_FORMAT_EXTENSIBLE, possibly float): %s", name, supportedWAV)
		}
		switch bits {
		case 8: // unsigned, centred on 128
			return func(v int) float64 { return float64(v-128) / 128 }, nil
		case 16, 24, 32:
			scale := math.Ldexp(1, int(bits)-1)
			return func(v int) float64 { return float64(v) / scale }, nil
		}
		return nil, fmt.Errorf("%s: unsupported PCM bit depth %d: %s", name, bits, supportedWAV)
	case wavFloat:
		// The samples' bits, as floatSamples keeps them.
		switch bits {
		case 32:
			return func(v int) float64 { return float64(math.Float32frombits(uint32(v))) }, nil
		case 64:
			return func(v int) float64 { return math.Float64frombits(uint64(v)) }, nil
		}
		return nil, fmt.Errorf("%s: unsupported float bit depth %d (want 32 or 64): %s", name, bits, supportedWAV)
	case wavMuLaw, wavALaw:
		if bits != 8 {
			return nil, fmt.Errorf("%s: G.711 WAV with %d bits per sample, expected 8: %s", name, bits, supportedWAV)
		}
		decode := g711.DecodeUlawFrame
		if d.WavAudioFormat == wavALaw {
			decode = g711.DecodeAlawFrame
		}
		return func(v int) float64 { return float64(decode(uint8(v))) / 32768 }, nil
	}
	desc := fmt.Sprint("format ", d.WavAudioFormat)
	if n, ok := formatNames[d.WavAudioFormat]; ok {
		desc += ", " + n
	}
	return nil, fmt.Errorf("%s: unsupported WAV encoding (%s): %s", name, desc, supportedWAV)
}

// readData finds the data chunk with the library and reads its bytes,
// trimmed to whole sample frames.
func readData(r io.ReadSeeker, d *wav.Decoder, end int64, name string) ([]byte, error) {
	if err := d.FwdToPCM(); err != nil || d.PCMChunk == nil {
		return nil, fmt.Errorf("%s: WAV has no data chunk: %s", name, supportedWAV)
	}
	// The reader now sits at the first sample. go-audio/wav has already
	// rounded the chunk size up to even and wraps 0xFFFFFFFF to 0, so take
	// the declared size from the chunk header it just read.
	sizePos, err := r.Seek(-4, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var declared uint32
	if err := binary.Read(r, binary.LittleEndian, &declared); err != nil {
		return nil, fmt.Errorf("%s: reading WAV data size: %w", name, err)
	}
	size, avail := int64(declared), end-(sizePos+4)
	switch {
	case declared == 0 || declared == math.MaxUint32:
		// Writers that stream (to a pipe) cannot know the length and
		// leave one of these placeholders: the samples run to the end
		// of the file, as players assume.
		size = avail
	case size > avail:
		return nil, fmt.Errorf("%s: truncated WAV: data chunk declares %d bytes but only %d are present", name, size, max(avail, 0))
	}
	frameBytes := int64(d.NumChans) * int64((d.BitDepth+7)/8)
	size -= size % frameBytes // a partial last frame cannot be played
	if size <= 0 {
		return nil, fmt.Errorf("%s: WAV holds no audio samples", name)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("%s: reading WAV data: %w", name, err)
	}
	return data, nil
}

// floatSamples keeps the bits of each little-endian IEEE float sample in an
// int, for sampleConverter to read back: go-audio/wav decodes integer PCM
// only.
func floatSamples(data []byte, bits int) []int {
	size := bits / 8
	out := make([]int, len(data)/size)
	for i := range out {
		if size == 8 {
			out[i] = int(binary.LittleEndian.Uint64(data[i*8:]))
		} else {
			out[i] = int(binary.LittleEndian.Uint32(data[i*4:]))
		}
	}
	return out
}

// toInt16 scales [-1, 1) to 16-bit, clipping the overshoot that filtering can
// add to full-scale input.
func toInt16(v float64) int16 {
	return int16(max(math.MinInt16, min(math.MaxInt16, math.Round(v*32768))))
}

// WriteWAV writes µ-law audio (8 kHz mono) to path as a 16-bit PCM WAV file,
// the format every player and editor opens.
func WriteWAV(path string, pcmu []byte) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("recording: %w", cerr)
		}
	}()
	enc := wav.NewEncoder(f, SampleRate, 16, 1, wavPCM)
	samples := make([]int, len(pcmu))
	for i, b := range pcmu {
		samples[i] = int(g711.DecodeUlawFrame(b))
	}
	buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: 1, SampleRate: SampleRate}, Data: samples, SourceBitDepth: 16}
	if err := enc.Write(buf); err != nil {
		return fmt.Errorf("recording %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("recording %s: %w", path, err)
	}
	return nil
}
