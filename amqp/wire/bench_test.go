package wire

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkDecodeBasicPublish(b *testing.B) {
	payload := (&BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu.created"}).AppendTo(nil)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMethod(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// benchProperties are typical message properties with a small headers table.
func benchProperties() Properties {
	return Properties{
		Flags:       FlagContentType | FlagHeaders | FlagDeliveryMode | FlagMessageID | FlagTimestamp,
		ContentType: "application/json", DeliveryMode: 2, MessageID: "3f2a9c1e-5b7d-4e8f-9a6b-1c2d3e4f5a6b",
		Timestamp: 1700000000,
		Headers:   Table{"x-retry": int32(3), "trace-id": "abc123def456", "tenant": "eu-1", "x-first-death-reason": "rejected"},
	}
}

// The delivery hot path: basic.deliver, content header and body into a
// reused buffer, as a connection's writer would.
func BenchmarkEncodeDeliver(b *testing.B) {
	props := benchProperties()
	body := bytes.Repeat([]byte("x"), 1024)
	buf := make([]byte, 0, 4096)
	b.Run("AppendFrame", func(b *testing.B) {
		b.ReportAllocs()
		var tag uint64
		for b.Loop() {
			tag++
			deliver := BasicDeliver{ConsumerTag: "amq.ctag-0123456789abcdef", DeliveryTag: tag, Exchange: "amq.topic", RoutingKey: "orders.eu.created"}
			buf = deliver.AppendFrame(buf[:0], 1)
			buf = AppendHeaderFrame(buf, 1, ClassBasic, uint64(len(body)), &props)
			buf = AppendBodyFrames(buf, 1, body, 131072)
			b.SetBytes(int64(len(buf)))
		}
	})
	b.Run("AppendMethodFrame", func(b *testing.B) {
		b.ReportAllocs()
		deliver := &BasicDeliver{ConsumerTag: "amq.ctag-0123456789abcdef", Exchange: "amq.topic", RoutingKey: "orders.eu.created"}
		for b.Loop() {
			deliver.DeliveryTag++
			buf = AppendMethodFrame(buf[:0], 1, deliver)
			buf = AppendHeaderFrame(buf, 1, ClassBasic, uint64(len(body)), &props)
			buf = AppendBodyFrames(buf, 1, body, 131072)
			b.SetBytes(int64(len(buf)))
		}
	})
}

func BenchmarkDecodeContentHeader(b *testing.B) {
	props := benchProperties()
	payload := AppendContentHeader(nil, ClassBasic, 1024, &props)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := DecodeContentHeader(payload); err != nil {
			b.Fatal(err)
		}
	}
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

// ReadFrame over a stream of publishes (method, header, 1 KiB body).
func BenchmarkReadFrame(b *testing.B) {
	props := benchProperties()
	var stream []byte
	for range 64 {
		stream = AppendMethodFrame(stream, 1, &BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu.created"})
		stream = AppendHeaderFrame(stream, 1, ClassBasic, 1024, &props)
		stream = AppendBodyFrames(stream, 1, make([]byte, 1024), 131072)
	}
	r := NewFrameReader(&loopReader{data: stream})
	b.SetBytes(int64(len(stream) / (64 * 3)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadFrame(); err != nil && err != io.EOF {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTable(b *testing.B) {
	t := benchProperties().Headers
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTable(buf[:0], t)
	}
	b.SetBytes(int64(len(buf)))
}

// Encoding a delivery into a buffer with room allocates nothing.
func TestEncodeDeliverDoesNotAllocate(t *testing.T) {
	props := benchProperties()
	body := make([]byte, 300)
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		deliver := BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 7, Exchange: "x", RoutingKey: "k"}
		buf = deliver.AppendFrame(buf[:0], 1)
		buf = AppendHeaderFrame(buf, 1, ClassBasic, uint64(len(body)), &props)
		buf = AppendBodyFrames(buf, 1, body, 0)
		buf = AppendHeartbeatFrame(buf)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per delivery", allocs)
	}
}
