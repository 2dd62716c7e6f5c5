package reportjson

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestWriteDurationsInMilliseconds(t *testing.T) {
	v := struct {
		Name     string          `json:"name"`
		Took     time.Duration   `json:"durationNs"`
		Nested   []any           `json:"nested"`
		Seq      int             `json:"seq"`
		Raw      json.RawMessage `json:"raw"`
		NotATime string          `json:"labelNs"`
		Null     *int            `json:"null"`
		Empty    []int           `json:"empty"`
		Object   struct{}        `json:"object"`
	}{"a", 1097 * time.Microsecond, []any{map[string]any{"latencyNs": 240000000, "count": 3}}, 7,
		json.RawMessage(`{"b":[1,2]}`), "text", nil, []int{}, struct{}{}}
	var buf bytes.Buffer
	if err := Write(&buf, v); err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "a",
  "durationMs": 1.097,
  "nested": [
    {
      "count": 3,
      "latencyMs": 240
    }
  ],
  "seq": 7,
  "raw": {
    "b": [
      1,
      2
    ]
  },
  "labelNs": "text",
  "null": null,
  "empty": [],
  "object": {}
}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
