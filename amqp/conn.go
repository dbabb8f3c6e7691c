package amqp

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/broker"
	"github.com/warren-mq/warren/queue"
)

// closeOkTimeout is how long a connection that sent connection.close waits for
// close-ok before it drops the socket.
const closeOkTimeout = 3 * time.Second

// conn is one client connection. Its reader goroutine (serve) owns the handshake,
// the channel table and all channel state except what deliveries touch (see
// channel); the writer goroutine owns the socket's outbound side.
type conn struct {
	srv *Server
	nc  net.Conn
	log *zap.Logger
	r   *wire.FrameReader
	w   *writer

	// Negotiated in the handshake; read-only afterwards.
	frameMax   uint32
	channelMax uint16
	heartbeat  time.Duration
	vhost      *broker.Vhost
	user       string
	clientCaps wire.Table

	publish         wire.BasicPublish // decodeMethod's reused basic.publish
	channels        map[uint16]*channel
	last            *channel                  // the channel channel() found last (reader goroutine only)
	exclusiveQueues map[*queue.Queue]struct{} // queues this connection declared exclusive
	dirty           []*channel                // channels with confirms to flush
	flushes         flushSet                  // writers with deliveries this connection's publishes made, to flush

	stopBlocking chan struct{} // closed by forceClose: a blocked publisher stops waiting
	stopOnce     sync.Once

	mu      sync.Mutex  // guards channels against the writer's dispatchAll
	closing atomic.Bool // connection.close sent: only close-ok (or close) matters now
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:             s,
		nc:              nc,
		log:             s.log.With(zap.String("peer", nc.RemoteAddr().String())),
		r:               wire.NewFrameReader(newSockReader(nc)),
		w:               newWriter(nc),
		frameMax:        wire.FrameMinSize,
		channels:        map[uint16]*channel{},
		exclusiveQueues: map[*queue.Queue]struct{}{},
		stopBlocking:    make(chan struct{}),
	}
	c.w.onDrain = c.dispatchAll
	return c
}

// serve runs the connection to its end: handshake, frames, then cleanup.
func (c *conn) serve() {
	go c.w.run()
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("connection panic", zap.Any("panic", p), zap.Stack("stack"))
		}
		c.flushes.flush()
		c.cleanup()
		c.w.stop(closeOkTimeout)
		c.nc.Close()
	}()
	c.nc.SetDeadline(time.Now().Add(c.srv.cfg.HandshakeTimeout))
	ok, err := c.handshake()
	if err != nil || !ok {
		if err != nil && !isClosedErr(err) {
			c.log.Info("handshake failed", zap.Error(err))
		}
		return
	}
	c.nc.SetDeadline(time.Time{})
	c.log.Info("connection open", zap.String("user", c.user), zap.String("vhost", c.vhost.Name))
	c.loop()
}

// loop reads frames until the connection ends.
func (c *conn) loop() {
	var deadlineSet time.Time
	for {
		// The silent-peer deadline is two heartbeats from the last frame; it
		// is moved only before a read that may block, and at most every
		// heartbeat/4 (a frame read from the buffer costs no syscall, and
		// moving a deadline resets a runtime timer).
		if c.heartbeat > 0 && !c.closing.Load() && !c.r.FrameBuffered() {
			if now := time.Now(); now.Sub(deadlineSet) >= c.heartbeat/4 {
				c.nc.SetReadDeadline(now.Add(2 * c.heartbeat))
				deadlineSet = now
			}
		}
		f, err := c.r.ReadFrame()
		if err != nil {
			var fe *wire.FrameError
			if errors.As(err, &fe) {
				c.hardError(frameError(fe.Type, fe.Payload, fe.Reason), 0, 0)
				c.awaitCloseOk()
				return
			}
			if isTimeout(err) && !c.closing.Load() {
				c.log.Warn("missed heartbeats from client, timeout", zap.Duration("heartbeat", c.heartbeat))
			} else if !isClosedErr(err) {
				c.log.Info("connection read failed", zap.Error(err))
			}
			return
		}
		if c.closing.Load() {
			if c.closingFrame(f) {
				return
			}
			continue
		}
		if done := c.frame(f); done {
			return
		}
		if !c.r.FrameBuffered() {
			// The next read may block: confirms and deliveries batched so
			// far go out now.
			c.flushConfirms()
			c.flushes.flush()
		}
	}
}

// frame handles one frame; it reports true when the connection is over.
func (c *conn) frame(f wire.Frame) bool {
	switch f.Type {
	case wire.FrameHeartbeat:
		if len(f.Payload) != 0 {
			return c.fail(frameError(f.Type, f.Payload, "unknown_frame"), 0, 0)
		}
		if f.Channel != 0 {
			return c.fail(wire.Errorf(wire.UnexpectedFrame, "type 8, all octets = <<>>"), 0, 0)
		}
		return false
	case wire.FrameMethod:
		if len(f.Payload) < 4 {
			return c.fail(frameError(f.Type, f.Payload, "unknown_frame"), 0, 0)
		}
		if len(c.flushes.ws) > 0 && !wire.IsBasicPublish(f.Payload) {
			// Any other method may wait (for the store, say): what
			// earlier publishes delivered goes out first.
			c.flushes.flush()
		}
		m, err := c.decodeMethod(f.Payload)
		if err != nil {
			return c.fail(decodeError(f.Payload, err), 0, 0)
		}
		if f.Channel == 0 {
			return c.connectionMethod(m)
		}
		return c.channelMethod(f.Channel, m)
	case wire.FrameHeader, wire.FrameBody:
		ch := c.channel(f.Channel)
		if ch == nil || f.Channel == 0 {
			return c.fail(wire.Errorf(wire.UnexpectedFrame, "expected method frame, got non method frame instead"), 0, 0)
		}
		if ch.closing {
			return false
		}
		return c.result(ch, ch.content(f))
	default:
		return c.fail(frameError(f.Type, f.Payload, "unknown_frame"), 0, 0)
	}
}

// decodeMethod decodes a method frame; basic.publish, the one a busy
// connection sees most, goes into a struct the connection reuses (the channel
// copies what it needs from it before the next frame is read).
func (c *conn) decodeMethod(payload []byte) (wire.Method, error) {
	ok, err := wire.DecodeBasicPublish(payload, &c.publish)
	switch {
	case err != nil:
		return nil, err
	case ok:
		return &c.publish, nil
	}
	return wire.DecodeMethod(payload)
}

// frameError is RabbitMQ's 501 for a frame it cannot take: the frame's type, its
// first octets and the reason, in Erlang's notation.
func frameError(typ uint8, payload []byte, reason string) *wire.Error {
	which := "all octets"
	if len(payload) > 16 {
		which, payload = "first 16 octets", payload[:16]
	}
	return wire.Errorf(wire.FrameErrorCode, "type %d, %s = %s: %s", typ, which, erlBinary(payload), reason)
}

// decodeError turns a method decoding error into the close RabbitMQ sends: 501
// "cannot decode" with the arguments, or 540 for an unknown method.
func decodeError(payload []byte, err error) *wire.Error {
	var um *wire.UnknownMethodError
	if errors.As(err, &um) {
		return wire.Errorf(wire.NotImplemented, "unknown method class %d method %d", um.ClassID, um.MethodID)
	}
	classID, methodID := uint16(payload[0])<<8|uint16(payload[1]), uint16(payload[2])<<8|uint16(payload[3])
	e := wire.Errorf(wire.FrameErrorCode, "cannot decode %s", erlBytes(payload[4:]))
	e.ClassID, e.MethodID = classID, methodID
	return e
}

// connectionMethod handles a method on channel 0 after the handshake.
func (c *conn) connectionMethod(m wire.Method) bool {
	switch m.(type) {
	case *wire.ConnectionClose:
		c.w.method(0, &wire.ConnectionCloseOk{})
		c.awaitPeerClose()
		return true
	case *wire.ConnectionCloseOk:
		return true
	case *wire.ConnectionUpdateSecret:
		c.w.method(0, &wire.ConnectionUpdateSecretOk{})
		return false
	case *wire.ConnectionBlocked, *wire.ConnectionUnblocked:
		return false
	}
	return c.fail(wire.Errorf(wire.ChannelError, "unexpected method in connection state running"), m.ClassID(), m.MethodID())
}

// channelMethod routes a method to its channel, opening channels on channel.open.
func (c *conn) channelMethod(id uint16, m wire.Method) bool {
	ch := c.channel(id)
	if ch == nil {
		if _, ok := m.(*wire.ChannelOpen); !ok {
			return c.fail(wire.Errorf(wire.ChannelError, "expected 'channel.open'"), m.ClassID(), m.MethodID())
		}
		if open := c.openChannels(); open >= int(c.channelMax) {
			return c.fail(wire.Errorf(wire.NotAllowed, "number of channels opened (%d) has reached the negotiated channel_max (%d)",
				open, c.channelMax), 0, 0)
		}
		c.mu.Lock()
		c.channels[id] = newChannel(c, id)
		c.mu.Unlock()
		c.w.method(id, &wire.ChannelOpenOk{})
		return false
	}
	if ch.closing {
		// Waiting for channel.close-ok: everything else is dropped, and a crossing
		// channel.close is answered.
		switch m.(type) {
		case *wire.ChannelCloseOk:
			c.removeChannel(id)
		case *wire.ChannelClose:
			c.w.method(id, &wire.ChannelCloseOk{})
		case *wire.ChannelOpen:
			return c.fail(wire.Errorf(wire.ChannelError, "second 'channel.open' seen"), m.ClassID(), m.MethodID())
		}
		return false
	}
	return c.result(ch, ch.method(m))
}

// openChannels counts the channels that are open (not waiting for close-ok).
func (c *conn) openChannels() int {
	n := 0
	for _, ch := range c.channels {
		if !ch.closing {
			n++
		}
	}
	return n
}

// result acts on what a channel's handler returned: nothing, a soft error that
// closes the channel, or a hard error that closes the connection.
func (c *conn) result(ch *channel, err *wire.Error) bool {
	if err == nil {
		return false
	}
	if wire.IsHardError(err.Code) {
		return c.fail(err, err.ClassID, err.MethodID)
	}
	ch.closeWithError(err)
	return false
}

// fail closes the connection with a hard error and waits for close-ok.
func (c *conn) fail(err *wire.Error, classID, methodID uint16) bool {
	if err.ClassID == 0 && err.MethodID == 0 {
		err.ClassID, err.MethodID = classID, methodID
	}
	c.hardError(err, err.ClassID, err.MethodID)
	c.awaitCloseOk()
	return true
}

// hardError sends connection.close and enters the closing state.
func (c *conn) hardError(err *wire.Error, classID, methodID uint16) {
	c.log.Info("closing connection", zap.Uint16("code", err.Code), zap.String("text", err.Text))
	c.sendClose(err.Code, err.Text, classID, methodID)
}

func (c *conn) sendClose(code uint16, text string, classID, methodID uint16) bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	c.w.method(0, &wire.ConnectionClose{ReplyCode: code, ReplyText: replyText(text), FailingClassID: classID, FailingMethodID: methodID})
	return true
}

// forceClose closes the connection from outside its reader (broker shutdown): it
// sends connection.close and bounds the reader's wait for close-ok.
func (c *conn) forceClose(reason string) {
	c.stopOnce.Do(func() { close(c.stopBlocking) })
	if c.sendClose(wire.ConnectionForced, "CONNECTION_FORCED - "+reason, 0, 0) {
		c.nc.SetReadDeadline(time.Now().Add(closeOkTimeout))
	}
}

// awaitCloseOk reads and drops frames until close-ok, a close, or the timeout.
func (c *conn) awaitCloseOk() {
	c.nc.SetReadDeadline(time.Now().Add(closeOkTimeout))
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return
		}
		if c.closingFrame(f) {
			return
		}
	}
}

// closingFrame handles a frame that arrives after connection.close was sent; it
// reports true when the exchange of closes is complete.
func (c *conn) closingFrame(f wire.Frame) bool {
	if f.Type != wire.FrameMethod || f.Channel != 0 {
		return false
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return false
	}
	switch m.(type) {
	case *wire.ConnectionCloseOk:
		return true
	case *wire.ConnectionClose:
		c.w.method(0, &wire.ConnectionCloseOk{})
		return true
	}
	return false
}

// awaitPeerClose gives the client, which has its close-ok, the chance to close the
// socket first, as RabbitMQ does, so that it does not read an EOF where it expects
// close-ok. The wait is bounded.
func (c *conn) awaitPeerClose() {
	c.w.stop(closeOkTimeout)
	c.nc.SetReadDeadline(time.Now().Add(closeOkTimeout))
	var buf [512]byte
	for {
		if _, err := c.nc.Read(buf[:]); err != nil {
			return
		}
	}
}

// flushConfirms sends the publisher confirms that accumulated while frames were
// arriving back to back: one basic.ack with multiple set covers many publishes.
func (c *conn) flushConfirms() {
	for _, ch := range c.dirty {
		ch.flushConfirms()
	}
	c.dirty = c.dirty[:0]
}

// removeChannel forgets a closed channel; its number may be opened again.
func (c *conn) removeChannel(id uint16) {
	c.mu.Lock()
	delete(c.channels, id)
	c.mu.Unlock()
	if c.last != nil && c.last.id == id {
		c.last = nil
	}
}

// channel returns the open channel id, or nil. The last one found is kept:
// a publish is three frames on one channel.
func (c *conn) channel(id uint16) *channel {
	if c.last != nil && c.last.id == id {
		return c.last
	}
	ch := c.channels[id]
	if ch != nil {
		c.last = ch
	}
	return ch
}

// dispatchAll asks every queue this connection consumes from to dispatch; the
// writer calls it when its congested buffer drained.
func (c *conn) dispatchAll() {
	c.mu.Lock()
	chans := make([]*channel, 0, len(c.channels))
	for _, ch := range c.channels {
		chans = append(chans, ch)
	}
	c.mu.Unlock()
	for _, ch := range chans {
		ch.dispatchConsumers()
	}
}

// cleanup releases everything the connection holds: channels (requeueing their
// unacked messages) and exclusive queues.
func (c *conn) cleanup() {
	c.mu.Lock()
	chans := c.channels
	c.channels = map[uint16]*channel{}
	c.last = nil
	c.mu.Unlock()
	for _, ch := range chans {
		ch.shutdown()
	}
	for q := range c.exclusiveQueues {
		c.vhost.DeleteQueueIf(q)
	}
	if c.vhost != nil {
		c.log.Info("connection closed")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}
