package emulator

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// writeFailed classifies a failed write: a timeout means the app stopped
// reading; anything else means the connection is gone, and the reader says how.
func (ss *session) writeFailed(err error) (Ending, string) {
	if isTimeout(err) {
		ss.res.ClosedBy = ByApp
		return EndWriteTimeout, ss.e.opts.Timeouts.Write.String()
	}
	select {
	case rr := <-ss.readDone:
		return ss.appEnded(rr)
	case <-time.After(ss.e.opts.Timeouts.CloseHandshake):
		ss.res.ClosedBy = ByApp
		return EndAppAbnormalClose, describeNetError(err)
	case <-ss.abort.Done():
		return "", ""
	}
}

// appEnded classifies the connection ending on the app's side.
func (ss *session) appEnded(rr readResult) (Ending, string) {
	ss.res.ClosedBy = ByApp
	if !rr.closeFrame {
		return EndAppAbnormalClose, describeNetError(rr.err)
	}
	ss.res.CloseReceived, ss.res.CloseReason, ss.res.CloseHandshake = rr.code, rr.reason, true
	if !ss.closeSent.Load() {
		// gorilla/websocket answers the app's close frame with the same code.
		ss.res.CloseSent = rr.code
	}
	if normalClose(rr.code) {
		return EndAppClose, closeDetail(rr.code, rr.reason)
	}
	return EndAppCloseCode, closeDetail(rr.code, rr.reason)
}

// normalClose is a close code that means "done, nothing wrong".
func normalClose(code int) bool {
	switch code {
	case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived:
		return true
	}
	return false
}

func closeDetail(code int, reason string) string {
	if reason == "" {
		return fmt.Sprintf("code %d", code)
	}
	return fmt.Sprintf("code %d (%s)", code, reason)
}

// describeNetError says in plain words how a connection broke.
func describeNetError(err error) string {
	var ce *websocket.CloseError
	switch {
	case err == nil:
		return "the connection ended"
	case errors.Is(err, syscall.ECONNRESET):
		return "the destination reset the connection (TCP RST) without a close frame"
	case errors.Is(err, syscall.EPIPE):
		return "the destination closed the connection without a close frame (broken pipe)"
	case errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure,
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the destination closed the connection without a close frame"
	}
	return err.Error()
}

// end carries out an ending the emulator was asked for.
func (ss *session) end(e Ending) (Ending, string) {
	switch e {
	case EndStopStream, EndHangup:
		stop := protocol.StopMessage{EventType: protocol.EventStop, Metadata: ss.metadata()}
		if err := ss.writeJSON(stop); err != nil {
			return ss.writeFailed(err)
		}
		answered, rr := ss.closeHandshake(websocket.CloseNormalClosure, "")
		if ss.abort.Err() != nil {
			return "", "" // cut short by Close or Shutdown: not the app's doing
		}
		if rr != nil && rr.closeFrame && !normalClose(rr.code) {
			// The app closed with an error code as the stream was being
			// stopped: that is its ending, not an answer.
			return ss.appEnded(*rr)
		}
		if !answered {
			return EndCloseHandshakeTimeout, ""
		}
		return e, ""
	case EndInternalError:
		ss.journal(Entry{Kind: KindFault, By: ByEmulator, Message: "injected internal error: closing with 1011"})
		_, _ = ss.closeHandshake(websocket.CloseInternalServerErr, "internal error")
		return e, "the media server failed and closed the stream with 1011 (injected fault)"
	case EndReset:
		ss.journal(Entry{Kind: KindFault, By: ByNetwork, Message: "injected TCP reset (SO_LINGER 0, close)"})
		ss.res.ClosedBy = ByNetwork
		ss.reset()
		return e, "TCP RST, injected network fault"
	case EndDrop:
		return ss.drop()
	}
	return "", ""
}

// closeHandshake sends a close frame and waits for the app's. It reports
// whether the app's close frame came in time, and the reader's ending when
// there was one.
//
// After a stop message the app may close first: many apps close the moment
// they read stop, so its close frame can arrive before, as or after the
// emulator's goes out. gorilla/websocket's reader then answers it itself,
// and the emulator's own write fails with ErrCloseSent (or, when the app
// also shut the connection, with a network error). Every such ordering is a
// complete handshake: both sides said goodbye with a close frame.
func (ss *session) closeHandshake(code int, reason string) (bool, *readResult) {
	ss.res.ClosedBy = ByEmulator
	msg := websocket.FormatCloseMessage(code, reason)
	if h := ss.e.beforeCloseFrame; h != nil {
		h(ss.s)
	}
	ss.closeSent.Store(true)
	sendErr := ss.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(ss.e.opts.Timeouts.Write))
	switch {
	case sendErr == nil:
		ss.res.CloseSent = code
		ss.journal(Entry{Kind: KindClose, By: ByEmulator, Code: code, Message: fmt.Sprintf("close frame sent: %s", closeDetail(code, reason))})
	case errors.Is(sendErr, websocket.ErrCloseSent):
		// The reader has answered the app's close frame already.
		sendErr = nil
	}
	timer := time.NewTimer(ss.e.opts.Timeouts.CloseHandshake)
	defer timer.Stop()
	select {
	case rr := <-ss.readDone:
		if rr.closeFrame {
			ss.res.CloseReceived, ss.res.CloseReason, ss.res.CloseHandshake = rr.code, rr.reason, true
			if ss.res.CloseSent == 0 && sendErr == nil {
				ss.res.CloseSent = rr.code // gorilla's answer echoes the app's code
			}
			if rr.first {
				ss.res.AppClosedFirst = true
				ss.journal(Entry{Kind: KindClose, By: ByEmulator, Code: ss.res.CloseSent,
					Message: "the app closed first; its close frame was answered: handshake complete"})
			}
			return true, &rr
		}
		ss.res.CloseProblem = describeNetError(rr.err)
		if sendErr != nil {
			ss.res.CloseProblem = "the close frame could not be sent: " + describeNetError(sendErr)
		}
		ss.journal(Entry{Kind: KindClose, By: ByApp, Error: ss.res.CloseProblem, Message: "close handshake incomplete: " + ss.res.CloseProblem})
		return false, &rr
	case <-timer.C:
		// An entry with no error and no code: the app stayed silent.
		en := Entry{Kind: KindClose, By: ByApp}
		ss.res.CloseProblem = fmt.Sprintf("no close frame from the app within %s", ss.e.opts.Timeouts.CloseHandshake)
		if sendErr != nil {
			ss.res.CloseProblem = "the close frame could not be sent: " + describeNetError(sendErr)
			en.Error = ss.res.CloseProblem
		}
		en.Message = "close handshake incomplete: " + ss.res.CloseProblem
		ss.journal(en)
		return false, nil
	case <-ss.abort.Done():
		return false, nil
	}
}

// reset closes the TCP connection with SO_LINGER 0, which sends RST.
func (ss *session) reset() {
	if tcp := tcpConn(ss.conn.NetConn()); tcp != nil {
		_ = tcp.SetLinger(0)
	}
	ss.closeConn()
}

func tcpConn(c net.Conn) *net.TCPConn {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// drop stops all traffic on the connection, leaving it half-open, and
// declares it dead after the dead-peer timeout, as a media server would.
func (ss *session) drop() (Ending, string) {
	ss.dropped.Store(true)
	ss.res.ClosedBy = ByNetwork
	ss.journal(Entry{Kind: KindFault, By: ByNetwork, Message: "injected silent drop: no more traffic either way, socket left half-open"})
	timer := time.NewTimer(ss.e.opts.Timeouts.DeadPeer)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return EndDrop, ss.e.opts.Timeouts.DeadPeer.String()
		case c := <-ss.s.cmds:
			if c.kind != cmdEnd {
				c.reached <- false
			}
		case <-ss.abort.Done():
			return "", ""
		}
	}
}

// hold keeps a dropped connection half-open until its call ends or the
// emulator closes, then lets it go without a close frame.
func (ss *session) hold() {
	select {
	case <-ss.s.Call.release:
	case <-ss.abort.Done():
	}
	ss.closeConn()
}

// closeConn closes the TCP connection (if any) and waits for the reader.
func (ss *session) closeConn() {
	if ss.conn == nil {
		return
	}
	select {
	case <-ss.teardown:
		return
	default:
	}
	close(ss.teardown)
	_ = ss.conn.Close()
	<-ss.readerExit
}
