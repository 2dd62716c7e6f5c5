package emulator

// SetCloseHooks lets specs force an ordering of the close handshake:
// before runs just before each close frame the emulator writes, after once
// the reader has taken the app's close frame.
func SetCloseHooks(e *Emulator, before, after func(*Stream)) {
	e.beforeCloseFrame, e.afterAppClose = before, after
}
