package conformance

import (
	"errors"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// msgLocked is the reason RabbitMQ gives when a connection touches a queue that is
// exclusive to another connection (or redeclares a queue with another exclusive flag).
const msgLocked = "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '/'. " +
	"It could be originally declared on another connection or the exclusive property value " +
	"does not match that of the original declaration."

// msgChannel opens another channel on c or fails the test.
func msgChannel(t testing.TB, c *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return ch
}

// msgTidy runs do on a channel of a fresh connection; cleanups use it because the
// test's own channels may have been closed by the broker.
func msgTidy(t testing.TB, do func(ch *amqp.Channel) error) {
	c, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Logf("cleanup dial: %v", err)
		return
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Logf("cleanup channel: %v", err)
		return
	}
	if err := do(ch); err != nil {
		t.Logf("cleanup: %v", err)
	}
}

// msgDeleteQueueLater deletes queue name when the test ends.
func msgDeleteQueueLater(t testing.TB, name string) {
	t.Cleanup(func() {
		msgTidy(t, func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(name, false, false, false)
			return err
		})
	})
}

// msgDeclareQueue declares a new non-durable, non-exclusive, non-auto-delete queue
// with a unique name, deleted when the test ends, and returns its name.
func msgDeclareQueue(t testing.TB, ch *amqp.Channel) string {
	t.Helper()
	name := uniqueName(t)
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatalf("queue.declare %s: %v", name, err)
	}
	msgDeleteQueueLater(t, name)
	return name
}

// msgQueueExists reports whether queue name exists, by a passive declare on a
// channel of its own on c; any error other than 404 fails the test.
func msgQueueExists(t testing.TB, c *amqp.Connection, name string) bool {
	t.Helper()
	ch := msgChannel(t, c)
	_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	var ae *amqp.Error
	switch {
	case err == nil:
		ch.Close()
		return true
	case errors.As(err, &ae) && ae.Code == amqp.ResourceLocked:
		return true // it exists, exclusive to another connection
	}
	expectAMQPError(t, err, amqp.NotFound, msgReplyText("NOT_FOUND - no queue '"+name+"' in vhost '/'"))
	return false
}

// msgReady returns the number of ready (not unacknowledged) messages in queue q, from
// a passive queue.declare on ch. RabbitMQ answers it ahead of deliveries still in the
// queue's mailbox (its stat call has priority), so publish with msgPublishSettled
// before counting.
func msgReady(t testing.TB, ch *amqp.Channel, q string) int {
	t.Helper()
	st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
	if err != nil {
		t.Fatalf("passive queue.declare %s: %v", q, err)
	}
	return st.Messages
}

// msgQf formats a reason that names queue q, as RabbitMQ would send it.
func msgQf(format, q string) string {
	return msgReplyText(strings.ReplaceAll(format, "%s", q))
}

// msgReplyText is reason as RabbitMQ sends it in a close method: "TEXT - explanation"
// longer than a short string's 255 bytes is cut to its first 252 bytes plus "...".
func msgReplyText(reason string) string {
	if len(reason) > 255 {
		return reason[:252] + "..."
	}
	return reason
}

// TestQueueDeclareServerNamed pins server-named queues: an empty name yields a fresh
// "amq.gen-" name each time, the queue can be declared passively by that name, but a
// non-passive declare of that name is refused with 403 because of the reserved prefix.
func TestQueueDeclareServerNamed(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q1, err := ch.QueueDeclare("", false, false, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	q2, err := ch.QueueDeclare("", false, false, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []amqp.Queue{q1, q2} {
		if !strings.HasPrefix(q.Name, "amq.gen-") || len(q.Name) <= len("amq.gen-") {
			t.Fatalf("server-named queue %q, want amq.gen-...", q.Name)
		}
	}
	if q1.Name == q2.Name {
		t.Fatalf("two server-named queues share the name %q", q1.Name)
	}
	if _, err := ch.QueueDeclarePassive(q1.Name, false, false, true, false, nil); err != nil {
		t.Fatalf("passive declare of %s: %v", q1.Name, err)
	}
	_, err = ch.QueueDeclare(q1.Name, false, false, true, false, nil)
	expectAMQPError(t, err, amqp.AccessRefused,
		"ACCESS_REFUSED - queue name '"+q1.Name+"' contains reserved prefix 'amq.*'")
	if !msgQueueExists(t, c, q1.Name) {
		t.Fatal("refused redeclare deleted the queue")
	}
}

// TestQueueDeclarePassiveMissing pins the 404 channel close for a passive declare of a
// missing queue; the connection stays open.
func TestQueueDeclarePassiveMissing(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	name := uniqueName(t)
	_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+name+"' in vhost '/'")
	if c.IsClosed() {
		t.Fatal("a 404 closed the connection, want only the channel closed")
	}
	msgChannel(t, c)
}

// TestQueueDeclareDurable pins that a durable queue can be declared, redeclared with the
// same flags and seen by a passive declare, and that a passive declare ignores flags.
func TestQueueDeclareDurable(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	name := uniqueName(t)
	msgDeleteQueueLater(t, name)
	for i := 0; i < 2; i++ {
		if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
			t.Fatalf("declare #%d: %v", i+1, err)
		}
	}
	if _, err := ch.QueueDeclarePassive(name, false, true, true, false, nil); err != nil {
		t.Fatalf("passive declare with other flags: %v", err)
	}
}

// TestQueueRedeclareInequivalent pins the 406 texts for redeclaring a queue with another
// durable or auto-delete flag or another x-argument, the 405 for another exclusive
// flag, and that an unknown argument is not compared.
func TestQueueRedeclareInequivalent(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	name := uniqueName(t)
	msgDeleteQueueLater(t, name)
	if _, err := ch.QueueDeclare(name, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	prefix := "PRECONDITION_FAILED - inequivalent arg "
	cases := []struct {
		what                           string
		durable, autoDelete, exclusive bool
		args                           amqp.Table
		code                           int
		reason                         string
	}{
		{"durable", true, true, false, nil, amqp.PreconditionFailed,
			prefix + "'durable' for queue '" + name + "' in vhost '/': received 'true' but current is 'false'"},
		{"auto_delete", false, false, false, nil, amqp.PreconditionFailed,
			prefix + "'auto_delete' for queue '" + name + "' in vhost '/': received 'false' but current is 'true'"},
		{"x-max-length", false, true, false, amqp.Table{"x-max-length": int32(5)}, amqp.PreconditionFailed,
			prefix + "'x-max-length' for queue '" + name + "' in vhost '/': received the value '5' of type 'signedint' but current is none"},
		{"exclusive", false, true, true, nil, amqp.ResourceLocked, msgQf(msgLocked, name)},
	}
	for _, tc := range cases {
		ch := msgChannel(t, c)
		_, err := ch.QueueDeclare(name, tc.durable, tc.autoDelete, tc.exclusive, false, tc.args)
		if err == nil {
			t.Fatalf("%s: redeclare accepted", tc.what)
		}
		expectAMQPError(t, err, tc.code, tc.reason)
	}
	ch = msgChannel(t, c)
	if _, err := ch.QueueDeclare(name, false, true, false, false, amqp.Table{"x-unknown-arg": int32(1)}); err != nil {
		t.Fatalf("redeclare with an unknown argument: %v", err)
	}
}

// TestQueueDeclareReservedPrefix pins that declaring a queue named "amq.*" is refused
// with 403, while a passive declare of such a missing name is a plain 404.
func TestQueueDeclareReservedPrefix(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	name := "amq." + uniqueName(t)
	_, err := ch.QueueDeclare(name, false, true, false, false, nil)
	expectAMQPError(t, err, amqp.AccessRefused,
		"ACCESS_REFUSED - queue name '"+name+"' contains reserved prefix 'amq.*'")
	ch = msgChannel(t, c)
	_, err = ch.QueueDeclarePassive(name, false, true, false, false, nil)
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+name+"' in vhost '/'")
}

// TestQueueDeclareOkCounts pins declare-ok's message-count (ready messages only, not
// unacknowledged ones) and consumer-count.
func TestQueueDeclareOkCounts(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishSettled(t, ch, "", q, "1", "2", "3")
	st, err := ch.QueueDeclare(q, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 3 || st.Consumers != 0 {
		t.Fatalf("declare-ok: %d messages, %d consumers; want 3, 0", st.Messages, st.Consumers)
	}
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	d, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, d)
	st, err = ch.QueueDeclare(q, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 2 || st.Consumers != 1 {
		t.Fatalf("declare-ok with one unacked delivery: %d messages, %d consumers; want 2, 1", st.Messages, st.Consumers)
	}
}

// TestQueueExclusiveLocked pins that every operation on an exclusive queue from another
// connection (declare, passive declare, consume, get, bind, purge, delete) is refused
// with 405 RESOURCE_LOCKED, while publishing to it from another connection is allowed.
func TestQueueExclusiveLocked(t *testing.T) {
	t.Parallel()
	_, owner := openChannel(t)
	name := uniqueName(t)
	if _, err := owner.QueueDeclare(name, false, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	other := dial(t)
	ops := map[string]func(ch *amqp.Channel) error{
		"declare": func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(name, false, false, true, false, nil)
			return err
		},
		"declare non-exclusive": func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(name, false, false, false, false, nil)
			return err
		},
		"passive declare": func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive(name, false, false, true, false, nil)
			return err
		},
		"consume": func(ch *amqp.Channel) error {
			_, err := ch.Consume(name, "", false, false, false, false, nil)
			return err
		},
		"get": func(ch *amqp.Channel) error {
			_, _, err := ch.Get(name, false)
			return err
		},
		"bind": func(ch *amqp.Channel) error {
			return ch.QueueBind(name, "k", "amq.direct", false, nil)
		},
		"purge": func(ch *amqp.Channel) error {
			_, err := ch.QueuePurge(name, false)
			return err
		},
		"delete": func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(name, false, false, false)
			return err
		},
	}
	for what, op := range ops {
		err := op(msgChannel(t, other))
		if err == nil {
			t.Fatalf("%s from another connection succeeded", what)
		}
		expectAMQPError(t, err, amqp.ResourceLocked, msgQf(msgLocked, name))
	}

	pub := msgChannel(t, other)
	if err := pub.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := pub.PublishWithDeferredConfirm("", name, true, false, amqp.Publishing{Body: []byte("from-other")})
	if err != nil {
		t.Fatal(err)
	}
	msgWaitConfirm(t, dc, true)
	if m := msgGet(t, owner, name, true); string(m.Body) != "from-other" {
		t.Fatalf("owner got %q", m.Body)
	}
}

// TestQueueExclusiveDeletedOnConnectionClose pins that an exclusive queue is deleted
// when its declaring connection closes.
func TestQueueExclusiveDeletedOnConnectionClose(t *testing.T) {
	t.Parallel()
	owner, ch := openChannel(t)
	name := uniqueName(t)
	if _, err := ch.QueueDeclare(name, false, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume(name, "", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	watcher := dial(t)
	if !msgQueueExists(t, watcher, name) {
		t.Fatal("exclusive queue not visible to another connection's passive declare")
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "exclusive queue deleted", func() bool { return !msgQueueExists(t, watcher, name) })
}

// TestQueueAutoDelete pins auto-delete queues: one is not deleted before it has had a
// consumer, survives the cancel of one of two consumers, and is deleted when its last
// consumer is cancelled.
func TestQueueAutoDelete(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	name := uniqueName(t)
	msgDeleteQueueLater(t, name)
	if _, err := ch.QueueDeclare(name, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	msgPublishSettled(t, ch, "", name, "m")
	if msgReady(t, ch, name) != 1 {
		t.Fatal("auto-delete queue without consumers lost its message")
	}
	for _, tag := range []string{"c1", "c2"} {
		if _, err := ch.Consume(name, tag, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Cancel("c1", false); err != nil {
		t.Fatal(err)
	}
	if !msgQueueExists(t, c, name) {
		t.Fatal("auto-delete queue deleted while it still had a consumer")
	}
	if err := ch.Cancel("c2", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "auto-delete queue deleted", func() bool { return !msgQueueExists(t, c, name) })
}

// TestQueueAutoDeleteOnChannelClose pins that closing the channel of an auto-delete
// queue's only consumer deletes the queue.
func TestQueueAutoDeleteOnChannelClose(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	name := uniqueName(t)
	msgDeleteQueueLater(t, name)
	if _, err := ch.QueueDeclare(name, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume(name, "", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "auto-delete queue deleted", func() bool { return !msgQueueExists(t, c, name) })
}

// TestQueuePurge pins queue.purge: purge-ok carries the number of ready messages removed
// (unacknowledged ones are neither counted nor removed), the queue stays, and purging a
// missing queue is a 404 channel close.
func TestQueuePurge(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 4)
	n, err := ch.QueuePurge(q, false)
	if err != nil || n != 4 {
		t.Fatalf("purge: %d, %v; want 4", n, err)
	}
	msgExpectEmpty(t, ch, q)
	msgPublishRange(t, ch, "", q, 5, 8)
	held := msgGet(t, ch, q, false)
	n, err = ch.QueuePurge(q, false)
	if err != nil || n != 3 {
		t.Fatalf("purge with one unacked: %d, %v; want 3", n, err)
	}
	if err := held.Reject(true); err != nil {
		t.Fatal(err)
	}
	if m := msgGet(t, ch, q, true); string(m.Body) != "5" || !m.Redelivered {
		t.Fatalf("after purge and requeue got %q redelivered=%v, want the unacked 5 back", m.Body, m.Redelivered)
	}

	missing := uniqueName(t)
	ch = msgChannel(t, c)
	_, err = ch.QueuePurge(missing, false)
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+missing+"' in vhost '/'")
}

// TestQueueDelete pins queue.delete: delete-ok carries the number of ready messages
// (unacknowledged ones are not counted), the queue is gone afterwards, and deleting a
// missing queue succeeds with a count of 0 (RabbitMQ 3.10 is idempotent here).
func TestQueueDelete(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 3)
	msgGet(t, ch, q, false)
	n, err := ch.QueueDelete(q, false, false, false)
	if err != nil || n != 2 {
		t.Fatalf("delete: %d, %v; want 2", n, err)
	}
	if msgQueueExists(t, c, q) {
		t.Fatal("queue still exists after delete-ok")
	}
	n, err = ch.QueueDelete(uniqueName(t), false, false, false)
	if err != nil || n != 0 {
		t.Fatalf("delete of a missing queue: %d, %v; want 0, nil", n, err)
	}
}

// TestQueueDeleteIfUnused pins that queue.delete if-unused on a queue with a consumer
// is a 406 "in use" channel close, and that it succeeds once the consumer is gone.
func TestQueueDeleteIfUnused(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	cons := msgChannel(t, c)
	if _, err := cons.Consume(q, "busy", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	_, err := ch.QueueDelete(q, true, false, false)
	expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - queue '"+q+"' in vhost '/' in use")
	if err := cons.Cancel("busy", false); err != nil {
		t.Fatal(err)
	}
	ch = msgChannel(t, c)
	if _, err := ch.QueueDelete(q, true, false, false); err != nil {
		t.Fatalf("if-unused delete of an unused queue: %v", err)
	}
}

// TestQueueDeleteIfEmpty pins that queue.delete if-empty on a queue with ready messages
// is a 406 "not empty" channel close, and that unacknowledged messages do not count.
func TestQueueDeleteIfEmpty(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublish(t, ch, "", q, "m")
	_, err := ch.QueueDelete(q, false, true, false)
	expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - queue '"+q+"' in vhost '/' not empty")

	ch = msgChannel(t, c)
	msgGet(t, ch, q, false)
	n, err := ch.QueueDelete(q, false, true, false)
	if err != nil || n != 0 {
		t.Fatalf("if-empty delete with only an unacked message: %d, %v; want 0, nil", n, err)
	}
}

// TestQueueBindUnbind pins queue.bind and queue.unbind: a bound queue receives what
// matches, an unbound one no longer does, a duplicate bind is harmless, and unbinding a
// binding, queue or exchange that does not exist succeeds (RabbitMQ 3.10).
func TestQueueBindUnbind(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	for i := 0; i < 2; i++ {
		if err := ch.QueueBind(q, "k", "amq.direct", false, nil); err != nil {
			t.Fatalf("bind #%d: %v", i+1, err)
		}
	}
	msgPublish(t, ch, "amq.direct", "k", "bound")
	if got := msgDrain(t, ch, q); !msgSame(got, "bound") {
		t.Fatalf("bound queue got %v, want [bound] exactly once", got)
	}
	if err := ch.QueueUnbind(q, "k", "amq.direct", nil); err != nil {
		t.Fatal(err)
	}
	msgPublish(t, ch, "amq.direct", "k", "unbound")
	msgPublish(t, ch, "", q, "marker")
	if got := msgDrain(t, ch, q); !msgSame(got, "marker") {
		t.Fatalf("unbound queue got %v, want only the marker", got)
	}

	for what, unbind := range map[string]func(ch *amqp.Channel) error{
		"missing binding":  func(ch *amqp.Channel) error { return ch.QueueUnbind(q, "nothing", "amq.direct", nil) },
		"missing queue":    func(ch *amqp.Channel) error { return ch.QueueUnbind(uniqueName(t), "k", "amq.direct", nil) },
		"missing exchange": func(ch *amqp.Channel) error { return ch.QueueUnbind(q, "k", uniqueName(t), nil) },
	} {
		ch := msgChannel(t, c)
		if err := unbind(ch); err != nil {
			t.Fatalf("unbind of a %s: %v", what, err)
		}
		if _, err := ch.QueueDeclarePassive(q, false, false, false, false, nil); err != nil {
			t.Fatalf("channel unusable after unbind of a %s: %v", what, err)
		}
	}
}

// TestQueueReplyTextTruncated pins that a close reason longer than 255 bytes (here a
// 404 naming a 230-byte queue name) is cut to 252 bytes followed by "...".
func TestQueueReplyTextTruncated(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	name := uniqueName(t)
	name += "." + strings.Repeat("n", 230-len(name)-1)
	_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	want := "NOT_FOUND - no queue '" + name + "' in vhost '/'"
	want = want[:252] + "..."
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.NotFound || ae.Reason != want {
		t.Fatalf("got %v, want 404 %q", err, want)
	}
}
