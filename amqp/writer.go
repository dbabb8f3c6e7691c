package amqp

import (
	"net"
	"sync"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
)

// Outbound buffer marks: past highWater, deliveries to the connection's consumers
// pause until the writer has drained the buffer below lowWater.
const (
	highWater = 4 << 20
	lowWater  = 1 << 20
)

// writer owns a connection's outbound side. Any goroutine appends whole frames to
// its buffer under mu; one goroutine (run) writes the buffer to the socket, many
// frames per syscall, and sends heartbeats when nothing else went out.
type writer struct {
	nc     net.Conn
	signal chan struct{} // cap 1: "there is something to write"
	done   chan struct{} // closed by stop: flush what is left, then return
	exited chan struct{} // closed when run returns

	mu        sync.Mutex
	buf       []byte
	stopped   bool // no more appends are accepted
	failed    bool // a write failed: the socket is gone
	congested bool // buf passed highWater; onDrain is due when it empties
	heartbeat time.Duration
	onDrain   func() // called (without mu) when a congested buffer drained
}

func newWriter(nc net.Conn) *writer {
	return &writer{nc: nc, signal: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
}

// append runs fn to append frames to the buffer and wakes the writer. It reports
// false (and runs nothing) once the writer has stopped.
func (w *writer) append(fn func(buf []byte) []byte) bool {
	b, ok := w.begin()
	if !ok {
		return false
	}
	w.end(fn(b))
	return true
}

// begin locks the buffer for a caller that appends to it directly (no closure
// to allocate) and returns it; ok is false, and nothing is locked, once the
// writer has stopped. end must follow, with the grown buffer.
func (w *writer) begin() (buf []byte, ok bool) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return nil, false
	}
	return w.buf, true
}

// end stores the buffer begin returned, unlocks it and wakes the writer.
func (w *writer) end(buf []byte) {
	w.buf = buf
	if len(w.buf) > highWater {
		w.congested = true
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// method appends one method frame.
func (w *writer) method(channel uint16, m wire.Method) bool {
	return w.append(func(b []byte) []byte { return wire.AppendMethodFrame(b, channel, m) })
}

// full reports whether the outbound buffer is past its high-water mark; the caller
// must then hold further deliveries until onDrain runs. Call with no writer lock.
func (w *writer) full() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.congested
}

// setHeartbeat sets the interval of silence after which a heartbeat frame goes out.
func (w *writer) setHeartbeat(d time.Duration) {
	w.mu.Lock()
	w.heartbeat = d
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// stop makes run flush what is buffered and return; later appends are dropped.
// It waits for run to finish, at most until timeout.
func (w *writer) stop(timeout time.Duration) {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.done)
	}
	w.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.exited:
	case <-t.C:
		w.nc.Close() // unblocks a Write stuck on a peer that does not read
		<-w.exited
	}
}

// run is the writer goroutine; it returns after stop, or when a write fails.
func (w *writer) run() {
	defer close(w.exited)
	var spare []byte
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		hb := w.heartbeat
		w.mu.Unlock()
		if hb > 0 {
			timer.Reset(hb)
		} else {
			timer.Reset(time.Hour)
		}
		stopping := false
		select {
		case <-w.signal:
		case <-w.done:
			stopping = true
		case <-timer.C:
			if hb > 0 {
				w.append(wire.AppendHeartbeatFrame)
			}
		}
		w.mu.Lock()
		out := w.buf
		w.buf = spare[:0]
		w.mu.Unlock()
		if len(out) > 0 {
			if _, err := w.nc.Write(out); err != nil {
				w.mu.Lock()
				w.failed, w.stopped = true, true
				w.mu.Unlock()
				w.nc.Close() // the reader sees the error and ends the connection
				return
			}
		}
		if cap(out) <= 4*highWater {
			spare = out
		}
		w.mu.Lock()
		drained := w.congested && len(w.buf) < lowWater
		if drained {
			w.congested = false
		}
		onDrain := w.onDrain
		w.mu.Unlock()
		if drained && onDrain != nil {
			onDrain()
		}
		if stopping {
			w.mu.Lock()
			rest := w.buf
			w.buf = nil
			w.mu.Unlock()
			if len(rest) > 0 {
				w.nc.Write(rest)
			}
			return
		}
	}
}
