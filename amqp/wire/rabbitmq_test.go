package wire

import (
	"bytes"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// rabbitMQ dials the reference broker (WIRE_RABBITMQ_ADDR, default the
// oracle on 127.0.0.1:5673) and opens an AMQP connection as guest with this
// package's codec. The test is skipped when no broker listens there.
func rabbitMQ(t *testing.T) *peer {
	addr := os.Getenv("WIRE_RABBITMQ_ADDR")
	if addr == "" {
		addr = "127.0.0.1:5673"
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Skipf("no RabbitMQ at %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	p := newPeer(t, conn)
	p.out = append(p.out, ProtocolHeader[:]...)
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	start := expect[*ConnectionStart](p)
	if start.VersionMajor != 0 || start.VersionMinor != 9 || start.ServerProperties["product"] != "RabbitMQ" ||
		!strings.Contains(start.Mechanisms, "PLAIN") {
		t.Fatalf("connection.start: %+v", start)
	}
	if caps, ok := start.ServerProperties["capabilities"].(Table); !ok || caps["basic.nack"] != true {
		t.Fatalf("server capabilities: %#v", start.ServerProperties["capabilities"])
	}
	// What RabbitMQ encoded survives our decode-encode-decode.
	again, err := DecodeMethod(start.AppendTo(nil))
	if err != nil || !reflect.DeepEqual(again, start) {
		t.Fatalf("connection.start re-encoded: %v", err)
	}
	send(t, p, 0, &ConnectionStartOk{ClientProperties: Table{
		"product": "warren-wire-test", "capabilities": Table{"basic.nack": true, "publisher_confirms": true},
	}, Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	tune := expect[*ConnectionTune](p)
	if tune.FrameMax < FrameMinSize {
		t.Fatalf("connection.tune: %+v", tune)
	}
	send(t, p, 0, &ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: tune.FrameMax, Heartbeat: 0})
	p.setFrameMax(tune.FrameMax)
	send(t, p, 0, &ConnectionOpen{VirtualHost: "/"})
	expect[*ConnectionOpenOk](p)
	return p
}

func send(t *testing.T, p *peer, channel uint16, m Method) {
	t.Helper()
	if err := p.send(channel, m, nil, nil); err != nil {
		t.Fatal(err)
	}
}

func publish(t *testing.T, p *peer, channel uint16, m *BasicPublish, props Properties, body []byte) {
	t.Helper()
	if err := p.send(channel, m, &props, body); err != nil {
		t.Fatal(err)
	}
}

// TestRabbitMQ speaks to a real RabbitMQ with this codec alone: every class,
// RabbitMQ's extensions, content with every property and field type split
// over several body frames, server-sent basic.ack and basic.return, and a
// channel error whose reply text Errorf must reproduce.
func TestRabbitMQ(t *testing.T) {
	p := rabbitMQ(t)
	const x, src = "warren.wire.test.x", "warren.wire.test.src"

	send(t, p, 1, &ChannelOpen{})
	expect[*ChannelOpenOk](p)
	send(t, p, 1, &AccessRequest{Realm: "/data", Passive: true, Active: true, Write: true, Read: true})
	if ok := expect[*AccessRequestOk](p); ok.Reserved1 != 1 {
		t.Errorf("access.request-ok: %+v", ok)
	}
	send(t, p, 1, &QueueDeclare{Exclusive: true, Arguments: Table{"x-max-length": int64(100)}})
	queue := expect[*QueueDeclareOk](p).Queue
	if !strings.HasPrefix(queue, "amq.gen-") {
		t.Fatalf("server-named queue %q", queue)
	}
	send(t, p, 1, &ExchangeDeclare{Exchange: x, Type: "headers", AutoDelete: true})
	expect[*ExchangeDeclareOk](p)
	send(t, p, 1, &ExchangeDeclare{Exchange: src, Type: "fanout"})
	expect[*ExchangeDeclareOk](p)
	send(t, p, 1, &QueueBind{Queue: queue, Exchange: x, Arguments: Table{"x-match": "any", "route": "yes"}})
	expect[*QueueBindOk](p)
	send(t, p, 1, &ExchangeBind{Destination: x, Source: src, RoutingKey: "ignored"})
	expect[*ExchangeBindOk](p)
	send(t, p, 1, &ConfirmSelect{})
	expect[*ConfirmSelectOk](p)

	props := allProperties()
	props.Headers["route"] = "yes"
	props.ClusterID = ""
	props.Flags &^= FlagClusterID
	body := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320000 octets: 3 body frames at 131072
	publish(t, p, 1, &BasicPublish{Exchange: src, RoutingKey: "any"}, props, body)
	if ack := expect[*BasicAck](p); ack.DeliveryTag != 1 || ack.Multiple {
		t.Errorf("confirm: %+v", ack)
	}
	send(t, p, 1, &BasicGet{Queue: queue})
	msg, err := p.recv()
	if err != nil {
		t.Fatal(err)
	}
	getOk, ok := msg.method.(*BasicGetOk)
	if !ok || getOk.Exchange != src || getOk.RoutingKey != "any" || getOk.MessageCount != 0 || getOk.Redelivered {
		t.Fatalf("basic.get: %+v", msg.method)
	}
	if !bytes.Equal(msg.body, body) {
		t.Errorf("body: %d octets back, want %d", len(msg.body), len(body))
	}
	if !reflect.DeepEqual(msg.props, props) {
		t.Errorf("properties through RabbitMQ\n got %#v\nwant %#v", msg.props, props)
	}
	send(t, p, 1, &BasicAck{DeliveryTag: getOk.DeliveryTag})

	// Unroutable and mandatory: basic.return NO_ROUTE with the content, then the confirm.
	publish(t, p, 1, &BasicPublish{RoutingKey: "warren.wire.no-such-queue", Mandatory: true},
		Properties{Flags: FlagContentType, ContentType: "text/plain"}, []byte("lost"))
	msg, err = p.recv()
	if err != nil {
		t.Fatal(err)
	}
	ret, ok := msg.method.(*BasicReturn)
	if !ok || ret.ReplyCode != NoRoute || ret.ReplyText != ReplyName(NoRoute) || string(msg.body) != "lost" ||
		msg.props.ContentType != "text/plain" {
		t.Fatalf("basic.return: %+v %+v %q", msg.method, msg.props, msg.body)
	}
	if ack := expect[*BasicAck](p); ack.DeliveryTag != 2 {
		t.Errorf("confirm after return: %+v", ack)
	}

	send(t, p, 1, &BasicQos{PrefetchCount: 10})
	expect[*BasicQosOk](p)
	send(t, p, 1, &BasicConsume{Queue: queue, Arguments: Table{"x-priority": int32(5)}})
	tag := expect[*BasicConsumeOk](p).ConsumerTag
	if !strings.HasPrefix(tag, "amq.ctag-") {
		t.Errorf("consumer tag %q", tag)
	}
	publish(t, p, 1, &BasicPublish{Exchange: x}, Properties{Flags: FlagHeaders, Headers: Table{"route": "yes"}}, nil)
	var deliver *BasicDeliver
	var confirmed bool
	for deliver == nil || !confirmed { // the delivery and the confirm may come in either order
		msg, err := p.recv()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.method.(type) {
		case *BasicDeliver:
			deliver = m
			if len(msg.body) != 0 || msg.props.Headers["route"] != "yes" {
				t.Errorf("empty-body delivery: %+v %q", msg.props, msg.body)
			}
		case *BasicAck:
			confirmed = m.DeliveryTag == 3
		default:
			t.Fatalf("unexpected %s", m.Name())
		}
	}
	if deliver.ConsumerTag != tag || deliver.Exchange != x || deliver.Redelivered {
		t.Errorf("basic.deliver: %+v", deliver)
	}
	send(t, p, 1, &BasicNack{DeliveryTag: deliver.DeliveryTag, Requeue: false})
	send(t, p, 1, &BasicCancel{ConsumerTag: tag})
	expect[*BasicCancelOk](p)
	send(t, p, 1, &BasicRecover{Requeue: true})
	expect[*BasicRecoverOk](p)

	send(t, p, 1, &ExchangeUnbind{Destination: x, Source: src, RoutingKey: "ignored"})
	expect[*ExchangeUnbindOk](p)
	send(t, p, 1, &QueueUnbind{Queue: queue, Exchange: x, Arguments: Table{"x-match": "any", "route": "yes"}})
	expect[*QueueUnbindOk](p)
	send(t, p, 1, &QueuePurge{Queue: queue})
	expect[*QueuePurgeOk](p)
	send(t, p, 1, &ExchangeDelete{Exchange: src})
	expect[*ExchangeDeleteOk](p)
	send(t, p, 1, &ExchangeDelete{Exchange: x})
	expect[*ExchangeDeleteOk](p)
	send(t, p, 1, &QueueDelete{Queue: queue})
	expect[*QueueDeleteOk](p)
	send(t, p, 1, &ChannelFlow{Active: true})
	if !expect[*ChannelFlowOk](p).Active {
		t.Error("channel.flow-ok not active")
	}

	send(t, p, 2, &ChannelOpen{})
	expect[*ChannelOpenOk](p)
	send(t, p, 2, &TxSelect{})
	expect[*TxSelectOk](p)
	send(t, p, 2, &TxCommit{})
	expect[*TxCommitOk](p)
	send(t, p, 2, &TxRollback{})
	expect[*TxRollbackOk](p)

	// A soft error: RabbitMQ's reply text is what Errorf builds.
	const missing = "warren.wire.no-such-queue"
	send(t, p, 2, &QueueDeclare{Queue: missing, Passive: true})
	closed := expect[*ChannelClose](p)
	want := Errorf(NotFound, "no queue '%s' in vhost '%s'", missing, "/").For(&QueueDeclare{}).ChannelClose()
	if !reflect.DeepEqual(closed, want) {
		t.Errorf("channel.close\n got %+v\nwant %+v", closed, want)
	}
	send(t, p, 2, &ChannelCloseOk{})

	send(t, p, 1, &ChannelClose{ReplyCode: ReplySuccess, ReplyText: "bye"})
	expect[*ChannelCloseOk](p)
	send(t, p, 0, &ConnectionClose{ReplyCode: ReplySuccess, ReplyText: "bye"})
	expect[*ConnectionCloseOk](p)
}
