package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/bwemu/bwemu/internal/consumer"
)

const consumerSynopsis = "bwemu consumer [--listen ADDR] [--ws-user U --ws-password P] [--event-user U --event-password P] [--echo]"

// consumerConfig is what consumer is asked to serve; its flags fill it in.
type consumerConfig struct {
	listen string
	opts   consumer.Options
}

func (c *consumerConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.opts.WSUser, "ws-user", "", "require this Basic user on the WebSocket handshake")
	fs.StringVar(&c.opts.WSPassword, "ws-password", "", "require this Basic password on the WebSocket handshake")
	fs.StringVar(&c.opts.EventUser, "event-user", "", "require this Basic user on webhooks")
	fs.StringVar(&c.opts.EventPassword, "event-password", "", "require this Basic password on webhooks")
	fs.BoolVar(&c.opts.Echo, "echo", false, "echo inbound audio back as playAudio on every stream (else only with ?echo=1)")
}

func (c *consumerConfig) config(pos []string) (*consumerConfig, error) {
	if err := noArguments(pos); err != nil {
		return nil, err
	}
	return c, nil
}

func parseConsumer(args []string) (*consumerConfig, error) {
	return parseCommand("consumer", &consumerConfig{}, args)
}

// runConsumer serves the reference consumer until interrupted, so apps in
// any language can compare their behaviour with a correct one.
func runConsumer(ctx context.Context, c *consumerConfig, stdout, stderr io.Writer) int {
	srv, err := consumer.Start(c.listen, &c.opts)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: cannot listen on %s: %v\n", c.listen, err)
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
