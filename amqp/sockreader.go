package amqp

import (
	"io"
	"net"
	"os"
	"syscall"
)

// sockReader reads a connection's socket through its raw descriptor with
// sysRead, so that a read does not wake the runtime's monitor thread (see
// rawio_linux.go). It waits for data in the netpoller as net.Conn.Read does, and
// read deadlines apply alike. One goroutine reads.
type sockReader struct {
	rc     syscall.RawConn
	buf    []byte
	n      int
	errno  syscall.Errno
	readFD func(fd uintptr) bool // rc.Read's callback, a method value made once
}

// rawConnOf returns nc's descriptor, or nil if it has none (a net.Pipe, say).
func rawConnOf(nc net.Conn) syscall.RawConn {
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rc
		}
	}
	return nil
}

// newSockReader returns a reader for nc: a sockReader if nc has a descriptor,
// else nc itself.
func newSockReader(nc net.Conn) io.Reader {
	rc := rawConnOf(nc)
	if rc == nil {
		return nc
	}
	r := &sockReader{rc: rc}
	r.readFD = r.readOnce
	return r
}

func (r *sockReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.buf = p
	err := r.rc.Read(r.readFD)
	r.buf = nil
	switch {
	case err != nil:
		return 0, err
	case r.errno != 0:
		return 0, os.NewSyscallError("read", r.errno)
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// readOnce is rc.Read's callback: false asks rc.Read to wait for data.
func (r *sockReader) readOnce(fd uintptr) bool {
	for {
		n, e := sysRead(fd, r.buf)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.n, r.errno = max(n, 0), e
		return true
	}
}
