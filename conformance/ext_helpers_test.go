package conformance

// Helpers shared by the ext_*_test.go files, which pin RabbitMQ's extensions to AMQP
// 0-9-1: TTL and expiry, dead-lettering, length limits, priorities, consumer
// extensions, sender-selected distribution, direct reply-to and policies.

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// extQueue declares a non-durable, non-exclusive, non-auto-delete queue with a unique
// name and the given arguments, deleted when the test ends, and returns its name.
func extQueue(t testing.TB, ch *amqp.Channel, args amqp.Table) string {
	t.Helper()
	return extQueueNamed(t, ch, uniqueName(t), args)
}

// extQueueNamed declares queue name with args (non-durable, non-exclusive, not
// auto-delete), deleted when the test ends.
func extQueueNamed(t testing.TB, ch *amqp.Channel, name string, args amqp.Table) string {
	t.Helper()
	if _, err := ch.QueueDeclare(name, false, false, false, false, args); err != nil {
		t.Fatalf("queue.declare %s %v: %v", name, args, err)
	}
	msgDeleteQueueLater(t, name)
	return name
}

// extAuxName is a unique name that starts with "aux." instead of "conf.", so that no
// policy of testdata/definitions.json matches it: the policy tests use it for the
// queues that only observe (dead-letter targets, controls).
func extAuxName(t testing.TB) string {
	return "aux." + uniqueName(t)
}

// extDLXArgs are queue arguments that dead-letter through the default exchange to
// queue target.
func extDLXArgs(target string) amqp.Table {
	return amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": target}
}

// extWith returns a copy of a with the entries of b added.
func extWith(a, b amqp.Table) amqp.Table {
	r := amqp.Table{}
	for k, v := range a {
		r[k] = v
	}
	for k, v := range b {
		r[k] = v
	}
	return r
}

// extDeclareRefused declares queue name with args on a fresh channel of c and asserts
// the broker refuses it with code and exactly reason, closing only the channel.
// extArgCase is a queue argument value RabbitMQ refuses, with the detail its
// 406 text ends with.
type extArgCase struct {
	key    string
	value  any
	detail string
}

// extCheckArgs declares a queue with each refused argument, expecting RabbitMQ's
// 406 "invalid arg" close, then one with each accepted argument table.
func extCheckArgs(t testing.TB, c *amqp.Connection, ch *amqp.Channel, refused []extArgCase, accepted []amqp.Table) {
	t.Helper()
	for _, tc := range refused {
		q := uniqueName(t)
		extDeclareRefused(t, c, q, amqp.Table{tc.key: tc.value}, amqp.PreconditionFailed,
			"PRECONDITION_FAILED - invalid arg '"+tc.key+"' for queue '"+q+"' in vhost '/': "+tc.detail)
	}
	for _, args := range accepted {
		extQueue(t, ch, args)
	}
}

func extDeclareRefused(t testing.TB, c *amqp.Connection, name string, args amqp.Table, code int, reason string) {
	t.Helper()
	ch := msgChannel(t, c)
	_, err := ch.QueueDeclare(name, false, false, false, false, args)
	if err == nil {
		msgTidy(t, func(ch *amqp.Channel) error { _, err := ch.QueueDelete(name, false, false, false); return err })
		t.Fatalf("queue.declare with %v accepted, want %d %q", args, code, reason)
	}
	extExpectError(t, err, code, reason)
	if c.IsClosed() {
		t.Fatalf("refused queue.declare with %v closed the connection, want only the channel closed", args)
	}
}

// extExpectError asserts that err is an *amqp.Error with exactly code and reason.
func extExpectError(t testing.TB, err error, code int, reason string) {
	t.Helper()
	expectAMQPError(t, err, code, reason)
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Reason != reason {
		t.Fatalf("want reason %q, got %q", reason, ae.Reason)
	}
}

// extPublish publishes p to exchange with key and fails the test if the client
// refuses.
func extPublish(t testing.TB, ch *amqp.Channel, exchange, key string, p amqp.Publishing) {
	t.Helper()
	if err := ch.Publish(exchange, key, false, false, p); err != nil {
		t.Fatalf("publish to %q/%q: %v", exchange, key, err)
	}
}

// extConfirming returns a new channel on c in confirm mode.
func extConfirming(t testing.TB, c *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch := msgChannel(t, c)
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("confirm.select: %v", err)
	}
	return ch
}

// extPublishConfirm publishes p on ch (in confirm mode) and returns whether the broker
// acked it (true) or nacked it (false).
func extPublishConfirm(t testing.TB, ch *amqp.Channel, exchange, key string, mandatory bool, p amqp.Publishing) bool {
	t.Helper()
	dc, err := ch.PublishWithDeferredConfirm(exchange, key, mandatory, false, p)
	if err != nil {
		t.Fatalf("publish to %q/%q: %v", exchange, key, err)
	}
	select {
	case <-dc.Done():
		return dc.Acked()
	case <-time.After(wait):
		t.Fatalf("no confirm for the publish to %q/%q within %v", exchange, key, wait)
	}
	return false
}

// extSettle publishes each p on ch (in confirm mode) and asserts each is acked: by
// then every queue it was routed to holds it.
func extSettle(t testing.TB, ch *amqp.Channel, exchange, key string, ps ...amqp.Publishing) {
	t.Helper()
	for _, p := range ps {
		if !extPublishConfirm(t, ch, exchange, key, false, p) {
			t.Fatalf("publish of %q to %q/%q nacked", p.Body, exchange, key)
		}
	}
}

// extBody is a publishing with body b and no properties.
func extBody(b string) amqp.Publishing { return amqp.Publishing{Body: []byte(b)} }

// extExpiring is a publishing with body b and the expiration property e.
func extExpiring(b, e string) amqp.Publishing { return amqp.Publishing{Body: []byte(b), Expiration: e} }

// extAwait polls basic.get (ack mode) on q until a message arrives and returns it.
func extAwait(t testing.TB, ch *amqp.Channel, q string) amqp.Delivery {
	t.Helper()
	var m amqp.Delivery
	eventually(t, "a message in "+q, func() bool {
		var ok bool
		var err error
		m, ok, err = ch.Get(q, false)
		if err != nil {
			t.Fatalf("basic.get %s: %v", q, err)
		}
		return ok
	})
	return m
}

// extAwaitReady polls until queue q holds exactly n ready messages.
func extAwaitReady(t testing.TB, ch *amqp.Channel, q string, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d ready messages in %s", n, q), func() bool { return msgReady(t, ch, q) == n })
}

// extElapse waits until at least d has passed on the broker's clock since the
// publishes it confirmed before the call: it publishes a message with expiration d to a
// queue of its own and polls until that message has expired. Tests use it where a TTL
// must pass but nothing observable shows it (a message that is not at the head).
func extElapse(t testing.TB, c *amqp.Connection, d time.Duration) {
	t.Helper()
	ch := extConfirming(t, c)
	defer ch.Close()
	q := extQueueNamed(t, ch, extAuxName(t), nil)
	extSettle(t, ch, "", q, extExpiring("clock", fmt.Sprint(d.Milliseconds())))
	extAwaitReady(t, ch, q, 0)
}

// extQueueGone reports whether queue q is gone, without touching it in a way that
// renews an x-expires lease (a passive declare or basic.get would): it publishes a
// mandatory message to q through the default exchange on ch, which must be in confirm
// mode with returns notified on returns, and reports whether the message came back
// unroutable.
func extQueueGone(t testing.TB, ch *amqp.Channel, returns <-chan amqp.Return, q string) bool {
	t.Helper()
	if !extPublishConfirm(t, ch, "", q, true, extBody("probe")) {
		t.Fatalf("probe publish to %s nacked", q)
	}
	// RabbitMQ sends basic.return before the basic.ack of the same publish.
	select {
	case r := <-returns:
		if r.RoutingKey != q || r.ReplyCode != amqp.NoRoute {
			t.Fatalf("basic.return %d %q for %q, want 312 for %q", r.ReplyCode, r.ReplyText, r.RoutingKey, q)
		}
		return true
	default:
		return false
	}
}

// extProber returns a confirm-mode channel on c and a function that reports whether
// a queue is gone (see extQueueGone).
func extProber(t testing.TB, c *amqp.Connection) func(q string) bool {
	t.Helper()
	ch := extConfirming(t, c)
	returns := ch.NotifyReturn(make(chan amqp.Return, 16))
	return func(q string) bool { return extQueueGone(t, ch, returns, q) }
}

// extNoDelivery asserts that nothing is waiting on d right now. Callers make a round
// trip to the broker first that orders after any delivery they want to exclude.
func extNoDelivery(t testing.TB, d <-chan amqp.Delivery, who string) {
	t.Helper()
	select {
	case m, ok := <-d:
		if ok {
			t.Fatalf("%s got %q, want nothing", who, m.Body)
		}
	default:
	}
}

// extDeath is what one x-death entry should say.
type extDeath struct {
	Count              int64
	Reason             string
	Queue              string
	Exchange           string
	RoutingKeys        []string
	OriginalExpiration string // "" when the entry must not have one
}

// extDeaths returns the x-death header of m as a list of tables, checking its type.
func extDeaths(t testing.TB, m amqp.Delivery) []amqp.Table {
	t.Helper()
	raw, ok := m.Headers["x-death"]
	if !ok {
		t.Fatalf("message %q has no x-death header; headers %v", m.Body, m.Headers)
	}
	arr, ok := raw.([]any)
	if !ok {
		t.Fatalf("x-death is %T, want an array", raw)
	}
	var ds []amqp.Table
	for i, e := range arr {
		d, ok := e.(amqp.Table)
		if !ok {
			t.Fatalf("x-death[%d] is %T, want a table", i, e)
		}
		ds = append(ds, d)
	}
	return ds
}

// extCheckDeaths asserts that m's x-death header is exactly want, in order: each entry
// has exactly the fields count (long-long), reason, queue, exchange (long strings), time
// (timestamp), routing-keys (array of long strings) and, when the dead message had an
// expiration, original-expiration (long string).
func extCheckDeaths(t testing.TB, m amqp.Delivery, want ...extDeath) {
	t.Helper()
	ds := extDeaths(t, m)
	if len(ds) != len(want) {
		t.Fatalf("x-death has %d entries, want %d: %v", len(ds), len(want), ds)
	}
	for i, d := range ds {
		w := want[i]
		keys := []string{"count", "exchange", "queue", "reason", "routing-keys", "time"}
		if w.OriginalExpiration != "" {
			keys = append(keys, "original-expiration")
		}
		sort.Strings(keys)
		var got []string
		for k := range d {
			got = append(got, k)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, keys) {
			t.Fatalf("x-death[%d] has fields %v, want %v: %v", i, got, keys, d)
		}
		if c, ok := d["count"].(int64); !ok || c != w.Count {
			t.Errorf("x-death[%d] count = %#v, want int64 %d", i, d["count"], w.Count)
		}
		for k, v := range map[string]string{"reason": w.Reason, "queue": w.Queue, "exchange": w.Exchange, "original-expiration": w.OriginalExpiration} {
			if v == "" && k == "original-expiration" {
				continue
			}
			if s, ok := d[k].(string); !ok || s != v {
				t.Errorf("x-death[%d] %s = %#v, want long string %q", i, k, d[k], v)
			}
		}
		if ts, ok := d["time"].(time.Time); !ok || ts.IsZero() || time.Since(ts) > time.Hour || time.Until(ts) > time.Hour {
			t.Errorf("x-death[%d] time = %#v, want a timestamp of about now", i, d["time"])
		}
		rks, ok := d["routing-keys"].([]any)
		if !ok {
			t.Errorf("x-death[%d] routing-keys = %#v, want an array", i, d["routing-keys"])
			continue
		}
		var keysGot []string
		for _, k := range rks {
			s, ok := k.(string)
			if !ok {
				t.Errorf("x-death[%d] routing-keys has %#v, want long strings", i, k)
			}
			keysGot = append(keysGot, s)
		}
		if !reflect.DeepEqual(keysGot, w.RoutingKeys) {
			t.Errorf("x-death[%d] routing-keys = %q, want %q", i, keysGot, w.RoutingKeys)
		}
	}
}

// extCheckFirstDeath asserts m's x-first-death-reason, -queue and -exchange headers and
// that RabbitMQ 3.10 writes no x-last-death-* headers.
func extCheckFirstDeath(t testing.TB, m amqp.Delivery, reason, queue, exchange string) {
	t.Helper()
	for k, v := range map[string]string{"x-first-death-reason": reason, "x-first-death-queue": queue, "x-first-death-exchange": exchange} {
		if s, ok := m.Headers[k].(string); !ok || s != v {
			t.Errorf("%s = %#v, want long string %q", k, m.Headers[k], v)
		}
	}
	for _, k := range []string{"x-last-death-reason", "x-last-death-queue", "x-last-death-exchange"} {
		if v, ok := m.Headers[k]; ok {
			t.Errorf("header %s = %#v; RabbitMQ 3.10 writes no x-last-death-* headers", k, v)
		}
	}
}

// extBodies returns the bodies of ms.
func extBodies(ms []amqp.Delivery) []string {
	var s []string
	for _, m := range ms {
		s = append(s, string(m.Body))
	}
	return s
}

// extField is one field of a field table as it is on the wire: its name, its type
// tag and its value (a nested table or array as []extField, an array's elements
// unnamed).
type extField struct {
	Name  string
	Tag   byte
	Value any
}

// extRawHeaders takes the next message from queue q with a raw-frame basic.get
// (no-ack) and returns its headers property as it is on the wire, order kept.
// A message that is still on its way to q (dead-lettered by a reject, which has
// no reply) is waited for.
func extRawHeaders(t testing.TB, q string) []extField {
	t.Helper()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	eventually(t, "a message in "+q, func() bool {
		c.sendMethod(1, rawBasic, rawBasicGet, rawBasicGetArgs(q))
		m := c.nextMethod()
		if m.Channel == 1 && m.is(rawBasic, rawBasicGetEmpty) {
			return false
		}
		if m.Channel != 1 || !m.is(rawBasic, rawBasicGetOk) {
			t.Fatalf("basic.get %s: got %v", q, m)
		}
		return true
	})
	f, err := c.readFrame()
	if err != nil || f.Type != rawFrameHeader {
		t.Fatalf("want a content header, got frame type %d (%v)", f.Type, err)
	}
	d := rawDecoder{b: f.Payload}
	d.short()              // class
	d.short()              // weight
	size := d.longlong()   // body size
	flags := d.short()     // property flags
	if flags&0x8000 != 0 { // content-type
		d.shortstr()
	}
	if flags&0x4000 != 0 { // content-encoding
		d.shortstr()
	}
	var headers []extField
	if flags&0x2000 != 0 {
		headers = extOrderedTable(t, d.longstr())
	}
	if d.err != nil {
		t.Fatalf("decoding the content header: %v", d.err)
	}
	for got := uint64(0); got < size; {
		f, err := c.readFrame()
		if err != nil || f.Type != rawFrameBody {
			t.Fatalf("want a body frame, got frame type %d (%v)", f.Type, err)
		}
		got += uint64(len(f.Payload))
	}
	return headers
}

// extOrderedTable decodes the contents of a field table, order kept.
func extOrderedTable(t testing.TB, b []byte) []extField {
	t.Helper()
	d := rawDecoder{b: b}
	var fs []extField
	for len(d.b) > 0 && d.err == nil {
		name := d.shortstr()
		tag, v := extOrderedValue(t, &d)
		fs = append(fs, extField{Name: name, Tag: tag, Value: v})
	}
	if d.err != nil {
		t.Fatalf("decoding a field table: %v", d.err)
	}
	return fs
}

// extOrderedValue decodes one tagged value; tables and arrays keep their order.
func extOrderedValue(t testing.TB, d *rawDecoder) (byte, any) {
	t.Helper()
	if len(d.b) == 0 {
		t.Fatal("truncated field value")
	}
	switch tag := d.b[0]; tag {
	case 'F':
		d.octet()
		return tag, extOrderedTable(t, d.longstr())
	case 'A':
		d.octet()
		inner := rawDecoder{b: d.longstr()}
		var a []extField
		for len(inner.b) > 0 && inner.err == nil {
			tag, v := extOrderedValue(t, &inner)
			a = append(a, extField{Tag: tag, Value: v})
		}
		return tag, a
	default:
		return tag, d.fieldValue()
	}
}

// extFieldNames returns the names of fs, in order.
func extFieldNames(fs []extField) []string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Name)
	}
	return s
}

// extFieldTags returns "name:tag" for each of fs, in order.
func extFieldTags(fs []extField) []string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Name+":"+string(f.Tag))
	}
	return s
}

// extLookup returns the field of fs named name.
func extLookup(t testing.TB, fs []extField, name string) extField {
	t.Helper()
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no field %q in %v", name, extFieldNames(fs))
	return extField{}
}
