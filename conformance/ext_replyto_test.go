package conformance

// Direct reply-to: the pseudo-queue amq.rabbitmq.reply-to, as RabbitMQ 3.10 does it.

import (
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// extReplyTo is the direct reply-to pseudo-queue's name.
const extReplyTo = "amq.rabbitmq.reply-to"

// extRequester opens a channel on c that consumes from the pseudo-queue in no-ack
// mode, publishes a request with reply_to set to the pseudo-queue to a fresh queue,
// and returns the channel, its deliveries, the consumer tag and the reply address the
// server put in the request.
func extRequester(t testing.TB, c *amqp.Connection) (*amqp.Channel, <-chan amqp.Delivery, string, string) {
	t.Helper()
	ch := msgChannel(t, c)
	tag := "replies-" + uniqueName(t)
	d, err := ch.Consume(extReplyTo, tag, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume from %s: %v", extReplyTo, err)
	}
	q := extQueue(t, ch, nil)
	extPublish(t, ch, "", q, amqp.Publishing{Body: []byte("request"), ReplyTo: extReplyTo, CorrelationId: "corr-1"})
	req := extAwait(t, ch, q)
	return ch, d, tag, req.ReplyTo
}

// TestExtReplyToRoundTrip pins direct reply-to: the server rewrites the request's
// reply_to to "amq.rabbitmq.reply-to." followed by an opaque token (the same for every
// request of the channel), a reply published to the default exchange with that routing
// key reaches the requester's consumer, which sees the default exchange, the full
// address as routing key and its own consumer tag.
func TestExtReplyToRoundTrip(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ch, d, tag, addr := extRequester(t, c)
	if !strings.HasPrefix(addr, extReplyTo+".") || len(addr) <= len(extReplyTo)+1 {
		t.Fatalf("request's reply_to %q, want %q followed by a token", addr, extReplyTo+".")
	}
	q := extQueue(t, ch, nil)
	extPublish(t, ch, "", q, amqp.Publishing{Body: []byte("second"), ReplyTo: extReplyTo})
	if again := extAwait(t, ch, q).ReplyTo; again != addr {
		t.Fatalf("second request's reply_to %q, want the channel's address %q", again, addr)
	}

	responder := msgChannel(t, dial(t))
	extPublish(t, responder, "", addr, amqp.Publishing{Body: []byte("reply"), CorrelationId: "corr-1"})
	m := receive(t, d)
	if string(m.Body) != "reply" || m.CorrelationId != "corr-1" || m.Exchange != "" || m.RoutingKey != addr ||
		m.ConsumerTag != tag || m.Redelivered {
		t.Fatalf("reply %q corr %q via %q/%q tag %q redelivered %v; want reply via \"\"/%q to %q",
			m.Body, m.CorrelationId, m.Exchange, m.RoutingKey, m.ConsumerTag, m.Redelivered, addr, tag)
	}
	// A reply sent through another exchange with the address as routing key is not one.
	extPublish(t, responder, "amq.direct", addr, extBody("via-amq.direct"))
	extPublish(t, responder, "", addr, extBody("second-reply"))
	if m := receive(t, d); string(m.Body) != "second-reply" {
		t.Fatalf("got %q, want second-reply (nothing through amq.direct)", m.Body)
	}
}

// TestExtReplyToConsumeErrors pins the 406 channel closes for consuming from the
// pseudo-queue in ack mode and for consuming from it twice on one channel; an
// exclusive no-ack consume is accepted.
func TestExtReplyToConsumeErrors(t *testing.T) {
	t.Parallel()
	c := dial(t)
	_, err := msgChannel(t, c).Consume(extReplyTo, "", false, false, false, false, nil)
	extExpectError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - reply consumer cannot acknowledge")

	ch := msgChannel(t, c)
	if _, err := ch.Consume(extReplyTo, "one", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	_, err = ch.Consume(extReplyTo, "two", true, false, false, false, nil)
	extExpectError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - reply consumer already set")

	if _, err := msgChannel(t, c).Consume(extReplyTo, "", true, true, false, false, nil); err != nil {
		t.Fatalf("exclusive no-ack consume from %s: %v", extReplyTo, err)
	}
}

// TestExtReplyToPublishWithoutConsumer pins the 406 channel close for publishing with
// reply_to amq.rabbitmq.reply-to on a channel that does not consume from the
// pseudo-queue (even when another channel of the connection does, or the channel did
// and cancelled), and that other reply_to values are not checked.
func TestExtReplyToPublishWithoutConsumer(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	const reason = "PRECONDITION_FAILED - fast reply consumer does not exist"
	if _, err := ch.Consume(extReplyTo, "", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}

	other := msgChannel(t, c)
	closed := other.NotifyClose(make(chan *amqp.Error, 1))
	extPublish(t, other, "", q, amqp.Publishing{Body: []byte("x"), ReplyTo: extReplyTo})
	msgExpectClose(t, closed, amqp.PreconditionFailed, reason)

	cancelled := msgChannel(t, c)
	closed = cancelled.NotifyClose(make(chan *amqp.Error, 1))
	if _, err := cancelled.Consume(extReplyTo, "gone", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := cancelled.Cancel("gone", false); err != nil {
		t.Fatal(err)
	}
	extPublish(t, cancelled, "", q, amqp.Publishing{Body: []byte("x"), ReplyTo: extReplyTo})
	msgExpectClose(t, closed, amqp.PreconditionFailed, reason)

	plain := extConfirming(t, c)
	extSettle(t, plain, "", q, amqp.Publishing{Body: []byte("lookalike"), ReplyTo: extReplyTo + ".not-a-token"})
	if m := msgGet(t, plain, q, true); m.ReplyTo != extReplyTo+".not-a-token" {
		t.Fatalf("reply_to %q, want it unchanged", m.ReplyTo)
	}
}

// TestExtReplyToStaleAddress pins that a reply to an address whose requester channel
// has closed, or to a malformed address, is dropped without error, and returned with
// 312 NO_ROUTE when mandatory.
func TestExtReplyToStaleAddress(t *testing.T) {
	t.Parallel()
	c := dial(t)
	req, _, _, addr := extRequester(t, c)
	if err := req.Close(); err != nil {
		t.Fatal(err)
	}
	pub, returns := extReturning(t, c)
	for _, to := range []string{addr, addr[:len(addr)-4] + "AAA=", extReplyTo + ".garbage", extReplyTo + ".", extReplyTo} {
		r := extMandatory(t, pub, returns, "", to, extBody("late"))
		if r == nil || r.ReplyCode != amqp.NoRoute || r.ReplyText != "NO_ROUTE" || r.RoutingKey != to {
			t.Fatalf("mandatory reply to %q: return %+v, want 312 NO_ROUTE", to, r)
		}
		extPublish(t, pub, "", to, extBody("late"))
	}
	extSettle(t, pub, "amq.direct", uniqueName(t), extBody("still-open"))
}

// TestExtReplyToMandatory pins RabbitMQ 3.10's handling of a mandatory reply to a live
// address: the reply is delivered to the requester, and the publisher also gets it
// back in a basic.return 312 NO_ROUTE (the pseudo-queue is not a routing target).
func TestExtReplyToMandatory(t *testing.T) {
	t.Parallel()
	c := dial(t)
	_, d, _, addr := extRequester(t, c)
	pub, returns := extReturning(t, dial(t))
	r := extMandatory(t, pub, returns, "", addr, extBody("mandatory-reply"))
	if r == nil || r.ReplyCode != amqp.NoRoute || r.ReplyText != "NO_ROUTE" || string(r.Body) != "mandatory-reply" {
		t.Fatalf("basic.return %+v, want 312 NO_ROUTE of the reply", r)
	}
	if m := receive(t, d); string(m.Body) != "mandatory-reply" {
		t.Fatalf("requester got %q, want mandatory-reply", m.Body)
	}
}

// TestExtReplyToPseudoQueue pins what queue methods do with the pseudo-queue: a
// declare of amq.rabbitmq.reply-to (passive or not, any flags) succeeds with 0 messages
// and 1 consumer, a passive declare of a live reply address succeeds with the same
// counts and of a stale or malformed one is a 404; basic.get, queue.bind and queue.purge
// on it are 404s; queue.delete succeeds with 0 messages.
func TestExtReplyToPseudoQueue(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ch := msgChannel(t, c)
	for _, declare := range []func() (amqp.Queue, error){
		func() (amqp.Queue, error) { return ch.QueueDeclarePassive(extReplyTo, false, false, false, false, nil) },
		func() (amqp.Queue, error) { return ch.QueueDeclare(extReplyTo, true, true, true, false, nil) },
	} {
		st, err := declare()
		if err != nil || st.Name != extReplyTo || st.Messages != 0 || st.Consumers != 1 {
			t.Fatalf("declare of %s: %+v, %v; want 0 messages, 1 consumer", extReplyTo, st, err)
		}
	}
	req, _, _, addr := extRequester(t, c)
	st, err := ch.QueueDeclarePassive(addr, false, false, false, false, nil)
	if err != nil || st.Name != addr || st.Messages != 0 || st.Consumers != 1 {
		t.Fatalf("passive declare of a live address: %+v, %v; want 0 messages, 1 consumer", st, err)
	}
	if err := req.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{addr, extReplyTo + ".garbage"} {
		_, err := msgChannel(t, c).QueueDeclarePassive(name, false, false, false, false, nil)
		extExpectError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+name+"' in vhost '/'")
	}
	notFound := "NOT_FOUND - no queue '" + extReplyTo + "' in vhost '/'"
	_, _, err = msgChannel(t, c).Get(extReplyTo, true)
	extExpectError(t, err, amqp.NotFound, notFound)
	err = msgChannel(t, c).QueueBind(extReplyTo, "k", "amq.direct", false, nil)
	extExpectError(t, err, amqp.NotFound, notFound)
	_, err = msgChannel(t, c).QueuePurge(extReplyTo, false)
	extExpectError(t, err, amqp.NotFound, notFound)
	if n, err := msgChannel(t, c).QueueDelete(extReplyTo, false, false, false); err != nil || n != 0 {
		t.Fatalf("queue.delete of %s: %d, %v; want 0, nil", extReplyTo, n, err)
	}
}
