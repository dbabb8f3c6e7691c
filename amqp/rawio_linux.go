package amqp

import (
	"syscall"
	"unsafe"
)

// sysRead and sysWrite are read(2) and write(2) on a non-blocking socket, made
// without telling the runtime a system call is in progress (syscall.RawSyscall,
// not syscall.Read). On such a socket they return at once, so the runtime need
// not hand the P to another thread meanwhile; and the notice would cost a
// wake-up: when every P has been idle, the runtime's monitor thread (sysmon)
// sleeps, and the first syscall after that wakes it with a futex. A connection
// that idles between bursts, as at 10,000 msg/s, paid that on every burst: 18%
// of Warren's CPU at that load was futexwakeup from entersyscall, in the
// latency path of the first read of the burst.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}

func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}
