package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// fakeServer answers amqp091-go with this package's codec: it stores what is
// published and hands it back through basic.deliver and basic.get-ok.
type fakeServer struct {
	*peer
	published []message
	acks      []Method // basic.ack, basic.nack and basic.reject from the client
	client    Table    // client-properties of connection.start-ok
}

func (s *fakeServer) run() error {
	h, err := s.r.ReadProtocolHeader()
	if err != nil {
		return err
	}
	if h != ProtocolHeader {
		return fmt.Errorf("protocol header %q", h)
	}
	err = s.send(0, &ConnectionStart{VersionMajor: 0, VersionMinor: 9, ServerProperties: Table{
		"product": "warren-fake", "version": "0",
		"capabilities": Table{"publisher_confirms": true, "basic.nack": true, "consumer_cancel_notify": true,
			"exchange_exchange_bindings": true, "connection.blocked": true, "authentication_failure_close": true},
	}, Mechanisms: "PLAIN AMQPLAIN", Locales: "en_US"}, nil, nil)
	if err != nil {
		return err
	}
	msg, err := s.recv()
	if err != nil {
		return err
	}
	startOk, ok := msg.method.(*ConnectionStartOk)
	if !ok || startOk.Mechanism != "PLAIN" || startOk.Response != "\x00guest\x00guest" {
		return fmt.Errorf("start-ok: %+v", msg.method)
	}
	s.client = startOk.ClientProperties
	if err := s.send(0, &ConnectionTune{ChannelMax: 2047, FrameMax: 8192, Heartbeat: 0}, nil, nil); err != nil {
		return err
	}
	if msg, err = s.recv(); err != nil {
		return err
	}
	tuneOk, ok := msg.method.(*ConnectionTuneOk)
	if !ok || tuneOk.FrameMax != 8192 {
		return fmt.Errorf("tune-ok: %+v", msg.method)
	}
	s.setFrameMax(tuneOk.FrameMax)
	if msg, err = s.recv(); err != nil {
		return err
	}
	if open, ok := msg.method.(*ConnectionOpen); !ok || open.VirtualHost != "test" {
		return fmt.Errorf("open: %+v", msg.method)
	}
	if err := s.send(0, &ConnectionOpenOk{}, nil, nil); err != nil {
		return err
	}
	for {
		msg, err := s.recv()
		if err != nil {
			return err
		}
		reply, done, err := s.handle(msg)
		if err != nil {
			return err
		}
		if reply != nil {
			if err := s.send(msg.channel, reply, nil, nil); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

func (s *fakeServer) handle(msg message) (reply Method, done bool, err error) {
	switch m := msg.method.(type) {
	case *ChannelOpen:
		return &ChannelOpenOk{}, false, nil
	case *ConfirmSelect:
		return &ConfirmSelectOk{}, false, nil
	case *ExchangeDeclare:
		if m.Exchange != "ex" || m.Type != "headers" || !m.Durable || m.Arguments["alternate-exchange"] != "ae" {
			return nil, false, fmt.Errorf("exchange.declare %+v", m)
		}
		return &ExchangeDeclareOk{}, false, nil
	case *ExchangeBind:
		if m.Destination != "dst" || m.Source != "ex" || m.RoutingKey != "rk" {
			return nil, false, fmt.Errorf("exchange.bind %+v", m)
		}
		return &ExchangeBindOk{}, false, nil
	case *QueueDeclare:
		if m.Queue != "q" || !m.Exclusive || m.Arguments["x-max-length"] != int64(10) {
			return nil, false, fmt.Errorf("queue.declare %+v", m)
		}
		return &QueueDeclareOk{Queue: m.Queue, MessageCount: 0, ConsumerCount: 0}, false, nil
	case *QueueBind:
		return &QueueBindOk{}, false, nil
	case *BasicQos:
		if m.PrefetchCount != 7 {
			return nil, false, fmt.Errorf("basic.qos %+v", m)
		}
		return &BasicQosOk{}, false, nil
	case *BasicPublish:
		s.published = append(s.published, msg)
		return &BasicAck{DeliveryTag: uint64(len(s.published))}, false, nil
	case *BasicConsume:
		if err := s.send(msg.channel, &BasicConsumeOk{ConsumerTag: m.ConsumerTag}, nil, nil); err != nil {
			return nil, false, err
		}
		for i, p := range s.published {
			props := p.props
			deliver := &BasicDeliver{ConsumerTag: m.ConsumerTag, DeliveryTag: uint64(i + 1),
				Redelivered: i%2 == 1, Exchange: p.method.(*BasicPublish).Exchange, RoutingKey: p.method.(*BasicPublish).RoutingKey}
			if err := s.send(msg.channel, deliver, &props, p.body); err != nil {
				return nil, false, err
			}
		}
		return nil, false, nil
	case *BasicGet:
		if len(s.published) == 0 {
			return &BasicGetEmpty{}, false, nil
		}
		p := s.published[0]
		props := p.props
		return nil, false, s.send(msg.channel, &BasicGetOk{DeliveryTag: 99, Exchange: "ex", RoutingKey: "rk", MessageCount: 5}, &props, p.body)
	case *BasicAck, *BasicNack, *BasicReject:
		s.acks = append(s.acks, m)
		return nil, false, nil
	case *BasicCancel:
		return &BasicCancelOk{ConsumerTag: m.ConsumerTag}, false, nil
	case *ChannelClose:
		return &ChannelCloseOk{}, false, nil
	case *ConnectionClose:
		return &ConnectionCloseOk{}, true, nil
	}
	return nil, false, fmt.Errorf("unexpected %s", msg.method.Name())
}

// TestInteropAmqp091Go runs a real client against this package's codec in
// both directions: amqp091-go encodes what we decode and decodes what we
// encode, from the handshake to content with every property.
func TestInteropAmqp091Go(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	server := make(chan *fakeServer, 1)
	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		s := &fakeServer{peer: newPeer(t, conn)}
		err = s.run()
		server <- s
		serverErr <- err
	}()

	conn, err := amqp.DialConfig("amqp://guest:guest@"+ln.Addr().String()+"/test",
		amqp.Config{FrameSize: 8192, Heartbeat: 0, Properties: amqp.Table{"connection_name": "interop"}})
	if err != nil {
		t.Fatalf("dial: %v (server: %v)", err, drain(serverErr))
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	must(t, ch.Confirm(false))
	must(t, ch.ExchangeDeclare("ex", "headers", true, false, false, false, amqp.Table{"alternate-exchange": "ae"}))
	must(t, ch.ExchangeBind("dst", "rk", "ex", false, nil))
	if _, err := ch.QueueDeclare("q", false, false, true, false, amqp.Table{"x-max-length": int64(10)}); err != nil {
		t.Fatal(err)
	}
	must(t, ch.QueueBind("q", "rk", "ex", false, amqp.Table{"x-match": "all"}))
	must(t, ch.Qos(7, 0, false))

	ts := time.Unix(1700000000, 0)
	pub := amqp.Publishing{
		Headers: amqp.Table{
			"bool": true, "int8": int8(-8), "byte": byte(8), "int16": int16(-16), "uint16": uint16(16),
			"int32": int32(-32), "uint32": uint32(32), "int64": int64(-64), "float32": float32(3.5),
			"float64": float64(-6.25), "decimal": amqp.Decimal{Scale: 2, Value: 12345}, "string": "str",
			"bytes": []byte{1, 2, 3}, "time": ts, "void": nil,
			"table": amqp.Table{"inner": "v", "deeper": amqp.Table{"x": int32(1)}},
			"array": []any{"a", int32(1), amqp.Table{"k": false}, []any{}},
		},
		ContentType: "application/octet-stream", ContentEncoding: "identity", DeliveryMode: 2, Priority: 5,
		CorrelationId: "corr", ReplyTo: "reply", Expiration: "60000", MessageId: "mid", Timestamp: ts,
		Type: "type", UserId: "guest", AppId: "app",
		Body: bytes.Repeat([]byte("body-"), 5000), // 25000 octets: several body frames at frame-max 8192
	}
	for i := range 3 {
		dc, err := ch.PublishWithDeferredConfirm("ex", fmt.Sprint("rk", i), i == 1, false, pub)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := dc.WaitContext(t.Context()); !ok || err != nil {
			t.Fatalf("publish %d not confirmed: %v %v", i, ok, err)
		}
	}
	deliveries, err := ch.Consume("q", "ctag", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		var d amqp.Delivery
		select {
		case d = <-deliveries:
		case <-time.After(10 * time.Second):
			t.Fatalf("delivery %d not received", i)
		}
		if d.ConsumerTag != "ctag" || d.DeliveryTag != uint64(i+1) || d.Redelivered != (i%2 == 1) ||
			d.Exchange != "ex" || d.RoutingKey != fmt.Sprint("rk", i) {
			t.Errorf("delivery %d: %+v", i, d)
		}
		checkDelivery(t, d, pub)
		switch i {
		case 0:
			must(t, d.Ack(false))
		case 1:
			must(t, d.Nack(true, true))
		case 2:
			must(t, d.Reject(false))
		}
	}
	must(t, ch.Cancel("ctag", false))
	d, ok, err := ch.Get("q", false)
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	if d.DeliveryTag != 99 || d.MessageCount != 5 || d.Exchange != "ex" {
		t.Errorf("get-ok: %+v", d)
	}
	checkDelivery(t, d, pub)
	must(t, ch.Close())
	must(t, conn.Close())

	if err := drain(serverErr); err != nil {
		t.Fatalf("server: %v", err)
	}
	s := <-server
	if caps, ok := s.client["capabilities"].(Table); !ok || caps["basic.nack"] != true {
		t.Errorf("client-properties capabilities: %#v", s.client["capabilities"])
	}
	if s.client["connection_name"] != "interop" {
		t.Errorf("client-properties: %#v", s.client)
	}
	// What amqp091-go encoded, as we decoded it.
	want := Table{
		"bool": true, "int8": int8(-8), "byte": uint8(8), "int16": int16(-16), "uint16": uint16(16),
		"int32": int32(-32), "uint32": uint32(32), "int64": int64(-64), "float32": float32(3.5),
		"float64": float64(-6.25), "decimal": Decimal{Scale: 2, Value: 12345}, "string": "str",
		"bytes": []byte{1, 2, 3}, "time": ts.UTC(), "void": nil,
		"table": Table{"inner": "v", "deeper": Table{"x": int32(1)}},
		"array": []any{"a", int32(1), Table{"k": false}, []any{}},
	}
	p0 := s.published[0]
	if !reflect.DeepEqual(p0.props.Headers, want) {
		t.Errorf("published headers\n got %#v\nwant %#v", p0.props.Headers, want)
	}
	wantProps := Properties{Flags: propertyFlagsMask &^ FlagClusterID, ContentType: pub.ContentType,
		ContentEncoding: pub.ContentEncoding, Headers: want, DeliveryMode: 2, Priority: 5, CorrelationID: "corr",
		ReplyTo: "reply", Expiration: "60000", MessageID: "mid", Timestamp: uint64(ts.Unix()), Type: "type",
		UserID: "guest", AppID: "app"}
	if !reflect.DeepEqual(p0.props, wantProps) {
		t.Errorf("published properties\n got %#v\nwant %#v", p0.props, wantProps)
	}
	if !bytes.Equal(p0.body, pub.Body) {
		t.Errorf("published body: %d octets", len(p0.body))
	}
	if pm := s.published[1].method.(*BasicPublish); !pm.Mandatory || pm.Immediate || pm.RoutingKey != "rk1" {
		t.Errorf("publish flags: %+v", pm)
	}
	wantAcks := []Method{&BasicAck{DeliveryTag: 1}, &BasicNack{DeliveryTag: 2, Multiple: true, Requeue: true}, &BasicReject{DeliveryTag: 3}}
	if !reflect.DeepEqual(s.acks, wantAcks) {
		t.Errorf("acks %#v, want %#v", s.acks, wantAcks)
	}
}

// checkDelivery compares what amqp091-go decoded from our encoding with what
// it published.
// amqp091-go decodes an empty array as nil, which is all that may differ.
func checkDelivery(t *testing.T, d amqp.Delivery, pub amqp.Publishing) {
	t.Helper()
	want := amqp.Table{}
	for k, v := range pub.Headers {
		want[k] = v
	}
	want["array"] = []any{"a", int32(1), amqp.Table{"k": false}, []any(nil)}
	if !reflect.DeepEqual(d.Headers, want) {
		t.Errorf("delivered headers\n got %#v\nwant %#v", d.Headers, want)
	}
	if d.ContentType != pub.ContentType || d.ContentEncoding != pub.ContentEncoding || d.DeliveryMode != pub.DeliveryMode ||
		d.Priority != pub.Priority || d.CorrelationId != pub.CorrelationId || d.ReplyTo != pub.ReplyTo ||
		d.Expiration != pub.Expiration || d.MessageId != pub.MessageId || !d.Timestamp.Equal(pub.Timestamp) ||
		d.Type != pub.Type || d.UserId != pub.UserId || d.AppId != pub.AppId || !bytes.Equal(d.Body, pub.Body) {
		t.Errorf("delivered properties differ: %+v", d)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// drain waits for the server goroutine's result.
func drain(errs <-chan error) error {
	select {
	case err := <-errs:
		return err
	case <-time.After(20 * time.Second):
		return errors.New("server goroutine did not finish")
	}
}
