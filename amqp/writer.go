package amqp

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
)

// Outbound buffer marks: past highWater, deliveries to the connection's consumers
// pause until the writer has drained the buffer below lowWater.
const (
	highWater = 4 << 20
	lowWater  = 1 << 20
)

// deferMax bounds a deferred delivery's buffer: past it the writer goroutine is
// woken at once, so that a fast publisher's deliveries are written while it
// reads on. inlineMax bounds what one flushSet.flush writes from its own
// goroutine; the writer goroutines of the rest are woken.
const (
	deferMax  = 64 << 10
	inlineMax = 64 << 10
)

// writer owns a connection's outbound side. Any goroutine appends whole frames to
// its buffer under mu. One goroutine (run) writes the buffer to the socket, many
// frames per syscall, and sends heartbeats when nothing else went out; a
// publisher's goroutine may write a buffer it filled itself (see flushSet).
type writer struct {
	nc     net.Conn
	rc     syscall.RawConn // nc's descriptor, for writes that must not block; nil if it has none
	signal chan struct{}   // cap 1: "there is something to write"
	done   chan struct{}   // closed by stop: flush what is left, then return
	exited chan struct{}   // closed when run returns

	mu         sync.Mutex
	idle       sync.Cond // on mu: writing became false
	buf        []byte
	spare      []byte    // the buffer last written, reused by whoever takes buf next
	writing    bool      // a goroutine has taken buf and is writing it
	deferredBy *flushSet // whose flush will write (or wake the writer for) buf
	stopped    bool      // no more appends are accepted
	failed     bool      // a write failed: the socket is gone
	congested  bool      // buf passed highWater; onDrain is due when it empties
	heartbeat  time.Duration
	onDrain    func() // called (without mu) when a congested buffer drained

	// The non-blocking write in progress (under writing): rc.Write calls
	// writeFD, a method value made once, so that a write allocates nothing.
	wbuf    []byte
	wn      int
	writeFD func(fd uintptr) bool
}

func newWriter(nc net.Conn) *writer {
	w := &writer{nc: nc, signal: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	w.idle.L = &w.mu
	if w.rc = rawConnOf(nc); w.rc != nil {
		w.writeFD = w.writeOnce
	}
	return w
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
	w.wake()
}

// endFor is end for a delivery, which origin (queue.Delivery.Origin) made.
// When that is a publishing connection's flushSet, the wake-up is left to its
// flush, which runs before that connection's reader next blocks: deliveries
// from frames read together then go out in one write, from the reader's own
// goroutine when the writer is idle, rather than each waking the writer
// goroutine on another thread.
func (w *writer) endFor(buf []byte, origin any) {
	fs, _ := origin.(*flushSet)
	if fs == nil || len(buf) > deferMax || (w.deferredBy != nil && w.deferredBy != fs) {
		w.end(buf)
		return
	}
	w.buf = buf
	if w.deferredBy == nil {
		w.deferredBy = fs
		fs.ws = append(fs.ws, w)
	}
	w.mu.Unlock()
}

func (w *writer) wake() {
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// flushSet is a publishing connection's list of writers whose deliveries wait
// for it to flush; only that connection's reader goroutine uses it.
type flushSet struct {
	ws []*writer
}

// flush writes the deferred deliveries: from this goroutine, up to inlineMax
// octets in all, where that needs no wait; the rest by waking their writers.
func (fs *flushSet) flush() {
	budget := inlineMax
	for i, w := range fs.ws {
		budget -= w.flushFrom(fs, budget)
		fs.ws[i] = nil
	}
	fs.ws = fs.ws[:0]
}

// flushFrom writes buf from the calling goroutine if it is at most budget
// octets, the writer goroutine is not writing, and the socket takes it without
// a wait; otherwise (and for whatever the socket did not take) it wakes the
// writer goroutine. It returns the octets written.
func (w *writer) flushFrom(fs *flushSet, budget int) int {
	w.mu.Lock()
	if w.deferredBy == fs {
		w.deferredBy = nil
	}
	if w.rc == nil || w.writing || w.stopped || w.congested || len(w.buf) == 0 || len(w.buf) > budget {
		w.mu.Unlock()
		w.wake()
		return 0
	}
	out := w.take()
	w.mu.Unlock()
	w.wbuf, w.wn = out, 0
	w.rc.Write(w.writeFD)
	n := w.wn
	w.wbuf = nil
	w.mu.Lock()
	if n < len(out) {
		// The socket is full (or failed): what is left goes before what was
		// appended meanwhile, and the writer goroutine takes it from here.
		rest := append(out[:0], out[n:]...)
		w.buf, w.spare = append(rest, w.buf...), w.buf[:0]
	} else {
		w.spare = out[:0]
	}
	w.writing = false
	more := len(w.buf) > 0
	w.idle.Broadcast()
	w.mu.Unlock()
	if more {
		w.wake()
	}
	return n
}

// writeOnce is rc.Write's callback: it writes wbuf without waiting for room
// and returns true, so that rc.Write never waits either.
func (w *writer) writeOnce(fd uintptr) bool {
	for w.wn < len(w.wbuf) {
		n, e := sysWrite(fd, w.wbuf[w.wn:])
		if n > 0 {
			w.wn += n
		}
		if e != syscall.EINTR && (e != 0 || n <= 0) {
			break
		}
	}
	return true
}

// take hands buf to a goroutine that writes it: it waits for the one writing
// to finish, then marks the writer busy. The caller holds mu.
func (w *writer) take() []byte {
	for w.writing {
		w.idle.Wait()
	}
	out := w.buf
	w.buf = w.spare[:0]
	w.spare = nil
	w.writing = true
	return out
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
	w.wake()
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
		out := w.take()
		w.mu.Unlock()
		var err error
		if len(out) > 0 {
			_, err = w.nc.Write(out)
		}
		w.mu.Lock()
		w.writing = false
		w.idle.Broadcast()
		if err != nil {
			w.failed, w.stopped = true, true
			w.mu.Unlock()
			w.nc.Close() // the reader sees the error and ends the connection
			return
		}
		if cap(out) <= 4*highWater {
			w.spare = out[:0]
		}
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
			rest := w.take()
			w.buf = nil
			w.mu.Unlock()
			if len(rest) > 0 {
				w.nc.Write(rest)
			}
			return
		}
	}
}
