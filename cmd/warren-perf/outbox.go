package main

import (
	"io"
	"sync"
)

// outbox is a connection's outbound buffer, shared by the client (conn) and the
// sink (sinkConn). Frames are appended to out under mu; whoever finds no write in
// progress takes the buffer and writes it, many frames per syscall, while the
// others append to the spare. A writer goroutine waits on wake for the frames
// nobody else writes.
type outbox struct {
	mu      sync.Mutex
	cond    *sync.Cond // broadcast when a writer takes out, and on failure
	out     []byte     // frames waiting to be written
	spare   []byte     // the other buffer, swapped with out by whoever writes
	writing bool       // a goroutine is in flushLocked
	failed  bool       // no more writes
	wake    chan struct{}
}

func (o *outbox) init() {
	o.cond = sync.NewCond(&o.mu)
	o.wake = make(chan struct{}, 1)
}

// kick wakes the writer goroutine.
func (o *outbox) kick() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// claimLocked reports whether the caller may write: nobody is writing and there
// is something to write. If so it sets writing, and the caller must call
// flushLocked; if not, it releases mu. The caller holds mu.
func (o *outbox) claimLocked() bool {
	if o.writing || len(o.out) == 0 || o.failed {
		o.mu.Unlock()
		return false
	}
	o.writing = true
	return true
}

// flushLocked writes out to w until it stays empty, then clears writing and
// releases mu. The caller holds mu and has claimed the write (claimLocked). A
// failed write is returned for the caller to fail the connection with.
func (o *outbox) flushLocked(w io.Writer) error {
	for len(o.out) > 0 && !o.failed {
		buf := o.out
		o.out = o.spare[:0]
		o.cond.Broadcast()
		o.mu.Unlock()
		_, err := w.Write(buf)
		o.mu.Lock()
		o.spare = buf[:0]
		if err != nil {
			o.writing = false
			o.mu.Unlock()
			return err
		}
	}
	o.writing = false
	o.mu.Unlock()
	return nil
}
