package conformance

// Expiry: per-queue message TTL (x-message-ttl), per-message TTL (the expiration
// property) and queue expiry (x-expires), as RabbitMQ 3.10 classic queues do them.
// RabbitMQ drops expired messages when they reach the head of the queue, so these tests
// assert only what that guarantees: an expired message is never delivered, and one at
// the head goes away on its own.

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestExtTTLArgumentErrors pins the 406 PRECONDITION_FAILED channel close, and its
// text, for each kind of invalid x-message-ttl and x-expires, and the accepted range:
// x-message-ttl from 0 and x-expires from 1, both up to 315360000000 ms (ten years), of
// any integer type.
func TestExtTTLArgumentErrors(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	refused := []extArgCase{
		{"x-message-ttl", int32(-1), "{value_negative,-1}"},
		{"x-message-ttl", "abc", `"expected integer, got longstr"`},
		{"x-message-ttl", float64(100), `"expected integer, got double"`},
		{"x-message-ttl", true, `"expected integer, got bool"`},
		{"x-message-ttl", int64(315360000001), "{value_too_large,315360000001}"},
		{"x-expires", int32(0), "{value_zero,0}"},
		{"x-expires", int32(-1), "{value_negative,-1}"},
		{"x-expires", "abc", `"expected integer, got longstr"`},
		{"x-expires", int64(315360000001), "{value_too_large,315360000001}"},
	}
	extCheckArgs(t, c, ch, refused, []amqp.Table{
		{"x-message-ttl": int32(0)},
		{"x-message-ttl": int8(5)},
		{"x-message-ttl": int64(315360000000)},
		{"x-expires": int16(1)},
		{"x-expires": int64(315360000000)},
	})
}

// TestExtTTLExpirationInvalid pins that a publish whose expiration property is not a
// non-negative decimal integer of at most 315360000000 closes the channel with 406 and
// RabbitMQ's text, and that the message is not enqueued. RabbitMQ parses the property
// with Erlang's string:to_integer, so a leading '+' or zeros are accepted.
func TestExtTTLExpirationInvalid(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	for _, tc := range []struct{ expiration, detail string }{
		{"abc", "no_integer"},
		{"-1", "{value_negative,-1}"},
		{"1.5", `{leftover_string,".5"}`},
		{" 100", "no_integer"},
		{"100 ", `{leftover_string," "}`},
		{"1e3", `{leftover_string,"e3"}`},
		{"315360000001", "{value_too_large,315360000001}"},
	} {
		pub := msgChannel(t, c)
		closed := pub.NotifyClose(make(chan *amqp.Error, 1))
		extPublish(t, pub, "", q, extExpiring("bad", tc.expiration))
		msgExpectClose(t, closed, amqp.PreconditionFailed,
			"PRECONDITION_FAILED - invalid expiration '"+tc.expiration+"': "+tc.detail)
		if c.IsClosed() {
			t.Fatalf("expiration %q closed the connection", tc.expiration)
		}
	}
	// Unroutable, too: the property is checked before routing.
	pub := msgChannel(t, c)
	closed := pub.NotifyClose(make(chan *amqp.Error, 1))
	extPublish(t, pub, "amq.direct", uniqueName(t), extExpiring("bad", "abc"))
	msgExpectClose(t, closed, amqp.PreconditionFailed, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer")
	if n := msgReady(t, ch, q); n != 0 {
		t.Fatalf("queue holds %d messages after refused publishes, want 0", n)
	}

	pub = extConfirming(t, c)
	extSettle(t, pub, "", q, extExpiring("plus", "+60000"), extExpiring("zeros", "060000"))
	for _, want := range []struct{ body, expiration string }{{"plus", "+60000"}, {"zeros", "060000"}} {
		m := msgGet(t, ch, q, true)
		if string(m.Body) != want.body || m.Expiration != want.expiration {
			t.Fatalf("got %q with expiration %q, want %q with %q unchanged", m.Body, m.Expiration, want.body, want.expiration)
		}
	}
}

// TestExtTTLQueueMessageTTL pins x-message-ttl: a message left in the queue longer
// than the TTL goes away by itself, basic.get never returns it, a consumer that comes
// later never receives it, and messages delivered in time carry no expiration property.
func TestExtTTLQueueMessageTTL(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-message-ttl": int32(50)})
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extBody("stale"))
	extAwaitReady(t, ch, q, 0)
	msgExpectEmpty(t, ch, q)

	extSettle(t, pub, "", q, extBody("stale-too"))
	extAwaitReady(t, ch, q, 0)
	d := msgConsume(t, ch, q, "late", false)
	extPublish(t, pub, "", q, extBody("fresh"))
	m := receive(t, d)
	if string(m.Body) != "fresh" || m.Expiration != "" || m.Redelivered {
		t.Fatalf("consumer got %q (expiration %q, redelivered %v), want fresh with no expiration", m.Body, m.Expiration, m.Redelivered)
	}
}

// TestExtTTLPerMessageExpiration pins the expiration property: a message that waits
// at the head longer than its expiration goes away, and basic.get and consumers never
// see it; a message delivered in time keeps its expiration property.
func TestExtTTLPerMessageExpiration(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extExpiring("stale", "50"))
	extAwaitReady(t, ch, q, 0)
	msgExpectEmpty(t, ch, q)

	extSettle(t, pub, "", q, extExpiring("kept", "600000"))
	if m := msgGet(t, ch, q, true); string(m.Body) != "kept" || m.Expiration != "600000" {
		t.Fatalf("got %q with expiration %q, want kept with 600000", m.Body, m.Expiration)
	}
}

// TestExtTTLMinimumOfQueueAndMessage pins that when both x-message-ttl and the
// expiration property are set, the shorter one applies.
func TestExtTTLMinimumOfQueueAndMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		queueTTL   int32
		expiration string
	}{
		{"message_shorter", 600000, "40"},
		{"queue_shorter", 40, "600000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			q := extQueue(t, ch, amqp.Table{"x-message-ttl": tc.queueTTL})
			extSettle(t, extConfirming(t, c), "", q, extExpiring("m", tc.expiration))
			extAwaitReady(t, ch, q, 0)
			msgExpectEmpty(t, ch, q)
		})
	}
}

// TestExtTTLZero pins a TTL of 0 (x-message-ttl 0 or expiration "0"): the message
// reaches a consumer that can take it at once (with its expiration property as sent),
// and is dropped on arrival when there is none.
func TestExtTTLZero(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		args       amqp.Table
		expiration string
	}{
		{"queue_ttl", amqp.Table{"x-message-ttl": int32(0)}, ""},
		{"expiration", nil, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			q := extQueue(t, ch, tc.args)
			pub := extConfirming(t, c)
			extSettle(t, pub, "", q, extExpiring("nobody-waits", tc.expiration))
			if n := msgReady(t, ch, q); n != 0 {
				t.Fatalf("%d messages ready after a TTL-0 publish with no consumer, want 0", n)
			}
			d := msgConsume(t, msgChannel(t, c), q, "waiting", false)
			extSettle(t, pub, "", q, extExpiring("taken", tc.expiration))
			m := receive(t, d)
			if string(m.Body) != "taken" || m.Expiration != tc.expiration {
				t.Fatalf("consumer got %q with expiration %q, want taken with %q", m.Body, m.Expiration, tc.expiration)
			}
		})
	}
}

// TestExtTTLExpiredBehindHead pins that a message that expired while others were
// ahead of it is skipped when it reaches the head, by basic.get and by consumers.
func TestExtTTLExpiredBehindHead(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	q2 := extQueue(t, ch, nil)
	pub := extConfirming(t, c)
	for _, q := range []string{q, q2} {
		extSettle(t, pub, "", q, extBody("first"), extExpiring("expires", "30"), extBody("last"))
	}
	extElapse(t, c, 30*time.Millisecond)
	if got := msgDrain(t, ch, q); !msgSame(got, "first", "last") {
		t.Fatalf("basic.get drained %v, want [first last]", got)
	}
	d := msgConsume(t, ch, q2, "", true)
	if got := msgReceiveBodies(t, d, 2); !msgSame(got, "first", "last") {
		t.Fatalf("consumer got %v, want [first last]", got)
	}
}

// TestExtTTLRequeuedAfterExpiry pins that a message whose TTL passes while it is
// unacknowledged is not delivered again when it is requeued: it expires on the spot,
// and is dead-lettered with reason expired when the queue has a dead-letter exchange.
func TestExtTTLRequeuedAfterExpiry(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extWith(amqp.Table{"x-message-ttl": int32(50)}, extDLXArgs(dlq)))
	extSettle(t, extConfirming(t, c), "", q, extBody("held"))
	m := msgGet(t, ch, q, false)
	extElapse(t, c, 50*time.Millisecond)
	if err := m.Nack(false, true); err != nil {
		t.Fatal(err)
	}
	dead := extAwait(t, ch, dlq)
	if string(dead.Body) != "held" {
		t.Fatalf("dead-lettered %q, want held", dead.Body)
	}
	extCheckDeaths(t, dead, extDeath{Count: 1, Reason: "expired", Queue: q, Exchange: "", RoutingKeys: []string{q}})
	msgExpectEmpty(t, ch, q)
}

// TestExtQueueExpires pins x-expires: a queue with no consumers that nobody declares
// or gets from for that long is deleted, messages and all (they are not dead-lettered),
// and publishing to it does not keep it alive.
func TestExtQueueExpires(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extWith(amqp.Table{"x-expires": int32(100)}, extDLXArgs(dlq)))
	gone := extProber(t, c)
	extSettle(t, extConfirming(t, c), "", q, extBody("inside"))
	eventually(t, "the queue to expire", func() bool { return gone(q) })
	if msgQueueExists(t, c, q) {
		t.Fatal("passive declare still finds the expired queue")
	}
	if n := msgReady(t, ch, dlq); n != 0 {
		t.Fatalf("dead-letter queue got %d messages from the expired queue, want 0", n)
	}
}

// TestExtQueueExpiresInUse pins that a queue with a consumer does not expire, and that
// its lease starts when the last consumer goes.
func TestExtQueueExpiresInUse(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-expires": int32(100)})
	cons := msgChannel(t, c)
	msgConsume(t, cons, q, "keeper", true)
	control := extQueueNamed(t, ch, extAuxName(t), amqp.Table{"x-expires": int32(100)})
	gone := extProber(t, c)
	eventually(t, "the control queue to expire", func() bool { return gone(control) })
	if gone(q) {
		t.Fatal("a queue with a consumer expired")
	}
	if err := cons.Cancel("keeper", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queue to expire once its consumer left", func() bool { return gone(q) })
}

// TestExtQueueExpiresRenewed pins that basic.get and queue.declare (passive or not)
// count as use and renew an x-expires lease.
func TestExtQueueExpiresRenewed(t *testing.T) {
	t.Parallel()
	for name, use := range map[string]func(ch *amqp.Channel, q string) error{
		"basic.get": func(ch *amqp.Channel, q string) error { _, _, err := ch.Get(q, true); return err },
		"passive_declare": func(ch *amqp.Channel, q string) error {
			_, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
			return err
		},
		"declare": func(ch *amqp.Channel, q string) error {
			_, err := ch.QueueDeclare(q, false, false, false, false, amqp.Table{"x-expires": int32(400)})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			q := extQueue(t, ch, amqp.Table{"x-expires": int32(400)})
			control := extQueueNamed(t, ch, extAuxName(t), amqp.Table{"x-expires": int32(400)})
			gone := extProber(t, c)
			deadline := time.Now().Add(wait)
			for !gone(control) {
				if time.Now().After(deadline) {
					t.Fatal("control queue did not expire")
				}
				if err := use(ch, q); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				time.Sleep(20 * time.Millisecond) // the pace of use, well inside the lease
			}
			if gone(q) {
				t.Fatalf("queue used by %s every 20ms expired with its 400ms lease", name)
			}
		})
	}
}
