package main

import (
	"context"
	"fmt"
	"io"

	"github.com/bwemu/bwemu/internal/consumer"
)

const consumerSynopsis = "bwemu consumer [--listen ADDR] [--ws-user U --ws-password P] [--event-user U --event-password P] [--echo]"

// consumerCommand serves the reference consumer until interrupted, so apps
// in any language can compare their behaviour with a correct one.
func consumerCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("consumer", consumerSynopsis, stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	var o consumer.Options
	fs.StringVar(&o.WSUser, "ws-user", "", "require this Basic user on the WebSocket handshake")
	fs.StringVar(&o.WSPassword, "ws-password", "", "require this Basic password on the WebSocket handshake")
	fs.StringVar(&o.EventUser, "event-user", "", "require this Basic user on webhooks")
	fs.StringVar(&o.EventPassword, "event-password", "", "require this Basic password on webhooks")
	fs.BoolVar(&o.Echo, "echo", false, "echo inbound audio back as playAudio on every stream (else only with ?echo=1)")
	pos, code, ok := parseFlags(fs, consumerSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return usageError(stderr, consumerSynopsis, "unexpected argument %q", pos[0])
	}
	srv, err := consumer.Start(*listen, &o)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: cannot listen on %s: %v\n", *listen, err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "reference consumer listening\n  websocket  %s\n  events     %s\n  disconnect %s\n  health     %s\n  state      %s\n(Ctrl-C to stop)\n",
		srv.WebSocketURL(), srv.EventsURL(), srv.DisconnectURL(), srv.HealthURL(), srv.StateURL())
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
	}
	return exitPass
}
