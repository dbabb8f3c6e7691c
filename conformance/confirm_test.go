package conformance

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// msgConfirming puts ch in confirm mode and returns a listener for its confirms, with
// room for n of them.
func msgConfirming(t testing.TB, ch *amqp.Channel, n int) <-chan amqp.Confirmation {
	t.Helper()
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("confirm.select: %v", err)
	}
	return confirms
}

// msgNextConfirm waits for the next confirm.
func msgNextConfirm(t testing.TB, confirms <-chan amqp.Confirmation) amqp.Confirmation {
	t.Helper()
	select {
	case c, ok := <-confirms:
		if !ok {
			t.Fatal("confirm listener closed")
		}
		return c
	case <-time.After(wait):
		t.Fatal("no confirm within", wait)
	}
	return amqp.Confirmation{}
}

// TestConfirmAcksInOrder pins publisher confirms: after confirm.select every publish is
// acked, delivery tags count from 1 on each channel, and the client sees them in order
// (RabbitMQ may ack several at once with multiple=true; amqp091-go expands those).
func TestConfirmAcksInOrder(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	const n = 50
	confirms := msgConfirming(t, ch, n)
	for i := 0; i < n; i++ {
		msgPublish(t, ch, "", q, "m")
	}
	for i := 1; i <= n; i++ {
		if cf := msgNextConfirm(t, confirms); cf.DeliveryTag != uint64(i) || !cf.Ack {
			t.Fatalf("confirm %d: tag %d ack=%v", i, cf.DeliveryTag, cf.Ack)
		}
	}
	if got := msgReady(t, ch, q); got != n {
		t.Fatalf("%d messages in the queue after %d acks", got, n)
	}

	other := msgChannel(t, c)
	oc := msgConfirming(t, other, 1)
	msgPublish(t, other, "", q, "m")
	if cf := msgNextConfirm(t, oc); cf.DeliveryTag != 1 || !cf.Ack {
		t.Fatalf("second channel's first confirm: tag %d ack=%v, want 1 ack", cf.DeliveryTag, cf.Ack)
	}
}

// TestConfirmDeferred pins confirms through PublishWithDeferredConfirm: tags 1, 2, 3
// and each acked; confirm.select on a channel already confirming is accepted.
func TestConfirmDeferred(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	for i := 0; i < 2; i++ {
		if err := ch.Confirm(false); err != nil {
			t.Fatalf("confirm.select #%d: %v", i+1, err)
		}
	}
	var dcs []*amqp.DeferredConfirmation
	for i := 0; i < 3; i++ {
		dc, err := ch.PublishWithDeferredConfirm("", q, false, false, amqp.Publishing{Body: []byte("m")})
		if err != nil {
			t.Fatal(err)
		}
		if dc.DeliveryTag != uint64(i+1) {
			t.Fatalf("publish %d has tag %d", i+1, dc.DeliveryTag)
		}
		dcs = append(dcs, dc)
	}
	for _, dc := range dcs {
		msgWaitConfirm(t, dc, true)
	}
}

// TestConfirmUnroutable pins that a message no queue takes is still acked: non-mandatory
// unroutable, mandatory unroutable, and routed to several queues (one ack).
func TestConfirmUnroutable(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "fanout")
	msgBoundQueue(t, ch, x, "", nil)
	msgBoundQueue(t, ch, x, "", nil)
	confirms := msgConfirming(t, ch, 4)
	ch.NotifyReturn(make(chan amqp.Return, 1))
	msgPublish(t, ch, "amq.direct", uniqueName(t), "unroutable")
	if err := ch.Publish("amq.direct", uniqueName(t), true, false, amqp.Publishing{Body: []byte("mandatory")}); err != nil {
		t.Fatal(err)
	}
	msgPublish(t, ch, x, "", "two queues")
	for i := 1; i <= 3; i++ {
		if cf := msgNextConfirm(t, confirms); cf.DeliveryTag != uint64(i) || !cf.Ack {
			t.Fatalf("confirm %d: tag %d ack=%v", i, cf.DeliveryTag, cf.Ack)
		}
	}
	msgPublish(t, ch, x, "", "marker")
	if cf := msgNextConfirm(t, confirms); cf.DeliveryTag != 4 {
		t.Fatalf("confirm after the marker has tag %d, want 4 (one ack per publish)", cf.DeliveryTag)
	}
}

// TestConfirmReturnBeforeAck pins that for a mandatory unroutable message in confirm
// mode, basic.return reaches the client before the basic.ack. The return listener is
// unbuffered, so amqp091-go cannot hand over the ack while the return is pending.
func TestConfirmReturnBeforeAck(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	returns := ch.NotifyReturn(make(chan amqp.Return))
	confirms := msgConfirming(t, ch, 1)
	key := uniqueName(t)
	if err := ch.Publish("amq.direct", key, true, false, amqp.Publishing{Body: []byte("back")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-returns:
		if r.ReplyCode != amqp.NoRoute || r.RoutingKey != key {
			t.Fatalf("return %d %q for %q", r.ReplyCode, r.ReplyText, r.RoutingKey)
		}
	case cf := <-confirms:
		t.Fatalf("confirm (tag %d) arrived before the basic.return", cf.DeliveryTag)
	case <-time.After(wait):
		t.Fatal("no basic.return")
	}
	if cf := msgNextConfirm(t, confirms); cf.DeliveryTag != 1 || !cf.Ack {
		t.Fatalf("confirm tag %d ack=%v, want 1 ack", cf.DeliveryTag, cf.Ack)
	}
}
