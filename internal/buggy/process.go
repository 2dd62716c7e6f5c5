package buggy

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"
)

// processEnv carries, from StartProcess to the child, the consumer to
// serve; a test binary that finds it set serves instead of running specs.
const processEnv = "BWEMU_BUGGY_PROCESS"

// processStartTimeout bounds how long a child takes to say where it
// listens; processStopTimeout how long it takes to exit once asked.
const (
	processStartTimeout = 30 * time.Second
	processStopTimeout  = 10 * time.Second
)

// processSpec is what the child serves.
type processSpec struct {
	Defect  Defect   `json:"defect"`
	Options *Options `json:"options,omitempty"`
}

// processURLs is where the child serves, its first line on stdout.
type processURLs struct {
	WebSocket  string `json:"ws"`
	Events     string `json:"events"`
	Disconnect string `json:"disconnect"`
	Metrics    string `json:"metrics,omitempty"`
}

// Process is a buggy consumer served by a child process (the running test
// binary, started again): its file descriptors, sockets and threads are
// its own, so a leak check that reads them (conformance case 8.1) sees
// the app's alone, without the emulator's connections of the spec that
// runs it. The test binary's TestMain must call ServeIfChild first.
type Process struct {
	// PID is the child's process id.
	PID int

	urls  processURLs
	cmd   *exec.Cmd
	stdin *os.File // the child serves until it closes
	once  sync.Once
	err   error
}

// StartProcess starts a child process serving a consumer with defect d
// and opts on 127.0.0.1:0, and returns once it listens. What the child
// writes on stderr goes to stderr (nil: discarded). Close stops it.
func StartProcess(d Defect, opts *Options, stderr io.Writer) (*Process, error) {
	if d != None && !known(d) {
		return nil, fmt.Errorf("buggy: unknown defect %q", d)
	}
	exe, err := runningBinary()
	if err != nil {
		return nil, fmt.Errorf("buggy: cannot find the running binary to start again: %w", err)
	}
	spec, err := json.Marshal(processSpec{Defect: d, Options: opts})
	if err != nil {
		return nil, fmt.Errorf("buggy: cannot pass the options to the child: %w", err)
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("buggy: failed to make the child's stdin: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		_, _ = stdinR.Close(), stdinW.Close()
		return nil, fmt.Errorf("buggy: failed to make the child's stdout: %w", err)
	}
	defer outR.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), processEnv+"="+string(spec))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, outW, stderr
	err = cmd.Start()
	// The child has its own copies; the parent keeps the ends it uses.
	_, _ = stdinR.Close(), outW.Close()
	if err != nil {
		_ = stdinW.Close()
		return nil, fmt.Errorf("buggy: failed to start %s: %w", exe, err)
	}
	p := &Process{PID: cmd.Process.Pid, cmd: cmd, stdin: stdinW}
	// A child that fails before it listens exits, and its stdout ends; one
	// that hangs is caught by the deadline.
	_ = outR.SetReadDeadline(time.Now().Add(processStartTimeout))
	line, err := bufio.NewReader(outR).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &p.urls)
	}
	if err != nil {
		cerr := p.Close()
		return nil, fmt.Errorf("buggy: the child process %d did not say where it listens: %w (its exit: %v)", p.PID, err, cerr)
	}
	return p, nil
}

// runningBinary is the path of the running binary. On Linux it is
// /proc/self/exe, which stays this very binary when its file is removed or
// rebuilt meanwhile (a test runner removes the binary it compiled once its
// run ends, and another run in the same tree rebuilds it).
func runningBinary() (string, error) {
	const self = "/proc/self/exe"
	if runtime.GOOS == "linux" {
		if _, err := os.Stat(self); err == nil {
			return self, nil
		}
	}
	return os.Executable()
}

// WebSocketURL is the StartStream destination, ws://host:port/media.
func (p *Process) WebSocketURL() string { return p.urls.WebSocket }

// EventsURL is the streamEventUrl, http://host:port/events.
func (p *Process) EventsURL() string { return p.urls.Events }

// DisconnectURL is the call's disconnectUrl, http://host:port/disconnect.
func (p *Process) DisconnectURL() string { return p.urls.Disconnect }

// MetricsURL is the Prometheus text endpoint with the gauge MetricName;
// "" without Options.Backend.
func (p *Process) MetricsURL() string { return p.urls.Metrics }

// Close asks the child to stop (it closes its consumer and exits when its
// stdin closes), kills it if it has not exited within a few seconds, and
// returns once it has. An error says it did not exit cleanly. Safe to call
// twice.
func (p *Process) Close() error {
	p.once.Do(func() {
		_ = p.stdin.Close()
		exited := make(chan error, 1)
		go func() { exited <- p.cmd.Wait() }()
		t := time.NewTimer(processStopTimeout)
		defer t.Stop()
		select {
		case err := <-exited:
			if err != nil {
				p.err = fmt.Errorf("buggy: the child process %d: %w", p.PID, err)
			}
		case <-t.C:
			_ = p.cmd.Process.Kill()
			<-exited
			p.err = fmt.Errorf("buggy: the child process %d did not exit within %s of being asked to; killed", p.PID, processStopTimeout)
		}
	})
	return p.err
}

// ServeIfChild returns at once, unless this binary was started by
// StartProcess: then it serves the consumer asked for until its parent
// closes its stdin (or dies), and exits. Call it first in the TestMain of
// a test package whose specs call StartProcess:
//
//	func TestMain(m *testing.M) {
//		buggy.ServeIfChild()
//		os.Exit(m.Run())
//	}
func ServeIfChild() {
	raw, ok := os.LookupEnv(processEnv)
	if !ok {
		return
	}
	os.Exit(serveChild(raw, os.Stdin, os.Stdout, os.Stderr))
}

// serveChild serves the consumer spec asks for until stdin ends, and
// returns the exit code.
func serveChild(spec string, stdin io.Reader, stdout, stderr io.Writer) int {
	var ps processSpec
	if err := json.Unmarshal([]byte(spec), &ps); err != nil {
		fmt.Fprintf(stderr, "buggy: %s is not a consumer to serve: %v\n", processEnv, err)
		return 2
	}
	srv, err := Start(ps.Defect, ps.Options)
	if err != nil {
		fmt.Fprintf(stderr, "buggy: %v\n", err)
		return 1
	}
	line, _ := json.Marshal(processURLs{WebSocket: srv.WebSocketURL(), Events: srv.EventsURL(),
		Disconnect: srv.DisconnectURL(), Metrics: srv.MetricsURL()})
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		fmt.Fprintf(stderr, "buggy: cannot tell the parent where the consumer listens: %v\n", err)
		_ = srv.Close()
		return 1
	}
	// The parent closes stdin to stop the child; a parent that dies closes
	// it too, so no child outlives its specs.
	if _, err := io.Copy(io.Discard, stdin); err != nil && !errors.Is(err, os.ErrClosed) {
		fmt.Fprintf(stderr, "buggy: reading stdin: %v\n", err)
	}
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "buggy: %v\n", err)
		return 1
	}
	return 0
}
