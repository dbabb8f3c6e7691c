package conformance

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// msgConsume starts a consumer on queue q and fails the test if the broker refuses.
func msgConsume(t testing.TB, ch *amqp.Channel, q, tag string, autoAck bool) <-chan amqp.Delivery {
	t.Helper()
	d, err := ch.Consume(q, tag, autoAck, false, false, false, nil)
	if err != nil {
		t.Fatalf("basic.consume %s: %v", q, err)
	}
	return d
}

// msgReceiveBodies receives n deliveries and returns their bodies in order.
func msgReceiveBodies(t testing.TB, d <-chan amqp.Delivery, n int) []string {
	t.Helper()
	bodies := make([]string, 0, n)
	for i := 0; i < n; i++ {
		bodies = append(bodies, string(receive(t, d).Body))
	}
	return bodies
}

// msgExpectDeliveriesClosed asserts that a consumer's delivery channel is closed
// (after its cancel) with no delivery left in it.
func msgExpectDeliveriesClosed(t testing.TB, d <-chan amqp.Delivery) {
	t.Helper()
	select {
	case m, ok := <-d:
		if ok {
			t.Fatalf("delivery %q after the consumer was cancelled", m.Body)
		}
	case <-time.After(wait):
		t.Fatal("delivery channel still open after the consumer was cancelled")
	}
}

// msgRange returns the decimal bodies from..to, as msgPublishRange sends them.
func msgRange(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return s
}

// TestConsumeDeliveryFields pins basic.deliver's fields: the consumer tag, the
// exchange and routing key of the publish, redelivered=false, and delivery tags that
// count from 1 on the channel, shared with basic.get.
func TestConsumeDeliveryFields(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgBoundQueue(t, ch, "amq.topic", "deliver.#", nil)
	msgPublish(t, ch, "amq.topic", "deliver.one", "1")
	msgPublish(t, ch, "amq.topic", "deliver.two", "2")
	if m := msgGet(t, ch, q, false); m.DeliveryTag != 1 || m.MessageCount != 1 {
		t.Fatalf("basic.get: tag %d, message-count %d; want 1, 1", m.DeliveryTag, m.MessageCount)
	}
	d := msgConsume(t, ch, q, "the-tag", false)
	m := receive(t, d)
	if m.ConsumerTag != "the-tag" || m.Exchange != "amq.topic" || m.RoutingKey != "deliver.two" ||
		m.Redelivered || m.DeliveryTag != 2 || string(m.Body) != "2" {
		t.Fatalf("deliver: tag %q exchange %q key %q redelivered %v delivery-tag %d body %q",
			m.ConsumerTag, m.Exchange, m.RoutingKey, m.Redelivered, m.DeliveryTag, m.Body)
	}
}

// TestConsumeNoAck pins no-ack consumers: messages are delivered and removed at once,
// so closing the channel requeues nothing.
func TestConsumeNoAck(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	cons := msgChannel(t, c)
	d := msgConsume(t, cons, q, "", true)
	msgPublishRange(t, ch, "", q, 1, 5)
	if got := msgReceiveBodies(t, d, 5); !msgSame(got, msgRange(1, 5)...) {
		t.Fatalf("got %v", got)
	}
	if err := cons.Close(); err != nil {
		t.Fatal(err)
	}
	msgExpectEmpty(t, ch, q)
}

// TestConsumeMissingQueue pins that consuming from a missing queue is a 404 channel close.
func TestConsumeMissingQueue(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := uniqueName(t)
	_, err := ch.Consume(q, "", false, false, false, false, nil)
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+q+"' in vhost '/'")
}

// TestConsumeExclusive pins exclusive consumers: a second consumer on the queue is a
// 403 ACCESS_REFUSED channel close, and so is an exclusive consume on a queue that
// already has a consumer.
func TestConsumeExclusive(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	if _, err := ch.Consume(q, "first", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	inUse := "ACCESS_REFUSED - queue '" + q + "' in vhost '/' in exclusive use"
	_, err := msgChannel(t, c).Consume(q, "second", false, false, false, false, nil)
	expectAMQPError(t, err, amqp.AccessRefused, inUse)
	_, err = msgChannel(t, c).Consume(q, "second", false, true, false, false, nil)
	expectAMQPError(t, err, amqp.AccessRefused, inUse)

	q2 := msgDeclareQueue(t, ch)
	msgConsume(t, ch, q2, "shared", false)
	_, err = msgChannel(t, c).Consume(q2, "wants-exclusive", false, true, false, false, nil)
	expectAMQPError(t, err, amqp.AccessRefused, "ACCESS_REFUSED - queue '"+q2+"' in vhost '/' in exclusive use")
}

// TestConsumeServerGeneratedTag pins that basic.consume with an empty consumer tag gets
// a fresh server-generated tag starting "amq.ctag-" in consume-ok. amqp091-go never
// sends an empty tag, so this speaks raw frames.
func TestConsumeServerGeneratedTag(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	rc := msgRawDial(t)
	rc.openChannel(1)
	tags := map[string]bool{}
	for i := 0; i < 2; i++ {
		tag := rc.consume(1, q, "")
		if !strings.HasPrefix(tag, "amq.ctag-") || len(tag) <= len("amq.ctag-") {
			t.Fatalf("server-generated consumer tag %q, want amq.ctag-...", tag)
		}
		tags[tag] = true
	}
	if len(tags) != 2 {
		t.Fatalf("two consumers got the same tag: %v", tags)
	}
	st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
	if err != nil || st.Consumers != 2 {
		t.Fatalf("consumer-count %d, %v; want 2", st.Consumers, err)
	}
}

// TestConsumeDuplicateTag pins that reusing a consumer tag on the same channel is a
// 530 NOT_ALLOWED connection close (not a channel close).
func TestConsumeDuplicateTag(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	q := msgDeclareQueue(t, ch)
	msgConsume(t, ch, q, "twice", false)
	_, err := ch.Consume(q, "twice", false, false, false, false, nil)
	expectAMQPError(t, err, amqp.NotAllowed, "NOT_ALLOWED - attempt to reuse consumer tag 'twice'")
	msgExpectClose(t, closed, amqp.NotAllowed, "NOT_ALLOWED - attempt to reuse consumer tag 'twice'")
}

// TestConsumeSameTagOtherChannel pins that a consumer tag is scoped to its channel: the
// same tag on another channel is accepted.
func TestConsumeSameTagOtherChannel(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgConsume(t, ch, q, "shared-tag", false)
	msgConsume(t, msgChannel(t, c), q, "shared-tag", false)
}

// TestConsumeCancel pins basic.cancel: the consumer's deliveries end, messages published
// afterwards stay in the queue, and cancelling an unknown tag succeeds (cancel-ok) with
// the channel still open.
func TestConsumeCancel(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	d := msgConsume(t, ch, q, "to-cancel", true)
	msgPublish(t, ch, "", q, "before")
	if m := receive(t, d); string(m.Body) != "before" {
		t.Fatalf("got %q", m.Body)
	}
	if err := ch.Cancel("to-cancel", false); err != nil {
		t.Fatal(err)
	}
	msgExpectDeliveriesClosed(t, d)
	msgPublishSettled(t, ch, "", q, "after")
	st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
	if err != nil || st.Messages != 1 || st.Consumers != 0 {
		t.Fatalf("after cancel: %d messages, %d consumers, %v; want 1, 0", st.Messages, st.Consumers, err)
	}
	if err := ch.Cancel("never-existed", false); err != nil {
		t.Fatalf("cancel of an unknown tag: %v", err)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "after") {
		t.Fatalf("queue holds %v, want [after]", got)
	}
}

// TestConsumeRoundRobin pins round-robin dispatch: three consumers of one queue each
// get ten of thirty messages, the first attached consumer getting the first message,
// and each in publish order.
func TestConsumeRoundRobin(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	var ds []<-chan amqp.Delivery
	for i := 0; i < 3; i++ {
		ds = append(ds, msgConsume(t, msgChannel(t, c), q, fmt.Sprint("rr", i), true))
	}
	msgPublishRange(t, ch, "", q, 1, 30)
	for i, d := range ds {
		var want []string
		for n := i + 1; n <= 30; n += 3 {
			want = append(want, strconv.Itoa(n))
		}
		if got := msgReceiveBodies(t, d, 10); !msgSame(got, want...) {
			t.Errorf("consumer %d got %v, want %v", i, got, want)
		}
	}
}

// TestConsumeServerCancelOnQueueDelete pins that deleting a queue sends basic.cancel to
// its consumers on other channels (amqp091-go NotifyCancel), closing their deliveries
// while their channel stays open.
func TestConsumeServerCancelOnQueueDelete(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	cons := msgChannel(t, c)
	cancels := cons.NotifyCancel(make(chan string, 1))
	d := msgConsume(t, cons, q, "doomed", false)
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	select {
	case tag := <-cancels:
		if tag != "doomed" {
			t.Fatalf("basic.cancel for %q, want doomed", tag)
		}
	case <-time.After(wait):
		t.Fatal("no basic.cancel from the server")
	}
	msgExpectDeliveriesClosed(t, d)
	if err := cons.ExchangeDeclarePassive("amq.direct", "direct", true, false, false, false, nil); err != nil {
		t.Fatalf("consumer's channel unusable after server cancel: %v", err)
	}
}

// TestQosPrefetchPerConsumer pins basic.qos with global=false (RabbitMQ: a limit for
// each consumer created afterwards on the channel): each consumer holds at most its
// prefetch of unacked messages and gets another only when it acks.
func TestQosPrefetchPerConsumer(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	if err := ch.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	d1 := msgConsume(t, ch, q, "c1", false)
	d2 := msgConsume(t, ch, q, "c2", false)
	pub := msgChannel(t, dial(t))
	msgPublishSettled(t, pub, "", q, msgRange(1, 10)...)
	c1 := []amqp.Delivery{receive(t, d1), receive(t, d1)}
	receive(t, d2)
	receive(t, d2)
	if n := msgReady(t, pub, q); n != 6 {
		t.Fatalf("%d ready with two consumers at prefetch 2, want 6", n)
	}
	if err := c1[0].Ack(false); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, d1); string(m.Body) != "5" {
		t.Fatalf("after an ack consumer 1 got %q, want 5", m.Body)
	}
	// The ack has no reply, and the count may be answered ahead of it: poll.
	eventually(t, "5 ready", func() bool { return msgReady(t, pub, q) == 5 })
}

// TestQosPrefetchGlobal pins basic.qos with global=true (RabbitMQ: one limit shared by
// all consumers on the channel).
func TestQosPrefetchGlobal(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	if err := ch.Qos(3, 0, true); err != nil {
		t.Fatal(err)
	}
	d1 := msgConsume(t, ch, q, "c1", false)
	d2 := msgConsume(t, ch, q, "c2", false)
	pub := msgChannel(t, dial(t))
	msgPublishSettled(t, pub, "", q, msgRange(1, 10)...)
	if n := msgReady(t, pub, q); n != 7 {
		t.Fatalf("%d ready with a channel-wide prefetch of 3, want 7", n)
	}
	var held []amqp.Delivery
	for len(held) < 3 {
		select {
		case m := <-d1:
			held = append(held, m)
		case m := <-d2:
			held = append(held, m)
		case <-time.After(wait):
			t.Fatalf("received %d deliveries, want 3", len(held))
		}
	}
	if err := ch.Ack(0, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "4 ready after acking 3", func() bool { return msgReady(t, pub, q) == 4 })
}

// TestQosFairDispatch pins fair dispatch: with prefetch 1, a consumer that does not ack
// holds one message and a consumer that acks gets all the rest.
func TestQosFairDispatch(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	slowCh, fastCh := msgChannel(t, c), msgChannel(t, c)
	for _, x := range []*amqp.Channel{slowCh, fastCh} {
		if err := x.Qos(1, 0, false); err != nil {
			t.Fatal(err)
		}
	}
	slow := msgConsume(t, slowCh, q, "slow", false)
	fast := msgConsume(t, fastCh, q, "fast", false)
	msgPublishRange(t, ch, "", q, 1, 10)
	held := receive(t, slow)
	var got []string
	for len(got) < 9 {
		m := receive(t, fast)
		got = append(got, string(m.Body))
		if err := m.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]string{string(held.Body)}, got...)
	seen := map[string]bool{}
	for _, b := range all {
		seen[b] = true
	}
	if len(seen) != 10 {
		t.Fatalf("slow held %q, fast got %v: want the ten messages once each", held.Body, got)
	}
	if n := msgReady(t, ch, q); n != 0 {
		t.Fatalf("%d messages still ready", n)
	}
}

// TestQosPrefetchSize pins that RabbitMQ refuses a non-zero prefetch-size with a 540
// NOT_IMPLEMENTED connection close.
func TestQosPrefetchSize(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	err := ch.Qos(0, 1000, false)
	expectAMQPError(t, err, amqp.NotImplemented, "NOT_IMPLEMENTED - prefetch_size!=0 (1000)")
	msgExpectClose(t, closed, amqp.NotImplemented, "NOT_IMPLEMENTED - prefetch_size!=0 (1000)")
}

// TestConsumeNoLocalIgnored pins that RabbitMQ ignores basic.consume's no-local flag: a
// consumer still receives messages published on its own connection.
func TestConsumeNoLocalIgnored(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	d, err := ch.Consume(q, "", true, false, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgPublish(t, ch, "", q, "own")
	if m := receive(t, d); string(m.Body) != "own" {
		t.Fatalf("got %q", m.Body)
	}
}

// TestQosPrefetchUnlimited pins that prefetch-count 0 means no limit: a consumer gets
// every message without acking any.
func TestQosPrefetchUnlimited(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(0, 0, false); err != nil {
		t.Fatal(err)
	}
	d := msgConsume(t, ch, q, "", false)
	msgPublishRange(t, ch, "", q, 1, 50)
	if got := msgReceiveBodies(t, d, 50); !msgSame(got, msgRange(1, 50)...) {
		t.Fatalf("got %v", got)
	}
}

// TestGetMessageCount pins basic.get: get-ok carries the number of messages left
// ready in the queue after this one, and an empty queue answers get-empty.
func TestGetMessageCount(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgExpectEmpty(t, ch, q)
	msgPublishRange(t, ch, "", q, 1, 3)
	for i, left := range []int{2, 1, 0} {
		m := msgGet(t, ch, q, true)
		if string(m.Body) != strconv.Itoa(i+1) || int(m.MessageCount) != left || m.Redelivered {
			t.Fatalf("get #%d: %q message-count %d redelivered %v; want %d, %d, false",
				i+1, m.Body, m.MessageCount, m.Redelivered, i+1, left)
		}
	}
	msgExpectEmpty(t, ch, q)
}

// TestGetAckModes pins basic.get no-ack (the message is gone; closing the channel
// brings nothing back) against ack mode (the message is held unacked and comes back,
// redelivered, when the channel closes).
func TestGetAckModes(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublish(t, ch, "", q, "no-ack")
	msgPublish(t, ch, "", q, "ack")
	getter := msgChannel(t, c)
	msgGet(t, getter, q, true)
	msgGet(t, getter, q, false)
	msgExpectEmpty(t, getter, q)
	if err := getter.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "unacked message requeued", func() bool { return msgReady(t, ch, q) == 1 })
	if m := msgGet(t, ch, q, true); string(m.Body) != "ack" || !m.Redelivered {
		t.Fatalf("got %q redelivered=%v, want ack redelivered", m.Body, m.Redelivered)
	}
}

// TestGetMissingQueue pins that basic.get on a missing queue is a 404 channel close.
func TestGetMissingQueue(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := uniqueName(t)
	_, _, err := ch.Get(q, false)
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+q+"' in vhost '/'")
}

// msgRawConn is a minimal AMQP 0-9-1 client over raw frames, for what amqp091-go
// cannot send (an empty consumer tag, which it always replaces with its own).
type msgRawConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

// msgRawDial opens a connection with raw frames (PLAIN login, no heartbeats) to
// brokerURL's host, user and vhost; it is closed when the test ends.
func msgRawDial(t testing.TB) *msgRawConn {
	t.Helper()
	u, err := amqp.ParseURI(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.DialTimeout("tcp", brokerAddr, wait)
	if err != nil {
		t.Fatal(err)
	}
	rc := &msgRawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
	t.Cleanup(rc.close)
	rc.write([]byte("AMQP\x00\x00\x09\x01"))
	rc.expect(0, 10, 10) // connection.start
	var a []byte
	a = binary.BigEndian.AppendUint32(a, 0) // client-properties: empty table
	a = msgRawShortstr(a, "PLAIN")
	a = msgRawLongstr(a, "\x00"+u.Username+"\x00"+u.Password)
	a = msgRawShortstr(a, "en_US")
	rc.send(0, 10, 11, a) // connection.start-ok
	tune := rc.expect(0, 10, 30)
	if len(tune) < 8 {
		t.Fatalf("short connection.tune: %x", tune)
	}
	a = append([]byte(nil), tune[:6]...) // channel-max and frame-max as offered
	a = binary.BigEndian.AppendUint16(a, 0)
	rc.send(0, 10, 31, a) // connection.tune-ok, heartbeat 0
	a = msgRawShortstr(nil, u.Vhost)
	a = msgRawShortstr(a, "")
	a = append(a, 0)
	rc.send(0, 10, 40, a) // connection.open
	rc.expect(0, 10, 41)
	return rc
}

func msgRawShortstr(b []byte, s string) []byte {
	return append(append(b, byte(len(s))), s...)
}

func msgRawLongstr(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}

func (rc *msgRawConn) write(b []byte) {
	rc.t.Helper()
	rc.nc.SetWriteDeadline(time.Now().Add(wait))
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatalf("raw write: %v", err)
	}
}

// send writes one method frame.
func (rc *msgRawConn) send(channel, class, method uint16, args []byte) {
	rc.t.Helper()
	f := []byte{1}
	f = binary.BigEndian.AppendUint16(f, channel)
	f = binary.BigEndian.AppendUint32(f, uint32(4+len(args)))
	f = binary.BigEndian.AppendUint16(f, class)
	f = binary.BigEndian.AppendUint16(f, method)
	f = append(f, args...)
	rc.write(append(f, 0xCE))
}

// expect reads frames until a method frame and returns its arguments if it is the
// expected method on the expected channel; anything else fails the test.
func (rc *msgRawConn) expect(channel, class, method uint16) []byte {
	rc.t.Helper()
	for {
		rc.nc.SetReadDeadline(time.Now().Add(wait))
		var h [7]byte
		if _, err := io.ReadFull(rc.r, h[:]); err != nil {
			rc.t.Fatalf("raw read, waiting for %d.%d: %v", class, method, err)
		}
		size := binary.BigEndian.Uint32(h[3:])
		if size > 1<<20 {
			rc.t.Fatalf("raw frame of %d bytes", size)
		}
		p := make([]byte, size+1)
		if _, err := io.ReadFull(rc.r, p); err != nil || p[size] != 0xCE {
			rc.t.Fatalf("raw read of a %d-byte frame: %v", size, err)
		}
		p = p[:size]
		if h[0] == 8 { // heartbeat
			continue
		}
		ch := binary.BigEndian.Uint16(h[1:])
		if h[0] != 1 || size < 4 {
			rc.t.Fatalf("frame type %d on channel %d, want method %d.%d", h[0], ch, class, method)
		}
		gc, gm := binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
		if ch != channel || gc != class || gm != method {
			rc.t.Fatalf("method %d.%d on channel %d (%q), want %d.%d on %d", gc, gm, ch, p[4:], class, method, channel)
		}
		return p[4:]
	}
}

// openChannel opens channel id.
func (rc *msgRawConn) openChannel(id uint16) {
	rc.t.Helper()
	rc.send(id, 20, 10, msgRawShortstr(nil, ""))
	rc.expect(id, 20, 11)
}

// consume sends basic.consume (ack mode, not exclusive) and returns consume-ok's tag.
func (rc *msgRawConn) consume(channel uint16, queue, tag string) string {
	rc.t.Helper()
	a := binary.BigEndian.AppendUint16(nil, 0)
	a = msgRawShortstr(a, queue)
	a = msgRawShortstr(a, tag)
	a = append(a, 0)                        // no-local, no-ack, exclusive, no-wait: all false
	a = binary.BigEndian.AppendUint32(a, 0) // arguments: empty table
	rc.send(channel, 60, 20, a)
	ok := rc.expect(channel, 60, 21)
	if len(ok) < 1 || len(ok) < 1+int(ok[0]) {
		rc.t.Fatalf("malformed basic.consume-ok %x", ok)
	}
	return string(ok[1 : 1+int(ok[0])])
}

// close sends connection.close, reads until close-ok (or the socket ends) and drops
// the socket.
func (rc *msgRawConn) close() {
	defer rc.nc.Close()
	a := binary.BigEndian.AppendUint16(nil, 200)
	a = msgRawShortstr(a, "bye")
	a = binary.BigEndian.AppendUint32(a, 0) // class-id and method-id 0
	f := []byte{1, 0, 0}
	f = binary.BigEndian.AppendUint32(f, uint32(4+len(a)))
	f = binary.BigEndian.AppendUint16(f, 10)
	f = binary.BigEndian.AppendUint16(f, 50)
	f = append(append(f, a...), 0xCE)
	rc.nc.SetDeadline(time.Now().Add(wait))
	if _, err := rc.nc.Write(f); err != nil {
		return
	}
	for {
		var h [7]byte
		if _, err := io.ReadFull(rc.r, h[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(h[3:])
		if size > 1<<20 {
			return
		}
		p := make([]byte, size+1)
		if _, err := io.ReadFull(rc.r, p); err != nil {
			return
		}
		if h[0] == 1 && len(p) >= 5 && binary.BigEndian.Uint16(p) == 10 && binary.BigEndian.Uint16(p[2:]) == 51 {
			return
		}
	}
}
