package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
)

// conn is one AMQP connection of the load generator: a lean client on the wire
// codec. One goroutine reads (readLoop) and one writes (writeLoop). Producers
// encode publishes straight into the outbound buffer under mu; whoever writes
// swaps it for the spare and writes everything in one syscall, so many frames go
// out per write and nothing is allocated per message once the buffers have grown.
// A producer that finds no write in progress writes itself (endWrite); control
// frames from the reader always go through the writer goroutine.
type conn struct {
	nc         net.Conn
	fr         *wire.FrameReader
	frameMax   uint32
	channelMax uint16
	heartbeat  time.Duration

	outbox

	// chans holds the open channels by number; the reader looks them up lock-free.
	chans []atomic.Pointer[channel]

	// ctl collects frames the reader itself sends (acks of deliveries): written
	// into out before the reader may block on a read.
	ctl []byte

	done     chan struct{} // closed when the connection is over, cleanly or not
	doneOnce sync.Once
	err      error // why it ended; nil after a clean close. Read after done.
	closing  atomic.Bool
	closeOk  chan struct{} // closed when connection.close-ok arrives
	blocked  atomic.Int64  // connection.blocked notifications seen

	// Settling at close (see close): hasConsumers is set before the load starts.
	hasConsumers bool
	settleReq    atomic.Bool
	settleDone   bool          // reader only
	settled      chan struct{} // closed by the reader once the final acks are queued
	wg           sync.WaitGroup
	onError      func(error) // called once if the connection fails
	epochNow     func() int64
}

// highWater bounds the outbound buffer: a producer waits while more than this
// many octets are queued for the writer.
const highWater = 256 << 10

// dialOptions are what a connection needs to know before the handshake.
type dialOptions struct {
	uri        brokerURI
	channels   int // highest channel number the connection will use
	heartbeat  int // seconds, asked for in tune-ok
	readBuffer int
	onError    func(error)
}

// dial connects and performs the handshake: protocol header, start-ok with
// PLAIN, tune-ok with the server's frame-max and channel-max, open of the vhost.
// The reader and writer goroutines run from then on.
func dial(o dialOptions) (*conn, error) {
	nc, err := net.DialTimeout("tcp", o.uri.Addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &conn{
		nc:       nc,
		fr:       wire.NewFrameReaderSize(nc, o.readBuffer),
		done:     make(chan struct{}),
		closeOk:  make(chan struct{}),
		settled:  make(chan struct{}),
		onError:  o.onError,
		epochNow: sinceEpoch,
	}
	c.outbox.init()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	if err := c.handshake(o); err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s: %w", o.uri.Addr, err)
	}
	nc.SetDeadline(time.Time{})
	if int(c.channelMax) < o.channels {
		nc.Close()
		return nil, fmt.Errorf("broker's channel-max %d is below the %d channels a connection needs", c.channelMax, o.channels)
	}
	c.chans = make([]atomic.Pointer[channel], o.channels+1)
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return c, nil
}

// handshake runs connection.start to connection.open-ok on the bare socket.
func (c *conn) handshake(o dialOptions) error {
	if _, err := c.nc.Write(wire.ProtocolHeader[:]); err != nil {
		return err
	}
	start, err := c.readMethod()
	if err != nil {
		return err
	}
	if _, ok := start.(*wire.ConnectionStart); !ok {
		return fmt.Errorf("got %s, want connection.start", start.Name())
	}
	props := wire.Table{
		"product":     "warren-perf",
		"platform":    "Go",
		"information": "github.com/warren-mq/warren/cmd/warren-perf",
		"capabilities": wire.Table{
			"publisher_confirms":     true,
			"basic.nack":             true,
			"consumer_cancel_notify": true,
			"connection.blocked":     true,
		},
	}
	var b []byte
	b = wire.AppendMethodFrame(b, 0, &wire.ConnectionStartOk{
		ClientProperties: props, Mechanism: "PLAIN",
		Response: "\x00" + o.uri.User + "\x00" + o.uri.Password, Locale: "en_US",
	})
	if _, err := c.nc.Write(b); err != nil {
		return err
	}
	m, err := c.readMethod()
	if err != nil {
		return err
	}
	tune, ok := m.(*wire.ConnectionTune)
	if !ok {
		return unexpected(m, "connection.tune")
	}
	c.frameMax = tune.FrameMax
	if c.frameMax == 0 {
		c.frameMax = 131072
	}
	c.channelMax = tune.ChannelMax
	if c.channelMax == 0 {
		c.channelMax = 65535
	}
	hb := uint16(o.heartbeat)
	if tune.Heartbeat > 0 && hb > tune.Heartbeat {
		hb = tune.Heartbeat
	}
	c.heartbeat = time.Duration(hb) * time.Second
	c.fr.SetMaxFrameSize(c.frameMax)
	b = wire.AppendMethodFrame(b[:0], 0, &wire.ConnectionTuneOk{ChannelMax: c.channelMax, FrameMax: c.frameMax, Heartbeat: hb})
	b = wire.AppendMethodFrame(b, 0, &wire.ConnectionOpen{VirtualHost: o.uri.Vhost})
	if _, err := c.nc.Write(b); err != nil {
		return err
	}
	m, err = c.readMethod()
	if err != nil {
		return err
	}
	if _, ok := m.(*wire.ConnectionOpenOk); !ok {
		return unexpected(m, "connection.open-ok")
	}
	return nil
}

// readMethod reads the next method frame during the handshake, skipping heartbeats.
func (c *conn) readMethod() (wire.Method, error) {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch f.Type {
		case wire.FrameHeartbeat:
			continue
		case wire.FrameMethod:
			return wire.DecodeMethod(f.Payload)
		default:
			return nil, fmt.Errorf("unexpected frame type %d during the handshake", f.Type)
		}
	}
}

// unexpected describes a reply that is not the one awaited; a close carries the
// broker's reason.
func unexpected(m wire.Method, want string) error {
	switch m := m.(type) {
	case *wire.ConnectionClose:
		return fmt.Errorf("broker closed the connection: %d %s", m.ReplyCode, m.ReplyText)
	case *wire.ChannelClose:
		return fmt.Errorf("broker closed the channel: %d %s", m.ReplyCode, m.ReplyText)
	}
	return fmt.Errorf("got %s, want %s", m.Name(), want)
}

// beginWrite waits while the outbound buffer is above the high-water mark, then
// returns it locked. endWrite hands it back and wakes the writer. ok is false
// once the connection has failed.
func (c *conn) beginWrite() (buf []byte, ok bool) {
	c.mu.Lock()
	for len(c.out) >= highWater && !c.failed {
		c.cond.Wait()
	}
	if c.failed {
		c.mu.Unlock()
		return nil, false
	}
	return c.out, true
}

// The producer writes the buffer itself when no write is in progress: a message
// at a low rate then goes out without waiting for the writer goroutine to be
// scheduled. While a write is in progress, whoever is writing takes it next.
func (c *conn) endWrite(buf []byte) {
	c.out = buf
	if c.claimLocked() {
		c.flush()
	}
}

// flush writes what is queued; the caller has claimed the write under mu.
func (c *conn) flush() {
	if err := c.flushLocked(c.nc); err != nil {
		c.fail(err)
	}
}

// sendNow queues frames for the writer goroutine without waiting for room: for
// control frames, which must never wait behind publishes. The reader sends acks
// this way, so that it never blocks on a write.
func (c *conn) sendNow(frames []byte) {
	c.mu.Lock()
	if !c.failed {
		c.out = append(c.out, frames...)
	}
	c.mu.Unlock()
	c.kick()
}

// writeLoop writes whatever has been queued, many frames per syscall.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	var tick <-chan time.Time
	if c.heartbeat > 0 {
		t := time.NewTicker(c.heartbeat / 2)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.wake:
		case <-tick:
			c.sendNow(wire.AppendHeartbeatFrame(nil))
			continue
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.claimLocked() { // else a producer is writing: it takes what is queued
			c.flush()
		}
	}
}

// fail ends the connection; err is nil for a clean close.
func (c *conn) fail(err error) {
	c.doneOnce.Do(func() {
		if c.closing.Load() {
			err = nil
		}
		c.err = err
		c.mu.Lock()
		c.failed = true
		c.cond.Broadcast()
		c.mu.Unlock()
		close(c.done)
		c.nc.Close()
		if err != nil && c.onError != nil {
			c.onError(err)
		}
	})
}

// close sends connection.close, waits up to timeout for close-ok and closes the
// socket; it returns once both goroutines have ended.
//
// Before that, the reader acks what its consumers counted but have not acked yet
// (fewer than --multi-ack), so that a drained queue ends empty: close interrupts
// the reader's blocking read with a deadline and waits for it to queue the acks.
func (c *conn) close(timeout time.Duration) {
	if c.hasConsumers && c.settleReq.CompareAndSwap(false, true) {
		c.nc.SetReadDeadline(time.Now())
		t := time.NewTimer(timeout)
		select {
		case <-c.settled:
		case <-c.done:
		case <-t.C:
		}
		t.Stop()
	}
	c.closing.Store(true)
	c.sendNow(wire.AppendMethodFrame(nil, 0, &wire.ConnectionClose{ReplyCode: wire.ReplySuccess, ReplyText: "warren-perf done"}))
	t := time.NewTimer(timeout)
	select {
	case <-c.closeOk:
	case <-c.done:
	case <-t.C:
	}
	t.Stop()
	c.fail(nil)
	c.wg.Wait()
}

// readLoop reads and dispatches frames until the connection ends. Deliveries and
// confirms are decoded in place, without allocating; other methods go through
// wire.DecodeMethod.
func (c *conn) readLoop() {
	defer c.wg.Done()
	var now int64
	for {
		stale := !c.fr.FrameBuffered()
		if stale && len(c.ctl) > 0 {
			c.sendNow(c.ctl)
			c.ctl = c.ctl[:0]
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && c.settleReq.Load() && !c.settleDone {
				c.settle() // close asked: the read goes on where it stopped
				continue
			}
			c.fail(err)
			return
		}
		if stale || now == 0 {
			// The time of the read that brought these frames in: every message in
			// one read counts as received together.
			now = c.epochNow()
		}
		if err := c.dispatch(f, now); err != nil {
			c.fail(err)
			return
		}
	}
}

// settle queues an ack of every delivery a consumer counted and has not acked,
// clears the read deadline close set, and tells close. Reader goroutine only.
func (c *conn) settle() {
	c.settleDone = true
	c.nc.SetReadDeadline(time.Time{})
	for i := range c.chans {
		ch := c.chans[i].Load()
		if ch == nil || ch.cons == nil || ch.cons.unacked == 0 {
			continue
		}
		ack := wire.BasicAck{DeliveryTag: ch.cons.lastTag, Multiple: true}
		c.ctl = ack.AppendFrame(c.ctl, ch.id)
		ch.cons.unacked = 0
	}
	if len(c.ctl) > 0 {
		c.sendNow(c.ctl)
		c.ctl = c.ctl[:0]
	}
	close(c.settled)
}

// dispatch handles one frame read at time now.
func (c *conn) dispatch(f wire.Frame, now int64) error {
	if int(f.Channel) >= len(c.chans) {
		return fmt.Errorf("frame on channel %d, which was never opened", f.Channel)
	}
	var ch *channel
	if f.Channel > 0 {
		if ch = c.chans[f.Channel].Load(); ch == nil {
			return fmt.Errorf("frame on channel %d, which is not open", f.Channel)
		}
	}
	switch f.Type {
	case wire.FrameMethod:
		return c.method(ch, f.Payload, now)
	case wire.FrameHeader:
		if ch != nil {
			ch.contentHeader(f.Payload, now)
		}
	case wire.FrameBody:
		if ch != nil {
			ch.contentBody(f.Payload, now)
		}
	}
	return nil
}

// method handles one method frame: the hot ones (basic.deliver, basic.ack,
// basic.nack) by hand, the rest decoded.
func (c *conn) method(ch *channel, p []byte, now int64) error {
	if len(p) >= 4 && ch != nil && binary.BigEndian.Uint16(p) == wire.ClassBasic {
		switch binary.BigEndian.Uint16(p[2:]) {
		case 60: // basic.deliver: consumer-tag, delivery-tag, redelivered, exchange, routing-key
			if len(p) >= 5 {
				if off := 5 + int(p[4]); len(p) >= off+8 {
					ch.deliver(binary.BigEndian.Uint64(p[off:]))
					return nil
				}
			}
			return errors.New("basic.deliver too short")
		case 80, 120: // basic.ack, basic.nack: delivery-tag, bits (multiple = bit 0)
			if len(p) < 13 {
				return errors.New("basic.ack too short")
			}
			if ch.prod != nil {
				ch.prod.confirm(binary.BigEndian.Uint64(p[4:]), p[12]&1 != 0, p[3] == 120, now)
			}
			return nil
		}
	}
	m, err := wire.DecodeMethod(p)
	if err != nil {
		return err
	}
	if ch == nil {
		switch m := m.(type) {
		case *wire.ConnectionClose:
			c.sendNow(wire.AppendMethodFrame(nil, 0, &wire.ConnectionCloseOk{}))
			return fmt.Errorf("broker closed the connection: %d %s", m.ReplyCode, m.ReplyText)
		case *wire.ConnectionCloseOk:
			close(c.closeOk)
			c.fail(nil)
		case *wire.ConnectionBlocked:
			c.blocked.Add(1)
		case *wire.ConnectionUnblocked:
		default:
			return fmt.Errorf("unexpected %s on channel 0", m.Name())
		}
		return nil
	}
	switch m := m.(type) {
	case *wire.ChannelClose:
		c.sendNow(wire.AppendMethodFrame(nil, ch.id, &wire.ChannelCloseOk{}))
		return fmt.Errorf("broker closed channel %d: %d %s", ch.id, m.ReplyCode, m.ReplyText)
	case *wire.BasicCancel: // the queue went away
		if ch.cons != nil {
			ch.cons.cancelled.Store(true)
		}
		return nil
	case *wire.BasicReturn, *wire.BasicGetOk:
		ch.skipContent = true
		return nil
	}
	select {
	case ch.rpc <- m:
	default:
		return fmt.Errorf("unexpected %s on channel %d", m.Name(), ch.id)
	}
	return nil
}

// channel is one AMQP channel of a conn, used by at most one producer or one
// consumer (and by setup).
type channel struct {
	id   uint16
	c    *conn
	rpc  chan wire.Method // replies to synchronous methods
	prod *producer
	cons *consumer

	// Content assembly, reader goroutine only.
	inContent   bool   // a delivery's header and body are expected
	skipContent bool   // the next content belongs to a return or get-ok: ignore it
	bodyLeft    uint64 // body octets still to come
	bodyFirst   bool   // the next body frame is the first
	tag         uint64 // delivery tag of the delivery being assembled
	stamp       int64  // send time from the first body frame (0: none)
}

// newChannel returns channel id of c, not yet open: give it its producer or
// consumer, then open it.
func (c *conn) newChannel(id uint16) *channel {
	return &channel{id: id, c: c, rpc: make(chan wire.Method, 1)}
}

// open opens ch; from then on the reader dispatches its frames.
func (c *conn) open(ch *channel) error {
	c.chans[ch.id].Store(ch)
	m, err := ch.call(&wire.ChannelOpen{})
	if err != nil {
		return err
	}
	if _, ok := m.(*wire.ChannelOpenOk); !ok {
		return unexpected(m, "channel.open-ok")
	}
	return nil
}

// call sends a synchronous method and waits for its reply. Setup only: it allocates.
func (ch *channel) call(m wire.Method) (wire.Method, error) {
	ch.c.sendNow(wire.AppendMethodFrame(nil, ch.id, m))
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case r := <-ch.rpc:
		return r, nil
	case <-ch.c.done:
		if ch.c.err != nil {
			return nil, ch.c.err
		}
		return nil, errors.New("connection closed")
	case <-t.C:
		return nil, fmt.Errorf("no reply to %s within 30 s", m.Name())
	}
}

// deliver starts a delivery: its content header and body frames follow.
func (ch *channel) deliver(tag uint64) {
	ch.inContent = true
	ch.tag = tag
}

func (ch *channel) contentHeader(p []byte, now int64) {
	if len(p) < 12 {
		return
	}
	size := binary.BigEndian.Uint64(p[4:])
	if ch.skipContent {
		ch.bodyLeft = size
		if size == 0 {
			ch.skipContent = false
		}
		return
	}
	if !ch.inContent {
		return
	}
	ch.bodyLeft = size
	ch.bodyFirst = true
	if size == 0 {
		ch.inContent = false
		if ch.cons != nil {
			ch.cons.received(ch, ch.tag, 0, now)
		}
	}
}

func (ch *channel) contentBody(p []byte, now int64) {
	if ch.skipContent {
		ch.bodyLeft -= min(ch.bodyLeft, uint64(len(p)))
		if ch.bodyLeft == 0 {
			ch.skipContent = false
		}
		return
	}
	if !ch.inContent {
		return
	}
	if ch.bodyFirst {
		ch.bodyFirst = false
		ch.stamp = 0
		// A send time counts only if this run sent the message: octets 8 to 16
		// carry the run's nonce (a backlog from an earlier process has another
		// clock). Bodies of 8 to 15 octets have no room for it and are trusted.
		if len(p) >= 8 && (len(p) < 16 || ch.cons == nil || binary.BigEndian.Uint64(p[8:]) == ch.cons.nonce) {
			ch.stamp = int64(binary.BigEndian.Uint64(p))
		}
	}
	ch.bodyLeft -= min(ch.bodyLeft, uint64(len(p)))
	if ch.bodyLeft == 0 {
		ch.inContent = false
		if ch.cons != nil {
			ch.cons.received(ch, ch.tag, ch.stamp, now)
		}
	}
}

// epoch is the zero of the send times embedded in message bodies: producers and
// consumers run in one process and share this monotonic clock.
var epoch = time.Now()

// sinceEpoch returns nanoseconds since epoch, at least 1 (0 means "no stamp").
func sinceEpoch() int64 { return int64(time.Since(epoch)) + 1 }
