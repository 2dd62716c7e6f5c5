// Package headless opens a page in a headless Chromium as a reader would:
// the report specs check that a report renders without a console error
// and shows what it should, and the README's screenshot is taken with it.
// It starts a browser process of its own for each page and ends it (and
// waits for it) before returning, so nothing outlives the call.
package headless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// EnvChromium names a Chromium (or Chrome) binary to use instead of the
// first one on PATH.
const EnvChromium = "BWEMU_CHROMIUM"

// InstallHint says how to get a browser when none is found.
const InstallHint = "install Debian's chromium (apt-get install -y chromium), or set " + EnvChromium + " to a Chromium or Chrome binary"

// ErrNoBrowser is returned by ExecPath when no browser is found.
var ErrNoBrowser = errors.New("no Chromium found: " + InstallHint)

// names are the browsers looked for on PATH, in order.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

// ExecPath is the browser to run: EnvChromium when set, else the first of
// names found on PATH.
func ExecPath() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, p, err)
		}
		return found, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Visit is what the browser saw of a page.
type Visit struct {
	Title string
	// Problems are the console errors and warnings, the uncaught
	// exceptions and the browser's own errors and warnings about the page
	// (a load it blocked or that failed), each in a line.
	Problems []string
	// Fetched are the resources the page loaded besides itself.
	Fetched []string
}

// Options size the browser's window.
type Options struct {
	Width, Height int
}

// Open loads the HTML file at path in a new headless browser, then calls
// look with the page's context (for queries and screenshots; nil: none),
// and ends the browser. It returns what the browser saw, and look's error.
func Open(ctx context.Context, execPath, path string, o Options, look func(ctx context.Context) error) (Visit, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Visit{}, err
	}
	// Cancelling the allocator ends the browser and waits for its process.
	actx, stopBrowser := chromedp.NewExecAllocator(ctx, allocatorOptions(execPath, o)...)
	defer stopBrowser()
	tab, closeTab := chromedp.NewContext(actx)
	defer closeTab()

	var p problems
	if err := chromedp.Listen(tab, p.listen); err != nil {
		return Visit{}, fmt.Errorf("failed to start the browser (%s): %w", execPath, err)
	}
	page := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	if err := chromedp.Do(tab, chromedp.Navigate(page)); err != nil {
		return Visit{}, fmt.Errorf("failed to load %s: %w", page, err)
	}
	title, err := chromedp.Run(tab, chromedp.Title())
	if err != nil {
		return Visit{}, err
	}
	fetched, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`performance.getEntriesByType("resource").map(e => e.name)`))
	if err != nil {
		return Visit{}, err
	}
	var lookErr error
	if look != nil {
		lookErr = look(tab)
	}
	closeTab()
	stopBrowser()
	return Visit{Title: title, Problems: p.lines(), Fetched: fetched}, lookErr
}

// allocatorOptions run the browser at execPath headless, in a window of
// o's size (1280×1000 when unset).
func allocatorOptions(execPath string, o Options) []chromedp.ExecAllocatorOption {
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 1000
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(execPath), chromedp.WindowSize(o.Width, o.Height))
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox; CI runs as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	return opts
}

// problems are what the browser says is wrong with the page
// (Visit.Problems). listen adds to them from the tab's read loop, while
// Open goes on: hence the lock.
type problems struct {
	mu   sync.Mutex
	list []string
}

// listen records the console's errors and warnings, the uncaught
// exceptions and the browser's own errors and warnings. It runs in the
// tab's read loop: it records and returns.
func (p *problems) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			p.add(fmt.Sprintf("console.%s: %s", ev.Type, args(ev.Args)))
		}
	case *runtime.EventExceptionThrown:
		p.add("uncaught exception: " + exceptionText(ev.ExceptionDetails))
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil && (e.Level == log.EntryLevelError || e.Level == log.EntryLevelWarning) {
			p.add(fmt.Sprintf("browser %s (%s): %s %s", e.Level, e.Source, e.Text, e.URL))
		}
	}
}

func (p *problems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, s)
}

func (p *problems) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.list
}

// args is a console call's arguments as the console shows them.
func args(objs []*runtime.RemoteObject) string {
	var parts []string
	for _, o := range objs {
		switch {
		case o == nil:
		case len(o.Value) > 0:
			var text string
			if json.Unmarshal(o.Value, &text) != nil {
				text = string(o.Value) // not a string: as JSON
			}
			parts = append(parts, text)
		default:
			parts = append(parts, o.Description)
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}
