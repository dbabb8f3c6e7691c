package conformance

// Channel lifecycle: open and close, channel numbers and channel-max, and how soft
// (channel) and hard (connection) errors spread.

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestChannelOpenClose pins channel.open / open-ok (a reserved empty long string as
// argument) and channel.close / close-ok (no arguments), raw and through amqp091-go.
func TestChannelOpenClose(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.sendMethod(1, rawChannel, rawChannelOpen, rawShortstrArg(""))
	m := c.expectMethod(1, rawChannel, rawChannelOpenOk)
	if string(m.Args) != "\x00\x00\x00\x00" {
		t.Errorf("channel.open-ok arguments % x, want an empty long string", m.Args)
	}
	c.sendMethod(1, rawChannel, rawChannelClose, rawCloseArgs(200, "bye", 0, 0))
	m = c.expectMethod(1, rawChannel, rawChannelCloseOk)
	if len(m.Args) != 0 {
		t.Errorf("channel.close-ok arguments % x, want none", m.Args)
	}
	c.close()

	conn := dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("channel close: %v", err)
	}
	if !ch.IsClosed() || conn.IsClosed() {
		t.Fatalf("after channel close: channel closed %v, connection closed %v", ch.IsClosed(), conn.IsClosed())
	}
	connExpectWorks(t, conn)
}

// TestChannelReuseClosedNumber pins that a channel number is free again once its
// close handshake is done, whether the client closed it or the broker did (after a
// channel error), and the reopened channel works.
func TestChannelReuseClosedNumber(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	for range 2 {
		c.openChannel(1)
		c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(uniqueName(t), false, false, true, true, nil))
		c.expectMethod(1, rawQueue, rawQueueDeclareOk)
		c.closeChannel(1)
	}
	c.openChannel(1)
	missing := uniqueName(t)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(missing, true, false, false, false, nil))
	c.expectChannelClose(1, 404, "NOT_FOUND - no queue '"+missing+"' in vhost '/'")
	c.openChannel(1)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(uniqueName(t), false, false, true, true, nil))
	c.expectMethod(1, rawQueue, rawQueueDeclareOk)
	c.close()
}

// TestChannelOpenTwice pins that channel.open on a channel that is already open is a
// connection error: 504 "CHANNEL_ERROR - second 'channel.open' seen", naming
// channel.open (20, 10).
func TestChannelOpenTwice(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	c.sendMethod(1, rawChannel, rawChannelOpen, rawShortstrArg(""))
	cl := c.expectConnectionClose(504, "CHANNEL_ERROR - second 'channel.open' seen")
	if cl.ClassID != rawChannel || cl.MethodID != rawChannelOpen {
		t.Errorf("close names method %d.%d, want 20.10", cl.ClassID, cl.MethodID)
	}
}

// TestChannelNumberAboveChannelMax pins RabbitMQ's reading of channel-max as a limit on
// the number of open channels, not on channel numbers: channel 2048 and channel 65535
// open fine on a connection tuned to channel-max 2047.
func TestChannelNumberAboveChannelMax(t *testing.T) {
	t.Parallel()
	c, tu := rawOpen(t, rawOptions{})
	if tu.ChannelMax != 2047 {
		t.Fatalf("tuned channel-max %d, want 2047", tu.ChannelMax)
	}
	for _, n := range []uint16{2048, 65535} {
		c.openChannel(n)
		c.sendMethod(n, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(uniqueName(t), false, false, true, true, nil))
		c.expectMethod(n, rawQueue, rawQueueDeclareOk)
	}
	c.close()
}

// TestChannelCountAboveChannelMax pins that opening more channels than the negotiated
// channel-max is a connection error: 530 "NOT_ALLOWED - number of channels opened (2)
// has reached the negotiated channel_max (2)", naming no method (0, 0). Closed
// channels do not count.
func TestChannelCountAboveChannelMax(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{Tune: func(tu rawTune) rawTune { tu.ChannelMax = 2; return tu }})
	c.openChannel(5)
	c.openChannel(2)
	c.closeChannel(2)
	c.openChannel(3)
	c.sendMethod(1, rawChannel, rawChannelOpen, rawShortstrArg(""))
	cl := c.expectConnectionClose(530, "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)")
	if cl.ClassID != 0 || cl.MethodID != 0 {
		t.Errorf("close names method %d.%d, want 0.0", cl.ClassID, cl.MethodID)
	}
}

// TestChannelNeverOpened pins that any method on a channel that was never opened
// (here queue.declare, channel.close and channel.close-ok) is a connection error: 504
// "CHANNEL_ERROR - expected 'channel.open'", naming the offending method.
func TestChannelNeverOpened(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		class, method uint16
		args          []byte
	}{
		{"queue.declare", rawQueue, rawQueueDeclare, rawQueueDeclareArgs("", false, false, true, true, nil)},
		{"channel.close", rawChannel, rawChannelClose, rawCloseArgs(200, "bye", 0, 0)},
		{"channel.close-ok", rawChannel, rawChannelCloseOk, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := rawOpen(t, rawOptions{})
			c.openChannel(1)
			c.sendMethod(3, tc.class, tc.method, tc.args)
			cl := c.expectConnectionClose(504, "CHANNEL_ERROR - expected 'channel.open'")
			if cl.ClassID != tc.class || cl.MethodID != tc.method {
				t.Errorf("close names method %d.%d, want %d.%d", cl.ClassID, cl.MethodID, tc.class, tc.method)
			}
		})
	}
}

// TestChannelSoftErrorClosesOnlyChannel pins that a channel error (queue.declare
// passive of a missing queue: 404 "NOT_FOUND - no queue '<name>' in vhost '/'")
// closes only that channel: other channels on the connection carry on.
func TestChannelSoftErrorClosesOnlyChannel(t *testing.T) {
	t.Parallel()
	conn := dial(t)
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	bad, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	good, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	badClosed := bad.NotifyClose(make(chan *amqp.Error, 1))
	missing := uniqueName(t)
	_, err = bad.QueueDeclarePassive(missing, false, false, false, false, nil)
	expectAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+missing+"' in vhost '/'")
	select {
	case e := <-badClosed:
		expectAMQPError(t, e, amqp.NotFound, "NOT_FOUND - no queue '"+missing+"' in vhost '/'")
	case <-time.After(wait):
		t.Fatal("channel NotifyClose got nothing")
	}

	q := uniqueName(t)
	if _, err := good.QueueDeclare(q, false, false, true, false, nil); err != nil {
		t.Fatalf("queue.declare on the other channel: %v", err)
	}
	if err := good.Publish("", q, false, false, amqp.Publishing{Body: []byte("still here")}); err != nil {
		t.Fatalf("publish on the other channel: %v", err)
	}
	eventually(t, "the message on the other channel", func() bool {
		m, ok, err := good.Get(q, true)
		if err != nil {
			t.Fatalf("basic.get on the other channel: %v", err)
		}
		return ok && string(m.Body) == "still here"
	})
	connExpectWorks(t, conn)
	select {
	case e := <-connClosed:
		t.Fatalf("connection closed by a channel error: %v", e)
	default:
	}
}

// TestChannelSoftErrorRaw pins the frames of a channel error: channel.close 404 naming
// queue.declare (50, 10) on that channel only; methods the client sends on the
// channel before its close-ok are ignored; after close-ok the number can be reopened;
// another channel answers throughout.
func TestChannelSoftErrorRaw(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	c.openChannel(2)
	missing := uniqueName(t)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(missing, true, false, false, false, nil))
	m := c.expectMethod(1, rawChannel, rawChannelClose)
	cl := rawDecodeClose(t, m)
	if cl.Code != 404 || cl.Text != "NOT_FOUND - no queue '"+missing+"' in vhost '/'" || cl.ClassID != rawQueue || cl.MethodID != rawQueueDeclare {
		t.Fatalf("channel.close = %+v, want 404 NOT_FOUND naming 50.10", cl)
	}
	// Ignored: the channel is closing. If the broker answered it, the next method read
	// would be this declare-ok instead of the one on channel 2.
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(uniqueName(t), false, false, true, true, nil))
	c.sendMethod(2, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(uniqueName(t), false, false, true, true, nil))
	c.expectMethod(2, rawQueue, rawQueueDeclareOk)
	c.sendMethod(1, rawChannel, rawChannelCloseOk, nil)
	c.openChannel(1)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(uniqueName(t), false, false, true, true, nil))
	c.expectMethod(1, rawQueue, rawQueueDeclareOk)
	c.close()
}

// TestChannelReopenBeforeCloseOk pins that channel.open on a channel the broker has
// closed but whose close-ok the client has not sent is a connection error: 504
// "CHANNEL_ERROR - second 'channel.open' seen".
func TestChannelReopenBeforeCloseOk(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(uniqueName(t), true, false, false, false, nil))
	c.expectMethod(1, rawChannel, rawChannelClose)
	c.sendMethod(1, rawChannel, rawChannelOpen, rawShortstrArg(""))
	c.expectConnectionClose(504, "CHANNEL_ERROR - second 'channel.open' seen")
}

// TestChannelHardErrorClosesConnection pins that a connection error on one channel
// (channel.flow active=false, which RabbitMQ refuses with 540 "NOT_IMPLEMENTED -
// active=false") closes the whole connection and every channel on it.
func TestChannelHardErrorClosesConnection(t *testing.T) {
	t.Parallel()
	conn := dial(t)
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	bad, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	other, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	otherClosed := other.NotifyClose(make(chan *amqp.Error, 1))
	expectAMQPError(t, bad.Flow(false), amqp.NotImplemented, "NOT_IMPLEMENTED - active=false")
	select {
	case e := <-connClosed:
		expectAMQPError(t, e, amqp.NotImplemented, "NOT_IMPLEMENTED - active=false")
	case <-time.After(wait):
		t.Fatal("connection not closed by a hard error")
	}
	select {
	case <-otherClosed:
	case <-time.After(wait):
		t.Fatal("other channel not closed with its connection")
	}
	if _, err := other.QueueDeclare(uniqueName(t), false, true, true, false, nil); err == nil {
		t.Fatal("queue.declare on a channel of a closed connection succeeded")
	}

	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	c.openChannel(2)
	var e rawEncoder
	e.bits(false)
	c.sendMethod(2, rawChannel, 20, e.b) // channel.flow active=false
	cl := c.expectConnectionClose(540, "NOT_IMPLEMENTED - active=false")
	if cl.ClassID != rawChannel || cl.MethodID != 20 {
		t.Errorf("close names method %d.%d, want 20.20", cl.ClassID, cl.MethodID)
	}
}
