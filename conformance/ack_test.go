package conformance

import (
	"fmt"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// msgGetN takes n messages from queue q with basic.get in ack mode and returns them.
func msgGetN(t testing.TB, ch *amqp.Channel, q string, n int) []amqp.Delivery {
	t.Helper()
	ms := make([]amqp.Delivery, n)
	for i := range ms {
		ms[i] = msgGet(t, ch, q, false)
	}
	return ms
}

// msgDrainFlagged takes every ready message from queue q (no-ack) and returns each as
// "body" or "body*" when it is flagged redelivered.
func msgDrainFlagged(t testing.TB, ch *amqp.Channel, q string) []string {
	t.Helper()
	var got []string
	for {
		m, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatalf("basic.get %s: %v", q, err)
		}
		if !ok {
			return got
		}
		s := string(m.Body)
		if m.Redelivered {
			s += "*"
		}
		got = append(got, s)
	}
}

// msgCloseAndDrain closes ch, waits until queue q holds want messages again (the
// channel's unacked messages are requeued) and drains it through a new channel on c.
func msgCloseAndDrain(t testing.TB, c *amqp.Connection, ch *amqp.Channel, q string, want int) []string {
	t.Helper()
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	other := msgChannel(t, c)
	eventually(t, fmt.Sprintf("%d messages requeued", want), func() bool { return msgReady(t, other, q) == want })
	return msgDrainFlagged(t, other, q)
}

// TestAckSingle pins basic.ack of one delivery: only that message is settled; the
// others come back, redelivered, when the channel closes.
func TestAckSingle(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 3)
	ms := msgGetN(t, ch, q, 3)
	if err := ms[1].Ack(false); err != nil {
		t.Fatal(err)
	}
	if got := msgCloseAndDrain(t, c, ch, q, 2); !msgSame(got, "1*", "3*") {
		t.Fatalf("after acking 2 and closing: %v, want [1* 3*]", got)
	}
}

// TestAckMultiple pins basic.ack with multiple=true: every delivery up to and including
// the tag is settled, later ones are not.
func TestAckMultiple(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 4)
	ms := msgGetN(t, ch, q, 4)
	if err := ch.Ack(ms[2].DeliveryTag, true); err != nil {
		t.Fatal(err)
	}
	if got := msgCloseAndDrain(t, c, ch, q, 1); !msgSame(got, "4*") {
		t.Fatalf("after acking up to 3 and closing: %v, want [4*]", got)
	}
}

// TestAckZeroMultiple pins basic.ack with delivery-tag 0 and multiple=true: it settles
// every outstanding delivery (and is accepted when there is none), while tag 0 with
// multiple=false is an unknown delivery tag.
func TestAckZeroMultiple(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	if err := ch.Ack(0, true); err != nil {
		t.Fatal(err)
	}
	msgPublishRange(t, ch, "", q, 1, 4)
	msgGetN(t, ch, q, 3)
	if err := ch.Ack(0, true); err != nil {
		t.Fatal(err)
	}
	msgGet(t, ch, q, false) // a sentinel left unacked: its requeue shows the close was handled
	if got := msgCloseAndDrain(t, c, ch, q, 1); !msgSame(got, "4*") {
		t.Fatalf("after ack 0 multiple and closing: %v, want only [4*]", got)
	}

	ch = msgChannel(t, c)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := ch.Ack(0, false); err != nil {
		t.Fatal(err)
	}
	msgExpectClose(t, closed, amqp.PreconditionFailed, "PRECONDITION_FAILED - unknown delivery tag 0")
}

// TestAckUnknownTag pins that basic.ack, basic.nack and basic.reject of a delivery tag
// never issued are a 406 PRECONDITION_FAILED channel close, connection left open.
func TestAckUnknownTag(t *testing.T) {
	t.Parallel()
	c, _ := openChannel(t)
	for what, op := range map[string]func(ch *amqp.Channel) error{
		"ack":           func(ch *amqp.Channel) error { return ch.Ack(99, false) },
		"ack multiple":  func(ch *amqp.Channel) error { return ch.Ack(99, true) },
		"nack":          func(ch *amqp.Channel) error { return ch.Nack(99, false, true) },
		"nack multiple": func(ch *amqp.Channel) error { return ch.Nack(99, true, false) },
		"reject":        func(ch *amqp.Channel) error { return ch.Reject(99, true) },
	} {
		ch := msgChannel(t, c)
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		if err := op(ch); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		msgExpectClose(t, closed, amqp.PreconditionFailed, "PRECONDITION_FAILED - unknown delivery tag 99")
	}
	if c.IsClosed() {
		t.Fatal("unknown delivery tag closed the connection")
	}
}

// TestAckTwice pins that acking an already acked delivery, or a no-ack delivery, is an
// unknown delivery tag (406 channel close).
func TestAckTwice(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 2)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	m := msgGet(t, ch, q, false)
	if err := m.Ack(false); err != nil {
		t.Fatal(err)
	}
	if err := m.Ack(false); err != nil {
		t.Fatal(err)
	}
	msgExpectClose(t, closed, amqp.PreconditionFailed, "PRECONDITION_FAILED - unknown delivery tag 1")

	ch = msgChannel(t, c)
	closed = ch.NotifyClose(make(chan *amqp.Error, 1))
	m = msgGet(t, ch, q, true)
	if err := ch.Ack(m.DeliveryTag, false); err != nil {
		t.Fatal(err)
	}
	msgExpectClose(t, closed, amqp.PreconditionFailed, fmt.Sprintf("PRECONDITION_FAILED - unknown delivery tag %d", m.DeliveryTag))
}

// TestNackRequeueOriginalPosition pins requeue ordering: a nacked or rejected message
// goes back to its original position in the queue, flagged redelivered, whatever order
// the requeues come in and whether or not later messages were taken.
func TestNackRequeueOriginalPosition(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)

	t.Run("all taken", func(t *testing.T) {
		q := msgDeclareQueue(t, ch)
		msgPublishRange(t, ch, "", q, 1, 5)
		ms := msgGetN(t, ch, q, 5)
		if err := ms[2].Nack(false, true); err != nil {
			t.Fatal(err)
		}
		if m := msgGet(t, ch, q, false); string(m.Body) != "3" || !m.Redelivered {
			t.Fatalf("after nack of 3 got %q redelivered=%v", m.Body, m.Redelivered)
		}
		ms[3].Nack(false, true)
		ms[1].Nack(false, true)
		if got := msgDrainFlagged(t, ch, q); !msgSame(got, "2*", "4*") {
			t.Fatalf("after nack of 4 then 2: %v, want [2* 4*]", got)
		}
	})

	t.Run("some taken", func(t *testing.T) {
		ch := msgChannel(t, c)
		q := msgDeclareQueue(t, ch)
		msgPublishRange(t, ch, "", q, 1, 5)
		ms := msgGetN(t, ch, q, 3)
		ms[2].Reject(true)
		ms[0].Reject(true)
		if got := msgDrainFlagged(t, ch, q); !msgSame(got, "1*", "3*", "4", "5") {
			t.Fatalf("after reject of 3 then 1: %v, want [1* 3* 4 5]", got)
		}
	})
}

// TestNackMultipleRequeue pins basic.nack with multiple=true and requeue=true: every
// delivery up to the tag is requeued in its original position, later ones stay unacked.
func TestNackMultipleRequeue(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 5)
	ms := msgGetN(t, ch, q, 4)
	if err := ch.Nack(ms[2].DeliveryTag, true, true); err != nil {
		t.Fatal(err)
	}
	if got := msgDrainFlagged(t, ch, q); !msgSame(got, "1*", "2*", "3*", "5") {
		t.Fatalf("after nack multiple of 1..3: %v, want [1* 2* 3* 5]", got)
	}
	if got := msgCloseAndDrain(t, c, ch, q, 1); !msgSame(got, "4*") {
		t.Fatalf("still unacked after nack multiple: %v, want [4*]", got)
	}
}

// TestNackDiscard pins basic.nack and basic.reject with requeue=false: the message is
// dropped (there is no dead-letter exchange), single or multiple.
func TestNackDiscard(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 5)
	ms := msgGetN(t, ch, q, 5)
	ms[0].Reject(false)
	ms[1].Nack(false, false)
	ch.Nack(ms[3].DeliveryTag, true, false)
	if got := msgCloseAndDrain(t, c, ch, q, 1); !msgSame(got, "5*") {
		t.Fatalf("after discarding 1..4: %v, want [5*]", got)
	}
}

// TestAckRequeueOnChannelClose pins that a consumer's unacked deliveries go back to the
// queue, in order and flagged redelivered, when its channel closes.
func TestAckRequeueOnChannelClose(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	cons := msgChannel(t, c)
	d := msgConsume(t, cons, q, "", false)
	msgPublishRange(t, ch, "", q, 1, 3)
	if got := msgReceiveBodies(t, d, 3); !msgSame(got, "1", "2", "3") {
		t.Fatalf("got %v", got)
	}
	if got := msgCloseAndDrain(t, c, cons, q, 3); !msgSame(got, "1*", "2*", "3*") {
		t.Fatalf("after closing the consumer's channel: %v, want [1* 2* 3*]", got)
	}
}

// TestAckRequeueOnConnectionClose pins that unacked deliveries go back to the queue,
// flagged redelivered, and reach another consumer when their connection closes.
func TestAckRequeueOnConnectionClose(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	gone, goneCh := openChannel(t)
	d := msgConsume(t, goneCh, q, "", false)
	msgPublishRange(t, ch, "", q, 1, 3)
	m := receive(t, d)
	if string(m.Body) != "1" || m.Redelivered {
		t.Fatalf("first delivery %q redelivered=%v", m.Body, m.Redelivered)
	}
	msgReceiveBodies(t, d, 2)
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	next := msgConsume(t, ch, q, "", true)
	for _, want := range []string{"1", "2", "3"} {
		if m := receive(t, next); string(m.Body) != want || !m.Redelivered {
			t.Fatalf("got %q redelivered=%v, want %s redelivered", m.Body, m.Redelivered, want)
		}
	}
}

// TestRecoverRequeue pins basic.recover with requeue=true: unacked messages are
// requeued in order and redelivered (to a consumer, under new delivery tags).
func TestRecoverRequeue(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 3)
	d := msgConsume(t, ch, q, "", false)
	for i := 1; i <= 3; i++ {
		if m := receive(t, d); m.DeliveryTag != uint64(i) || m.Redelivered {
			t.Fatalf("delivery %q tag %d redelivered=%v", m.Body, m.DeliveryTag, m.Redelivered)
		}
	}
	if err := ch.Recover(true); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		m := receive(t, d)
		if string(m.Body) != fmt.Sprint(i) || !m.Redelivered || m.DeliveryTag != uint64(3+i) {
			t.Fatalf("redelivery %q tag %d redelivered=%v, want %d tag %d redelivered", m.Body, m.DeliveryTag, m.Redelivered, i, 3+i)
		}
	}
}

// TestRecoverRequeueGet pins basic.recover with requeue=true for basic.get deliveries:
// they are back in the queue, in their positions, once recover-ok arrives.
func TestRecoverRequeueGet(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 3)
	msgGetN(t, ch, q, 2)
	if err := ch.Recover(true); err != nil {
		t.Fatal(err)
	}
	if got := msgDrainFlagged(t, ch, q); !msgSame(got, "1*", "2*", "3") {
		t.Fatalf("after recover: %v, want [1* 2* 3]", got)
	}
}

// TestRecoverNoRequeue pins that RabbitMQ refuses basic.recover with requeue=false with
// a 540 NOT_IMPLEMENTED connection close.
func TestRecoverNoRequeue(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	err := ch.Recover(false)
	expectAMQPError(t, err, amqp.NotImplemented, "NOT_IMPLEMENTED - requeue=false")
	msgExpectClose(t, closed, amqp.NotImplemented, "NOT_IMPLEMENTED - requeue=false")
}
