package voiceapi

import (
	"encoding/json"
	"net/http"
)

// Error is the body of every Voice API error, in Bandwidth's shape:
//
//	{"type":"validation","description":"Invalid to: must be an E164 telephone number","id":null}
type Error struct {
	Type        string  `json:"type"`
	Description string  `json:"description"`
	ID          *string `json:"id"`
}

// Error types. Bandwidth documents validation (400, 404, 405, 415),
// authentication-error (401) and authorization-error (403); the type of a
// 409 and a 503 is undocumented, and the emulator says conflict and
// unavailable.
const (
	TypeValidation     = "validation"
	TypeAuthentication = "authentication-error"
	TypeAuthorization  = "authorization-error"
	TypeConflict       = "conflict"
	TypeUnavailable    = "unavailable"
)

// oauthError is the body of a token endpoint error (RFC 6749 §5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only marshalable types are written
		status, body = http.StatusInternalServerError, []byte(`{"type":"error","description":"internal error","id":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fail answers with a Voice API error and notes its description for the journal.
func (x *exchange) fail(status int, typ, description string) {
	x.problem = description
	writeJSON(x, status, Error{Type: typ, Description: description})
}

func (x *exchange) invalid(description string) {
	x.fail(http.StatusBadRequest, TypeValidation, description)
}

func (x *exchange) oauthFail(status int, code, description string) {
	x.problem = code + ": " + description
	if status == http.StatusUnauthorized {
		x.Header().Set("WWW-Authenticate", `Basic realm="bwemu OAuth"`)
	}
	x.Header().Set("Cache-Control", "no-store")
	writeJSON(x, status, oauthError{Error: code, Description: description})
}
