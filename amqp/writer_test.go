package amqp

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection: a writer needs a
// socket with a descriptor to write from a publisher's goroutine.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	client.SetReadDeadline(time.Now().Add(time.Minute)) // a lost record fails the test, not the run
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// record is what the tests write: a producer, its sequence number and a body
// of n octets, so that the reading side can tell order and integrity apart.
func appendRecord(b []byte, producer byte, seq uint32, n int) []byte {
	b = append(b, producer)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	for range n {
		b = append(b, producer)
	}
	return b
}

// readRecords reads records until want of them arrived, checking that each
// producer's sequence numbers come in order from 0 and each body is intact.
func readRecords(r io.Reader, want int) error {
	next := map[byte]uint32{}
	var h [7]byte
	for i := range want {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		p, seq, n := h[0], binary.BigEndian.Uint32(h[1:]), binary.BigEndian.Uint16(h[5:])
		if seq != next[p] {
			return fmt.Errorf("record %d: producer %d seq %d, want %d", i, p, seq, next[p])
		}
		next[p]++
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		for _, c := range body {
			if c != p {
				return fmt.Errorf("record %d: producer %d body corrupt", i, p)
			}
		}
	}
	return nil
}

// With the writer goroutine not running, deferred deliveries reach the peer
// only if the flush writes them from its own goroutine; they take one place on
// the flush set however many there are.
func TestWriterFlushWritesInline(t *testing.T) {
	server, client := tcpPair(t)
	w := newWriter(server)
	var fs flushSet
	for i := range 10 {
		b, _ := w.begin()
		w.endFor(appendRecord(b, 1, uint32(i), 1000), &fs)
	}
	if len(fs.ws) != 1 {
		t.Fatalf("flush set holds %d writers, want 1", len(fs.ws))
	}
	fs.flush()
	if len(fs.ws) != 0 || w.deferredBy != nil {
		t.Fatalf("after flush: %d writers held, deferredBy %v", len(fs.ws), w.deferredBy)
	}
	if err := readRecords(client, 10); err != nil {
		t.Fatal(err)
	}
}

// A deferred delivery past deferMax, or from a second publisher while a first
// one's flush is due, wakes the writer goroutine at once.
func TestWriterDeferLimits(t *testing.T) {
	server, client := tcpPair(t)
	w := newWriter(server)
	go w.run()
	defer w.stop(time.Second)
	var a, b flushSet
	buf, _ := w.begin()
	w.endFor(appendRecord(buf, 1, 0, 100), &a)
	buf, _ = w.begin()
	w.endFor(appendRecord(buf, 2, 0, 100), &b) // a's flush is due: not deferred to b
	if len(a.ws) != 1 || len(b.ws) != 0 {
		t.Fatalf("flush sets hold %d and %d writers, want 1 and 0", len(a.ws), len(b.ws))
	}
	if err := readRecords(client, 2); err != nil { // the second woke the writer goroutine
		t.Fatal(err)
	}
	a.flush()
	buf, _ = w.begin()
	w.endFor(appendRecord(buf, 3, 0, deferMax), &a) // too big to defer
	if len(a.ws) != 0 {
		t.Fatal("a delivery past deferMax was deferred")
	}
	if err := readRecords(client, 1); err != nil {
		t.Fatal(err)
	}
}

// When the peer stops reading, a flush writes what the socket takes and leaves
// the rest, ahead of later frames, to the writer goroutine; nothing is lost or
// reordered once the peer reads again.
func TestWriterFlushSocketFull(t *testing.T) {
	server, client := tcpPair(t)
	server.(*net.TCPConn).SetWriteBuffer(16 << 10)
	client.(*net.TCPConn).SetReadBuffer(16 << 10)
	w := newWriter(server)
	var fs flushSet
	var seq uint32
	full := false
	for !full && seq < 1<<20 { // the guard bounds the loop if the socket never fills
		buf, _ := w.begin()
		for range 8 {
			buf = appendRecord(buf, 1, seq, 4000)
			seq++
		}
		w.endFor(buf, &fs)
		n := len(w.buf)
		fs.ws = fs.ws[:0]
		full = w.flushFrom(&fs, inlineMax) < n
	}
	if !full {
		t.Fatalf("the socket took %d records without filling", seq)
	}
	for range 5 { // later frames, deferred and flushed while the socket is still full
		buf, _ := w.begin()
		w.endFor(appendRecord(buf, 1, seq, 4000), &fs)
		seq++
		fs.flush()
	}
	go w.run()
	defer w.stop(time.Second)
	if err := readRecords(client, int(seq)); err != nil {
		t.Fatal(err)
	}
}

// Publishers deferring and flushing, and plain appends, from many goroutines at
// once: every record arrives, in each producer's order. Run under -race.
func TestWriterConcurrentFlushes(t *testing.T) {
	server, client := tcpPair(t)
	w := newWriter(server)
	go w.run()
	const producers, each = 6, 5000
	read := make(chan error, 1)
	go func() { read <- readRecords(client, producers*each) }()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fs flushSet
			for i := range each {
				buf, ok := w.begin()
				if !ok {
					t.Error("writer stopped")
					return
				}
				buf = appendRecord(buf, byte(p), uint32(i), (i*7+p*13)%1500)
				if p%3 == 0 {
					w.end(buf)
					continue
				}
				w.endFor(buf, &fs)
				if i%(p+1) == 0 {
					fs.flush()
				}
			}
			fs.flush()
		}()
	}
	wg.Wait()
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	w.stop(time.Second)
}
