package main

import (
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/warren-mq/warren/amqp/wire"
)

// socketless returns a conn with one channel and no socket, for the hot paths.
func socketless() (*conn, *channel) {
	c := &conn{done: make(chan struct{}), frameMax: 131072, epochNow: sinceEpoch}
	c.outbox.init()
	c.chans = make([]atomic.Pointer[channel], 2)
	ch := c.newChannel(1)
	c.chans[1].Store(ch)
	return c, ch
}

// The publish hot path: encoding a batch of stamped publishes into the
// connection's buffer, as producer.run does.
func BenchmarkPublishEncode(b *testing.B) {
	for _, bc := range []struct {
		name    string
		size    int
		confirm int
	}{{"16B", 16, 0}, {"1KiB", 1024, 0}, {"16B-confirms", 16, 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			_, ch := socketless()
			o := defaultOptions()
			o.Size, o.Confirm = bc.size, bc.confirm
			p := newProducer(ch, &o, "", "perf-0", benchNonce)
			buf := make([]byte, 0, 1<<20)
			seq := uint64(1)
			b.ReportAllocs()
			b.SetBytes(int64(bc.size))
			for b.Loop() {
				if len(buf) > 1<<20-4096 {
					buf = buf[:0]
				}
				buf, seq = p.encode(buf, 1, seq)
			}
		})
	}
}

// benchNonce is the run nonce of the deliveries the benchmarks decode.
const benchNonce = 7

// deliveryStream returns n deliveries of size octets on channel 1, as a broker sends them.
func deliveryStream(n, size int) []byte {
	var s []byte
	body := make([]byte, size)
	for i := range n {
		if size >= 8 {
			binary.BigEndian.PutUint64(body, uint64(sinceEpoch()))
		}
		if size >= 16 {
			binary.BigEndian.PutUint64(body[8:], benchNonce)
		}
		d := wire.BasicDeliver{ConsumerTag: "amq.ctag-0123456789abcdef", DeliveryTag: uint64(i + 1), RoutingKey: "perf-0"}
		s = d.AppendFrame(s, 1)
		s = wire.AppendHeaderFrame(s, 1, wire.ClassBasic, uint64(size), &wire.Properties{Flags: wire.FlagDeliveryMode, DeliveryMode: 1})
		s = wire.AppendBodyFrames(s, 1, body, 131072)
	}
	return s
}

// loopReader replays a stream forever.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// The delivery hot path: reading basic.deliver, header and body frames and
// counting the delivery with its latency (and, for manual acks, an ack every 50).
func BenchmarkDeliveryDecode(b *testing.B) {
	for _, bc := range []struct {
		name    string
		size    int
		autoAck bool
	}{{"16B", 16, true}, {"1KiB", 1024, true}, {"16B-ack50", 16, false}} {
		b.Run(bc.name, func(b *testing.B) {
			c, ch := socketless()
			var stopped atomic.Bool
			ch.cons = &consumer{autoAck: bc.autoAck, multiAck: 50, stopped: &stopped, nonce: benchNonce}
			c.fr = wire.NewFrameReader(&loopReader{data: deliveryStream(256, bc.size)})
			c.fr.SetMaxFrameSize(131072)
			now := sinceEpoch()
			b.ReportAllocs()
			b.SetBytes(int64(bc.size))
			for b.Loop() {
				for range 3 {
					f, err := c.fr.ReadFrame()
					if err != nil {
						b.Fatal(err)
					}
					if err := c.dispatch(f, now); err != nil {
						b.Fatal(err)
					}
				}
				if len(c.ctl) > 8192 {
					c.ctl = c.ctl[:0]
				}
			}
			if ch.cons.count.Load() == 0 || ch.cons.hist.Count() == 0 {
				b.Fatal("nothing received, or no latency recorded")
			}
		})
	}
}

// Publishing and receiving allocate nothing once the buffers have grown.
func TestHotPathsDoNotAllocate(t *testing.T) {
	_, ch := socketless()
	o := defaultOptions()
	o.Confirm = 100
	p := newProducer(ch, &o, "", "perf-0", benchNonce)
	buf := make([]byte, 0, 1<<16)
	seq := uint64(1)
	if n := testing.AllocsPerRun(200, func() { buf, seq = p.encode(buf[:0], 10, seq) }); n != 0 {
		t.Errorf("publish: %v allocations per batch", n)
	}
	if n := testing.AllocsPerRun(200, func() { p.confirm(seq-1, true, false, sinceEpoch()) }); n != 0 {
		t.Errorf("confirm: %v allocations", n)
	}

	c, dch := socketless()
	var stopped atomic.Bool
	dch.cons = &consumer{multiAck: 5, stopped: &stopped, nonce: benchNonce}
	c.ctl = make([]byte, 0, 1<<16)
	c.fr = wire.NewFrameReader(&loopReader{data: deliveryStream(64, 300)})
	c.fr.SetMaxFrameSize(131072)
	if n := testing.AllocsPerRun(200, func() {
		for range 3 {
			f, err := c.fr.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.dispatch(f, sinceEpoch()); err != nil {
				t.Fatal(err)
			}
		}
		c.ctl = c.ctl[:0]
	}); n != 0 {
		t.Errorf("delivery: %v allocations", n)
	}
}
