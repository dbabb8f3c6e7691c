package conformance

// Policies: the policies of testdata/definitions.json, which the broker loads at start
// (conformance/rabbitmq.sh makes RabbitMQ import the file at boot), set TTL,
// dead-lettering, length limits, expiry and alternate exchanges for the queues and
// exchanges whose names they match. Each test's subject names start with
// "conf.<TestName>." (uniqueName), which is what the patterns match; the queues that
// only observe are named "aux.…" (extAuxName) so that no policy applies to them.
//
// How RabbitMQ 3.10 resolves a key set both by a policy and by an x-argument:
//   - message-ttl, expires, max-length, max-length-bytes: the smaller value applies;
//   - dead-letter-exchange, dead-letter-routing-key, overflow, alternate-exchange: the
//     argument wins; each key is resolved on its own;
//   - of several matching policies only the one with the highest priority applies, whole.

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// extPolicyDLRK is the dead-letter routing key of policy
// conf-ext-dead-letter-routing-key.
const extPolicyDLRK = "conf.ext.policy.dlrk"

// extExclusiveAux declares an exclusive, server-deleted-on-close observer queue bound
// to exchange with key; exclusive, so that a failed run leaves nothing bound to a fixed
// key.
func extExclusiveAux(t testing.TB, ch *amqp.Channel, exchange, key string) string {
	t.Helper()
	q := extAuxName(t)
	if _, err := ch.QueueDeclare(q, false, false, true, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q, key, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	return q
}

// extRejectOne publishes one message to q through the default exchange and rejects
// it without requeue.
func extRejectOne(t testing.TB, c *amqp.Connection, ch *amqp.Channel, q, body string) {
	t.Helper()
	extSettle(t, extConfirming(t, c), "", q, extBody(body))
	if err := msgGet(t, ch, q, false).Reject(false); err != nil {
		t.Fatal(err)
	}
}

// TestExtPolicyMessageTTL pins policy conf-ext-message-ttl (message-ttl 50): it
// expires the messages of a queue without x-message-ttl, and of one whose
// x-message-ttl is longer (the smaller value applies).
func TestExtPolicyMessageTTL(t *testing.T) {
	t.Parallel()
	for name, args := range map[string]amqp.Table{"no_argument": nil, "longer_argument": {"x-message-ttl": int32(600000)}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			dlq := extQueueNamed(t, ch, extAuxName(t), nil)
			q := extQueue(t, ch, extWith(args, extDLXArgs(dlq)))
			extSettle(t, extConfirming(t, c), "", q, extBody("expires"))
			d := extAwait(t, ch, dlq)
			extCheckDeaths(t, d, extDeath{Count: 1, Reason: "expired", Queue: q, Exchange: "", RoutingKeys: []string{q}})
		})
	}
}

// TestExtPolicyMessageTTLLong pins policy conf-ext-message-ttl-long (message-ttl
// 600000): a shorter x-message-ttl applies (the smaller value), and without one the
// messages stay.
func TestExtPolicyMessageTTLLong(t *testing.T) {
	t.Parallel()
	t.Run("shorter_argument", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		q := extQueue(t, ch, amqp.Table{"x-message-ttl": int32(30)})
		extSettle(t, extConfirming(t, c), "", q, extBody("expires"))
		extAwaitReady(t, ch, q, 0)
	})
	t.Run("no_argument", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		q := extQueue(t, ch, nil)
		extSettle(t, extConfirming(t, c), "", q, extBody("stays"))
		extElapse(t, c, 60*time.Millisecond)
		if n := msgReady(t, ch, q); n != 1 {
			t.Fatalf("%d messages ready, want the 1 the long policy TTL keeps", n)
		}
	})
}

// TestExtPolicyDeadLetterExchange pins policy conf-ext-dead-letter-exchange
// (dead-letter-exchange amq.direct): it dead-letters a queue without the argument; an
// x-dead-letter-exchange argument (even "", the default exchange) wins over it; and an
// x-dead-letter-routing-key argument still needs an x-dead-letter-exchange argument.
func TestExtPolicyDeadLetterExchange(t *testing.T) {
	t.Parallel()
	t.Run("policy", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		q := uniqueName(t)
		dlq := extExclusiveAux(t, ch, "amq.direct", q)
		extQueueNamed(t, ch, q, nil)
		extRejectOne(t, c, ch, q, "rejected")
		d := extAwait(t, ch, dlq)
		if d.Exchange != "amq.direct" || d.RoutingKey != q {
			t.Fatalf("dead-lettered via %q/%q, want amq.direct/%q", d.Exchange, d.RoutingKey, q)
		}
		extCheckDeaths(t, d, extDeath{Count: 1, Reason: "rejected", Queue: q, Exchange: "", RoutingKeys: []string{q}})
	})
	t.Run("argument_wins", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		q := uniqueName(t)
		viaPolicy := extExclusiveAux(t, ch, "amq.direct", q)
		dlq := extQueueNamed(t, ch, extAuxName(t), nil)
		extQueueNamed(t, ch, q, extDLXArgs(dlq))
		extRejectOne(t, c, ch, q, "rejected")
		if d := extAwait(t, ch, dlq); d.Exchange != "" || d.RoutingKey != dlq {
			t.Fatalf("dead-lettered via %q/%q, want the argument's \"\"/%q", d.Exchange, d.RoutingKey, dlq)
		}
		msgExpectEmpty(t, ch, viaPolicy)
	})
	t.Run("routing_key_argument_alone", func(t *testing.T) {
		t.Parallel()
		c, _ := openChannel(t)
		q := uniqueName(t)
		extDeclareRefused(t, c, q, amqp.Table{"x-dead-letter-routing-key": "k"}, amqp.PreconditionFailed,
			"PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '"+q+"' in vhost '/': routing_key_but_no_dlx_defined")
	})
}

// TestExtPolicyDeadLetterRoutingKey pins policy conf-ext-dead-letter-routing-key
// (dead-letter-exchange amq.direct, dead-letter-routing-key conf.ext.policy.dlrk): the
// policy's key replaces the routing key; with an x-dead-letter-exchange argument the
// argument's exchange and the policy's key apply together (each key resolved on its
// own); an x-dead-letter-routing-key argument wins over the policy's key.
func TestExtPolicyDeadLetterRoutingKey(t *testing.T) {
	t.Parallel()
	// Not parallel among themselves: two of them bind the policy's fixed key.
	t.Run("policy", func(t *testing.T) {
		c, ch := openChannel(t)
		dlq := extExclusiveAux(t, ch, "amq.direct", extPolicyDLRK)
		q := extQueue(t, ch, nil)
		extRejectOne(t, c, ch, q, "rejected")
		d := extAwait(t, ch, dlq)
		if d.Exchange != "amq.direct" || d.RoutingKey != extPolicyDLRK || string(d.Body) != "rejected" {
			t.Fatalf("dead-lettered %q via %q/%q, want amq.direct/%s", d.Body, d.Exchange, d.RoutingKey, extPolicyDLRK)
		}
	})
	t.Run("exchange_argument", func(t *testing.T) {
		c, ch := openChannel(t)
		dlq := extExclusiveAux(t, ch, "amq.topic", extPolicyDLRK)
		q := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": "amq.topic"})
		extRejectOne(t, c, ch, q, "rejected")
		if d := extAwait(t, ch, dlq); d.Exchange != "amq.topic" || d.RoutingKey != extPolicyDLRK {
			t.Fatalf("dead-lettered via %q/%q, want amq.topic/%s", d.Exchange, d.RoutingKey, extPolicyDLRK)
		}
	})
	t.Run("routing_key_argument", func(t *testing.T) {
		c, ch := openChannel(t)
		key := uniqueName(t)
		dlq := extExclusiveAux(t, ch, "amq.direct", key)
		viaPolicy := extExclusiveAux(t, ch, "amq.direct", extPolicyDLRK)
		q := extQueue(t, ch, amqp.Table{"x-dead-letter-exchange": "amq.direct", "x-dead-letter-routing-key": key})
		extRejectOne(t, c, ch, q, "rejected")
		if d := extAwait(t, ch, dlq); d.RoutingKey != key {
			t.Fatalf("dead-lettered with key %q, want the argument's %q", d.RoutingKey, key)
		}
		msgExpectEmpty(t, ch, viaPolicy)
	})
}

// extKept publishes bodies to q (confirmed) and returns what q then holds.
func extKept(t testing.TB, c *amqp.Connection, ch *amqp.Channel, q string, bodies ...string) []string {
	t.Helper()
	pub := extConfirming(t, c)
	for _, b := range bodies {
		extSettle(t, pub, "", q, extBody(b))
	}
	return msgDrain(t, ch, q)
}

// TestExtPolicyMaxLength pins policy conf-ext-max-length (max-length 2): it limits a
// queue without x-max-length; with the argument, the smaller of the two applies. The
// policy takes no part in declare equivalence: the queue is redeclared without the
// argument.
func TestExtPolicyMaxLength(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args amqp.Table
		want []string
	}{
		{"no_argument", nil, []string{"3", "4"}},
		{"larger_argument", amqp.Table{"x-max-length": int32(5)}, []string{"3", "4"}},
		{"smaller_argument", amqp.Table{"x-max-length": int32(1)}, []string{"4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			q := extQueue(t, ch, tc.args)
			if got := extKept(t, c, ch, q, "1", "2", "3", "4"); !msgSame(got, tc.want...) {
				t.Fatalf("queue kept %v, want %v", got, tc.want)
			}
			if _, err := ch.QueueDeclare(q, false, false, false, false, tc.args); err != nil {
				t.Fatalf("redeclare with the same arguments: %v", err)
			}
		})
	}
}

// TestExtPolicyMaxLengthBytes pins policy conf-ext-max-length-bytes (max-length-bytes
// 10): it limits a queue without the argument; with it, the smaller applies.
func TestExtPolicyMaxLengthBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args amqp.Table
		want []string
	}{
		{"no_argument", nil, []string{"bbbbb", "ccccc"}},
		{"larger_argument", amqp.Table{"x-max-length-bytes": int32(100)}, []string{"bbbbb", "ccccc"}},
		{"smaller_argument", amqp.Table{"x-max-length-bytes": int32(5)}, []string{"ccccc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			q := extQueue(t, ch, tc.args)
			if got := extKept(t, c, ch, q, "aaaaa", "bbbbb", "ccccc"); !msgSame(got, tc.want...) {
				t.Fatalf("queue kept %v, want %v", got, tc.want)
			}
		})
	}
}

// TestExtPolicyOverflow pins policy conf-ext-overflow (max-length 1, overflow
// reject-publish): a queue under it nacks publishes beyond one message; an x-overflow
// argument wins over the policy's overflow; an x-max-length argument larger than the
// policy's does not lift the limit.
func TestExtPolicyOverflow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args amqp.Table
		acks []bool
		want []string
	}{
		{"no_argument", nil, []bool{true, false}, []string{"1"}},
		{"overflow_argument", amqp.Table{"x-overflow": "drop-head"}, []bool{true, true}, []string{"2"}},
		{"larger_max_length", amqp.Table{"x-max-length": int32(5)}, []bool{true, false}, []string{"1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			q := extQueue(t, ch, tc.args)
			pub := extConfirming(t, c)
			for i, b := range []string{"1", "2"} {
				if got := extPublishConfirm(t, pub, "", q, false, extBody(b)); got != tc.acks[i] {
					t.Fatalf("publish %s: ack=%v, want %v", b, got, tc.acks[i])
				}
			}
			if got := msgDrain(t, ch, q); !msgSame(got, tc.want...) {
				t.Fatalf("queue holds %v, want %v", got, tc.want)
			}
		})
	}
}

// TestExtPolicyExpires pins policy conf-ext-expires (expires 100): an unused queue
// under it is deleted, also when its x-expires argument is longer (the smaller
// applies).
func TestExtPolicyExpires(t *testing.T) {
	t.Parallel()
	for name, args := range map[string]amqp.Table{"no_argument": nil, "longer_argument": {"x-expires": int32(3600000)}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, ch := openChannel(t)
			q := extQueue(t, ch, args)
			gone := extProber(t, c)
			eventually(t, "the queue to expire", func() bool { return gone(q) })
		})
	}
}

// TestExtPolicyExpiresLong pins policy conf-ext-expires-long (expires 3600000): a
// shorter x-expires argument applies.
func TestExtPolicyExpiresLong(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, amqp.Table{"x-expires": int32(100)})
	gone := extProber(t, c)
	eventually(t, "the queue to expire", func() bool { return gone(q) })
}

// TestExtPolicyPriority pins that of two policies matching a queue only the one of
// higher priority applies, and whole: conf-ext-priority-high (priority 2, max-length 2)
// applies, nothing of conf-ext-priority-low (priority 1, max-length 1 and message-ttl
// 0, which would drop every message).
func TestExtPolicyPriority(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	if got := extKept(t, c, ch, q, "1", "2", "3"); !msgSame(got, "2", "3") {
		t.Fatalf("queue kept %v, want [2 3] (max-length 2 of the higher-priority policy alone)", got)
	}
}

// TestExtPolicyAlternateExchange pins policy conf-ext-alternate-exchange (apply-to
// exchanges, alternate-exchange amq.direct): an exchange without the argument sends
// what it cannot route to amq.direct, with the original routing key; an
// alternate-exchange argument wins over the policy.
func TestExtPolicyAlternateExchange(t *testing.T) {
	t.Parallel()
	t.Run("policy", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		x := extDeclareExchangeArgs(t, ch, "direct", false, nil)
		key := uniqueName(t)
		aq := extExclusiveAux(t, ch, "amq.direct", key)
		pub, returns := extReturning(t, c)
		if r := extMandatory(t, pub, returns, x, key, extBody("to-policy-ae")); r != nil {
			t.Fatalf("basic.return %d %q, want the policy's alternate exchange to route it", r.ReplyCode, r.ReplyText)
		}
		if m := msgGet(t, ch, aq, true); m.Exchange != x || m.RoutingKey != key {
			t.Fatalf("delivered via %q/%q, want %q/%q", m.Exchange, m.RoutingKey, x, key)
		}
	})
	t.Run("argument_wins", func(t *testing.T) {
		t.Parallel()
		c, ch := openChannel(t)
		x := extDeclareExchangeArgs(t, ch, "direct", false, amqp.Table{"alternate-exchange": "amq.topic"})
		key := uniqueName(t)
		viaPolicy := extExclusiveAux(t, ch, "amq.direct", key)
		viaArg := extExclusiveAux(t, ch, "amq.topic", key)
		extSettle(t, extConfirming(t, c), x, key, extBody("to-argument-ae"))
		if got := msgDrain(t, ch, viaArg); !msgSame(got, "to-argument-ae") {
			t.Fatalf("argument's alternate exchange got %v", got)
		}
		msgExpectEmpty(t, ch, viaPolicy)
	})
}

// TestExtPolicyApplyTo pins apply-to: the policies conf-ext-apply-to-exchanges
// (exchanges only: message-ttl 0, max-length 0) and conf-ext-apply-to-queues (queues
// only: alternate-exchange amq.direct) both match these names, and each affects only
// its own kind: the queue keeps its messages, the exchange has no alternate.
func TestExtPolicyApplyTo(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	if got := extKept(t, c, ch, q, "1", "2"); !msgSame(got, "1", "2") {
		t.Fatalf("queue kept %v, want [1 2]: an exchanges-only policy applied to it", got)
	}
	x := extDeclareExchangeArgs(t, ch, "direct", false, nil)
	key := uniqueName(t)
	extExclusiveAux(t, ch, "amq.direct", key)
	pub, returns := extReturning(t, c)
	if r := extMandatory(t, pub, returns, x, key, extBody("unroutable")); r == nil || r.ReplyCode != amqp.NoRoute {
		t.Fatalf("basic.return %+v, want 312: a queues-only policy gave the exchange an alternate", r)
	}
}
