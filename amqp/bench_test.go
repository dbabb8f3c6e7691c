package amqp

import (
	"bufio"
	"io"
	"net"
	"testing"

	"github.com/warren-mq/warren/amqp/wire"
)

// benchDial dials addr and sends a client's side of the handshake.
func benchDial(b *testing.B, addr string) net.Conn {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := nc.Write(handshakeBytes()); err != nil {
		b.Fatal(err)
	}
	return nc
}

// BenchmarkPublishDeliver measures the whole broker path for one 16-octet
// transient message: frames read from a publisher's socket, routed through the
// default exchange, queued, delivered to a no-ack consumer on another
// connection and written to its socket. The clients are raw sockets with
// preencoded frames, so the allocations reported are the broker's (plus the
// consumer's read buffer, reused).
func BenchmarkPublishDeliver(b *testing.B) {
	srv, err := NewServer(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(b.Context())
	addr := ln.Addr().String()

	cons := benchDial(b, addr)
	defer cons.Close()
	setup := wire.AppendMethodFrame(nil, 1, &wire.ChannelOpen{})
	setup = wire.AppendMethodFrame(setup, 1, &wire.QueueDeclare{Queue: "bench", AutoDelete: true})
	setup = wire.AppendMethodFrame(setup, 1, &wire.BasicConsume{Queue: "bench", ConsumerTag: "c", NoAck: true})
	if _, err := cons.Write(setup); err != nil {
		b.Fatal(err)
	}
	r := wire.NewFrameReader(bufio.NewReaderSize(cons, 1<<16))
	// Read until consume-ok: the queue exists and has its consumer.
	for {
		f, err := r.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		if f.Type == wire.FrameMethod && f.Channel == 1 {
			if m, err := wire.DecodeMethod(f.Payload); err == nil {
				if _, ok := m.(*wire.BasicConsumeOk); ok {
					break
				}
			}
		}
	}

	pub := benchDial(b, addr)
	defer pub.Close()
	if _, err := pub.Write(wire.AppendMethodFrame(nil, 1, &wire.ChannelOpen{})); err != nil {
		b.Fatal(err)
	}
	go io.Copy(io.Discard, pub) // the publisher's replies: start, tune, open-ok, open-ok

	const perWrite = 256
	body := make([]byte, 16)
	var one []byte
	one = wire.AppendMethodFrame(one, 1, &wire.BasicPublish{RoutingKey: "bench"})
	one = wire.AppendHeaderFrame(one, 1, 60, uint64(len(body)), &wire.Properties{})
	one = wire.AppendBodyFrames(one, 1, body, 131072)
	var chunk []byte
	for range perWrite {
		chunk = append(chunk, one...)
	}

	done := make(chan error, 1)
	go func() {
		// Each delivery is three frames: deliver, header, body.
		for n := 0; n < b.N; {
			f, err := r.ReadFrame()
			if err != nil {
				done <- err
				return
			}
			if f.Type == wire.FrameBody {
				n++
			}
		}
		done <- nil
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += perWrite {
		w := chunk
		if rest := b.N - sent; rest < perWrite {
			w = chunk[:rest*len(one)]
		}
		if _, err := pub.Write(w); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
