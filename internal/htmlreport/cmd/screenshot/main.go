// Command screenshot takes the README's picture of the HTML report
// (make screenshot writes docs/report.png): it runs a few scenarios
// against a consumer that answers mediaStreamStopped with 500 after a
// network reset, writes bwemu run's HTML report and photographs the whole
// page in headless Chromium.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bwemu/bwemu/internal/buggy"
	"github.com/bwemu/bwemu/internal/htmlreport/headless"
	"github.com/bwemu/bwemu/scenarios"
)

// calls is the run pictured: the reset's stopped webhook fails (the
// consumer's defect), the other scenarios pass.
const calls = `defaults:
  pace: realtime
  timeouts: {closeHandshake: 500ms, callback: 2s}
scenarios:
  - name: the network resets the connection
    stream: {name: agent, tracks: both, params: {tenant: acme}}
    steps: [{media: 600ms}, {abort: reset}]
    expect:
      stopped: {cause: connection-error}
  - name: the caller hangs up
    stream: {name: agent}
    steps: [{media: 400ms}, hangup]
    expect:
      stopped: {cause: closed}
      disconnect: {cause: hangup}
  - name: the app stops the stream
    stream: {name: agent}
    steps: [{media: 300ms}, stopStream]
`

func main() {
	out := flag.String("o", "docs/report.png", "where to write the PNG")
	keep := flag.String("html", "", "also keep the HTML report at this path")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, keep string) error {
	chromium, err := headless.ExecPath()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bwemu-screenshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	app, err := buggy.Start(buggy.Status500OnConnectionError, nil)
	if err != nil {
		return err
	}
	defer app.Close()

	// Parsed under a short name: the page shows where each scenario is.
	f, err := scenarios.Parse("calls.yaml", []byte(calls))
	if err != nil {
		return err
	}
	started := time.Now()
	results, err := scenarios.Run(ctx, []*scenarios.File{f}, scenarios.RunOptions{
		WebSocket: app.WebSocketURL(), Events: app.EventsURL(), Disconnect: app.DisconnectURL(), Parallel: 1})
	if err != nil {
		return err
	}
	page := keep
	if page == "" {
		page = filepath.Join(dir, "report.html")
	}
	w, err := os.Create(page)
	if err != nil {
		return err
	}
	err = scenarios.WriteHTML(w, results, time.Since(started), scenarios.HTMLOptions{Dir: filepath.Dir(page), Started: started})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	var png []byte
	visit, err := headless.Open(ctx, chromium, page, headless.Options{Width: 1100, Height: 900}, func(tab context.Context) error {
		var err error
		png, err = chromedp.Run(tab, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
		return err
	})
	if err != nil {
		return err
	}
	if len(visit.Problems) > 0 {
		return errors.New("the page has problems: " + fmt.Sprint(visit.Problems))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, png, 0o644)
}
