package conformance

// Consumer extensions: single active consumer (x-single-active-consumer) and the
// consumer cancel notification (basic.cancel from the server), which RabbitMQ sends
// only to clients that advertise the consumer_cancel_notify capability.

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// extSAC is the argument that makes a queue single-active-consumer.
var extSAC = amqp.Table{"x-single-active-consumer": true}

// TestExtSingleActiveConsumerArgument pins the 406 texts for a non-boolean
// x-single-active-consumer, and that false is accepted.
func TestExtSingleActiveConsumerArgument(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	for _, tc := range []struct {
		value any
		kind  string
	}{{"true", "longstr"}, {int32(1), "signedint"}} {
		q := uniqueName(t)
		extDeclareRefused(t, c, q, amqp.Table{"x-single-active-consumer": tc.value}, amqp.PreconditionFailed,
			"PRECONDITION_FAILED - invalid arg 'x-single-active-consumer' for queue '"+q+"' in vhost '/': {unacceptable_type,"+tc.kind+"}")
	}
	extQueue(t, ch, amqp.Table{"x-single-active-consumer": false})
}

// TestExtSingleActiveConsumer pins that only the first consumer of a
// single-active-consumer queue receives messages, even when it is out of prefetch
// credit and another one has plenty and a higher consumer priority (RabbitMQ 3.10
// ignores x-priority here); declare-ok counts all registered consumers.
func TestExtSingleActiveConsumer(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, extSAC)
	first, second := msgChannel(t, c), msgChannel(t, c)
	if err := first.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	d1 := msgConsume(t, first, q, "first", false)
	d2, err := second.Consume(q, "second", false, false, false, false, amqp.Table{"x-priority": int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	extSettle(t, extConfirming(t, c), "", q, extBody("1"), extBody("2"), extBody("3"))
	if got := msgReceiveBodies(t, d1, 2); !msgSame(got, "1", "2") {
		t.Fatalf("active consumer got %v, want [1 2]", got)
	}
	st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 1 || st.Consumers != 2 {
		t.Fatalf("declare-ok: %d messages, %d consumers; want 1, 2", st.Messages, st.Consumers)
	}
	if _, err := second.QueueDeclarePassive(q, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	extNoDelivery(t, d2, "the waiting consumer")
}

// TestExtSingleActiveConsumerCancel pins the hand-over on basic.cancel: the next
// consumer in subscription order becomes active and gets the new messages; the
// unacknowledged messages of the cancelled one, once it requeues them, go to the new
// active consumer ahead of the rest. (RabbitMQ 3.10 mishandles an active consumer that
// is cancelled and then acks what it holds, so that is not tested.)
func TestExtSingleActiveConsumerCancel(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	pub := extConfirming(t, c)

	t.Run("nothing_unacked", func(t *testing.T) {
		q := extQueue(t, ch, extSAC)
		a, b, third := msgChannel(t, c), msgChannel(t, c), msgChannel(t, c)
		da := msgConsume(t, a, q, "a", true)
		db := msgConsume(t, b, q, "b", true)
		dc := msgConsume(t, third, q, "c", true)
		extSettle(t, pub, "", q, extBody("to-a"))
		if m := receive(t, da); string(m.Body) != "to-a" {
			t.Fatalf("first consumer got %q", m.Body)
		}
		if err := a.Cancel("a", false); err != nil {
			t.Fatal(err)
		}
		extSettle(t, pub, "", q, extBody("to-b1"), extBody("to-b2"))
		if got := msgReceiveBodies(t, db, 2); !msgSame(got, "to-b1", "to-b2") {
			t.Fatalf("second consumer got %v", got)
		}
		if _, err := third.QueueDeclarePassive(q, false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		extNoDelivery(t, dc, "the third consumer")
	})
	t.Run("requeued_after_cancel", func(t *testing.T) {
		q := extQueue(t, ch, extSAC)
		a, b := msgChannel(t, c), msgChannel(t, c)
		if err := a.Qos(1, 0, false); err != nil {
			t.Fatal(err)
		}
		da := msgConsume(t, a, q, "a", false)
		db := msgConsume(t, b, q, "b", false)
		extSettle(t, pub, "", q, extBody("1"), extBody("2"), extBody("3"))
		held := receive(t, da)
		if err := a.Cancel("a", false); err != nil {
			t.Fatal(err)
		}
		if err := held.Nack(false, true); err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := 0; i < 3; i++ {
			m := receive(t, db)
			s := string(m.Body)
			if m.Redelivered {
				s += "*"
			}
			got = append(got, s)
		}
		if !msgSame(got, "1*", "2", "3") {
			t.Fatalf("new active consumer got %v, want [1* 2 3]", got)
		}
	})
}

// TestExtSingleActiveConsumerConnectionClose pins the hand-over when the active
// consumer's connection closes: its unacknowledged messages are requeued and
// delivered, redelivered, to the next consumer, ahead of the rest.
func TestExtSingleActiveConsumerConnectionClose(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, extSAC)
	other, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	a := msgChannel(t, other)
	if err := a.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	da := msgConsume(t, a, q, "a", false)
	db := msgConsume(t, msgChannel(t, c), q, "b", false)
	extSettle(t, extConfirming(t, c), "", q, extBody("1"), extBody("2"), extBody("3"))
	receive(t, da)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 3; i++ {
		m := receive(t, db)
		s := string(m.Body)
		if m.Redelivered {
			s += "*"
		}
		got = append(got, s)
	}
	if !msgSame(got, "1*", "2", "3") {
		t.Fatalf("next consumer got %v, want [1* 2 3]", got)
	}
}

// TestExtSingleActiveConsumerExclusive pins that an exclusive basic.consume on a
// single-active-consumer queue is refused with 403 "in exclusive use", even when the
// queue has no consumer.
func TestExtSingleActiveConsumerExclusive(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, extSAC)
	_, err := msgChannel(t, c).Consume(q, "", false, true, false, false, nil)
	extExpectError(t, err, amqp.AccessRefused, "ACCESS_REFUSED - queue '"+q+"' in vhost '/' in exclusive use")
	msgConsume(t, ch, q, "plain", false)
	_, err = msgChannel(t, c).Consume(q, "", false, true, false, false, nil)
	extExpectError(t, err, amqp.AccessRefused, "ACCESS_REFUSED - queue '"+q+"' in vhost '/' in exclusive use")
}

// extRawConsumeArgs encodes basic.consume arguments (ack mode, not exclusive, no
// arguments).
func extRawConsumeArgs(queue, tag string) []byte {
	var e rawEncoder
	e.short(0)
	e.shortstr(queue)
	e.shortstr(tag)
	e.bits(false, false, false, false)
	e.long(0)
	return e.b
}

// extRawPassiveDeclareArgs encodes a passive exchange.declare of amq.direct, a
// harmless round trip.
func extRawPassiveDeclareArgs() []byte {
	var e rawEncoder
	e.short(0)
	e.shortstr("amq.direct")
	e.shortstr("direct")
	e.bits(true, false, false, false, false)
	e.long(0)
	return e.b
}

// TestExtConsumerCancelNotify pins the server's basic.cancel when a consumer's queue
// is deleted: to a client that advertised the consumer_cancel_notify capability it
// sends basic.cancel with the consumer tag and no-wait set (the channel stays open); to
// one that did not, it sends nothing.
func TestExtConsumerCancelNotify(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)

	// rawOpen advertises consumer_cancel_notify.
	q := extQueue(t, ch, nil)
	rc, _ := rawOpen(t, rawOptions{})
	rc.openChannel(1)
	rc.sendMethod(1, rawBasic, 20, extRawConsumeArgs(q, "notified"))
	rc.expectMethod(1, rawBasic, 21)
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	m := rc.expectMethod(1, rawBasic, 30) // basic.cancel
	d := rawDecoder{b: m.Args}
	tag, bits := d.shortstr(), d.octet()
	if d.err != nil || tag != "notified" || bits != 1 {
		t.Fatalf("basic.cancel: tag %q, bits %#x (%v); want notified, no-wait set", tag, bits, d.err)
	}
	rc.sendMethod(1, rawExchange, 10, extRawPassiveDeclareArgs())
	rc.expectMethod(1, rawExchange, 11)

	// msgRawDial sends empty client-properties: no capabilities.
	q = extQueue(t, ch, nil)
	plain := msgRawDial(t)
	plain.openChannel(1)
	plain.consume(1, q, "silent")
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	plain.send(1, rawExchange, 10, extRawPassiveDeclareArgs())
	if args := plain.expect(1, rawExchange, 11); len(args) != 0 {
		t.Fatalf("exchange.declare-ok with arguments %x", args)
	}
}
