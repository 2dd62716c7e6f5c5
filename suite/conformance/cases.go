package conformance

// Cases returns every case of the suite, in ID order. The slice is new on
// every call; the cases themselves are the suite's definition.
func Cases() []Case {
	return []Case{
		{ID: "1.1", Group: GroupHandshake, Title: "accepts the WebSocket upgrade (with the destination credentials, when configured)", Run: acceptsUpgrade},
		{ID: "1.2", Group: GroupHandshake, Title: "refuses the upgrade without destination credentials or with wrong ones (401/403)", Run: refusesBadCredentials},
		{ID: "1.3", Group: GroupHandshake, Title: "accepts a destination with a query string (?token=…) and keeps the stream up", Run: acceptsQueryString},

		{ID: "2.1", Group: GroupStart, Title: "handles a start message without streamParams", Run: startWithoutParams},
		{ID: "2.2", Group: GroupStart, Title: "handles a start message with the maximum of 12 StreamParams", Run: startWithTwelveParams},
		{ID: "2.3", Group: GroupStart, Title: "handles tracks=inbound", Run: startTracks("inbound")},
		{ID: "2.4", Group: GroupStart, Title: "handles tracks=outbound", Run: startTracks("outbound")},
		{ID: "2.5", Group: GroupStart, Title: "handles tracks=both (interleaved inbound and outbound media)", Run: startTracks("both")},
		{ID: "2.6", Group: GroupStart, Title: "ignores unknown extra fields in the start message (non-strict)", Undocumented: true, Run: startWithExtraFields},

		{ID: "3.1", Group: GroupMedia, Title: "keeps reading at the real-time pace (20 ms frames for 2 s) and stops cleanly", Serial: true, Run: readsRealtime},
		{ID: "3.2", Group: GroupMedia, Title: "keeps up with a burst (30 s of audio sent as fast as it reads, read through within the write timeout)", Run: readsBurst},
		{ID: "3.3", Group: GroupMedia, Title: "ignores a message with an unknown eventType and keeps streaming (non-strict)", Undocumented: true, Run: ignoresUnknownEvent},

		{ID: "4.1", Group: GroupEndings, Title: "completes the close handshake after a StopStream (stop, close 1000 answered)", Run: closesAfterStop},
		{ID: "4.2", Group: GroupEndings, Title: "completes the close handshake after a hangup (stop, close 1000 answered)", Run: closesAfterHangup},
		{ID: "4.3", Group: GroupEndings, Title: "survives a TCP reset and still accepts a new stream", Serial: true, Run: survivesReset},
		{ID: "4.4", Group: GroupEndings, Title: "survives a silent drop (half-open socket) and still accepts a new stream", Serial: true, Run: survivesDrop},
		{ID: "4.5", Group: GroupEndings, Title: "answers an internal-error close (1011) and still accepts a new stream", Serial: true, Run: survivesInternalError},
		{ID: "4.6", Group: GroupEndings, Title: "survives broken handshakes (an idle connection, half an upgrade then a reset) and still accepts a new stream", Serial: true, Run: survivesBrokenHandshakes},

		{ID: "5.1", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamStarted with 204, promptly", Run: answersStarted},
		{ID: "5.2", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamStopped (cause closed) with 204, promptly", Run: answersStoppedClosed},
		{ID: "5.3", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamStopped (cause connection-error) with 204, promptly", Serial: true, Run: answersStoppedConnectionError},
		{ID: "5.4", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamStopped (cause error) with 204, promptly", Run: answersStoppedError},
		{ID: "5.5", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamRejected (cause duplicate) with 204, promptly", Run: answersRejectedDuplicate},
		{ID: "5.6", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamRejected (cause track-limit) with 204, promptly", Run: answersRejectedTrackLimit},
		{ID: "5.7", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamRejected (cause connection-error) with 204, promptly", Run: answersRejectedConnectionError},
		{ID: "5.8", Group: GroupWebhooks, Webhooks: true, Title: "answers the disconnect webhook at the disconnect URL with 204, promptly", Run: answersDisconnect},
		{ID: "5.9", Group: GroupWebhooks, Webhooks: true, Title: "answers a duplicate delivery of every webhook with 204 as well (idempotency)", Run: answersDuplicates},
		{ID: "5.10", Group: GroupWebhooks, Webhooks: true, Title: "refuses webhooks without the configured Basic credentials or with wrong ones (401/403)", Run: refusesUnauthenticatedWebhooks},
		{ID: "5.11", Group: GroupWebhooks, Webhooks: true, Title: "answers webhooks delivered as GET with 204, when it asks for GET (streamEventMethod or disconnectMethod GET)", Run: answersGETWebhooks},
		{ID: "5.12", Group: GroupWebhooks, Webhooks: true, Title: "answers mediaStreamStarted while the stream is live, not once it is over", Run: answersStartedWhileLive},

		{ID: "6.1", Group: GroupBidirectional, Title: "plays valid audio back (playAudio: content type, base64, whole samples) within 2 s of the start", Run: playsAudioBack},
		{ID: "6.2", Group: GroupBidirectional, Title: "sends nothing that breaks the protocol (playAudio and clear only, well formed)", Run: sendsNoViolations},

		{ID: "7.1", Group: GroupConcurrency, Title: "takes two streams on one call (inbound and outbound) and completes both", Run: twoStreamsOneCall},
		{ID: "7.2", Group: GroupConcurrency, Title: "takes five concurrent calls and completes each without disturbing the others", Run: fiveConcurrentCalls},
		{ID: "7.3", Group: GroupConcurrency, Title: "keeps a stream intact (it still stops cleanly with 1000) while a stream of another call is reset", Serial: true, Run: faultIsolated},

		// Serial: another case's streams would change the counts.
		{ID: "8.1", Group: GroupLeaks, Title: "releases the file descriptors and sockets of streams ended by a TCP reset, a silent drop or a close 1011 (its process is back at its baseline)", Serial: true, Run: releasesProcessResources},
		{ID: "8.2", Group: GroupLeaks, Title: "brings its gauge of live sessions back to its baseline after streams ended by a TCP reset, a silent drop or a close 1011", Serial: true, Run: releasesSessions},
	}
}
