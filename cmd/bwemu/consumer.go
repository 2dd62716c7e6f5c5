package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/internal/livelog"
)

const consumerSynopsis = "bwemu consumer [--listen ADDR] [--ws-user U --ws-password P] [--event-user U --event-password P] [--echo] [--log-format text|json] [--color auto|always|never] [--quiet]"

// consumerConfig is what consumer is asked to serve; its flags fill it in.
type consumerConfig struct {
	listen string
	opts   consumer.Options
	flags  liveLogFlags
	log    liveLog
}

func (c *consumerConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.opts.WSUser, "ws-user", "", "require this Basic user on the WebSocket handshake")
	fs.StringVar(&c.opts.WSPassword, "ws-password", "", "require this Basic password on the WebSocket handshake")
	fs.StringVar(&c.opts.EventUser, "event-user", "", "require this Basic user on webhooks")
	fs.StringVar(&c.opts.EventPassword, "event-password", "", "require this Basic password on webhooks")
	fs.BoolVar(&c.opts.Echo, "echo", false, "echo inbound audio back as playAudio on every stream (else only with ?echo=1)")
	c.flags.register(fs)
}

func (c *consumerConfig) config(pos []string) (*consumerConfig, error) {
	if err := noArguments(pos); err != nil {
		return nil, err
	}
	if err := checkListen(c.listen); err != nil {
		return nil, err
	}
	if err := checkBasicUser("--ws-user", c.opts.WSUser); err != nil {
		return nil, err
	}
	if err := checkBasicUser("--event-user", c.opts.EventUser); err != nil {
		return nil, err
	}
	c.log = c.flags.config()
	return c, nil
}

func parseConsumer(args []string) (*consumerConfig, error) {
	return parseCommand("consumer", &consumerConfig{}, args)
}

// runConsumer serves the reference consumer until interrupted, so apps in
// any language can compare their behaviour with a correct one, and prints
// the live log of what it sees on stdout.
func runConsumer(ctx context.Context, c *consumerConfig, stdout, stderr io.Writer) int {
	srv, err := consumer.Start(c.listen, &c.opts)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: cannot listen on %s: %v\n", c.listen, err)
		return exitUsage
	}
	if p := c.log.printer(stdout); p != nil {
		srv.Observe(func(a consumer.Activity) { p.Print(livelog.Consumer(a)...) })
	}
	fmt.Fprintf(c.log.notes(stdout, stderr), "reference consumer listening\n  websocket  %s\n  events     %s\n  disconnect %s\n  health     %s\n  state      %s\n(Ctrl-C to stop)\n",
		srv.WebSocketURL(), srv.EventsURL(), srv.DisconnectURL(), srv.HealthURL(), srv.StateURL())
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
	}
	return exitPass
}
