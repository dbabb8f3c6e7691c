package conformance

// Priorities: priority queues (x-max-priority and the priority property) and consumer
// priorities (x-priority on basic.consume).

import (
	"fmt"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// extPrioritized is a publishing with body b and priority p.
func extPrioritized(b string, p uint8) amqp.Publishing {
	return amqp.Publishing{Body: []byte(b), Priority: p}
}

// TestExtPriorityArgumentErrors pins the 406 texts for invalid x-max-priority values
// (above 255, negative, not an integer), that 0 to 255 are accepted, and the 406 for
// redeclaring a priority queue with another maximum.
func TestExtPriorityArgumentErrors(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	for _, tc := range []struct {
		value  any
		detail string
	}{
		{int32(256), "{max_value_exceeded,256}"},
		{int64(1000), "{max_value_exceeded,1000}"},
		{int32(-1), "{value_negative,-1}"},
		{"abc", `"expected integer, got longstr"`},
		{float64(5), `"expected integer, got double"`},
	} {
		q := uniqueName(t)
		extDeclareRefused(t, c, q, amqp.Table{"x-max-priority": tc.value}, amqp.PreconditionFailed,
			"PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '"+q+"' in vhost '/': "+tc.detail)
	}
	for _, v := range []any{int32(0), int8(1), int32(255)} {
		extQueue(t, ch, amqp.Table{"x-max-priority": v})
	}
	q := extQueue(t, ch, amqp.Table{"x-max-priority": int32(5)})
	extDeclareRefused(t, c, q, amqp.Table{"x-max-priority": int32(10)}, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue '"+q+"' in vhost '/': received '10' but current is '5'")
}

// TestExtPriorityOrder pins delivery order in a priority queue: higher priority
// first, first in first out within a priority, no priority property counting as 0, and
// a priority above x-max-priority treated as the maximum (the property itself is
// delivered as sent).
func TestExtPriorityOrder(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-max-priority": int32(5)})
	prios := []uint8{0, 3, 5, 9, 3, 255, 0, 1}
	var ps []amqp.Publishing
	for i, p := range prios {
		ps = append(ps, extPrioritized(fmt.Sprintf("%d-p%d", i, p), p))
	}
	extSettle(t, extConfirming(t, c), "", q, ps...)
	var got []string
	for {
		m, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%s(%d)", m.Body, m.Priority))
	}
	want := []string{"2-p5(5)", "3-p9(9)", "5-p255(255)", "1-p3(3)", "4-p3(3)", "7-p1(1)", "0-p0(0)", "6-p0(0)"}
	if !msgSame(got, want...) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

// TestExtPriorityToConsumer pins that messages that wait while a consumer has no
// credit are delivered to it highest priority first once it acks.
func TestExtPriorityToConsumer(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-max-priority": int32(10)})
	pub := extConfirming(t, c)
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	d := msgConsume(t, ch, q, "", false)
	extSettle(t, pub, "", q, extPrioritized("first", 0))
	m := receive(t, d)
	extSettle(t, pub, "", q, extPrioritized("low", 1), extPrioritized("high", 9), extPrioritized("mid", 5))
	var got []string
	for i := 0; i < 3; i++ {
		if err := m.Ack(false); err != nil {
			t.Fatal(err)
		}
		m = receive(t, d)
		got = append(got, string(m.Body))
	}
	if !msgSame(got, "high", "mid", "low") {
		t.Fatalf("consumer got %v, want [high mid low]", got)
	}
}

// TestExtPriorityRequeue pins that a requeued message goes back to its place within
// its own priority, ahead of later messages of that priority.
func TestExtPriorityRequeue(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-max-priority": int32(5)})
	extSettle(t, extConfirming(t, c), "", q,
		extPrioritized("a1", 1), extPrioritized("b1", 1), extPrioritized("a2", 2), extPrioritized("b2", 2))
	ms := msgGetN(t, ch, q, 3)
	if got := extBodies(ms); !msgSame(got, "a2", "b2", "a1") {
		t.Fatalf("got %v, want [a2 b2 a1]", got)
	}
	for _, m := range []amqp.Delivery{ms[0], ms[2]} {
		if err := m.Nack(false, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := msgDrainFlagged(t, ch, q); !msgSame(got, "a2*", "a1*", "b1") {
		t.Fatalf("after requeue got %v, want [a2* a1* b1]", got)
	}
}

// TestExtPriorityIgnoredWithoutMaximum pins that the priority property does not
// reorder a queue declared without x-max-priority, nor one with x-max-priority 0.
func TestExtPriorityIgnoredWithoutMaximum(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	pub := extConfirming(t, c)
	for _, args := range []amqp.Table{nil, {"x-max-priority": int32(0)}} {
		q := extQueue(t, ch, args)
		extSettle(t, pub, "", q, extPrioritized("a", 0), extPrioritized("b", 9), extPrioritized("c", 5))
		if got := msgDrain(t, ch, q); !msgSame(got, "a", "b", "c") {
			t.Fatalf("queue with %v delivered %v, want [a b c]", args, got)
		}
	}
}

// TestExtPriorityMaxLengthDropsHead pins that drop-head in a priority queue drops the
// message at the head, the one that would be delivered next: the highest priority.
func TestExtPriorityMaxLengthDropsHead(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-max-priority": int32(5), "x-max-length": int32(2)})
	extSettle(t, extConfirming(t, c), "", q, extPrioritized("p5", 5), extPrioritized("p1", 1), extPrioritized("p3", 3))
	if got := msgDrain(t, ch, q); !msgSame(got, "p3", "p1") {
		t.Fatalf("queue holds %v, want [p3 p1] (p5 dropped from the head)", got)
	}
}

// TestExtConsumerPriorityArgumentErrors pins the 406 for a non-integer x-priority on
// basic.consume (the text names the queue), and that any integer is accepted.
func TestExtConsumerPriorityArgumentErrors(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	for _, tc := range []struct {
		value  any
		detail string
	}{
		{"abc", `"expected integer, got longstr"`},
		{float64(1), `"expected integer, got double"`},
	} {
		_, err := msgChannel(t, c).Consume(q, "", false, false, false, false, amqp.Table{"x-priority": tc.value})
		extExpectError(t, err, amqp.PreconditionFailed,
			"PRECONDITION_FAILED - invalid arg 'x-priority' for queue '"+q+"' in vhost '/': "+tc.detail)
	}
	for _, v := range []any{int32(-5), int64(1) << 40, int8(3)} {
		if _, err := msgChannel(t, c).Consume(q, "", false, false, false, false, amqp.Table{"x-priority": v}); err != nil {
			t.Fatalf("x-priority %v refused: %v", v, err)
		}
	}
}

// TestExtConsumerPriorityHigherFirst pins that a higher-priority consumer gets the
// messages while it has prefetch credit, whatever the order of subscription, and that
// a lower-priority one gets what the higher one cannot take.
func TestExtConsumerPriorityHigherFirst(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	lo, hi := msgChannel(t, c), msgChannel(t, c)
	if err := hi.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	dl, err := lo.Consume(q, "lo", false, false, false, false, amqp.Table{"x-priority": int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	dh, err := hi.Consume(q, "hi", false, false, false, false, amqp.Table{"x-priority": int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	extSettle(t, extConfirming(t, c), "", q, extBody("0"), extBody("1"), extBody("2"), extBody("3"), extBody("4"))
	if got := msgReceiveBodies(t, dh, 2); !msgSame(got, "0", "1") {
		t.Fatalf("high-priority consumer got %v, want [0 1]", got)
	}
	if got := msgReceiveBodies(t, dl, 3); !msgSame(got, "2", "3", "4") {
		t.Fatalf("low-priority consumer got %v, want [2 3 4]", got)
	}
}

// TestExtConsumerPriorityBlocked pins that while the highest-priority consumer is
// blocked (no prefetch credit) a lower one gets the messages, and that the higher one
// gets them again as soon as it has credit.
func TestExtConsumerPriorityBlocked(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	hi, lo := msgChannel(t, c), msgChannel(t, c)
	if err := hi.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	dh, err := hi.Consume(q, "hi", false, false, false, false, amqp.Table{"x-priority": int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := lo.Consume(q, "lo", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extBody("m1"))
	m := receive(t, dh)
	extSettle(t, pub, "", q, extBody("m2"))
	if got := receive(t, dl); string(got.Body) != "m2" {
		t.Fatalf("low-priority consumer got %q, want m2", got.Body)
	}
	if err := m.Ack(false); err != nil {
		t.Fatal(err)
	}
	// Published on the acking channel, so the queue sees the ack first.
	extPublish(t, hi, "", q, extBody("m3"))
	if got := receive(t, dh); string(got.Body) != "m3" {
		t.Fatalf("high-priority consumer got %q, want m3", got.Body)
	}
	if _, err := lo.QueueDeclarePassive(q, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	extNoDelivery(t, dl, "the low-priority consumer")
}

// TestExtConsumerPriorityEqualRoundRobin pins that consumers of the same priority
// share the messages round robin, while a lower-priority consumer gets none.
func TestExtConsumerPriorityEqualRoundRobin(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	cons := msgChannel(t, c)
	low, err := cons.Consume(q, "low", true, false, false, false, amqp.Table{"x-priority": int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := cons.Consume(q, "a", true, false, false, false, amqp.Table{"x-priority": int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cons.Consume(q, "b", true, false, false, false, amqp.Table{"x-priority": int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	extSettle(t, extConfirming(t, c), "", q, extBody("1"), extBody("2"), extBody("3"), extBody("4"))
	ga, gb := msgReceiveBodies(t, a, 2), msgReceiveBodies(t, b, 2)
	if !(msgSame(ga, "1", "3") && msgSame(gb, "2", "4")) && !(msgSame(ga, "2", "4") && msgSame(gb, "1", "3")) {
		t.Fatalf("equal-priority consumers got %v and %v, want alternating messages", ga, gb)
	}
	if _, err := cons.QueueDeclarePassive(q, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	extNoDelivery(t, low, "the lower-priority consumer")
}
