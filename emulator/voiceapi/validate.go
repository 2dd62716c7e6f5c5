package voiceapi

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bandwidth's limits on a create-call request, with its defaults.
const (
	MinCallTimeout, MaxCallTimeout, DefaultCallTimeout             = 1, 300, 30
	MinCallbackTimeout, MaxCallbackTimeout, DefaultCallbackTimeout = 1, 25, 15
	MinPriority, MaxPriority, DefaultPriority                      = 1, 5, 5
	MaxTag                                                         = 4096
	MaxDisplayName                                                 = 256
)

// maskedPassword is how responses echo a password.
const maskedPassword = "*****"

// createCallRequest is the create-call body as Bandwidth's SDKs send it
// (camelCase JSON). Fields the emulator does not act on are still
// validated and echoed where Bandwidth echoes them.
type createCallRequest struct {
	To                   string   `json:"to"`
	From                 string   `json:"from"`
	Privacy              *bool    `json:"privacy"`
	DisplayName          string   `json:"displayName"`
	UUI                  string   `json:"uui"`
	ApplicationID        string   `json:"applicationId"`
	AnswerURL            string   `json:"answerUrl"`
	AnswerMethod         string   `json:"answerMethod"`
	Username             string   `json:"username"`
	Password             string   `json:"password"`
	AnswerFallbackURL    string   `json:"answerFallbackUrl"`
	AnswerFallbackMethod string   `json:"answerFallbackMethod"`
	FallbackUsername     string   `json:"fallbackUsername"`
	FallbackPassword     string   `json:"fallbackPassword"`
	DisconnectURL        string   `json:"disconnectUrl"`
	DisconnectMethod     string   `json:"disconnectMethod"`
	CallTimeout          *float64 `json:"callTimeout"`
	CallbackTimeout      *float64 `json:"callbackTimeout"`
	Priority             *float64 `json:"priority"`
	Tag                  *string  `json:"tag"`
}

// CreateCallResponse is the 201 body of create call: the request echoed
// (password masked) with the call's id, URL and enqueued time.
type CreateCallResponse struct {
	ApplicationID        string  `json:"applicationId"`
	AccountID            string  `json:"accountId"`
	CallID               string  `json:"callId"`
	To                   string  `json:"to"`
	From                 string  `json:"from"`
	EnqueuedTime         string  `json:"enqueuedTime"`
	CallURL              string  `json:"callUrl"`
	CallTimeout          float64 `json:"callTimeout"`
	CallbackTimeout      float64 `json:"callbackTimeout"`
	Tag                  string  `json:"tag,omitempty"`
	AnswerMethod         string  `json:"answerMethod"`
	AnswerURL            string  `json:"answerUrl"`
	AnswerFallbackMethod string  `json:"answerFallbackMethod,omitempty"`
	AnswerFallbackURL    string  `json:"answerFallbackUrl,omitempty"`
	DisconnectMethod     string  `json:"disconnectMethod"`
	DisconnectURL        string  `json:"disconnectUrl,omitempty"`
	Username             string  `json:"username,omitempty"`
	Password             string  `json:"password,omitempty"`
	FallbackUsername     string  `json:"fallbackUsername,omitempty"`
	FallbackPassword     string  `json:"fallbackPassword,omitempty"`
	Priority             int     `json:"priority"`
}

var (
	e164    = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	sipURI  = regexp.MustCompile(`^sips?:[^@\s]+@[^@\s]+$`)
	methods = map[string]string{"": "POST", "POST": "POST", "GET": "GET"}
)

// validate checks the request as Bandwidth does and fills in its
// defaults; the first problem is returned in Bandwidth's words where it
// has them.
func (q *createCallRequest) validate() (problem string) {
	if q.To == "" || q.From == "" || q.AnswerURL == "" || q.ApplicationID == "" {
		return "Missing at least one required field. Required fields are [from, to, answerUrl, applicationId]"
	}
	if !e164.MatchString(q.To) && !sipURI.MatchString(q.To) {
		return "Invalid to: must be an E164 telephone number or a SIP URI"
	}
	if !e164.MatchString(q.From) {
		return "Invalid from: must be an E164 telephone number"
	}
	for _, u := range []struct {
		name        string
		url, method *string
	}{
		{"answerUrl", &q.AnswerURL, &q.AnswerMethod},
		{"answerFallbackUrl", &q.AnswerFallbackURL, &q.AnswerFallbackMethod},
		{"disconnectUrl", &q.DisconnectURL, &q.DisconnectMethod},
	} {
		if *u.url != "" && !isHTTPURL(*u.url) {
			return fmt.Sprintf("Invalid %s: only http and https are allowed", u.name)
		}
		m, ok := methods[strings.ToUpper(*u.method)]
		if !ok {
			return fmt.Sprintf("Invalid %s method. Supported methods: [POST, GET]", u.name)
		}
		*u.method = m
	}
	for _, n := range []struct {
		name     string
		v        **float64
		min, max float64
		def      float64
		integer  bool
	}{
		{"callTimeout", &q.CallTimeout, MinCallTimeout, MaxCallTimeout, DefaultCallTimeout, false},
		{"callbackTimeout", &q.CallbackTimeout, MinCallbackTimeout, MaxCallbackTimeout, DefaultCallbackTimeout, false},
		{"priority", &q.Priority, MinPriority, MaxPriority, DefaultPriority, true},
	} {
		if *n.v == nil {
			def := n.def
			*n.v = &def
			continue
		}
		v := **n.v
		if v < n.min || v > n.max || (n.integer && v != float64(int(v))) {
			return fmt.Sprintf("%s must be within the range [%v, %v], but was %s", n.name, n.min, n.max, strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	if q.Tag != nil && len(*q.Tag) > MaxTag {
		return fmt.Sprintf("Could not create call: tag must contain at most %d characters", MaxTag)
	}
	if len(q.DisplayName) > MaxDisplayName {
		return fmt.Sprintf("Invalid displayName: at most %d characters", MaxDisplayName)
	}
	return ""
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

func (q *createCallRequest) tag() string {
	if q.Tag == nil {
		return ""
	}
	return *q.Tag
}

func mask(password string) string {
	if password == "" {
		return ""
	}
	return maskedPassword
}
