package voiceapi

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// Bandwidth's limits on a create-call request, with its defaults.
const (
	minCallTimeout, maxCallTimeout, defaultCallTimeout             = 1, 300, 30
	minCallbackTimeout, maxCallbackTimeout, defaultCallbackTimeout = 1, 25, 15
	minPriority, maxPriority, defaultPriority                      = 1, 5, 5
	maxTag                                                         = 4096
	maxDisplayName                                                 = 256
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

// createCallResponse is the 201 body of create call: the request echoed
// (password masked) with the call's id, URL and enqueued time.
type createCallResponse struct {
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
	if problem := checkURLs(
		urlField{"answerUrl", &q.AnswerURL, &q.AnswerMethod},
		urlField{"answerFallbackUrl", &q.AnswerFallbackURL, &q.AnswerFallbackMethod},
		urlField{"disconnectUrl", &q.DisconnectURL, &q.DisconnectMethod},
	); problem != "" {
		return problem
	}
	for _, n := range []struct {
		name     string
		v        **float64
		min, max float64
		def      float64
		integer  bool
	}{
		{"callTimeout", &q.CallTimeout, minCallTimeout, maxCallTimeout, defaultCallTimeout, false},
		{"callbackTimeout", &q.CallbackTimeout, minCallbackTimeout, maxCallbackTimeout, defaultCallbackTimeout, false},
		{"priority", &q.Priority, minPriority, maxPriority, defaultPriority, true},
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
	if q.Tag != nil && len(*q.Tag) > maxTag {
		return fmt.Sprintf("Could not create call: tag must contain at most %d characters", maxTag)
	}
	if len(q.DisplayName) > maxDisplayName {
		return fmt.Sprintf("Invalid displayName: at most %d characters", maxDisplayName)
	}
	return ""
}

// updateCallRequest is the update call body.
type updateCallRequest struct {
	State                  string  `json:"state"`
	RedirectURL            string  `json:"redirectUrl"`
	RedirectMethod         string  `json:"redirectMethod"`
	Username               string  `json:"username"`
	Password               string  `json:"password"`
	RedirectFallbackURL    string  `json:"redirectFallbackUrl"`
	RedirectFallbackMethod string  `json:"redirectFallbackMethod"`
	FallbackUsername       string  `json:"fallbackUsername"`
	FallbackPassword       string  `json:"fallbackPassword"`
	Tag                    *string `json:"tag"`
}

// validate checks the update as Bandwidth does and fills in its default
// methods.
func (q *updateCallRequest) validate() (problem string) {
	switch q.State {
	case "", "active", "completed":
	default:
		return fmt.Sprintf("Invalid state %q: must be one of [active, completed]", q.State)
	}
	return checkURLs(
		urlField{"redirectUrl", &q.RedirectURL, &q.RedirectMethod},
		urlField{"redirectFallbackUrl", &q.RedirectFallbackURL, &q.RedirectFallbackMethod},
	)
}

// urlField is a callback URL of a request and its method.
type urlField struct {
	name        string
	url, method *string
}

// checkURLs checks each URL (http or https, if given) and its method (POST
// or GET, default POST), which it normalizes.
func checkURLs(fields ...urlField) (problem string) {
	for _, u := range fields {
		if *u.url != "" && !isHTTPURL(*u.url) {
			return fmt.Sprintf("Invalid %s: only http and https are allowed", u.name)
		}
		m, ok := methods[strings.ToUpper(*u.method)]
		if !ok {
			return fmt.Sprintf("Invalid %s method. Supported methods: [POST, GET]", u.name)
		}
		*u.method = m
	}
	return ""
}

// callOptions are the call the request creates: the answer webhook to
// answerUrl, then its BXML.
func (q *createCallRequest) callOptions() bxml.CallOptions {
	return bxml.CallOptions{
		Call: emulator.CallSpec{
			From: q.From, To: q.To, Direction: protocol.DirectionOutbound, Tag: q.tag(),
			DisconnectURL: q.DisconnectURL, DisconnectMethod: q.DisconnectMethod,
			Username: q.Username, Password: q.Password, CallbackTimeout: seconds(*q.CallbackTimeout),
			ApplicationID: q.ApplicationID, // every webhook of the call carries it
		},
		URL: q.AnswerURL, Method: q.AnswerMethod, Username: q.Username, Password: q.Password,
		EventType: bxml.EventAnswer,
	}
}

// response is the 201 body for the call the request created.
func (q *createCallRequest) response(c *Call) createCallResponse {
	resp := createCallResponse{
		ApplicationID: q.ApplicationID, AccountID: c.Run.Call.AccountID, CallID: c.ID, To: q.To, From: q.From,
		EnqueuedTime: protocol.NewTime(c.Created).String(), CallURL: c.Run.Call.URL(),
		CallTimeout: *q.CallTimeout, CallbackTimeout: *q.CallbackTimeout, Tag: q.tag(),
		AnswerMethod: q.AnswerMethod, AnswerURL: q.AnswerURL,
		DisconnectMethod: q.DisconnectMethod, DisconnectURL: q.DisconnectURL,
		Username: q.Username, Password: mask(q.Password),
		FallbackUsername: q.FallbackUsername, FallbackPassword: mask(q.FallbackPassword),
		Priority: int(*q.Priority),
	}
	if q.AnswerFallbackURL != "" {
		resp.AnswerFallbackURL, resp.AnswerFallbackMethod = q.AnswerFallbackURL, q.AnswerFallbackMethod
	}
	return resp
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
