// Package voiceapi is the mock Bandwidth Voice API: the HTTP API an app
// calls to create calls, query them, redirect or hang them up and replace
// their BXML, with Bandwidth's paths, bodies, status codes and error
// shapes, and Bandwidth's OAuth token endpoint. Calls it creates are real
// emulated calls: a bxml.Engine fetches their BXML from the app and runs
// it, so the media streams and webhooks that follow each request are the
// emulator's (PROTOCOL.md §6–7).
//
// # Serving
//
// New makes a Server on a bxml.Engine; a Server is an http.Handler.
// Serve it on loopback (bwemu serve does, with Server.Control, the control
// API that plays the caller and the network, beside it under /control/),
// or in process: RegisterResponders routes Bandwidth's real URLs on an
// httpmock transport to it, so a Go app keeps its production URLs and
// reaches the emulator without a listening port. Either way the webhooks
// go to the app over real HTTP.
//
//	POST /api/v2/accounts/{accountId}/calls                 create call → 201, Location, JSON
//	GET  /api/v2/accounts/{accountId}/calls                 list calls → 200, JSON array
//	GET  /api/v2/accounts/{accountId}/calls/{callId}        call state → 200 JSON
//	POST /api/v2/accounts/{accountId}/calls/{callId}        update call → 200
//	PUT  /api/v2/accounts/{accountId}/calls/{callId}/bxml   replace BXML → 204
//	POST /api/v1/oauth2/token                               client credentials → access token
//
// Requests are routed by ServeMux patterns on these paths; the method is
// checked by the server, so that a wrong one is journaled by its
// operation and answered in Bandwidth's shape.
//
// Errors are {"type":…,"description":…,"id":null}: 400 validation (with
// Bandwidth's wording where it documents one), 401 bad credentials, 403 an
// account other than Options.AccountID, 404 an unknown call (or an ended
// one, for updates), 405, 409 (below), 415 a JSON operation without
// application/json or a BXML replacement without application/xml, 503
// after Close. Trailing slashes are accepted, as Bandwidth's own examples
// post to …/calls/.
//
// # Authentication
//
// Every /api/v2 request needs HTTP Basic with Options.Username and
// Password, or "Authorization: Bearer TOKEN" with a token from the token
// endpoint, valid for Options.TokenTTL. The token endpoint takes the
// client credentials grant (form body grant_type=client_credentials,
// application/x-www-form-urlencoded) with the client authenticated by
// Basic (or client_id and client_secret in the form) and answers
// {"access_token","token_type":"Bearer","expires_in"}; a bad client gets
// 401 invalid_client, another grant 400 unsupported_grant_type. With no
// credentials configured at all, every request is accepted (and any
// client gets a token): a test that does not care about auth needs none.
//
// # Calls
//
// Create call validates the request (required to, from, applicationId,
// answerUrl; E.164 numbers or a SIP URI for to; http(s) URLs; POST or GET
// methods; callTimeout 1–300, callbackTimeout 1–25, priority 1–5, tag at
// most 4096 characters), answers 201 with the request echoed (passwords as
// *****) plus callId, callUrl, accountId and enqueuedTime, and starts the
// call: the engine sends the answer webhook (eventType answer, direction
// outbound) to answerUrl with the request's username and password and runs
// the BXML. callbackTimeout bounds every webhook of the call; the
// disconnect webhook goes to disconnectUrl.
//
// Server.Inbound places an inbound call instead (the initiate webhook to
// the app's URL, direction inbound), which the API then knows like any
// other; the control API places calls with it. Server.Calls and
// Server.Call give a test the calls, and each Call its bxml.Run and so
// the emulated call and its streams.
//
// Choices where Bandwidth documents nothing or the emulator differs:
//
//   - The answer webhook is held until the create-call response has been
//     written: on Bandwidth the call is queued, dialled and answered first,
//     so an app always has the callId before its answer webhook. The
//     emulator then answers at once; callTimeout, priority,
//     answerFallbackUrl, privacy, displayName, uui and machineDetection are
//     checked and echoed (where Bandwidth echoes them) but change nothing.
//   - Calls are never queued: state is answered from the start for an
//     outbound call, initiated then answered for an inbound one, then
//     disconnected. While the call's first BXML is being fetched (its
//     answer or initiate webhook has not returned BXML), a redirect or a
//     BXML replacement gets 409 Conflict: Bandwidth does not let a call be
//     modified before it is placed, and there is nothing to interrupt yet.
//     state=completed is always accepted and ends the call (cause hangup).
//   - Updates answer before their webhooks, as on Bandwidth: a redirect
//     or a replacement answers once the run has taken it (the new BXML is
//     fetched or run after), state=completed answers 200 at once and the
//     streams' mediaStreamStopped (cause closed) and the disconnect follow.
//     Get call state shows disconnected from then on; endTime and
//     disconnectCause appear once the streams' webhooks are answered.
//   - A replaced document runs instead of the current one, and when its
//     verbs run out the call hangs up: <Bxml><StopStream name="agent"/></Bxml>
//     stops the stream and then ends the call; add a <Pause> to keep it.
//   - Every webhook of a created call (answer, stream events, disconnect)
//     carries the request's applicationId, as on Bandwidth. An update's tag
//     and redirectFallbackUrl are journaled as ignored.
//   - Username and password are accepted on http:// URLs (Bandwidth wants
//     https), since apps under test listen on loopback.
//
// # The journal
//
// Each request is one KindAPI entry in the engine's emulator's journal,
// in order with the webhooks and stream events it caused: the operation
// as the SDKs name it (createCall, listCalls, getCallState, updateCall,
// updateCallBxml, token), the status, the latency, the error, and the JSON
// body with every password, secret and token redacted. The Authorization
// header appears as its scheme and "[redacted]". A create-call entry
// always precedes the call's answer webhook.
//
// # Lifetime
//
// Close hangs up every live call gracefully (their webhooks are sent and
// answered) and waits for every run; close the emulator after.
package voiceapi
