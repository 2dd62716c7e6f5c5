package weburl

import (
	"errors"
	"net/url"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, c := range []struct{ base, ref, want, err string }{
		{"http://app/bxml/answer", "../events?x=1", "http://app/events?x=1", ""},
		{"http://app/bxml/answer", "events", "http://app/bxml/events", ""},
		{"http://app/bxml/answer", "https://other/e", "https://other/e", ""},
		{"", "/events", "", `"/events" is relative and there is no absolute BXML URL to resolve it against`},
		{"http://app/", "http://[::1", "", `"http://[::1" is not a URL`},
	} {
		got, err := Resolve(c.base, c.ref)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("Resolve(%q, %q) error = %v, want %q", c.base, c.ref, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q", c.base, c.ref, got, err, c.want)
		}
	}
}

func TestWithQueryAndRedact(t *testing.T) {
	if got := WithQuery("http://app/e?a=1", url.Values{"b": {"2"}, "a": {"3"}}); got != "http://app/e?a=1&a=3&b=2" {
		t.Errorf("WithQuery = %q", got)
	}
	if got := Redact("http://user:secret@app/e"); got != "http://user:%5Bredacted%5D@app/e" {
		t.Errorf("Redact = %q", got)
	}
	if got := Redact("http://app/e"); got != "http://app/e" {
		t.Errorf("Redact without userinfo = %q", got)
	}
	if got := ErrorText(&url.Error{Op: "Post", URL: "http://x", Err: errors.New("connection refused")}); got != "connection refused" {
		t.Errorf("ErrorText = %q", got)
	}
}
