package amqp

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// The socket reader delivers what the peer wrote, in order, across reads that
// wait for data; it ends with io.EOF when the peer closes.
func TestSockReaderStream(t *testing.T) {
	server, client := tcpPair(t)
	r := newSockReader(server)
	if _, ok := r.(*sockReader); !ok {
		t.Fatalf("a TCP connection got %T, want the raw reader", r)
	}
	server.SetReadDeadline(time.Now().Add(time.Minute))
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	go func() {
		// Small writes with pauses, so that the reader waits for data between them.
		for off := 0; off < len(want); off += 100_000 {
			client.Write(want[off:min(off+100_000, len(want))])
			time.Sleep(time.Millisecond)
		}
		client.Close()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d octets, not the %d written (or not the same)", len(got), len(want))
	}
}

// A read deadline interrupts a waiting read with an error the connection takes
// for a timeout, and closing the socket with one it takes for closed.
func TestSockReaderDeadlineAndClose(t *testing.T) {
	server, _ := tcpPair(t)
	r := newSockReader(server)
	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var buf [16]byte
	if _, err := r.Read(buf[:]); !isTimeout(err) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	server.SetReadDeadline(time.Now().Add(time.Minute))
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(buf[:])
		done <- err
	}()
	server.Close()
	select {
	case err := <-done:
		if !isClosedErr(err) {
			t.Fatalf("read on a closed socket: %v, want net.ErrClosed", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a read went on after its socket was closed")
	}
}

// A connection without a descriptor is read as it is.
func TestSockReaderFallback(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if r := newSockReader(a); r != io.Reader(a) {
		t.Fatalf("net.Pipe got %T, want the conn itself", r)
	}
}
