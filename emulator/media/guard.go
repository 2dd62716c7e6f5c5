package media

import (
	"encoding/binary"
	"fmt"
	"io"
)

// guardChunks walks the 8-byte headers of the top-level RIFF chunks and of
// the INFO entries in LIST chunks, and rejects any size that runs past the
// bytes that hold it.
//
// It does not decode anything; that stays with go-audio/wav. It exists
// because that library allocates whatever a fmt or LIST header claims before
// reading: a corrupt 4 GB size costs tens of seconds and gigabytes per
// chunk, enough to stall or kill the emulator over one bad prompt file.
//
// The walk stops once it has seen both the fmt and data chunks, because the
// library reads nothing past them; a data chunk that overruns the file is
// left for readData to report as truncated.
func guardChunks(r io.ReadSeeker, end int64, name string) error {
	var sawFmt, sawData bool
	pos := int64(12) // after "RIFF", size, "WAVE"
	for pos+8 <= end && !(sawFmt && sawData) {
		id, size, err := chunkHeader(r, pos)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		body := pos + 8
		if id == "data" {
			if size > end-body {
				return nil
			}
			sawData = true
		} else if size > end-body {
			return fmt.Errorf("%s: truncated or malformed WAV: %q chunk at byte %d claims %d bytes but only %d follow", name, id, pos, size, end-body)
		}
		sawFmt = sawFmt || id == "fmt "
		if id == "LIST" {
			if err := guardList(r, body, min(size+size&1, end-body), name); err != nil {
				return err
			}
		}
		pos = body + size + size&1 // chunks are padded to even sizes
	}
	return nil
}

// guardList checks the entries of a LIST/INFO chunk, whose sizes
// go-audio/wav allocates as it reads them.
func guardList(r io.ReadSeeker, body, size int64, name string) error {
	var kind [4]byte
	if _, err := r.Seek(body, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if size < 4 {
		return nil
	}
	if _, err := io.ReadFull(r, kind[:]); err != nil || string(kind[:]) != "INFO" {
		return nil // the library skips other lists
	}
	for p := int64(4); p+8 <= size; {
		id, n, err := chunkHeader(r, body+p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if n > size-(p+8) {
			return fmt.Errorf("%s: malformed WAV: LIST entry %q claims %d bytes but only %d follow", name, id, n, size-(p+8))
		}
		p += 8 + n + n&1
	}
	return nil
}

func chunkHeader(r io.ReadSeeker, pos int64) (string, int64, error) {
	var h [8]byte
	if _, err := r.Seek(pos, io.SeekStart); err != nil {
		return "", 0, err
	}
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", 0, err
	}
	return string(h[:4]), int64(binary.LittleEndian.Uint32(h[4:])), nil
}
