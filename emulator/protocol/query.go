package protocol

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Query encodes an event for streamEventMethod="GET". How Bandwidth encodes
// the nested mediaStream object in a query is undocumented; the emulator
// flattens nested keys with dots (mediaStream.id=…) and repeats list keys
// (mediaStream.tracks=inbound&mediaStream.tracks=outbound).
func (e *Event) Query() url.Values {
	raw, _ := json.Marshal(e) // Event has only marshalable fields
	var tree map[string]any
	_ = json.Unmarshal(raw, &tree)
	q := url.Values{}
	flatten(q, "", tree)
	return q
}

func flatten(q url.Values, prefix string, v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			flatten(q, joinKey(prefix, k), val)
		}
	case []any:
		for _, val := range t {
			flatten(q, prefix, val)
		}
	case string:
		q.Add(prefix, t)
	case bool:
		if t {
			q.Add(prefix, "true")
		} else {
			q.Add(prefix, "false")
		}
	case json.Number, float64:
		raw, _ := json.Marshal(t)
		q.Add(prefix, string(raw))
	}
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return strings.Join([]string{prefix, k}, ".")
}

// EventFromQuery decodes an event sent with GET, the inverse of Query.
func EventFromQuery(q url.Values) (*Event, error) {
	tree := map[string]any{}
	for k, vs := range q {
		node := tree
		keys := strings.Split(k, ".")
		for _, p := range keys[:len(keys)-1] {
			child, ok := node[p].(map[string]any)
			if !ok {
				child = map[string]any{}
				node[p] = child
			}
			node = child
		}
		last := keys[len(keys)-1]
		if last == "tracks" {
			node[last] = vs
		} else if last == "privacy" {
			node[last] = vs[0] == "true"
		} else {
			node[last] = vs[0]
		}
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil, err
	}
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// DecodeEvent reads a webhook request body or query: JSON for POST,
// query parameters for GET.
func DecodeEvent(method string, query url.Values, body []byte) (*Event, error) {
	if method == "GET" {
		return EventFromQuery(query)
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
