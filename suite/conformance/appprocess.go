package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/bwemu/bwemu/internal/prose"
)

// appProcess is the app's process as Linux's /proc shows it (8.1).
type appProcess struct {
	proc procfs.Proc
}

// errNoProcfs says this system has no /proc to read a process from.
var errNoProcfs = errors.New("no /proc")

// openProcess finds process pid in /proc. procfs.NewProc does the same in
// one step; the two steps tell a system without /proc from a process that
// does not exist.
func openProcess(pid int) (*appProcess, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("%w on %s", errNoProcfs, runtime.GOOS)
	}
	fsys, err := procfs.NewFS(procfs.DefaultMountPoint)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoProcfs, err)
	}
	p, err := fsys.Proc(pid)
	if err != nil {
		return nil, err
	}
	return &appProcess{proc: p}, nil
}

// holdings is what a process holds at one moment.
type holdings struct {
	// fds counts its open file descriptors, sockets among them.
	fds, sockets int
	// threads is reported, never judged: a runtime keeps idle threads (a
	// correct Go app may go from 5 to 6 and stay there).
	threads int
}

// holdings reads what the process holds now. The file descriptors and the
// sockets come from one listing of /proc/PID/fd (the sockets are the
// links to socket:[inode]), so the two counts are of the same moment.
func (p *appProcess) holdings() (holdings, error) {
	st, err := p.proc.Stat()
	if err != nil {
		return holdings{}, err
	}
	if st.State == "Z" || st.State == "X" {
		// An exited process not yet reaped lists no file descriptors,
		// which would pass for a process back at its baseline.
		return holdings{}, fmt.Errorf("process %d has exited (state %s): %w", p.proc.PID, st.State, fs.ErrNotExist)
	}
	targets, err := p.proc.FileDescriptorTargets()
	if err != nil {
		return holdings{}, err
	}
	h := holdings{fds: len(targets), threads: st.NumThreads}
	for _, t := range targets {
		if strings.HasPrefix(t, "socket:") {
			h.sockets++
		}
	}
	return h, nil
}

// beyond says what h holds beyond base, sockets and other file
// descriptors apart: "4 sockets", "" when nothing.
func (h holdings) beyond(base holdings) string {
	var parts []string
	if n := h.sockets - base.sockets; n > 0 {
		parts = append(parts, prose.Plural(n, "socket", "sockets"))
	}
	if n := (h.fds - h.sockets) - (base.fds - base.sockets); n > 0 {
		parts = append(parts, prose.Plural(n, "other file descriptor", "other file descriptors")+" (files, pipes, timers)")
	}
	return strings.Join(parts, " and ")
}

func (h holdings) String() string {
	return fmt.Sprintf("%s (%d of them sockets)", prose.Plural(h.fds, "file descriptor", "file descriptors"), h.sockets)
}

// isNoProcfs, isGone and isDenied sort the errors of reading a process.
func isNoProcfs(err error) bool { return errors.Is(err, errNoProcfs) }
func isGone(err error) bool     { return errors.Is(err, fs.ErrNotExist) }
func isDenied(err error) bool   { return errors.Is(err, fs.ErrPermission) }
