package conformance

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// msgPublish publishes body to exchange with routing key and fails the test if the
// client refuses. A later synchronous method on the same channel is ordered after it.
func msgPublish(t testing.TB, ch *amqp.Channel, exchange, key, body string) {
	t.Helper()
	if err := ch.Publish(exchange, key, false, false, amqp.Publishing{Body: []byte(body)}); err != nil {
		t.Fatalf("publish to %q/%q: %v", exchange, key, err)
	}
}

// msgPublishRange publishes the bodies "from".."to" (decimal numbers) in order.
func msgPublishRange(t testing.TB, ch *amqp.Channel, exchange, key string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		msgPublish(t, ch, exchange, key, strconv.Itoa(i))
	}
}

// msgPublishSettled puts ch in confirm mode, publishes bodies in order and waits for
// each one's confirm: by then every queue it was routed to has taken it (and handed it
// to a consumer with credit, if any), so counts and deliveries can be asserted.
func msgPublishSettled(t testing.TB, ch *amqp.Channel, exchange, key string, bodies ...string) {
	t.Helper()
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("confirm.select: %v", err)
	}
	for _, b := range bodies {
		dc, err := ch.PublishWithDeferredConfirm(exchange, key, false, false, amqp.Publishing{Body: []byte(b)})
		if err != nil {
			t.Fatalf("publish to %q/%q: %v", exchange, key, err)
		}
		msgWaitConfirm(t, dc, true)
	}
}

// msgGet performs basic.get on queue q and fails the test on get-empty.
func msgGet(t testing.TB, ch *amqp.Channel, q string, autoAck bool) amqp.Delivery {
	t.Helper()
	m, ok, err := ch.Get(q, autoAck)
	if err != nil {
		t.Fatalf("basic.get %s: %v", q, err)
	}
	if !ok {
		t.Fatalf("basic.get %s: get-empty, want a message", q)
	}
	return m
}

// msgExpectEmpty asserts that basic.get on queue q answers get-empty.
func msgExpectEmpty(t testing.TB, ch *amqp.Channel, q string) {
	t.Helper()
	m, ok, err := ch.Get(q, true)
	if err != nil {
		t.Fatalf("basic.get %s: %v", q, err)
	}
	if ok {
		t.Fatalf("basic.get %s: got %q, want get-empty", q, m.Body)
	}
}

// msgDrain takes every ready message from queue q with no-ack basic.get and returns
// their bodies in order.
func msgDrain(t testing.TB, ch *amqp.Channel, q string) []string {
	t.Helper()
	var bodies []string
	for {
		m, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatalf("basic.get %s: %v", q, err)
		}
		if !ok {
			return bodies
		}
		bodies = append(bodies, string(m.Body))
	}
}

// msgSame reports whether got is exactly want, in order.
func msgSame(got []string, want ...string) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(got, want)
}

// msgExpectClose waits for the error a NotifyClose channel reports and asserts its
// code and reason. After a method with no reply (a publish, an ack) only the close
// can tell; a synchronous probe on the channel would fail sooner when it stays
// open, but it races the close: once the client has answered close-ok, RabbitMQ
// takes the probe for a frame on a channel that is not open and closes the whole
// connection with 504.
func msgExpectClose(t testing.TB, closed <-chan *amqp.Error, code int, reason string) {
	t.Helper()
	select {
	case e, ok := <-closed:
		if !ok || e == nil {
			t.Fatalf("closed without an error, want %d %q", code, reason)
		}
		expectAMQPError(t, e, code, reason)
	case <-time.After(wait):
		t.Fatalf("no close within %v, want %d %q", wait, code, reason)
	}
}

// msgWaitConfirm waits for a publisher confirm and asserts whether it is an ack.
func msgWaitConfirm(t testing.TB, dc *amqp.DeferredConfirmation, ack bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got, err := dc.WaitContext(ctx)
	if err != nil {
		t.Fatalf("confirm of tag %d: %v", dc.DeliveryTag, err)
	}
	if got != ack {
		t.Fatalf("confirm of tag %d: ack=%v, want %v", dc.DeliveryTag, got, ack)
	}
}

// TestPublishMissingExchange pins that publishing to a missing exchange closes the
// channel with 404 and leaves the connection open.
func TestPublishMissingExchange(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	x := uniqueName(t)
	msgPublish(t, ch, x, "k", "m")
	msgExpectClose(t, closed, amqp.NotFound, "NOT_FOUND - no exchange '"+x+"' in vhost '/'")
	if c.IsClosed() {
		t.Fatal("a 404 on publish closed the connection")
	}
	msgChannel(t, c)
}

// TestPublishMandatoryUnroutable pins basic.return 312 NO_ROUTE for a mandatory message
// that no queue takes, through a named exchange and through the default exchange, with
// exchange, routing key, properties and body echoed.
func TestPublishMandatoryUnroutable(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	returns := ch.NotifyReturn(make(chan amqp.Return, 2))
	cases := []struct{ exchange, key string }{{"amq.direct", uniqueName(t)}, {"", uniqueName(t)}}
	for _, tc := range cases {
		pub := amqp.Publishing{Body: []byte("lost"), MessageId: "id-" + tc.exchange, Headers: amqp.Table{"h": "v"}}
		if err := ch.Publish(tc.exchange, tc.key, true, false, pub); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-returns:
			if r.ReplyCode != amqp.NoRoute || r.ReplyText != "NO_ROUTE" {
				t.Fatalf("return %d %q, want 312 NO_ROUTE", r.ReplyCode, r.ReplyText)
			}
			if r.Exchange != tc.exchange || r.RoutingKey != tc.key || string(r.Body) != "lost" ||
				r.MessageId != pub.MessageId || r.Headers["h"] != "v" {
				t.Fatalf("return %q/%q %q id=%q headers=%v, want %q/%q lost id=%q h=v",
					r.Exchange, r.RoutingKey, r.Body, r.MessageId, r.Headers, tc.exchange, tc.key, pub.MessageId)
			}
		case <-time.After(wait):
			t.Fatalf("no basic.return for %q/%q", tc.exchange, tc.key)
		}
	}
}

// TestPublishUnroutableDropped pins that a non-mandatory unroutable message is dropped
// silently: no basic.return and the channel stays open. The return of a mandatory
// marker published after it proves no return for it was sent first.
func TestPublishUnroutableDropped(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	returns := ch.NotifyReturn(make(chan amqp.Return, 2))
	msgPublish(t, ch, "amq.direct", uniqueName(t), "dropped")
	if err := ch.Publish("amq.direct", uniqueName(t), true, false, amqp.Publishing{Body: []byte("marker")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-returns:
		if string(r.Body) != "marker" {
			t.Fatalf("first basic.return is for %q, want the marker", r.Body)
		}
	case <-time.After(wait):
		t.Fatal("no basic.return for the marker")
	}
}

// TestPublishImmediate pins that RabbitMQ 3.x refuses immediate=true with a 540
// NOT_IMPLEMENTED connection close.
func TestPublishImmediate(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	q := msgDeclareQueue(t, ch)
	if err := ch.Publish("", q, false, true, amqp.Publishing{Body: []byte("now")}); err != nil {
		t.Fatal(err)
	}
	msgExpectClose(t, closed, amqp.NotImplemented, "NOT_IMPLEMENTED - immediate=true")
}

// msgAllFieldTypes returns a header table with every field-table value type
// amqp091-go can encode, each as amqp091-go decodes it back.
func msgAllFieldTypes() amqp.Table {
	return amqp.Table{
		"bool":    true,
		"uint8":   byte(200),
		"int8":    int8(-5),
		"int16":   int16(-300),
		"uint16":  uint16(65000),
		"int32":   int32(-70000),
		"uint32":  uint32(4000000000),
		"int64":   int64(-1) << 40,
		"float32": float32(1.5),
		"float64": float64(-2.25),
		"decimal": amqp.Decimal{Scale: 2, Value: 12345},
		"string":  "héllo, wörld",
		"bytes":   []byte{0, 1, 2, 255},
		"time":    time.Unix(1700000000, 0),
		"void":    nil,
		"array":   []any{int32(1), "two", true, nil, []any{"nested"}, amqp.Table{"k": "v"}},
		"table":   amqp.Table{"inner": "v", "n": int64(7), "deeper": amqp.Table{"x": int16(3)}},
		"empty":   "",
	}
}

// msgAllProperties returns a publishing with every basic property set.
func msgAllProperties(body []byte) amqp.Publishing {
	return amqp.Publishing{
		Headers:         msgAllFieldTypes(),
		ContentType:     "text/plain",
		ContentEncoding: "gzip",
		DeliveryMode:    amqp.Transient,
		Priority:        7,
		CorrelationId:   "corr-1",
		ReplyTo:         "reply-q",
		Expiration:      "600000",
		MessageId:       "mid-1",
		Timestamp:       time.Unix(1600000000, 0),
		Type:            "type-1",
		UserId:          "guest",
		AppId:           "app-1",
		Body:            body,
	}
}

// msgCheckProperties asserts that a delivery carries exactly the properties of p.
func msgCheckProperties(t testing.TB, how string, m amqp.Delivery, p amqp.Publishing) {
	t.Helper()
	got := amqp.Publishing{
		Headers: m.Headers, ContentType: m.ContentType, ContentEncoding: m.ContentEncoding,
		DeliveryMode: m.DeliveryMode, Priority: m.Priority, CorrelationId: m.CorrelationId,
		ReplyTo: m.ReplyTo, Expiration: m.Expiration, MessageId: m.MessageId,
		Timestamp: m.Timestamp, Type: m.Type, UserId: m.UserId, AppId: m.AppId, Body: m.Body,
	}
	for k, v := range p.Headers {
		if gv, ok := got.Headers[k]; !ok || !reflect.DeepEqual(gv, v) {
			t.Errorf("%s: header %q: sent %T %#v, got %T %#v", how, k, v, v, gv, gv)
		}
	}
	if len(got.Headers) != len(p.Headers) {
		t.Errorf("%s: %d headers, sent %d", how, len(got.Headers), len(p.Headers))
	}
	got.Headers, p.Headers = nil, nil
	got.Timestamp, p.Timestamp = got.Timestamp.UTC(), p.Timestamp.UTC()
	if !reflect.DeepEqual(got, p) {
		t.Errorf("%s: properties\n got %+v\nwant %+v", how, got, p)
	}
}

// TestPublishPropertiesAndHeaders pins that every basic property and every field-table
// value type in the headers arrive unchanged, through basic.get and basic.deliver.
func TestPublishPropertiesAndHeaders(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	p := msgAllProperties([]byte("with properties"))
	for i := 0; i < 2; i++ {
		if err := ch.Publish("", q, false, false, p); err != nil {
			t.Fatal(err)
		}
	}
	msgCheckProperties(t, "basic.get", msgGet(t, ch, q, true), p)
	d, err := ch.Consume(q, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgCheckProperties(t, "basic.deliver", receive(t, d), p)
}

// TestPublishNoProperties pins that a message published with no properties at all
// arrives with none.
func TestPublishNoProperties(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublish(t, ch, "", q, "bare")
	msgCheckProperties(t, "basic.get", msgGet(t, ch, q, true), amqp.Publishing{Body: []byte("bare")})
}

// TestPublishEmptyBody pins that a message with an empty body (a content header with
// body-size 0 and no body frame) is delivered with an empty body.
func TestPublishEmptyBody(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	if err := ch.Publish("", q, false, false, amqp.Publishing{MessageId: "empty"}); err != nil {
		t.Fatal(err)
	}
	msgPublish(t, ch, "", q, "after")
	m := msgGet(t, ch, q, true)
	if len(m.Body) != 0 || m.MessageId != "empty" {
		t.Fatalf("got body %q id %q, want an empty body with id empty", m.Body, m.MessageId)
	}
	if m := msgGet(t, ch, q, true); string(m.Body) != "after" {
		t.Fatalf("next message %q, want after", m.Body)
	}
}

// TestPublishLargeBody pins that a 1 MiB body, split over many body frames by the
// negotiated frame-max, arrives intact through basic.get and basic.deliver.
func TestPublishLargeBody(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	body := make([]byte, 1<<20)
	for i := range body {
		body[i] = byte(i*7 + i>>11)
	}
	if fm := c.Config.FrameSize; fm <= 0 || fm >= len(body)/4 {
		t.Fatalf("negotiated frame-max %d does not split a %d-byte body", fm, len(body))
	}
	q := msgDeclareQueue(t, ch)
	for i := 0; i < 2; i++ {
		if err := ch.Publish("", q, false, false, amqp.Publishing{Body: body, MessageId: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if m := msgGet(t, ch, q, true); !bytes.Equal(m.Body, body) || m.MessageId != "0" {
		t.Fatalf("basic.get: %d bytes (id %q), want the %d sent", len(m.Body), m.MessageId, len(body))
	}
	d, err := ch.Consume(q, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := receive(t, d); !bytes.Equal(m.Body, body) || m.MessageId != "1" {
		t.Fatalf("basic.deliver: %d bytes (id %q), want the %d sent", len(m.Body), m.MessageId, len(body))
	}
}

// TestPublishUserIdMismatch pins that a user-id property other than the connection's
// user is refused with a 406 channel close.
func TestPublishUserIdMismatch(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	user, err := amqp.ParseURI(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := ch.Publish("amq.direct", "k", false, false, amqp.Publishing{UserId: "not-" + user.Username}); err != nil {
		t.Fatal(err)
	}
	msgExpectClose(t, closed, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - user_id property set to 'not-"+user.Username+"' but authenticated user was '"+user.Username+"'")
	if c.IsClosed() {
		t.Fatal("user-id mismatch closed the connection")
	}
}
