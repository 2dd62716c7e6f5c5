// Package reportjson writes the JSON reports people read (run, conform,
// stream): indented, and every duration in milliseconds with its unit in
// its key. The Go types keep time.Duration (nanoseconds, as the journal
// and the Go API have them); a field named "…Ns" in them is written as
// "…Ms", its value in milliseconds (fractions kept: 1.097).
package reportjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Write writes v as indented JSON, with its durations in milliseconds.
func Write(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var compact bytes.Buffer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := value(dec, &compact, nil, false); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// value copies one value from dec to out; with read, tok is its first
// token, already read (nil is JSON's null).
func value(dec *json.Decoder, out *bytes.Buffer, tok json.Token, read bool) error {
	if !read {
		var err error
		if tok, err = dec.Token(); err != nil {
			return err
		}
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return object(dec, out)
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := value(dec, out, nil, false); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ]
			out.WriteByte(']')
			return err
		}
		return fmt.Errorf("reportjson: unexpected %v", t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		out.Write(b)
		return nil
	}
}

// object copies an object whose { was read, renaming "…Ns" durations.
func object(dec *json.Decoder, out *bytes.Buffer) error {
	out.WriteByte('{')
	for i := 0; dec.More(); i++ {
		if i > 0 {
			out.WriteByte(',')
		}
		keyTok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := keyTok.(string)
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if n, isNum := tok.(json.Number); isNum && strings.HasSuffix(key, "Ns") && len(key) > 2 {
			if ns, err := n.Int64(); err == nil {
				k, _ := json.Marshal(strings.TrimSuffix(key, "Ns") + "Ms")
				out.Write(k)
				out.WriteByte(':')
				out.WriteString(strconv.FormatFloat(float64(ns)/1e6, 'f', -1, 64))
				continue
			}
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		if err := value(dec, out, tok, true); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	out.WriteByte('}')
	return err
}
