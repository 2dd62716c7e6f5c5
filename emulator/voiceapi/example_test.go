package voiceapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/jarcoal/httpmock"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
)

// A Go app keeps Bandwidth's production URLs: its HTTP client's transport
// routes them to the emulator in process.
func ExampleRegisterResponders() {
	em := emulator.New(nil)
	defer em.Close()
	api, err := voiceapi.New(&voiceapi.Options{Engine: &bxml.Engine{Emulator: em}, ClientID: "my-client", ClientSecret: "s3cret"})
	if err != nil {
		panic(err)
	}
	defer api.Close() // first: live calls end with their webhooks

	client := &http.Client{}
	httpmock.ActivateNonDefault(client) // only this client; http.DefaultTransport is untouched
	defer httpmock.DeactivateNonDefault(client)
	voiceapi.RegisterResponders(httpmock.DefaultTransport, api)

	// The app's own code, unchanged.
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, "https://api.bandwidth.com/api/v1/oauth2/token", strings.NewReader(form))
	req.SetBasicAuth("my-client", "s3cret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var token struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&token)
	fmt.Println(resp.StatusCode, token.TokenType, token.ExpiresIn)
	// Output: 200 Bearer 3600
}
