package conformance

// Dead-lettering: x-dead-letter-exchange and x-dead-letter-routing-key, the reasons
// rejected, expired and maxlen (maxlen is in ext_maxlen_test.go), the x-death and
// x-first-death-* headers exactly as RabbitMQ 3.10 writes them, and its cycle cutting.

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestExtDLXArgumentErrors pins the 406 texts for invalid dead-letter arguments (note
// that a wrongly typed x-dead-letter-exchange has a text of its own) and that a
// dead-letter exchange that does not exist is accepted.
func TestExtDLXArgumentErrors(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := uniqueName(t)
	extDeclareRefused(t, c, q, amqp.Table{"x-dead-letter-exchange": int32(1)}, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue '"+q+"' in vhost '/'")
	extDeclareRefused(t, c, q, amqp.Table{"x-dead-letter-routing-key": "k"}, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '"+q+"' in vhost '/': routing_key_but_no_dlx_defined")
	extDeclareRefused(t, c, q, amqp.Table{"x-dead-letter-exchange": "x", "x-dead-letter-routing-key": int32(1)}, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '"+q+"' in vhost '/': {unacceptable_type,signedint}")
	extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": uniqueName(t)})
}

// TestExtDLXRejected pins dead-lettering on basic.reject and basic.nack (single and
// multiple) without requeue: the message goes to the dead-letter exchange with its
// original routing key, its properties and headers kept, flagged not redelivered, with
// one x-death entry of reason rejected. A reject or nack with requeue does not
// dead-letter.
func TestExtDLXRejected(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlx := msgDeclareExchange(t, ch, "fanout")
	dlq := msgBoundQueue(t, ch, dlx, "", nil)
	q := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": dlx})
	pub := extConfirming(t, c)
	props := amqp.Publishing{
		ContentType: "text/plain", CorrelationId: "corr", MessageId: "id-1", DeliveryMode: amqp.Persistent,
		Priority: 3, Type: "kind", AppId: "app", Headers: amqp.Table{"h": "v"}, Body: []byte("rejected"),
	}
	extSettle(t, pub, "", q, props)
	m := msgGet(t, ch, q, false)
	if err := m.Reject(true); err != nil { // requeue: stays in the queue
		t.Fatal(err)
	}
	m = msgGet(t, ch, q, false)
	if !m.Redelivered {
		t.Fatal("requeued message not flagged redelivered")
	}
	if n := msgReady(t, ch, dlq); n != 0 {
		t.Fatalf("reject with requeue dead-lettered %d messages", n)
	}
	if err := m.Reject(false); err != nil {
		t.Fatal(err)
	}
	d := extAwait(t, ch, dlq)
	if d.Exchange != dlx || d.RoutingKey != q || d.Redelivered {
		t.Errorf("dead-lettered message: exchange %q routing key %q redelivered %v; want %q, %q, false", d.Exchange, d.RoutingKey, d.Redelivered, dlx, q)
	}
	if d.ContentType != "text/plain" || d.CorrelationId != "corr" || d.MessageId != "id-1" || d.DeliveryMode != amqp.Persistent ||
		d.Priority != 3 || d.Type != "kind" || d.AppId != "app" || d.Headers["h"] != "v" || string(d.Body) != "rejected" {
		t.Errorf("dead-lettering changed the message: %+v", d)
	}
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "rejected", Queue: q, Exchange: "", RoutingKeys: []string{q}})
	extCheckFirstDeath(t, d, "rejected", q, "")

	// basic.nack, single and multiple.
	extSettle(t, pub, "", q, extBody("n1"), extBody("n2"), extBody("n3"))
	ms := msgGetN(t, ch, q, 3)
	if err := ms[0].Nack(false, false); err != nil {
		t.Fatal(err)
	}
	if err := ms[2].Nack(true, false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		m := extAwait(t, ch, dlq)
		extCheckDeaths(t, m, extDeath{Count: 1, Reason: "rejected", Queue: q, Exchange: "", RoutingKeys: []string{q}})
		m.Ack(false)
		got = append(got, string(m.Body))
	}
	if !msgSame(got, "n1", "n2", "n3") {
		t.Fatalf("dead-lettered %v, want [n1 n2 n3]", got)
	}
	msgExpectEmpty(t, ch, q)
}

// TestExtDLXDeathHeaders pins the headers of a dead-lettered message that was
// published to an exchange with CC and BCC and an expiration: x-death's exchange and
// routing-keys are those of the publish (the routing key, then the CC keys; BCC keys
// are gone with the BCC header), original-expiration carries the expiration property,
// which is removed; other headers stay (CC too, unless x-dead-letter-routing-key is
// set, as here: then it is removed).
func TestExtDLXDeathHeaders(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extDLXArgs(dlq))
	rk, cc, bcc := uniqueName(t), uniqueName(t), uniqueName(t)
	for _, key := range []string{rk, cc, bcc} {
		if err := ch.QueueBind(q, key, "amq.direct", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	extSettle(t, extConfirming(t, c), "amq.direct", rk, amqp.Publishing{
		Body: []byte("m"), Expiration: "600000",
		Headers: amqp.Table{"CC": []any{cc}, "BCC": []any{bcc}, "other": int32(7)},
	})
	m := msgGet(t, ch, q, false)
	if m.Expiration != "600000" {
		t.Fatalf("delivered with expiration %q, want 600000", m.Expiration)
	}
	if err := m.Nack(false, false); err != nil {
		t.Fatal(err)
	}
	d := extAwait(t, ch, dlq)
	if d.Expiration != "" {
		t.Errorf("dead-lettered message has expiration %q, want none", d.Expiration)
	}
	if d.RoutingKey != dlq || d.Exchange != "" {
		t.Errorf("dead-lettered via %q with key %q, want the default exchange and %q", d.Exchange, d.RoutingKey, dlq)
	}
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "rejected", Queue: q, Exchange: "amq.direct",
		RoutingKeys: []string{rk, cc}, OriginalExpiration: "600000"})
	extCheckFirstDeath(t, d, "rejected", q, "amq.direct")
	if _, ok := d.Headers["BCC"]; ok {
		t.Error("BCC header present after dead-lettering")
	}
	if v, ok := d.Headers["other"].(int32); !ok || v != 7 {
		t.Errorf("header other = %#v, want int32 7", d.Headers["other"])
	}
	if _, ok := d.Headers["CC"]; ok {
		t.Error("CC header kept although x-dead-letter-routing-key replaced the routing keys")
	}
}

// TestExtDLXExpired pins dead-lettering of expired messages: reason expired, for
// x-message-ttl (no original-expiration) and for the expiration property (with
// original-expiration, the property removed).
func TestExtDLXExpired(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	pub := extConfirming(t, c)

	byQueue := extQueue(t, ch, extWith(amqp.Table{"x-message-ttl": int32(20)}, extDLXArgs(dlq)))
	extSettle(t, pub, "", byQueue, extBody("queue-ttl"))
	d := extAwait(t, ch, dlq)
	if string(d.Body) != "queue-ttl" || d.Expiration != "" {
		t.Fatalf("dead-lettered %q with expiration %q", d.Body, d.Expiration)
	}
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "expired", Queue: byQueue, Exchange: "", RoutingKeys: []string{byQueue}})
	extCheckFirstDeath(t, d, "expired", byQueue, "")
	d.Ack(false)

	byMessage := extQueue(t, ch, extDLXArgs(dlq))
	extSettle(t, pub, "", byMessage, extExpiring("message-ttl", "20"))
	d = extAwait(t, ch, dlq)
	if string(d.Body) != "message-ttl" || d.Expiration != "" {
		t.Fatalf("dead-lettered %q with expiration %q", d.Body, d.Expiration)
	}
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "expired", Queue: byMessage, Exchange: "",
		RoutingKeys: []string{byMessage}, OriginalExpiration: "20"})
	extCheckFirstDeath(t, d, "expired", byMessage, "")
}

// TestExtDLXRoutingKeys pins how the dead-lettered message is routed: without
// x-dead-letter-routing-key, with all its original routing keys (routing key and CC
// keys), the CC header kept; with it, with that key alone and the CC header removed.
// x-death's routing-keys are the original keys either way.
func TestExtDLXRoutingKeys(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlx := msgDeclareExchange(t, ch, "direct")
	rk, cc, newKey := uniqueName(t), uniqueName(t), uniqueName(t)
	byRK := msgBoundQueue(t, ch, dlx, rk, nil)
	byCC := msgBoundQueue(t, ch, dlx, cc, nil)
	byNew := msgBoundQueue(t, ch, dlx, newKey, nil)
	pub := extConfirming(t, c)

	keep := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": dlx})
	replace := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": newKey})
	for _, q := range []string{keep, replace} {
		if err := ch.QueueBind(q, rk, "amq.direct", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	extSettle(t, pub, "amq.direct", rk, amqp.Publishing{Body: []byte("m"), Headers: amqp.Table{"CC": []any{cc}}})
	for _, q := range []string{keep, replace} {
		if err := msgGet(t, ch, q, false).Reject(false); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{byRK, byCC} {
		d := extAwait(t, ch, q)
		if d.RoutingKey != rk {
			t.Errorf("%s: routing key %q, want the original %q", q, d.RoutingKey, rk)
		}
		if got, ok := d.Headers["CC"].([]any); !ok || len(got) != 1 || got[0] != cc {
			t.Errorf("%s: CC header %#v, want [%q]", q, d.Headers["CC"], cc)
		}
		extCheckDeaths(t, d, extDeath{Count: 1, Reason: "rejected", Queue: keep, Exchange: "amq.direct", RoutingKeys: []string{rk, cc}})
		d.Ack(false)
	}
	d := extAwait(t, ch, byNew)
	if d.RoutingKey != newKey {
		t.Errorf("routing key %q, want x-dead-letter-routing-key %q", d.RoutingKey, newKey)
	}
	if _, ok := d.Headers["CC"]; ok {
		t.Errorf("CC header %v kept although x-dead-letter-routing-key was set", d.Headers["CC"])
	}
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "rejected", Queue: replace, Exchange: "amq.direct", RoutingKeys: []string{rk, cc}})
	d.Ack(false)
	// Each dead-letter target got exactly one copy: the replaced-key one went nowhere else.
	for _, q := range []string{byRK, byCC, byNew} {
		msgExpectEmpty(t, ch, q)
	}
}

// TestExtDLXCountIncrements pins that dying again in the same queue for the same
// reason increments that x-death entry's count instead of adding one, keeps its other
// fields (including original-expiration) and keeps x-first-death-*.
func TestExtDLXCountIncrements(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := uniqueName(t)
	extQueueNamed(t, ch, q, extDLXArgs(q)) // dead-letters into itself
	extSettle(t, extConfirming(t, c), "", q, extExpiring("loop", "600000"))
	for n := int64(1); n <= 3; n++ {
		if err := extAwait(t, ch, q).Reject(false); err != nil {
			t.Fatal(err)
		}
		d := extAwait(t, ch, q)
		extCheckDeaths(t, d, extDeath{Count: n, Reason: "rejected", Queue: q, Exchange: "", RoutingKeys: []string{q}, OriginalExpiration: "600000"})
		extCheckFirstDeath(t, d, "rejected", q, "")
		if err := d.Reject(true); err != nil { // back to the head for the next round
			t.Fatal(err)
		}
	}
}

// TestExtDLXCycleSelfExpired pins RabbitMQ's cycle cut: a message that expires and
// would be dead-lettered back into the queue it expired in is not delivered there
// (other targets of the dead-letter exchange still get it); a rejected one is.
func TestExtDLXCycleSelfExpired(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlx := msgDeclareExchange(t, ch, "fanout")
	q := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": dlx})
	observer := msgBoundQueue(t, ch, dlx, "", nil)
	if err := ch.QueueBind(q, "", dlx, false, nil); err != nil {
		t.Fatal(err)
	}
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extExpiring("cycle", "20"))
	d := extAwait(t, ch, observer)
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "expired", Queue: q, Exchange: "", RoutingKeys: []string{q}, OriginalExpiration: "20"})
	d.Ack(false)
	if n := msgReady(t, ch, q); n != 0 {
		t.Fatalf("expired message dead-lettered back into its own queue (%d ready), want the cycle cut", n)
	}

	// A rejection is never a cycle: a rejected message does go back into its queue.
	extSettle(t, pub, "", q, extBody("rejected"))
	if err := msgGet(t, ch, q, false).Reject(false); err != nil {
		t.Fatal(err)
	}
	d = extAwait(t, ch, q)
	extCheckDeaths(t, d, extDeath{Count: 1, Reason: "rejected", Queue: q, Exchange: "", RoutingKeys: []string{q}})
	d.Ack(false)
	if d := extAwait(t, ch, observer); string(d.Body) != "rejected" {
		t.Fatalf("observer got %q, want rejected", d.Body)
	}
}

// TestExtDLXCycleTwoQueues pins the cut of a two-queue cycle: A expires into B, B
// expires back into A, where it is dropped. When a rejection is part of the cycle it is
// not cut: the message goes round again, and the x-death entry of the repeated death is
// moved to the front with its count incremented.
func TestExtDLXCycleTwoQueues(t *testing.T) {
	t.Parallel()
	t.Run("all_expired", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		back := msgDeclareExchange(t, ch, "fanout")
		a := uniqueName(t)
		b := extQueue(t, ch, amqp.Table{"x-message-ttl": int32(20), "x-dead-letter-exchange": back})
		extQueueNamed(t, ch, a, extWith(amqp.Table{"x-message-ttl": int32(20)}, extDLXArgs(b)))
		observer := msgBoundQueue(t, ch, back, "", nil)
		if err := ch.QueueBind(a, "", back, false, nil); err != nil {
			t.Fatal(err)
		}
		extSettle(t, extConfirming(t, c), "", a, extBody("round"))
		d := extAwait(t, ch, observer)
		extCheckDeaths(t, d,
			extDeath{Count: 1, Reason: "expired", Queue: b, Exchange: "", RoutingKeys: []string{b}},
			extDeath{Count: 1, Reason: "expired", Queue: a, Exchange: "", RoutingKeys: []string{a}})
		extCheckFirstDeath(t, d, "expired", a, "")
		if n := msgReady(t, ch, a); n != 0 {
			t.Fatalf("message went round the expiry cycle back into A (%d ready), want it dropped", n)
		}
	})
	t.Run("with_rejection", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		back := msgDeclareExchange(t, ch, "fanout")
		a := uniqueName(t)
		b := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": back})
		extQueueNamed(t, ch, a, extWith(amqp.Table{"x-message-ttl": int32(20)}, extDLXArgs(b)))
		observer := msgBoundQueue(t, ch, back, "", nil)
		if err := ch.QueueBind(a, "", back, false, nil); err != nil {
			t.Fatal(err)
		}
		extSettle(t, extConfirming(t, c), "", a, extBody("round"))
		m := extAwait(t, ch, b) // expired in A
		extCheckDeaths(t, m, extDeath{Count: 1, Reason: "expired", Queue: a, Exchange: "", RoutingKeys: []string{a}})
		if err := m.Reject(false); err != nil { // back to A (and the observer)
			t.Fatal(err)
		}
		o := extAwait(t, ch, observer)
		extCheckDeaths(t, o,
			extDeath{Count: 1, Reason: "rejected", Queue: b, Exchange: "", RoutingKeys: []string{b}},
			extDeath{Count: 1, Reason: "expired", Queue: a, Exchange: "", RoutingKeys: []string{a}})
		// A expires it into B again: not a cycle, since B rejected it in between.
		m = extAwait(t, ch, b)
		extCheckDeaths(t, m,
			extDeath{Count: 2, Reason: "expired", Queue: a, Exchange: "", RoutingKeys: []string{a}},
			extDeath{Count: 1, Reason: "rejected", Queue: b, Exchange: "", RoutingKeys: []string{b}})
		extCheckFirstDeath(t, m, "expired", a, "")
		m.Ack(false)
	})
}

// TestExtDLXMissingExchange pins that a message dead-lettered to an exchange that
// does not exist is dropped silently: no error, the channel stays usable, the message
// is gone.
func TestExtDLXMissingExchange(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": uniqueName(t)})
	extSettle(t, extConfirming(t, c), "", q, extBody("nowhere"))
	if err := msgGet(t, ch, q, false).Reject(false); err != nil {
		t.Fatal(err)
	}
	msgExpectEmpty(t, ch, q)
	if n := msgReady(t, ch, q); n != 0 {
		t.Fatalf("%d messages back in the queue", n)
	}
}

// TestExtDLXNotOnPurgeOrDelete pins that queue.purge and queue.delete drop messages
// without dead-lettering them.
func TestExtDLXNotOnPurgeOrDelete(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	dlq := extQueue(t, ch, nil)
	q := extQueue(t, ch, extDLXArgs(dlq))
	pub := extConfirming(t, c)
	extSettle(t, pub, "", q, extBody("purged"))
	if n, err := ch.QueuePurge(q, false); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	extSettle(t, pub, "", q, extBody("deleted"))
	if n, err := ch.QueueDelete(q, false, false, false); err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	if n := msgReady(t, ch, dlq); n != 0 {
		t.Fatalf("dead-letter queue got %d messages from purge/delete", n)
	}
}

// TestExtDLXDeathWireEncoding pins the x-death header byte for byte in its order and
// types, as RabbitMQ 3.10 encodes it: the headers table of a dead-lettered message is
// sorted by name (RabbitMQ re-sorts it when it adds its headers); a new x-death entry
// is a table with count (l, long-long), reason (S), queue (S), time (T, timestamp in
// seconds), exchange (S), routing-keys (A of S) and original-expiration (S, only when
// the message had an expiration), in that order; an entry whose count was incremented
// has its fields sorted by name.
func TestExtDLXDeathWireEncoding(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := uniqueName(t)
	extQueueNamed(t, ch, q, extDLXArgs(q)) // dead-letters into itself
	extSettle(t, extConfirming(t, c), "", q, amqp.Publishing{
		Body: []byte("m"), Expiration: "600000", Headers: amqp.Table{"zz": "last", "AA": "first"},
	})
	if err := extAwait(t, ch, q).Reject(false); err != nil { // first death: a new entry
		t.Fatal(err)
	}
	hs := extRawHeaders(t, q)
	if got, want := extFieldTags(hs), []string{"AA:S", "x-death:A", "x-first-death-exchange:S", "x-first-death-queue:S", "x-first-death-reason:S", "zz:S"}; !msgSame(got, want...) {
		t.Fatalf("headers %v, want %v", got, want)
	}
	deaths := extLookup(t, hs, "x-death").Value.([]extField)
	if len(deaths) != 1 || deaths[0].Tag != 'F' {
		t.Fatalf("x-death = %v, want one table", deaths)
	}
	entry := deaths[0].Value.([]extField)
	if got, want := extFieldTags(entry), []string{"count:l", "reason:S", "queue:S", "time:T", "exchange:S", "routing-keys:A", "original-expiration:S"}; !msgSame(got, want...) {
		t.Fatalf("new x-death entry %v, want %v", got, want)
	}
	if keys := extLookup(t, entry, "routing-keys").Value.([]extField); len(keys) != 1 || keys[0].Tag != 'S' || keys[0].Value != q {
		t.Fatalf("routing-keys %v, want [S %q]", keys, q)
	}

	// Another message dies twice in q: its one entry has count 2, its fields sorted.
	extSettle(t, extConfirming(t, c), "", q, amqp.Publishing{Body: []byte("again")})
	if err := extAwait(t, ch, q).Reject(false); err != nil {
		t.Fatal(err)
	}
	if err := extAwait(t, ch, q).Reject(false); err != nil {
		t.Fatal(err)
	}
	hs = extRawHeaders(t, q)
	deaths = extLookup(t, hs, "x-death").Value.([]extField)
	if len(deaths) != 1 {
		t.Fatalf("x-death has %d entries, want 1", len(deaths))
	}
	entry = deaths[0].Value.([]extField)
	if got, want := extFieldTags(entry), []string{"count:l", "exchange:S", "queue:S", "reason:S", "routing-keys:A", "time:T"}; !msgSame(got, want...) {
		t.Fatalf("incremented x-death entry %v, want %v", got, want)
	}
	if n := extLookup(t, entry, "count").Value; n != int64(2) {
		t.Fatalf("count %v, want 2", n)
	}
}
