package conformance

// Length limits: x-max-length, x-max-length-bytes and x-overflow (drop-head, the
// default; reject-publish; reject-publish-dlx). Limits count ready messages only, and
// x-max-length-bytes counts message bodies only.

import (
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestExtMaxLengthArgumentErrors pins the 406 texts for invalid x-max-length,
// x-max-length-bytes and x-overflow values, and the values that are accepted.
func TestExtMaxLengthArgumentErrors(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	refused := []extArgCase{
		{"x-max-length", int32(-1), "{value_negative,-1}"},
		{"x-max-length", "abc", `"expected integer, got longstr"`},
		{"x-max-length", true, `"expected integer, got bool"`},
		{"x-max-length-bytes", int32(-1), "{value_negative,-1}"},
		{"x-max-length-bytes", "abc", `"expected integer, got longstr"`},
		{"x-overflow", "foo", "invalid_overflow"},
		{"x-overflow", "Drop-Head", "invalid_overflow"},
		{"x-overflow", int32(1), "{unacceptable_type,signedint}"},
	}
	extCheckArgs(t, c, ch, refused, []amqp.Table{
		{"x-max-length": int32(0)},
		{"x-max-length": int16(5)},
		{"x-max-length-bytes": int64(0)},
		{"x-overflow": "drop-head"},
		{"x-overflow": "reject-publish"},
		{"x-overflow": "reject-publish-dlx"},
	})
}

// TestExtMaxLengthDropHead pins the default overflow behaviour: a publish beyond
// x-max-length drops the oldest messages, which are dead-lettered with reason maxlen
// when the queue has a dead-letter exchange; every publish is confirmed.
func TestExtMaxLengthDropHead(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extWith(amqp.Table{"x-max-length": int32(2)}, extDLXArgs(dlq)))
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extBody("1"), extBody("2"), extBody("3"), extBody("4"))
	if got := msgDrain(t, ch, q); !msgSame(got, "3", "4") {
		t.Fatalf("queue holds %v, want [3 4]", got)
	}
	for _, want := range []string{"1", "2"} {
		d := extAwait(t, ch, dlq)
		if string(d.Body) != want {
			t.Fatalf("dead-lettered %q, want %q", d.Body, want)
		}
		extCheckDeaths(t, d, extDeath{Count: 1, Reason: "maxlen", Queue: q, Exchange: "", RoutingKeys: []string{q}})
		extCheckFirstDeath(t, d, "maxlen", q, "")
		d.Ack(false)
	}
}

// TestExtMaxLengthCountsReadyOnly pins that the limit counts ready messages, not
// unacknowledged ones; and that when a requeue takes the queue over the limit, the head
// of the queue, the requeued message itself, is dropped.
func TestExtMaxLengthCountsReadyOnly(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extWith(amqp.Table{"x-max-length": int32(2)}, extDLXArgs(dlq)))
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extBody("1"))
	held := msgGet(t, ch, q, false)
	extSettle(t, pub, "", q, extBody("2"), extBody("3"))
	if n := msgReady(t, ch, dlq); n != 0 {
		t.Fatalf("%d dropped with 2 ready and 1 unacked, want none", n)
	}
	if err := held.Nack(false, true); err != nil {
		t.Fatal(err)
	}
	if d := extAwait(t, ch, dlq); string(d.Body) != "1" {
		t.Fatalf("requeue over the limit dropped %q, want the requeued 1", d.Body)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "2", "3") {
		t.Fatalf("queue holds %v, want [2 3]", got)
	}
}

// TestExtMaxLengthZero pins x-max-length 0: a message still reaches a consumer that
// can take it at once, and is dropped (dead-lettered, reason maxlen) when there is none.
func TestExtMaxLengthZero(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extWith(amqp.Table{"x-max-length": int32(0)}, extDLXArgs(dlq)))
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extBody("dropped"))
	d := extAwait(t, ch, dlq)
	if string(d.Body) != "dropped" {
		t.Fatalf("dead-lettered %q", d.Body)
	}
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "maxlen", Queue: q, Exchange: "", RoutingKeys: []string{q}})
	cons := msgConsume(t, msgChannel(t, c), q, "", false)
	extSettle(t, pub, "", q, extBody("delivered"))
	if m := receive(t, cons); string(m.Body) != "delivered" {
		t.Fatalf("consumer got %q", m.Body)
	}
}

// TestExtMaxLengthBytes pins x-max-length-bytes: it counts body bytes only (headers
// and properties do not count), drops from the head, and a single message bigger than
// the limit is dropped; one exactly at the limit is kept.
func TestExtMaxLengthBytes(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-max-length-bytes": int32(10)})
	pub := extConfirming(t, c)
	big := amqp.Table{"padding": strings.Repeat("p", 1000)}
	extSettle(t, pub, "", q,
		amqp.Publishing{Body: []byte("aaaa"), Headers: big, MessageId: strings.Repeat("i", 200)},
		amqp.Publishing{Body: []byte("bbbbb"), Headers: big},
		amqp.Publishing{Body: []byte("c"), Headers: big})
	if got := msgDrain(t, ch, q); !msgSame(got, "aaaa", "bbbbb", "c") {
		t.Fatalf("queue holds %v, want all three (10 body bytes)", got)
	}
	extSettle(t, pub, "", q, extBody("aaaa"), extBody("bbbbbb"), extBody("c"))
	if got := msgDrain(t, ch, q); !msgSame(got, "bbbbbb", "c") {
		t.Fatalf("queue holds %v, want [bbbbbb c]", got)
	}
	extSettle(t, pub, "", q, extBody("0123456789A"))
	msgExpectEmpty(t, ch, q)
	extSettle(t, pub, "", q, extBody("0123456789"))
	if got := msgDrain(t, ch, q); !msgSame(got, "0123456789") {
		t.Fatalf("queue holds %v, want the 10-byte message", got)
	}
}

// TestExtOverflowRejectPublish pins x-overflow reject-publish: a publish to a full
// queue is refused, with basic.nack in confirm mode (and no basic.return, even when
// mandatory) and silently without confirms; the queue's messages stay; nothing is
// dead-lettered. A message routed to a full queue and to another one is nacked but
// still delivered to the other.
func TestExtOverflowRejectPublish(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extWith(amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"}, extDLXArgs(dlq)))
	pub := extConfirming(t, c)
	returns := pub.NotifyReturn(make(chan amqp.Return, 4))
	if !extPublishConfirm(t, pub, "", q, false, extBody("1")) {
		t.Fatal("first publish nacked")
	}
	for _, b := range []string{"2", "3"} {
		if extPublishConfirm(t, pub, "", q, true, extBody(b)) {
			t.Fatalf("publish of %s to a full reject-publish queue acked, want nack", b)
		}
	}
	select {
	case r := <-returns:
		t.Fatalf("basic.return %d %q for a rejected publish", r.ReplyCode, r.ReplyText)
	default:
	}
	plain := msgChannel(t, c)
	extPublish(t, plain, "", q, extBody("unconfirmed"))
	if got := msgDrain(t, plain, q); !msgSame(got, "1") {
		t.Fatalf("queue holds %v, want [1]", got)
	}
	if n := msgReady(t, ch, dlq); n != 0 {
		t.Fatalf("reject-publish dead-lettered %d messages", n)
	}

	full := extQueue(t, ch, amqp.Table{"x-max-length": int32(0), "x-overflow": "reject-publish"})
	x := msgDeclareExchange(t, ch, "fanout")
	free := msgBoundQueue(t, ch, x, "", nil)
	if err := ch.QueueBind(full, "", x, false, nil); err != nil {
		t.Fatal(err)
	}
	if extPublishConfirm(t, pub, x, "", false, extBody("fanned")) {
		t.Fatal("publish routed to a full reject-publish queue acked, want nack")
	}
	if got := msgDrain(t, ch, free); !msgSame(got, "fanned") {
		t.Fatalf("the other queue got %v, want [fanned]", got)
	}
}

// TestExtOverflowRejectPublishDLX pins x-overflow reject-publish-dlx: like
// reject-publish (nacked, the queue unchanged), and the refused message is
// dead-lettered with reason maxlen.
func TestExtOverflowRejectPublishDLX(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extWith(amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish-dlx"}, extDLXArgs(dlq)))
	pub := extConfirming(t, c)
	if !extPublishConfirm(t, pub, "", q, false, extBody("kept")) {
		t.Fatal("first publish nacked")
	}
	if extPublishConfirm(t, pub, "", q, false, extBody("refused")) {
		t.Fatal("publish to a full reject-publish-dlx queue acked, want nack")
	}
	d := extAwait(t, ch, dlq)
	if string(d.Body) != "refused" {
		t.Fatalf("dead-lettered %q, want refused", d.Body)
	}
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "maxlen", Queue: q, Exchange: "", RoutingKeys: []string{q}})
	if got := msgDrain(t, ch, q); !msgSame(got, "kept") {
		t.Fatalf("queue holds %v, want [kept]", got)
	}
}

// TestExtOverflowRejectPublishBytes pins reject-publish with x-max-length-bytes: a
// publish is refused when its body would take the queue over the limit; smaller ones
// that fit are still accepted.
func TestExtOverflowRejectPublishBytes(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-max-length-bytes": int32(10), "x-overflow": "reject-publish"})
	pub := extConfirming(t, c)
	for _, tc := range []struct {
		body string
		ack  bool
	}{{"0123456789A", false}, {"01234", true}, {"567890", false}, {"56789", true}, {"x", false}} {
		if got := extPublishConfirm(t, pub, "", q, false, extBody(tc.body)); got != tc.ack {
			t.Fatalf("publish of %q: ack=%v, want %v", tc.body, got, tc.ack)
		}
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "01234", "56789") {
		t.Fatalf("queue holds %v, want [01234 56789]", got)
	}
}
