package amqp

import (
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/warren-mq/warren/amqp/wire"
)

// handshakeBytes is what a well-behaved client sends to reach the open state.
func handshakeBytes() []byte {
	b := append([]byte(nil), wire.ProtocolHeader[:]...)
	b = wire.AppendMethodFrame(b, 0, &wire.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US",
		ClientProperties: wire.Table{"capabilities": wire.Table{"consumer_cancel_notify": true}}})
	b = wire.AppendMethodFrame(b, 0, &wire.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072})
	return wire.AppendMethodFrame(b, 0, &wire.ConnectionOpen{VirtualHost: "/"})
}

// seedSessions are valid (and some invalid) frame sequences the fuzzer mutates.
func seedSessions() [][]byte {
	publish := func(b []byte, ch uint16, ex, key string, body string, props wire.Properties) []byte {
		b = wire.AppendMethodFrame(b, ch, &wire.BasicPublish{Exchange: ex, RoutingKey: key, Mandatory: true})
		b = wire.AppendHeaderFrame(b, ch, 60, uint64(len(body)), &props)
		return wire.AppendBodyFrames(b, ch, []byte(body), 131072)
	}
	var s [][]byte
	b := wire.AppendMethodFrame(nil, 1, &wire.ChannelOpen{})
	b = wire.AppendMethodFrame(b, 1, &wire.QueueDeclare{Queue: "q", AutoDelete: true, Arguments: wire.Table{"x-max-length": int32(5)}})
	b = wire.AppendMethodFrame(b, 1, &wire.ConfirmSelect{})
	b = publish(b, 1, "", "q", "hello", wire.Properties{Flags: wire.FlagHeaders | wire.FlagDeliveryMode,
		Headers: wire.Table{"a": int64(1), "b": []any{"x", 1.5}}, DeliveryMode: 2})
	b = wire.AppendMethodFrame(b, 1, &wire.BasicQos{PrefetchCount: 1})
	b = wire.AppendMethodFrame(b, 1, &wire.BasicConsume{Queue: "q", ConsumerTag: "c"})
	b = wire.AppendMethodFrame(b, 1, &wire.BasicAck{DeliveryTag: 1})
	b = wire.AppendMethodFrame(b, 1, &wire.BasicGet{Queue: "q"})
	b = wire.AppendMethodFrame(b, 1, &wire.BasicNack{DeliveryTag: 0, Multiple: true, Requeue: true})
	b = wire.AppendMethodFrame(b, 1, &wire.BasicCancel{ConsumerTag: "c"})
	s = append(s, b)

	b = wire.AppendMethodFrame(nil, 2, &wire.ChannelOpen{})
	b = wire.AppendMethodFrame(b, 2, &wire.ExchangeDeclare{Exchange: "t", Type: "topic", AutoDelete: true})
	b = wire.AppendMethodFrame(b, 2, &wire.QueueDeclare{Exclusive: true})
	b = wire.AppendMethodFrame(b, 2, &wire.QueueBind{Exchange: "t", RoutingKey: "a.#"})
	b = wire.AppendMethodFrame(b, 2, &wire.TxSelect{})
	b = publish(b, 2, "t", "a.b", "x", wire.Properties{})
	b = wire.AppendMethodFrame(b, 2, &wire.TxCommit{})
	b = wire.AppendMethodFrame(b, 2, &wire.BasicRecover{Requeue: true})
	b = wire.AppendMethodFrame(b, 2, &wire.ExchangeBind{Destination: "t", Source: "amq.fanout"})
	b = wire.AppendMethodFrame(b, 2, &wire.QueueDelete{Queue: "q"})
	b = wire.AppendMethodFrame(b, 2, &wire.ChannelClose{ReplyCode: 200})
	b = wire.AppendMethodFrame(b, 0, &wire.ConnectionClose{ReplyCode: 200})
	s = append(s, b)

	s = append(s, []byte{1, 0, 1, 0, 0, 0, 2, 0, 20, 0xce}, []byte{3, 0, 1, 0, 0, 0, 0, 0xce})
	return s
}

// runSession feeds one client byte stream to a fresh connection and fails the test
// if the connection panicked (its recover logs "connection panic").
func runSession(t testing.TB, session []byte) {
	core, logs := observer.New(zapcore.ErrorLevel)
	cfg := DefaultConfig()
	cfg.LoopbackUsers = nil // net.Pipe has no loopback address
	cfg.HandshakeTimeout = 2 * time.Second
	cfg.Logger = zap.New(core)
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	c := newConn(srv, server)
	done := make(chan struct{})
	go func() { c.serve(); close(done) }()
	go io.Copy(io.Discard, client)
	client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	client.Write(handshakeBytes())
	client.Write(session)
	client.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("connection did not end after its client went away")
	}
	for _, e := range logs.All() {
		if e.Message == "connection panic" {
			t.Fatalf("connection panicked: %v", e.ContextMap())
		}
	}
}

func TestSeedSessions(t *testing.T) {
	for _, s := range seedSessions() {
		runSession(t, s)
	}
}

// FuzzConnection: nothing a client sends after a valid handshake may panic a
// connection or leave it running after the client has gone.
func FuzzConnection(f *testing.F) {
	for _, s := range seedSessions() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, session []byte) { runSession(t, session) })
}
