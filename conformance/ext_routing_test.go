package conformance

// Routing extensions beyond exchange_test.go: alternate exchanges (chains, missing,
// cycles, on the destination of an exchange-to-exchange binding), sender-selected
// distribution (the CC and BCC headers) and exchange-to-exchange bindings whose
// destination is not a fanout.

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// extDeclareExchangeArgs declares an exchange of kind with args and a unique name,
// deleted when the test ends.
func extDeclareExchangeArgs(t testing.TB, ch *amqp.Channel, kind string, internal bool, args amqp.Table) string {
	t.Helper()
	x := uniqueName(t)
	if err := ch.ExchangeDeclare(x, kind, false, false, internal, false, args); err != nil {
		t.Fatalf("exchange.declare %s %s %v: %v", kind, x, args, err)
	}
	msgDeleteExchangeLater(t, x)
	return x
}

// extMandatory publishes p mandatory on ch (in confirm mode, returns notified on
// returns), waits for its confirm and returns the basic.return it caused, if any.
func extMandatory(t testing.TB, ch *amqp.Channel, returns <-chan amqp.Return, exchange, key string, p amqp.Publishing) *amqp.Return {
	t.Helper()
	if !extPublishConfirm(t, ch, exchange, key, true, p) {
		t.Fatalf("mandatory publish to %q/%q nacked", exchange, key)
	}
	select { // RabbitMQ sends basic.return before the publish's basic.ack.
	case r := <-returns:
		return &r
	default:
		return nil
	}
}

// extReturning returns a confirm-mode channel on c with its returns.
func extReturning(t testing.TB, c *amqp.Connection) (*amqp.Channel, <-chan amqp.Return) {
	t.Helper()
	ch := extConfirming(t, c)
	return ch, ch.NotifyReturn(make(chan amqp.Return, 8))
}

// TestExtAlternateExchangeChain pins that an alternate exchange's own alternate
// exchange is used in turn, that a message routed by any exchange of the chain is not
// returned to a mandatory publisher, and that the delivery names the exchange the
// message was published to, with its routing key.
func TestExtAlternateExchangeChain(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	ae2 := extDeclareExchangeArgs(t, ch, "fanout", false, nil)
	ae1 := extDeclareExchangeArgs(t, ch, "direct", false, amqp.Table{"alternate-exchange": ae2})
	x := extDeclareExchangeArgs(t, ch, "direct", false, amqp.Table{"alternate-exchange": ae1})
	q1 := msgBoundQueue(t, ch, ae1, "k1", nil)
	q2 := msgBoundQueue(t, ch, ae2, "", nil)
	pub, returns := extReturning(t, c)
	for _, key := range []string{"k1", "other"} {
		if r := extMandatory(t, pub, returns, x, key, extBody(key)); r != nil {
			t.Fatalf("basic.return %d %q for a message the alternate exchanges routed", r.ReplyCode, r.ReplyText)
		}
	}
	m := msgGet(t, ch, q1, true)
	if string(m.Body) != "k1" || m.Exchange != x || m.RoutingKey != "k1" {
		t.Fatalf("first alternate's queue got %q via %q/%q, want k1 via %q/k1", m.Body, m.Exchange, m.RoutingKey, x)
	}
	m = msgGet(t, ch, q2, true)
	if string(m.Body) != "other" || m.Exchange != x || m.RoutingKey != "other" {
		t.Fatalf("second alternate's queue got %q via %q/%q, want other via %q/other", m.Body, m.Exchange, m.RoutingKey, x)
	}
	msgExpectEmpty(t, ch, q1)
	msgExpectEmpty(t, ch, q2)
}

// TestExtAlternateExchangeMissing pins that an alternate-exchange naming an exchange
// that does not exist is accepted and ignored: routable messages are routed, others
// are dropped (or returned with 312 NO_ROUTE when mandatory), with no error.
func TestExtAlternateExchangeMissing(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := extDeclareExchangeArgs(t, ch, "direct", false, amqp.Table{"alternate-exchange": uniqueName(t)})
	q := msgBoundQueue(t, ch, x, "k", nil)
	pub, returns := extReturning(t, c)
	if r := extMandatory(t, pub, returns, x, "k", extBody("routed")); r != nil {
		t.Fatalf("routable message returned: %d %q", r.ReplyCode, r.ReplyText)
	}
	r := extMandatory(t, pub, returns, x, "nowhere", extBody("unroutable"))
	if r == nil || r.ReplyCode != amqp.NoRoute || r.ReplyText != "NO_ROUTE" || string(r.Body) != "unroutable" || r.Exchange != x {
		t.Fatalf("basic.return %+v, want 312 NO_ROUTE of unroutable from %q", r, x)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "routed") {
		t.Fatalf("queue got %v, want [routed]", got)
	}
}

// TestExtAlternateExchangeNowhere pins that a message that no exchange of the
// alternate chain routes is returned to a mandatory publisher, and that a cycle of
// alternate exchanges does not loop.
func TestExtAlternateExchangeNowhere(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	a, b := uniqueName(t), uniqueName(t)
	for _, x := range [][2]string{{a, b}, {b, a}} {
		if err := ch.ExchangeDeclare(x[0], "direct", false, false, false, false, amqp.Table{"alternate-exchange": x[1]}); err != nil {
			t.Fatal(err)
		}
		msgDeleteExchangeLater(t, x[0])
	}
	q := msgBoundQueue(t, ch, b, "kb", nil)
	pub, returns := extReturning(t, c)
	if r := extMandatory(t, pub, returns, a, "kb", extBody("via-b")); r != nil {
		t.Fatalf("message routed by the alternate returned: %d %q", r.ReplyCode, r.ReplyText)
	}
	r := extMandatory(t, pub, returns, a, "none", extBody("lost"))
	if r == nil || r.ReplyCode != amqp.NoRoute {
		t.Fatalf("basic.return %+v, want 312 for a message the alternate cycle cannot route", r)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "via-b") {
		t.Fatalf("queue got %v, want [via-b] once", got)
	}
}

// TestExtAlternateExchangeInternal pins that an internal exchange can serve as an
// alternate exchange.
func TestExtAlternateExchangeInternal(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	ae := extDeclareExchangeArgs(t, ch, "fanout", true, nil)
	q := msgBoundQueue(t, ch, ae, "", nil)
	x := extDeclareExchangeArgs(t, ch, "direct", false, amqp.Table{"alternate-exchange": ae})
	extSettle(t, extConfirming(t, c), x, "k", extBody("to-internal"))
	if got := msgDrain(t, ch, q); !msgSame(got, "to-internal") {
		t.Fatalf("internal alternate's queue got %v", got)
	}
}

// TestExtAlternateExchangeOnDestination pins that an exchange reached through an
// exchange-to-exchange binding uses its alternate exchange for what it cannot route.
func TestExtAlternateExchangeOnDestination(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	ae := extDeclareExchangeArgs(t, ch, "fanout", false, nil)
	aeq := msgBoundQueue(t, ch, ae, "", nil)
	dst := extDeclareExchangeArgs(t, ch, "direct", false, amqp.Table{"alternate-exchange": ae})
	dq := msgBoundQueue(t, ch, dst, "k", nil)
	src := extDeclareExchangeArgs(t, ch, "fanout", false, nil)
	if err := ch.ExchangeBind(dst, "", src, false, nil); err != nil {
		t.Fatal(err)
	}
	pub, returns := extReturning(t, c)
	for _, key := range []string{"k", "other"} {
		if r := extMandatory(t, pub, returns, src, key, extBody(key)); r != nil {
			t.Fatalf("%s returned: %d %q", key, r.ReplyCode, r.ReplyText)
		}
	}
	if got := msgDrain(t, ch, dq); !msgSame(got, "k") {
		t.Fatalf("destination's queue got %v, want [k]", got)
	}
	if got := msgDrain(t, ch, aeq); !msgSame(got, "other") {
		t.Fatalf("destination's alternate got %v, want [other]", got)
	}
}

// TestExtAlternateExchangeArgumentType pins the 406 for an alternate-exchange
// argument that is not a string.
func TestExtAlternateExchangeArgumentType(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	x := uniqueName(t)
	err := ch.ExchangeDeclare(x, "direct", false, false, false, false, amqp.Table{"alternate-exchange": int32(5)})
	extExpectError(t, err, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in exchange '"+x+"' in vhost '/'")
}

// TestExtSenderSelectedDistribution pins the CC and BCC headers (arrays of long
// strings): the message is routed with its routing key and each CC and BCC key, each
// queue gets one copy, every copy keeps the routing key and the CC header, and the BCC
// header is removed from every copy.
func TestExtSenderSelectedDistribution(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "direct")
	main, cc1, cc2, bcc := uniqueName(t), uniqueName(t), uniqueName(t), uniqueName(t)
	queues := map[string]string{}
	for _, key := range []string{main, cc1, cc2, bcc} {
		queues[key] = msgBoundQueue(t, ch, x, key, nil)
	}
	both := msgBoundQueue(t, ch, x, main, nil)
	if err := ch.QueueBind(both, cc1, x, false, nil); err != nil {
		t.Fatal(err)
	}
	extSettle(t, extConfirming(t, c), x, main, amqp.Publishing{Body: []byte("m"), Headers: amqp.Table{
		"CC": []any{cc1, cc2}, "BCC": []any{bcc}, "other": "kept",
	}})
	for _, q := range []string{queues[main], queues[cc1], queues[cc2], queues[bcc], both} {
		m := msgGet(t, ch, q, true)
		if m.RoutingKey != main || m.Exchange != x {
			t.Errorf("%s: delivered via %q/%q, want %q/%q", q, m.Exchange, m.RoutingKey, x, main)
		}
		if got, ok := m.Headers["CC"].([]any); !ok || len(got) != 2 || got[0] != cc1 || got[1] != cc2 {
			t.Errorf("%s: CC header %#v, want [%s %s]", q, m.Headers["CC"], cc1, cc2)
		}
		if v, ok := m.Headers["BCC"]; ok {
			t.Errorf("%s: BCC header %#v delivered, want it removed", q, v)
		}
		if m.Headers["other"] != "kept" {
			t.Errorf("%s: header other = %#v", q, m.Headers["other"])
		}
		msgExpectEmpty(t, ch, q)
	}
}

// TestExtSenderSelectedInvalid pins that a CC or BCC header that is not an array
// (a single string, a number, a table) closes the channel with 406 and RabbitMQ's
// text, and the message is not routed.
func TestExtSenderSelectedInvalid(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := extQueue(t, ch, nil)
	for _, tc := range []struct {
		headers amqp.Table
		reason  string
	}{
		{amqp.Table{"CC": q}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}`},
		{amqp.Table{"BCC": q}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",longstr}`},
		{amqp.Table{"CC": int32(1)}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",signedint}`},
		{amqp.Table{"BCC": amqp.Table{}}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",table}`},
	} {
		pub := msgChannel(t, c)
		closed := pub.NotifyClose(make(chan *amqp.Error, 1))
		extPublish(t, pub, "", q, amqp.Publishing{Body: []byte("bad"), Headers: tc.headers})
		msgExpectClose(t, closed, amqp.PreconditionFailed, tc.reason)
	}
	if n := msgReady(t, ch, q); n != 0 {
		t.Fatalf("%d messages routed despite invalid CC/BCC", n)
	}
}

// TestExtSenderSelectedLenient pins what RabbitMQ ignores: array elements that are
// not long strings (numbers, byte arrays), an empty array, and headers named in
// lower case ("cc" is an ordinary header).
func TestExtSenderSelectedLenient(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	x := msgDeclareExchange(t, ch, "direct")
	main, extra := uniqueName(t), uniqueName(t)
	qm := msgBoundQueue(t, ch, x, main, nil)
	qe := msgBoundQueue(t, ch, x, extra, nil)
	pub := extConfirming(t, c)
	extSettle(t, pub, x, main,
		amqp.Publishing{Body: []byte("mixed"), Headers: amqp.Table{"CC": []any{int32(5), []byte(main), extra}}},
		amqp.Publishing{Body: []byte("empty"), Headers: amqp.Table{"CC": []any{}, "BCC": []any{}}},
		amqp.Publishing{Body: []byte("lower"), Headers: amqp.Table{"cc": []any{extra}, "bcc": []any{extra}}})
	if got := msgDrain(t, ch, qm); !msgSame(got, "mixed", "empty", "lower") {
		t.Fatalf("main queue got %v", got)
	}
	m := msgGet(t, ch, qe, true)
	if string(m.Body) != "mixed" {
		t.Fatalf("CC queue got %q, want mixed", m.Body)
	}
	msgExpectEmpty(t, ch, qe)
}

// TestExtSenderSelectedRouting pins CC and BCC with other exchange types and
// features: topic patterns match CC keys, the default exchange routes BCC keys to the
// queues they name, the keys are used again at each exchange-to-exchange hop, a CC
// route satisfies mandatory and keeps the alternate exchange out, and a returned
// message has lost its BCC header but kept its CC header.
func TestExtSenderSelectedRouting(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	pub, returns := extReturning(t, c)

	topic := msgDeclareExchange(t, ch, "topic")
	tq := msgBoundQueue(t, ch, topic, "a.*", nil)
	if r := extMandatory(t, pub, returns, topic, "nomatch", amqp.Publishing{Body: []byte("topic"), Headers: amqp.Table{"CC": []any{"a.b"}}}); r != nil {
		t.Fatalf("message routed by its CC key returned: %d %q", r.ReplyCode, r.ReplyText)
	}
	if got := msgDrain(t, ch, tq); !msgSame(got, "topic") {
		t.Fatalf("topic queue got %v", got)
	}

	dq := extQueue(t, ch, nil)
	extSettle(t, pub, "", uniqueName(t), amqp.Publishing{Body: []byte("default"), Headers: amqp.Table{"BCC": []any{dq}}})
	if got := msgDrain(t, ch, dq); !msgSame(got, "default") {
		t.Fatalf("queue named by BCC on the default exchange got %v", got)
	}

	k1, k2 := uniqueName(t), uniqueName(t)
	src := msgDeclareExchange(t, ch, "direct")
	mid := msgDeclareExchange(t, ch, "direct")
	if err := ch.ExchangeBind(mid, k1, src, false, nil); err != nil {
		t.Fatal(err)
	}
	hq := msgBoundQueue(t, ch, mid, k2, nil)
	extSettle(t, pub, src, "zz", amqp.Publishing{Body: []byte("hops"), Headers: amqp.Table{"CC": []any{k1, k2}}})
	if got := msgDrain(t, ch, hq); !msgSame(got, "hops") {
		t.Fatalf("queue two hops away, bound with a CC key, got %v", got)
	}

	ae := msgDeclareExchange(t, ch, "fanout")
	aeq := msgBoundQueue(t, ch, ae, "", nil)
	x := extDeclareExchangeArgs(t, ch, "direct", false, amqp.Table{"alternate-exchange": ae})
	ccq := msgBoundQueue(t, ch, x, k1, nil)
	extSettle(t, pub, x, "zz", amqp.Publishing{Body: []byte("cc-routed"), Headers: amqp.Table{"CC": []any{k1}}})
	if got := msgDrain(t, ch, ccq); !msgSame(got, "cc-routed") {
		t.Fatalf("CC-bound queue got %v", got)
	}
	msgExpectEmpty(t, ch, aeq)

	ccNone := uniqueName(t)
	r := extMandatory(t, pub, returns, "amq.direct", uniqueName(t),
		amqp.Publishing{Body: []byte("returned"), Headers: amqp.Table{"CC": []any{ccNone}, "BCC": []any{uniqueName(t)}}})
	if r == nil || r.ReplyCode != amqp.NoRoute {
		t.Fatalf("basic.return %+v, want 312", r)
	}
	if _, ok := r.Headers["BCC"]; ok {
		t.Error("returned message still has its BCC header")
	}
	if got, ok := r.Headers["CC"].([]any); !ok || len(got) != 1 || got[0] != ccNone {
		t.Errorf("returned message's CC header %#v, want [%s]", r.Headers["CC"], ccNone)
	}
}

// TestExtExchangeToExchangeDestinationTypes pins exchange-to-exchange routing into
// destinations of each type: the message keeps its routing key and headers through
// the hops and each destination applies its own type's rules; a chain of three hops
// (fanout, topic, headers) delivers once.
func TestExtExchangeToExchangeDestinationTypes(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	src := msgDeclareExchange(t, ch, "fanout")
	direct := msgDeclareExchange(t, ch, "direct")
	topic := msgDeclareExchange(t, ch, "topic")
	headers := msgDeclareExchange(t, ch, "headers")
	for _, dst := range []string{direct, topic, headers} {
		if err := ch.ExchangeBind(dst, "", src, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	qd := msgBoundQueue(t, ch, direct, "a.b", nil)
	qt := msgBoundQueue(t, ch, topic, "a.#", nil)
	qh := msgBoundQueue(t, ch, headers, "", amqp.Table{"x-match": "any", "h": "1"})
	for _, p := range []struct {
		key string
		h   string
	}{{"a.b", "0"}, {"a.c", "1"}, {"b", "0"}} {
		extPublish(t, ch, src, p.key, amqp.Publishing{Body: []byte(p.key + "/" + p.h), Headers: amqp.Table{"h": p.h}})
	}
	for q, want := range map[string][]string{qd: {"a.b/0"}, qt: {"a.b/0", "a.c/1"}, qh: {"a.c/1"}} {
		if got := msgDrain(t, ch, q); !msgSame(got, want...) {
			t.Errorf("%s got %v, want %v", q, got, want)
		}
	}

	start := msgDeclareExchange(t, ch, "fanout")
	if err := ch.ExchangeBind(topic, "", start, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeBind(headers, "a.*", topic, false, nil); err != nil {
		t.Fatal(err)
	}
	extPublish(t, ch, start, "a.z", amqp.Publishing{Body: []byte("chain"), Headers: amqp.Table{"h": "1"}})
	extPublish(t, ch, start, "a.z.z", amqp.Publishing{Body: []byte("no-topic-match"), Headers: amqp.Table{"h": "1"}})
	m := msgGet(t, ch, qh, true)
	if string(m.Body) != "chain" || m.Exchange != start || m.RoutingKey != "a.z" {
		t.Fatalf("end of the chain got %q via %q/%q, want chain via %q/a.z", m.Body, m.Exchange, m.RoutingKey, start)
	}
	msgExpectEmpty(t, ch, qh)
}
