package conformance

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// msgDefaultExchangeRefused is RabbitMQ's reason for any declare, delete or bind
// naming the default exchange "".
const msgDefaultExchangeRefused = "ACCESS_REFUSED - operation not permitted on the default exchange"

// msgDeleteExchangeLater deletes exchange name when the test ends.
func msgDeleteExchangeLater(t testing.TB, name string) {
	t.Cleanup(func() {
		msgTidy(t, func(ch *amqp.Channel) error { return ch.ExchangeDelete(name, false, false) })
	})
}

// msgDeclareExchange declares a non-durable, non-auto-delete exchange of the given kind
// with a unique name, deleted when the test ends, and returns its name.
func msgDeclareExchange(t testing.TB, ch *amqp.Channel, kind string) string {
	t.Helper()
	name := uniqueName(t)
	if err := ch.ExchangeDeclare(name, kind, false, false, false, false, nil); err != nil {
		t.Fatalf("exchange.declare %s %s: %v", kind, name, err)
	}
	msgDeleteExchangeLater(t, name)
	return name
}

// msgExchangeExists reports whether exchange name exists, by a passive declare on a
// channel of its own on c; any error other than 404 fails the test.
func msgExchangeExists(t testing.TB, c *amqp.Connection, name string) bool {
	t.Helper()
	ch := msgChannel(t, c)
	err := ch.ExchangeDeclarePassive(name, "direct", false, false, false, false, nil)
	if err == nil {
		ch.Close()
		return true
	}
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no exchange '"+name+"' in vhost '/'")
	return false
}

// msgBoundQueue declares a queue bound to exchange with key and args.
func msgBoundQueue(t testing.TB, ch *amqp.Channel, exchange, key string, args amqp.Table) string {
	t.Helper()
	q := msgDeclareQueue(t, ch)
	if err := ch.QueueBind(q, key, exchange, false, args); err != nil {
		t.Fatalf("queue.bind %s to %s with %q %v: %v", q, exchange, key, args, err)
	}
	return q
}

// TestExchangeDeclarePassive pins that a passive declare of an existing exchange
// succeeds whatever type and flags it names, and that of a missing one is a 404
// channel close that leaves the connection open.
func TestExchangeDeclarePassive(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "direct")
	if err := ch.ExchangeDeclarePassive(x, "fanout", true, true, true, false, nil); err != nil {
		t.Fatalf("passive declare of an existing exchange: %v", err)
	}
	missing := uniqueName(t)
	err := ch.ExchangeDeclarePassive(missing, "direct", false, false, false, false, nil)
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no exchange '"+missing+"' in vhost '/'")
	if c.IsClosed() {
		t.Fatal("a 404 closed the connection")
	}
	msgChannel(t, c)
}

// TestExchangeDeclareDurable pins that a durable exchange can be declared and
// redeclared identically, with arguments, and that identical redeclares are no-ops.
func TestExchangeDeclareDurable(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := uniqueName(t)
	msgDeleteExchangeLater(t, x)
	args := amqp.Table{"alternate-exchange": "amq.fanout"}
	for i := 0; i < 2; i++ {
		if err := ch.ExchangeDeclare(x, "topic", true, false, false, false, args); err != nil {
			t.Fatalf("declare #%d: %v", i+1, err)
		}
	}
	if !msgExchangeExists(t, c, x) {
		t.Fatal("durable exchange missing")
	}
}

// TestExchangeRedeclareInequivalent pins the 406 PRECONDITION_FAILED texts for
// redeclaring an exchange with another type, durable, auto-delete or internal flag, or
// alternate-exchange argument; other x-arguments are not compared.
func TestExchangeRedeclareInequivalent(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := uniqueName(t)
	msgDeleteExchangeLater(t, x)
	if err := ch.ExchangeDeclare(x, "direct", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	head := "PRECONDITION_FAILED - inequivalent arg "
	in := " for exchange '" + x + "' in vhost '/': "
	cases := []struct {
		kind                          string
		durable, autoDelete, internal bool
		args                          amqp.Table
		reason                        string
	}{
		{"fanout", false, true, false, nil, head + "'type'" + in + "received 'fanout' but current is 'direct'"},
		{"direct", true, true, false, nil, head + "'durable'" + in + "received 'true' but current is 'false'"},
		{"direct", false, false, false, nil, head + "'auto_delete'" + in + "received 'false' but current is 'true'"},
		{"direct", false, true, true, nil, head + "'internal'" + in + "received 'true' but current is 'false'"},
		{"direct", false, true, false, amqp.Table{"alternate-exchange": "ae"},
			head + "'alternate-exchange'" + in + "received the value 'ae' of type 'longstr' but current is none"},
	}
	for _, tc := range cases {
		ch := msgChannel(t, c)
		err := ch.ExchangeDeclare(x, tc.kind, tc.durable, tc.autoDelete, tc.internal, false, tc.args)
		if err == nil {
			t.Fatalf("inequivalent redeclare accepted: %s", tc.reason)
		}
		expectAMQPError(t, err, amqp.PreconditionFailed, tc.reason)
	}
	ch = msgChannel(t, c)
	if err := ch.ExchangeDeclare(x, "direct", false, true, false, false, amqp.Table{"x-other": "v"}); err != nil {
		t.Fatalf("redeclare with an extra x-argument: %v", err)
	}
}

// TestExchangeDeclareUnknownType pins that an unknown exchange type is a 503
// COMMAND_INVALID connection close. (RabbitMQ says "invalid exchange type" instead
// when the name happens to be an existing Erlang atom, such as 'foo'; names like this
// one get "unknown exchange type".)
func TestExchangeDeclareUnknownType(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	x := uniqueName(t)
	err := ch.ExchangeDeclare(x, "no-such-type", false, true, false, false, nil)
	expectAMQPError(t, err, amqp.CommandInvalid, "COMMAND_INVALID - unknown exchange type 'no-such-type'")
	msgExpectClose(t, closed, amqp.CommandInvalid, "COMMAND_INVALID - unknown exchange type 'no-such-type'")
}

// TestExchangeDeclareReservedPrefix pins that declaring a new exchange named "amq.*" is
// a 403, while redeclaring a built-in one with its own properties is accepted.
func TestExchangeDeclareReservedPrefix(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := "amq." + uniqueName(t)
	err := ch.ExchangeDeclare(x, "direct", false, true, false, false, nil)
	expectAMQPError(t, err, amqp.AccessRefused, "ACCESS_REFUSED - exchange name '"+x+"' contains reserved prefix 'amq.*'")
	ch = msgChannel(t, c)
	if err := ch.ExchangeDeclare("amq.direct", "direct", true, false, false, false, nil); err != nil {
		t.Fatalf("equivalent redeclare of amq.direct: %v", err)
	}
}

// TestExchangeBuiltins pins that amq.direct, amq.fanout, amq.topic, amq.headers and
// amq.match exist with their types (an equivalent redeclare is accepted).
func TestExchangeBuiltins(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	for name, kind := range map[string]string{
		"amq.direct": "direct", "amq.fanout": "fanout", "amq.topic": "topic",
		"amq.headers": "headers", "amq.match": "headers",
	} {
		if err := ch.ExchangeDeclarePassive(name, kind, true, false, false, false, nil); err != nil {
			t.Fatalf("passive declare %s: %v", name, err)
		}
		if err := ch.ExchangeDeclare(name, kind, true, false, false, false, nil); err != nil {
			t.Fatalf("redeclare %s as durable %s: %v", name, kind, err)
		}
	}
	for name, kind := range map[string]string{"amq.direct": "direct", "amq.match": "headers"} {
		ch := msgChannel(t, c)
		err := ch.ExchangeDeclare(name, "fanout", true, false, false, false, nil)
		expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '"+
			name+"' in vhost '/': received 'fanout' but current is '"+kind+"'")
	}
}

// TestExchangeDefaultExchangeProtected pins that the default exchange "" cannot be
// declared (even passively), deleted, bound or unbound: each is a 403 channel close.
func TestExchangeDefaultExchangeProtected(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	ops := map[string]func(ch *amqp.Channel) error{
		"passive declare": func(ch *amqp.Channel) error {
			return ch.ExchangeDeclarePassive("", "direct", true, false, false, false, nil)
		},
		"declare": func(ch *amqp.Channel) error { return ch.ExchangeDeclare("", "direct", true, false, false, false, nil) },
		"delete":  func(ch *amqp.Channel) error { return ch.ExchangeDelete("", false, false) },
		"queue.bind": func(ch *amqp.Channel) error {
			return ch.QueueBind(q, "k", "", false, nil)
		},
		"queue.unbind": func(ch *amqp.Channel) error { return ch.QueueUnbind(q, q, "", nil) },
		"exchange.bind from": func(ch *amqp.Channel) error {
			return ch.ExchangeBind("amq.direct", "k", "", false, nil)
		},
		"exchange.bind to": func(ch *amqp.Channel) error {
			return ch.ExchangeBind("", "k", "amq.direct", false, nil)
		},
	}
	for what, op := range ops {
		err := op(msgChannel(t, c))
		if err == nil {
			t.Fatalf("%s on the default exchange succeeded", what)
		}
		expectAMQPError(t, err, amqp.AccessRefused, msgDefaultExchangeRefused)
	}
}

// TestExchangeDelete pins exchange.delete: an existing exchange is gone afterwards, a
// missing one is deleted without error (RabbitMQ 3.10), and a built-in amq.* exchange
// cannot be deleted (403).
func TestExchangeDelete(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "fanout")
	if err := ch.ExchangeDelete(x, false, false); err != nil {
		t.Fatal(err)
	}
	if msgExchangeExists(t, c, x) {
		t.Fatal("exchange exists after delete-ok")
	}
	if err := ch.ExchangeDelete(uniqueName(t), false, false); err != nil {
		t.Fatalf("delete of a missing exchange: %v", err)
	}
	err := ch.ExchangeDelete("amq.direct", false, false)
	expectAMQPError(t, err, amqp.AccessRefused, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed")
}

// TestExchangeDeleteIfUnused pins that exchange.delete if-unused on an exchange that is
// the source of a binding is a 406 "in use" channel close, that being only the
// destination of an exchange binding does not count as use, and that deleting an
// exchange removes the bindings it was the destination of.
func TestExchangeDeleteIfUnused(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "direct")
	msgBoundQueue(t, ch, x, "k", nil)
	err := ch.ExchangeDelete(x, true, false)
	expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - exchange '"+x+"' in vhost '/' in use")

	ch = msgChannel(t, c)
	src := msgDeclareExchange(t, ch, "fanout")
	dst := msgDeclareExchange(t, ch, "fanout")
	if err := ch.ExchangeBind(dst, "", src, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDelete(dst, true, false); err != nil {
		t.Fatalf("if-unused delete of an exchange that is only a destination: %v", err)
	}
	if err := ch.ExchangeDelete(src, true, false); err != nil {
		t.Fatalf("if-unused delete after its only binding's destination was deleted: %v", err)
	}
}

// TestExchangeAutoDelete pins auto-delete exchanges: one exists before it has any
// binding, survives the removal of one of two bindings, and is deleted when its last
// binding (as a source) is removed by queue.unbind.
func TestExchangeAutoDelete(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := uniqueName(t)
	msgDeleteExchangeLater(t, x)
	if err := ch.ExchangeDeclare(x, "direct", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if !msgExchangeExists(t, c, x) {
		t.Fatal("auto-delete exchange deleted before it had a binding")
	}
	q := msgDeclareQueue(t, ch)
	for _, key := range []string{"a", "b"} {
		if err := ch.QueueBind(q, key, x, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.QueueUnbind(q, "a", x, nil); err != nil {
		t.Fatal(err)
	}
	if !msgExchangeExists(t, c, x) {
		t.Fatal("auto-delete exchange deleted while it still had a binding")
	}
	if err := ch.QueueUnbind(q, "b", x, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "auto-delete exchange deleted", func() bool { return !msgExchangeExists(t, c, x) })
}

// TestExchangeAutoDeleteOnQueueDelete pins that deleting the only queue bound to an
// auto-delete exchange deletes the exchange.
func TestExchangeAutoDeleteOnQueueDelete(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := uniqueName(t)
	msgDeleteExchangeLater(t, x)
	if err := ch.ExchangeDeclare(x, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q := msgBoundQueue(t, ch, x, "", nil)
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "auto-delete exchange deleted", func() bool { return !msgExchangeExists(t, c, x) })
}

// TestExchangeAutoDeleteExchangeBindings pins that an auto-delete exchange is deleted
// when its last exchange-to-exchange binding as the source goes, but not when a binding
// it is the destination of goes.
func TestExchangeAutoDeleteExchangeBindings(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	asSource, asDest := uniqueName(t), uniqueName(t)
	for _, x := range []string{asSource, asDest} {
		msgDeleteExchangeLater(t, x)
		if err := ch.ExchangeDeclare(x, "fanout", false, true, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.ExchangeBind("amq.fanout", "", asSource, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeBind(asDest, "", "amq.fanout", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeUnbind(asDest, "", "amq.fanout", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeUnbind("amq.fanout", "", asSource, false, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "auto-delete source exchange deleted", func() bool { return !msgExchangeExists(t, c, asSource) })
	if !msgExchangeExists(t, c, asDest) {
		t.Fatal("auto-delete exchange deleted when a binding it was the destination of went")
	}
}

// TestExchangeInternal pins internal exchanges: publishing to one is a 403 channel
// close, while messages reach it through an exchange-to-exchange binding.
func TestExchangeInternal(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := uniqueName(t)
	msgDeleteExchangeLater(t, x)
	if err := ch.ExchangeDeclare(x, "fanout", false, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	q := msgBoundQueue(t, ch, x, "", nil)
	front := msgDeclareExchange(t, ch, "fanout")
	if err := ch.ExchangeBind(x, "", front, false, nil); err != nil {
		t.Fatal(err)
	}
	msgPublish(t, ch, front, "", "via-front")
	if got := msgDrain(t, ch, q); !msgSame(got, "via-front") {
		t.Fatalf("queue behind internal exchange got %v, want [via-front]", got)
	}

	ch = msgChannel(t, c)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	msgPublish(t, ch, x, "", "direct-to-internal")
	msgExpectClose(t, closed, amqp.AccessRefused, "ACCESS_REFUSED - cannot publish to internal exchange '"+x+"' in vhost '/'")
}

// TestExchangeAlternateExchange pins the alternate-exchange argument: a message the
// exchange cannot route goes to the alternate exchange's queues; a routable one does
// not; mandatory is satisfied by the alternate route.
func TestExchangeAlternateExchange(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	ae := msgDeclareExchange(t, ch, "fanout")
	aeq := msgBoundQueue(t, ch, ae, "", nil)
	x := uniqueName(t)
	msgDeleteExchangeLater(t, x)
	if err := ch.ExchangeDeclare(x, "direct", false, false, false, false, amqp.Table{"alternate-exchange": ae}); err != nil {
		t.Fatal(err)
	}
	q := msgBoundQueue(t, ch, x, "known", nil)
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	msgPublish(t, ch, x, "known", "routed")
	if err := ch.Publish(x, "unknown", true, false, amqp.Publishing{Body: []byte("alternate")}); err != nil {
		t.Fatal(err)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "routed") {
		t.Fatalf("bound queue got %v, want [routed]", got)
	}
	if got := msgDrain(t, ch, aeq); !msgSame(got, "alternate") {
		t.Fatalf("alternate exchange's queue got %v, want [alternate]", got)
	}
	select {
	case r := <-returns:
		t.Fatalf("basic.return %q for a message the alternate exchange routed", r.Body)
	default: // the drains above were round trips after the publish: a return would be here.
	}
}

// TestExchangeBindMissing pins the 404 texts for queue.bind and exchange.bind naming a
// missing exchange or queue; when both ends are missing the source exchange is named.
func TestExchangeBindMissing(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	noX, noQ := uniqueName(t), uniqueName(t)
	cases := []struct {
		what   string
		op     func(ch *amqp.Channel) error
		reason string
	}{
		{"queue.bind missing exchange", func(ch *amqp.Channel) error { return ch.QueueBind(q, "k", noX, false, nil) },
			"NOT_FOUND - no exchange '" + noX + "' in vhost '/'"},
		{"queue.bind missing queue", func(ch *amqp.Channel) error { return ch.QueueBind(noQ, "k", "amq.direct", false, nil) },
			"NOT_FOUND - no queue '" + noQ + "' in vhost '/'"},
		{"queue.bind both missing", func(ch *amqp.Channel) error { return ch.QueueBind(noQ, "k", noX, false, nil) },
			"NOT_FOUND - no exchange '" + noX + "' in vhost '/'"},
		{"exchange.bind missing destination", func(ch *amqp.Channel) error { return ch.ExchangeBind(noX, "k", "amq.direct", false, nil) },
			"NOT_FOUND - no exchange '" + noX + "' in vhost '/'"},
		{"exchange.bind missing source", func(ch *amqp.Channel) error { return ch.ExchangeBind("amq.fanout", "k", noX, false, nil) },
			"NOT_FOUND - no exchange '" + noX + "' in vhost '/'"},
		{"exchange.bind both missing", func(ch *amqp.Channel) error { return ch.ExchangeBind(noQ, "k", noX, false, nil) },
			"NOT_FOUND - no exchange '" + noX + "' in vhost '/'"},
	}
	for _, tc := range cases {
		err := tc.op(msgChannel(t, c))
		if err == nil {
			t.Fatalf("%s succeeded", tc.what)
		}
		expectAMQPError(t, err, amqp.NotFound, tc.reason)
	}
}

// TestExchangeUnbindMissing pins that exchange.unbind of a binding or exchange that
// does not exist succeeds (RabbitMQ 3.10) and leaves the channel open.
func TestExchangeUnbindMissing(t *testing.T) {
	t.Parallel()
	c, _ := openChannel(t)
	for what, op := range map[string]func(ch *amqp.Channel) error{
		"missing binding":     func(ch *amqp.Channel) error { return ch.ExchangeUnbind("amq.fanout", "k", "amq.direct", false, nil) },
		"missing destination": func(ch *amqp.Channel) error { return ch.ExchangeUnbind(uniqueName(t), "k", "amq.direct", false, nil) },
		"missing source":      func(ch *amqp.Channel) error { return ch.ExchangeUnbind("amq.fanout", "k", uniqueName(t), false, nil) },
	} {
		ch := msgChannel(t, c)
		if err := op(ch); err != nil {
			t.Fatalf("exchange.unbind of a %s: %v", what, err)
		}
		if err := ch.ExchangeDeclarePassive("amq.direct", "direct", true, false, false, false, nil); err != nil {
			t.Fatalf("channel unusable after exchange.unbind of a %s: %v", what, err)
		}
	}
}

// TestExchangeBindExchangeToExchange pins exchange.bind and exchange.unbind: for a
// source of each type, a message published to the source that matches the binding
// reaches the queues bound to the destination, one that does not match does not, and
// after unbind nothing does.
func TestExchangeBindExchangeToExchange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind, key    string
		args         amqp.Table
		match, other amqp.Publishing
		matchKey     string
		otherKey     string
	}{
		{kind: "direct", key: "k", matchKey: "k", otherKey: "j"},
		{kind: "fanout", key: "ignored", matchKey: "any", otherKey: ""},
		{kind: "topic", key: "a.*", matchKey: "a.b", otherKey: "a.b.c"},
		{kind: "headers", args: amqp.Table{"x-match": "all", "h": "1"},
			match: amqp.Publishing{Headers: amqp.Table{"h": "1"}}, other: amqp.Publishing{Headers: amqp.Table{"h": "2"}}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			_, ch := openChannel(t)
			src := msgDeclareExchange(t, ch, tc.kind)
			dst := msgDeclareExchange(t, ch, "fanout")
			q := msgBoundQueue(t, ch, dst, "", nil)
			if err := ch.ExchangeBind(dst, tc.key, src, false, tc.args); err != nil {
				t.Fatal(err)
			}
			pub := func(p amqp.Publishing, key, body string) {
				p.Body = []byte(body)
				if err := ch.Publish(src, key, false, false, p); err != nil {
					t.Fatal(err)
				}
			}
			pub(tc.match, tc.matchKey, "match")
			if tc.kind != "fanout" {
				pub(tc.other, tc.otherKey, "other")
			}
			if got := msgDrain(t, ch, q); !msgSame(got, "match") {
				t.Fatalf("queue behind %s->fanout got %v, want [match]", tc.kind, got)
			}
			if err := ch.ExchangeUnbind(dst, tc.key, src, false, tc.args); err != nil {
				t.Fatal(err)
			}
			pub(tc.match, tc.matchKey, "after-unbind")
			if got := msgDrain(t, ch, q); len(got) != 0 {
				t.Fatalf("queue got %v after exchange.unbind", got)
			}
		})
	}
}

// TestExchangeBindDeliversOncePerQueue pins that a queue reachable from an exchange by
// several paths (a direct binding, an exchange-to-exchange binding, two keys) receives
// one copy of a message, and that a cycle of exchange bindings does not loop.
func TestExchangeBindDeliversOncePerQueue(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	src := msgDeclareExchange(t, ch, "topic")
	mid := msgDeclareExchange(t, ch, "fanout")
	q := msgBoundQueue(t, ch, src, "a.*", nil)
	for _, b := range []struct{ q, key, x string }{{q, "#", src}, {q, "", mid}} {
		if err := ch.QueueBind(b.q, b.key, b.x, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.ExchangeBind(mid, "a.b", src, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeBind(src, "", mid, false, nil); err != nil {
		t.Fatal(err)
	}
	msgPublish(t, ch, src, "a.b", "once")
	if got := msgDrain(t, ch, q); !msgSame(got, "once") {
		t.Fatalf("queue got %v, want [once]", got)
	}
}

// msgRoute publishes each message to exchange and returns, for each queue, the bodies
// it received, in order.
func msgRoute(t *testing.T, ch *amqp.Channel, exchange string, queues []string, msgs []amqp.Publishing, keys []string) map[string][]string {
	t.Helper()
	for i, p := range msgs {
		if err := ch.Publish(exchange, keys[i], false, false, p); err != nil {
			t.Fatal(err)
		}
	}
	got := make(map[string][]string)
	for _, q := range queues {
		got[q] = msgDrain(t, ch, q)
	}
	return got
}

// TestRoutingDirect pins direct routing: a message reaches exactly the queues bound
// with its routing key, once per queue even when bound with two keys.
func TestRoutingDirect(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "direct")
	qa := msgBoundQueue(t, ch, x, "a", nil)
	qb := msgBoundQueue(t, ch, x, "b", nil)
	qab := msgBoundQueue(t, ch, x, "a", nil)
	if err := ch.QueueBind(qab, "b", x, false, nil); err != nil {
		t.Fatal(err)
	}
	qempty := msgBoundQueue(t, ch, x, "", nil)
	keys := []string{"a", "b", "c", "", "A"}
	msgs := make([]amqp.Publishing, len(keys))
	for i, k := range keys {
		msgs[i] = amqp.Publishing{Body: []byte("key=" + k)}
	}
	got := msgRoute(t, ch, x, []string{qa, qb, qab, qempty}, msgs, keys)
	want := map[string][]string{qa: {"key=a"}, qb: {"key=b"}, qab: {"key=a", "key=b"}, qempty: {"key="}}
	for q, w := range want {
		if !msgSame(got[q], w...) {
			t.Errorf("queue %s got %v, want %v", q, got[q], w)
		}
	}
}

// TestRoutingFanout pins fanout routing: every bound queue gets every message whatever
// its routing key or the binding's key.
func TestRoutingFanout(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "fanout")
	q1 := msgBoundQueue(t, ch, x, "", nil)
	q2 := msgBoundQueue(t, ch, x, "some.key", nil)
	keys := []string{"", "x", "some.key"}
	msgs := []amqp.Publishing{{Body: []byte("1")}, {Body: []byte("2")}, {Body: []byte("3")}}
	got := msgRoute(t, ch, x, []string{q1, q2}, msgs, keys)
	for _, q := range []string{q1, q2} {
		if !msgSame(got[q], "1", "2", "3") {
			t.Errorf("queue %s got %v, want [1 2 3]", q, got[q])
		}
	}
}

// TestRoutingTopic pins topic routing for canonical patterns: "*" matches exactly one
// word, "#" zero or more, words are split on "." (so "a..c" has an empty middle
// word), and the empty routing key is zero words: only "#" and "" match it.
func TestRoutingTopic(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "topic")
	keys := []string{"a.b.c", "a.c", "a", "a.b.b.c", "b.c", "c", "", "a..c"}
	want := map[string][]string{
		"a.b.c": {"a.b.c"},
		"a.*.c": {"a.b.c", "a..c"},
		"a.#":   {"a.b.c", "a.c", "a", "a.b.b.c", "a..c"},
		"#.c":   {"a.b.c", "a.c", "a.b.b.c", "b.c", "c", "a..c"},
		"#":     {"a.b.c", "a.c", "a", "a.b.b.c", "b.c", "c", "", "a..c"},
		"*":     {"a", "c"},
		"*.*":   {"a.c", "b.c"},
		"a.#.c": {"a.b.c", "a.c", "a.b.b.c", "a..c"},
		"#.b.#": {"a.b.c", "a.b.b.c", "b.c"},
		"":      {""},
		"*.#":   {"a.b.c", "a.c", "a", "a.b.b.c", "b.c", "c", "a..c"},
	}
	queues := make(map[string]string)
	var names []string
	for pattern := range want {
		q := msgBoundQueue(t, ch, x, pattern, nil)
		queues[pattern] = q
		names = append(names, q)
	}
	msgs := make([]amqp.Publishing, len(keys))
	for i, k := range keys {
		msgs[i] = amqp.Publishing{Body: []byte(k)}
	}
	got := msgRoute(t, ch, x, names, msgs, keys)
	for pattern, w := range want {
		if g := got[queues[pattern]]; !msgSame(g, w...) {
			t.Errorf("pattern %q got %q, want %q", pattern, g, w)
		}
	}
}

// TestRoutingHeaders pins headers routing: x-match all (the default) and any compare
// the binding's non-"x-" arguments with the message headers, all-with-x and any-with-x
// include "x-" arguments too, a void binding value matches any value, values must be
// equal in type as well, and an empty "all" binding matches every message.
func TestRoutingHeaders(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "headers")
	msgs := []struct {
		name    string
		headers amqp.Table
	}{
		{"ab", amqp.Table{"a": "1", "b": "2"}},
		{"a", amqp.Table{"a": "1"}},
		{"bc", amqp.Table{"b": "2", "c": "3"}},
		{"xk", amqp.Table{"x-k": "v"}},
		{"xk-a", amqp.Table{"x-k": "v", "a": "1"}},
		{"none", nil},
		{"a-wrong", amqp.Table{"a": "2"}},
		{"n-int32", amqp.Table{"n": int32(1)}},
		{"n-string", amqp.Table{"n": "1"}},
	}
	bindings := []struct {
		name string
		args amqp.Table
		want []string
	}{
		{"all a b", amqp.Table{"x-match": "all", "a": "1", "b": "2"}, []string{"ab"}},
		{"any a b", amqp.Table{"x-match": "any", "a": "1", "b": "2"}, []string{"ab", "a", "bc", "xk-a"}},
		{"default is all", amqp.Table{"a": "1"}, []string{"ab", "a", "xk-a"}},
		{"all ignores x-", amqp.Table{"x-match": "all", "x-k": "v", "a": "1"}, []string{"ab", "a", "xk-a"}},
		{"all-with-x", amqp.Table{"x-match": "all-with-x", "x-k": "v", "a": "1"}, []string{"xk-a"}},
		{"any-with-x", amqp.Table{"x-match": "any-with-x", "x-k": "v"}, []string{"xk", "xk-a"}},
		{"any ignores x-", amqp.Table{"x-match": "any", "x-k": "v"}, nil},
		{"void matches presence", amqp.Table{"x-match": "all", "c": nil}, []string{"bc"}},
		{"typed int32", amqp.Table{"x-match": "all", "n": int32(1)}, []string{"n-int32"}},
		{"empty all", amqp.Table{"x-match": "all"}, []string{"ab", "a", "bc", "xk", "xk-a", "none", "a-wrong", "n-int32", "n-string"}},
		{"empty any", amqp.Table{"x-match": "any"}, nil},
	}
	var queues []string
	for _, b := range bindings {
		queues = append(queues, msgBoundQueue(t, ch, x, "ignored", b.args))
	}
	pubs := make([]amqp.Publishing, len(msgs))
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		pubs[i] = amqp.Publishing{Headers: m.headers, Body: []byte(m.name)}
	}
	got := msgRoute(t, ch, x, queues, pubs, keys)
	for i, b := range bindings {
		if g := got[queues[i]]; !msgSame(g, b.want...) {
			t.Errorf("binding %q got %q, want %q", b.name, g, b.want)
		}
	}
}

// TestRoutingDefaultExchange pins the default exchange: a message published to "" with
// a queue's name as routing key reaches exactly that queue.
func TestRoutingDefaultExchange(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q1, q2 := msgDeclareQueue(t, ch), msgDeclareQueue(t, ch)
	msgPublish(t, ch, "", q1, "to-q1")
	msgPublish(t, ch, "", q2, "to-q2")
	if got := msgDrain(t, ch, q1); !msgSame(got, "to-q1") {
		t.Errorf("%s got %v", q1, got)
	}
	if got := msgDrain(t, ch, q2); !msgSame(got, "to-q2") {
		t.Errorf("%s got %v", q2, got)
	}
}

// TestRoutingHeadersInvalidXMatch pins that binding to a headers exchange with an
// x-match that is not all, any, all-with-x or any-with-x, or is not a string, is a 406
// channel close (RabbitMQ's texts quote Erlang terms).
func TestRoutingHeadersInvalidXMatch(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	err := ch.QueueBind(q, "", "amq.headers", false, amqp.Table{"x-match": "some"})
	expectAMQPError(t, err, amqp.PreconditionFailed,
		`PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x`)
	err = msgChannel(t, c).QueueBind(q, "", "amq.headers", false, amqp.Table{"x-match": int32(1)})
	expectAMQPError(t, err, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - Invalid x-match field type signedint (value 1); expected longstr")
}
