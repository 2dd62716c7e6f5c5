package weburl

import "testing"

func TestRedactMarkup(t *testing.T) {
	for _, c := range []struct{ what, doc, want string }{
		{"destination credentials",
			`<Response><StartStream name="agent" destination="wss://x/media" destinationUsername="u" destinationPassword="p4ss"/></Response>`,
			`<Response><StartStream name="agent" destination="wss://x/media" destinationUsername="u" destinationPassword="[redacted]"/></Response>`},
		{"webhook credentials, in single quotes",
			`<StartStream username='u' password='p4ss' streamEventUrl='/events'/>`,
			`<StartStream username='u' password='[redacted]' streamEventUrl='/events'/>`},
		{"a password in a URL",
			`<Redirect redirectUrl="https://u:p4ss@app/next"/>`,
			`<Redirect redirectUrl="https://u:%5Bredacted%5D@app/next"/>`},
		{"a StreamParam that holds a token, not one that does not",
			`<StreamParam name="token" value="t0k"/><StreamParam name="tenant" value="acme"/>`,
			`<StreamParam name="token" value="[redacted]"/><StreamParam name="tenant" value="acme"/>`},
		{"a body cut short in a secret's value",
			`<StartStream name="agent" destinationPassword="p4`,
			`<StartStream name="agent" destinationPassword="[redacted]"`},
		{"text between tags, untouched",
			`<SpeakSentence>the password is swordfish</SpeakSentence>`,
			`<SpeakSentence>the password is swordfish</SpeakSentence>`},
	} {
		if got := RedactMarkup(c.doc); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.what, got, c.want)
		}
	}
}
