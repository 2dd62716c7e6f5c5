package protocol

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
)

// IDLength is the length of Bandwidth's call and stream ids.
const IDLength = 47

// idPattern is Bandwidth's id layout: prefix, 8 hex, 8 hex, then a UUID tail.
var idPattern = regexp.MustCompile(`^[cs]-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// NewCallID returns a fresh c-… id in Bandwidth's 47-character layout.
func NewCallID() string { return newID('c') }

// NewStreamID returns a fresh s-… id in Bandwidth's 47-character layout.
func NewStreamID() string { return newID('s') }

// NewUUID returns a random version 4 UUID, as applicationId uses.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func newID(prefix byte) string {
	var head [8]byte
	_, _ = rand.Read(head[:])
	h := hex.EncodeToString(head[:])
	return fmt.Sprintf("%c-%s-%s-%s", prefix, h[:8], h[8:], NewUUID()[9:])
}

func formatUUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// IsCallID reports whether s has the layout of a Bandwidth call id.
func IsCallID(s string) bool { return len(s) == IDLength && s[0] == 'c' && idPattern.MatchString(s) }

// IsStreamID reports whether s has the layout of a Bandwidth stream id.
func IsStreamID(s string) bool { return len(s) == IDLength && s[0] == 's' && idPattern.MatchString(s) }

// CallURL is the callUrl field of every webhook for the call.
func CallURL(accountID, callID string) string {
	return "https://voice.bandwidth.com/api/v2/accounts/" + accountID + "/calls/" + callID
}
