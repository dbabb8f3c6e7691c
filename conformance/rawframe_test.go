package conformance

// A minimal hand-driven AMQP 0-9-1 client for tests that must send what a well-behaved
// client library never would: wrong protocol headers, malformed frames, methods out of
// order. It has its own tiny frame codec (encoding/binary only) so the suite never
// depends on the Warren wire package it is meant to check.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Frame types and the frame-end octet (AMQP 0-9-1 section 4.2.3).
const (
	rawFrameMethod    = 1
	rawFrameHeader    = 2
	rawFrameBody      = 3
	rawFrameHeartbeat = 8
	rawFrameEnd       = 0xCE
)

// rawProtocolHeader is the AMQP 0-9-1 protocol header.
const rawProtocolHeader = "AMQP\x00\x00\x09\x01"

// Class and method ids used by the tests (AMQP 0-9-1 spec, RabbitMQ's numbering).
const (
	rawConnection = 10
	rawChannel    = 20
	rawExchange   = 40
	rawQueue      = 50
	rawBasic      = 60

	rawConnectionStart   = 10
	rawConnectionStartOk = 11
	rawConnectionTune    = 30
	rawConnectionTuneOk  = 31
	rawConnectionOpen    = 40
	rawConnectionOpenOk  = 41
	rawConnectionClose   = 50
	rawConnectionCloseOk = 51

	rawChannelOpen    = 10
	rawChannelOpenOk  = 11
	rawChannelClose   = 40
	rawChannelCloseOk = 41

	rawQueueDeclare   = 10
	rawQueueDeclareOk = 11

	rawBasicPublish  = 40
	rawBasicDeliver  = 60
	rawBasicGet      = 70
	rawBasicGetOk    = 71
	rawBasicGetEmpty = 72
)

// rawFrame is one frame as it travels on the wire, without the frame-end octet.
type rawFrame struct {
	Type    byte
	Channel uint16
	Payload []byte
}

// rawMethod is a decoded method frame: class and method id plus the undecoded
// arguments.
type rawMethod struct {
	Channel uint16
	Class   uint16
	Method  uint16
	Args    []byte
}

func (m rawMethod) is(class, method uint16) bool { return m.Class == class && m.Method == method }

func (m rawMethod) String() string {
	return fmt.Sprintf("method %d.%d on channel %d", m.Class, m.Method, m.Channel)
}

// rawClose is the content of a connection.close or channel.close.
type rawClose struct {
	Code     uint16
	Text     string
	ClassID  uint16
	MethodID uint16
}

// rawConn is a TCP connection to the broker driven frame by frame. Every read has a
// deadline of wait, so a broker that says nothing fails the test instead of hanging it.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	// FrameMax is the frame-max the connection was tuned to (0 before tune-ok); frames
	// are read up to this size, or 1 MiB when it is 0.
	FrameMax uint32
}

// rawDial opens a TCP connection to the broker; it is closed when the test ends.
func rawDial(t testing.TB) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", brokerAddr, wait)
	if err != nil {
		t.Fatalf("dial %s: %v", brokerAddr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// write sends b as is.
func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if err := c.conn.SetWriteDeadline(time.Now().Add(wait)); err != nil {
		c.t.Fatalf("set write deadline: %v", err)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// writeTolerant sends b and ignores a write error, for bytes sent after the broker may
// already have closed the socket.
func (c *rawConn) writeTolerant(b []byte) {
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	_, _ = c.conn.Write(b)
}

// rawFrameBytes encodes one frame: type, channel, size, payload, frame-end.
func rawFrameBytes(typ byte, channel uint16, payload []byte) []byte {
	b := make([]byte, 0, 8+len(payload))
	b = append(b, typ)
	b = binary.BigEndian.AppendUint16(b, channel)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return append(b, rawFrameEnd)
}

// rawMethodPayload encodes a method frame's payload.
func rawMethodPayload(class, method uint16, args []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, class)
	b = binary.BigEndian.AppendUint16(b, method)
	return append(b, args...)
}

// rawHeaderPayload encodes a content header payload for class basic with the given
// body size and no properties.
func rawHeaderPayload(bodySize uint64) []byte {
	b := binary.BigEndian.AppendUint16(nil, rawBasic)
	b = binary.BigEndian.AppendUint16(b, 0) // weight
	b = binary.BigEndian.AppendUint64(b, bodySize)
	return binary.BigEndian.AppendUint16(b, 0) // property flags
}

// sendFrame sends one well-formed frame.
func (c *rawConn) sendFrame(typ byte, channel uint16, payload []byte) {
	c.t.Helper()
	c.write(rawFrameBytes(typ, channel, payload))
}

// sendMethod sends one method frame.
func (c *rawConn) sendMethod(channel, class, method uint16, args []byte) {
	c.t.Helper()
	c.sendFrame(rawFrameMethod, channel, rawMethodPayload(class, method, args))
}

// readFrame reads one frame within wait. It returns an error when the socket is
// closed or the deadline passes, and fails the test when the broker sends a
// malformed frame.
func (c *rawConn) readFrame() (rawFrame, error) {
	c.t.Helper()
	return c.readFrameBy(time.Now().Add(wait))
}

// readFrameBy is readFrame with an explicit deadline.
func (c *rawConn) readFrameBy(deadline time.Time) (rawFrame, error) {
	c.t.Helper()
	if err := c.conn.SetReadDeadline(deadline); err != nil {
		return rawFrame{}, err
	}
	var h [7]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{Type: h[0], Channel: binary.BigEndian.Uint16(h[1:3])}
	size := binary.BigEndian.Uint32(h[3:7])
	limit := c.FrameMax
	if limit == 0 {
		limit = 1 << 20
	}
	if uint64(size)+8 > uint64(limit) {
		c.t.Fatalf("broker sent a frame of %d bytes, above frame-max %d", uint64(size)+8, limit)
	}
	f.Payload = make([]byte, size+1)
	if _, err := io.ReadFull(c.r, f.Payload); err != nil {
		return rawFrame{}, err
	}
	if end := f.Payload[size]; end != rawFrameEnd {
		c.t.Fatalf("broker sent frame-end octet %#x", end)
	}
	f.Payload = f.Payload[:size]
	return f, nil
}

// nextMethod reads frames until a method frame arrives, skipping heartbeats. Any
// other frame, or a closed socket, fails the test.
func (c *rawConn) nextMethod() rawMethod {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("reading a method: %v", err)
		}
		switch f.Type {
		case rawFrameHeartbeat:
			continue
		case rawFrameMethod:
			if len(f.Payload) < 4 {
				c.t.Fatalf("broker sent a method frame of %d bytes", len(f.Payload))
			}
			return rawMethod{
				Channel: f.Channel,
				Class:   binary.BigEndian.Uint16(f.Payload[0:2]),
				Method:  binary.BigEndian.Uint16(f.Payload[2:4]),
				Args:    f.Payload[4:],
			}
		default:
			c.t.Fatalf("want a method frame, got frame type %d on channel %d", f.Type, f.Channel)
		}
	}
}

// expectMethod reads the next method and fails the test unless it is class.method on
// channel.
func (c *rawConn) expectMethod(channel, class, method uint16) rawMethod {
	c.t.Helper()
	m := c.nextMethod()
	if m.Channel != channel || !m.is(class, method) {
		detail := ""
		if m.is(rawConnection, rawConnectionClose) || m.is(rawChannel, rawChannelClose) {
			cl := rawDecodeClose(c.t, m)
			detail = fmt.Sprintf(" (%d %q)", cl.Code, cl.Text)
		}
		c.t.Fatalf("want method %d.%d on channel %d, got %v%s", class, method, channel, m, detail)
	}
	return m
}

// rawDecodeClose decodes the arguments of connection.close or channel.close.
func rawDecodeClose(t testing.TB, m rawMethod) rawClose {
	t.Helper()
	d := rawDecoder{b: m.Args}
	cl := rawClose{Code: d.short(), Text: d.shortstr(), ClassID: d.short(), MethodID: d.short()}
	if d.err != nil {
		t.Fatalf("decoding %v: %v", m, d.err)
	}
	return cl
}

// expectConnectionClose reads until the broker's connection.close, checks its reply
// code and that its text starts with prefix, answers close-ok as a client must and
// waits for the broker to close the socket. It returns the close for further checks.
func (c *rawConn) expectConnectionClose(code uint16, prefix string) rawClose {
	c.t.Helper()
	cl := c.expectConnectionCloseNoWait(code, prefix)
	c.expectSocketClosed()
	return cl
}

// expectConnectionCloseNoWait is expectConnectionClose for a stream the broker can no
// longer parse (after a frame it could not delimit, such as a bad frame-end or an
// oversized frame): it answers close-ok but closes the socket itself instead of
// waiting for the broker, which may not read the close-ok (RabbitMQ then closes the
// socket only after a timeout of about 3s).
func (c *rawConn) expectConnectionCloseNoWait(code uint16, prefix string) rawClose {
	c.t.Helper()
	m := c.expectMethod(0, rawConnection, rawConnectionClose)
	cl := rawDecodeClose(c.t, m)
	if cl.Code != code || !strings.HasPrefix(cl.Text, prefix) {
		c.t.Fatalf("want connection.close %d %q..., got %d %q", code, prefix, cl.Code, cl.Text)
	}
	c.writeTolerant(rawFrameBytes(rawFrameMethod, 0, rawMethodPayload(rawConnection, rawConnectionCloseOk, nil)))
	return cl
}

// expectChannelClose reads until the broker's channel.close on channel, checks its
// reply code and text prefix and answers close-ok. The connection stays open.
func (c *rawConn) expectChannelClose(channel, code uint16, prefix string) rawClose {
	c.t.Helper()
	m := c.expectMethod(channel, rawChannel, rawChannelClose)
	cl := rawDecodeClose(c.t, m)
	if cl.Code != code || !strings.HasPrefix(cl.Text, prefix) {
		c.t.Fatalf("want channel.close %d %q..., got %d %q", code, prefix, cl.Code, cl.Text)
	}
	c.sendMethod(channel, rawChannel, rawChannelCloseOk, nil)
	return cl
}

// expectSocketClosed reads and discards whatever the broker still sends (heartbeats,
// say) until it closes the socket; it fails the test if that takes longer than wait.
func (c *rawConn) expectSocketClosed() {
	c.t.Helper()
	c.expectSocketClosedWithin(wait)
}

// expectSocketClosedWithin is expectSocketClosed with a deadline of d.
func (c *rawConn) expectSocketClosedWithin(d time.Duration) {
	c.t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		c.t.Fatalf("set read deadline: %v", err)
	}
	_, err := io.Copy(io.Discard, c.conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("broker did not close the socket within %v", d)
	}
	// err is nil (EOF) or a reset: either way the broker closed it.
}

// expectConnectionEnds reads until the broker closes the socket. The broker may send
// nothing at all first (RabbitMQ closes silently when its reader process crashes on
// some malformed input) or a connection.close with the given code and a text that
// starts with prefix, which the client answers with close-ok. Heartbeats are
// skipped; any other frame fails the test.
func (c *rawConn) expectConnectionEnds(code uint16, prefix string) {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("broker did not close the connection within %v", wait)
		}
		if err != nil {
			return
		}
		if f.Type == rawFrameHeartbeat && f.Channel == 0 {
			continue
		}
		m := rawMethod{Channel: f.Channel}
		if f.Type == rawFrameMethod && len(f.Payload) >= 4 {
			m.Class = binary.BigEndian.Uint16(f.Payload[0:2])
			m.Method = binary.BigEndian.Uint16(f.Payload[2:4])
			m.Args = f.Payload[4:]
		}
		if f.Channel != 0 || !m.is(rawConnection, rawConnectionClose) {
			c.t.Fatalf("want the connection to end, got frame type %d on channel %d (%v)", f.Type, f.Channel, m)
		}
		cl := rawDecodeClose(c.t, m)
		if cl.Code != code || !strings.HasPrefix(cl.Text, prefix) {
			c.t.Fatalf("want the socket closed or connection.close %d %q..., got %d %q", code, prefix, cl.Code, cl.Text)
		}
		c.writeTolerant(rawFrameBytes(rawFrameMethod, 0, rawMethodPayload(rawConnection, rawConnectionCloseOk, nil)))
		c.expectSocketClosed()
		return
	}
}

// expectSilentClose asserts that the broker closes the socket within d without
// sending a single frame.
func (c *rawConn) expectSilentClose(d time.Duration) {
	c.t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		c.t.Fatalf("set read deadline: %v", err)
	}
	b, err := io.ReadAll(c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("broker did not close the socket within %v (received %d bytes)", d, len(b))
	}
	if len(b) > 0 {
		c.t.Fatalf("want the socket closed without a frame, got % x", b)
	}
}

// publish sends basic.publish with body on channel, split into body frames that fit
// frameMax (whole frames, 8 octets of framing included).
func (c *rawConn) publish(channel uint16, exchange, routingKey string, body []byte, frameMax int) {
	c.t.Helper()
	c.sendMethod(channel, rawBasic, rawBasicPublish, rawBasicPublishArgs(exchange, routingKey))
	c.sendFrame(rawFrameHeader, channel, rawHeaderPayload(uint64(len(body))))
	for len(body) > 0 {
		n := min(len(body), frameMax-8)
		c.sendFrame(rawFrameBody, channel, body[:n])
		body = body[n:]
	}
}

// readContent reads a content header and its body frames on channel and returns the
// body and how many body frames carried it.
func (c *rawConn) readContent(channel uint16) (body []byte, frames int) {
	c.t.Helper()
	f, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("reading a content header: %v", err)
	}
	if f.Type != rawFrameHeader || f.Channel != channel {
		c.t.Fatalf("want a content header on channel %d, got frame type %d on channel %d", channel, f.Type, f.Channel)
	}
	d := rawDecoder{b: f.Payload}
	class, _, size := d.short(), d.short(), d.longlong()
	if d.err != nil || class != rawBasic {
		c.t.Fatalf("bad content header % x", f.Payload)
	}
	for uint64(len(body)) < size {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("reading a body frame: %v", err)
		}
		if f.Type != rawFrameBody || f.Channel != channel {
			c.t.Fatalf("want a body frame on channel %d, got frame type %d on channel %d", channel, f.Type, f.Channel)
		}
		body = append(body, f.Payload...)
		frames++
	}
	if uint64(len(body)) != size {
		c.t.Fatalf("content header says %d octets, body frames carried %d", size, len(body))
	}
	return body, frames
}

// rawTune is the content of connection.tune or connection.tune-ok.
type rawTune struct {
	ChannelMax uint16
	FrameMax   uint32
	Heartbeat  uint16
}

// rawStart is the decoded content of connection.start.
type rawStart struct {
	VersionMajor, VersionMinor byte
	ServerProperties           map[string]any
	Mechanisms, Locales        string
}

// rawOptions says how rawOpen performs the handshake. The zero value logs in as the
// user and password of brokerURL with PLAIN, advertises authentication_failure_close,
// accepts the broker's channel-max and frame-max, disables heartbeats and opens the
// vhost of brokerURL.
type rawOptions struct {
	// Mechanism and Response replace the SASL mechanism and response when Mechanism
	// is not empty.
	Mechanism string
	Response  []byte
	// User and Password replace brokerURL's credentials when User is not empty.
	User, Password string
	// Vhost replaces brokerURL's vhost when not empty.
	Vhost string
	// Tune, when not nil, chooses the tune-ok from the broker's tune.
	Tune func(rawTune) rawTune
}

// rawCredentials returns user, password and vhost of brokerURL, the way amqp091-go
// reads them (no user: guest/guest; empty path: vhost "/").
func rawCredentials(t testing.TB) (user, password, vhost string) {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil || u.Scheme != "amqp" {
		t.Fatalf("raw frames need an amqp:// URL, have %q (%v)", brokerURL, err)
	}
	user, password, vhost = "guest", "guest", "/"
	if u.User != nil {
		user = u.User.Username()
		password, _ = u.User.Password()
	}
	if v := strings.TrimPrefix(u.Path, "/"); v != "" {
		vhost = v
	}
	return user, password, vhost
}

// sendHeader sends the AMQP 0-9-1 protocol header.
func (c *rawConn) sendHeader() {
	c.t.Helper()
	c.write([]byte(rawProtocolHeader))
}

// expectStart reads and decodes connection.start.
func (c *rawConn) expectStart() rawStart {
	c.t.Helper()
	m := c.expectMethod(0, rawConnection, rawConnectionStart)
	d := rawDecoder{b: m.Args}
	s := rawStart{VersionMajor: d.octet(), VersionMinor: d.octet()}
	s.ServerProperties = d.table()
	s.Mechanisms = string(d.longstr())
	s.Locales = string(d.longstr())
	if d.err != nil {
		c.t.Fatalf("decoding connection.start: %v", d.err)
	}
	return s
}

// sendStartOk sends connection.start-ok as opts say.
func (c *rawConn) sendStartOk(opts rawOptions) {
	c.t.Helper()
	user, password, _ := rawCredentials(c.t)
	if opts.User != "" {
		user, password = opts.User, opts.Password
	}
	mechanism, response := "PLAIN", []byte("\x00"+user+"\x00"+password)
	if opts.Mechanism != "" {
		mechanism, response = opts.Mechanism, opts.Response
	}
	var e rawEncoder
	e.table(rawTable{
		{"product", rawLongstr("warren-conformance-raw")},
		{"capabilities", rawTable{{"authentication_failure_close", true}, {"consumer_cancel_notify", true}}},
	})
	e.shortstr(mechanism)
	e.longstr(response)
	e.shortstr("en_US")
	c.sendMethod(0, rawConnection, rawConnectionStartOk, e.b)
}

// expectTune reads and decodes connection.tune.
func (c *rawConn) expectTune() rawTune {
	c.t.Helper()
	m := c.expectMethod(0, rawConnection, rawConnectionTune)
	d := rawDecoder{b: m.Args}
	tu := rawTune{ChannelMax: d.short(), FrameMax: d.long(), Heartbeat: d.short()}
	if d.err != nil {
		c.t.Fatalf("decoding connection.tune: %v", d.err)
	}
	return tu
}

// sendTuneOk sends connection.tune-ok and from then on reads frames up to its
// frame-max.
func (c *rawConn) sendTuneOk(tu rawTune) {
	c.t.Helper()
	var e rawEncoder
	e.short(tu.ChannelMax)
	e.long(tu.FrameMax)
	e.short(tu.Heartbeat)
	c.sendMethod(0, rawConnection, rawConnectionTuneOk, e.b)
	c.FrameMax = tu.FrameMax
}

// sendOpen sends connection.open for vhost.
func (c *rawConn) sendOpen(vhost string) {
	c.t.Helper()
	var e rawEncoder
	e.shortstr(vhost)
	e.shortstr("") // capabilities (reserved)
	e.bits(false)  // insist (reserved)
	c.sendMethod(0, rawConnection, rawConnectionOpen, e.b)
}

// rawOpen dials the broker and performs the whole handshake up to connection.open-ok.
// It returns the connection and the tune-ok it sent.
func rawOpen(t testing.TB, opts rawOptions) (*rawConn, rawTune) {
	t.Helper()
	c := rawDial(t)
	c.sendHeader()
	c.expectStart()
	c.sendStartOk(opts)
	tu := c.expectTune()
	tu.Heartbeat = 0
	if opts.Tune != nil {
		tu = opts.Tune(tu)
	}
	c.sendTuneOk(tu)
	_, _, vhost := rawCredentials(t)
	if opts.Vhost != "" {
		vhost = opts.Vhost
	}
	c.sendOpen(vhost)
	c.expectMethod(0, rawConnection, rawConnectionOpenOk)
	return c, tu
}

// openChannel opens channel and waits for channel.open-ok.
func (c *rawConn) openChannel(channel uint16) {
	c.t.Helper()
	c.sendMethod(channel, rawChannel, rawChannelOpen, rawShortstrArg(""))
	c.expectMethod(channel, rawChannel, rawChannelOpenOk)
}

// closeChannel closes channel and waits for channel.close-ok.
func (c *rawConn) closeChannel(channel uint16) {
	c.t.Helper()
	c.sendMethod(channel, rawChannel, rawChannelClose, rawCloseArgs(200, "bye", 0, 0))
	c.expectMethod(channel, rawChannel, rawChannelCloseOk)
}

// close performs a clean client-initiated connection close: connection.close, wait
// for close-ok, then close the socket (after close-ok it is the client that closes
// the socket; RabbitMQ leaves it open).
func (c *rawConn) close() {
	c.t.Helper()
	c.sendMethod(0, rawConnection, rawConnectionClose, rawCloseArgs(200, "Goodbye", 0, 0))
	m := c.expectMethod(0, rawConnection, rawConnectionCloseOk)
	if len(m.Args) != 0 {
		c.t.Errorf("connection.close-ok has arguments % x", m.Args)
	}
	c.conn.Close()
}

// rawShortstrArg encodes a single shortstr argument.
func rawShortstrArg(s string) []byte {
	var e rawEncoder
	e.shortstr(s)
	return e.b
}

// rawCloseArgs encodes the arguments of connection.close or channel.close.
func rawCloseArgs(code uint16, text string, class, method uint16) []byte {
	var e rawEncoder
	e.short(code)
	e.shortstr(text)
	e.short(class)
	e.short(method)
	return e.b
}

// rawQueueDeclareArgs encodes queue.declare arguments with the given flags and an
// already encoded arguments table (nil: an empty table).
func rawQueueDeclareArgs(queue string, passive, durable, exclusive, autoDelete bool, table []byte) []byte {
	var e rawEncoder
	e.short(0) // ticket
	e.shortstr(queue)
	e.bits(passive, durable, exclusive, autoDelete, false)
	if table == nil {
		table = []byte{0, 0, 0, 0}
	}
	e.b = append(e.b, table...)
	return e.b
}

// rawBasicPublishArgs encodes basic.publish arguments.
func rawBasicPublishArgs(exchange, routingKey string) []byte {
	var e rawEncoder
	e.short(0) // ticket
	e.shortstr(exchange)
	e.shortstr(routingKey)
	e.bits(false, false) // mandatory, immediate
	return e.b
}

// rawBasicGetArgs encodes basic.get arguments with no-ack set.
func rawBasicGetArgs(queue string) []byte {
	var e rawEncoder
	e.short(0) // ticket
	e.shortstr(queue)
	e.bits(true)
	return e.b
}

// rawEncoder appends AMQP field values to b.
type rawEncoder struct{ b []byte }

func (e *rawEncoder) octet(v byte)      { e.b = append(e.b, v) }
func (e *rawEncoder) short(v uint16)    { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *rawEncoder) long(v uint32)     { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *rawEncoder) longlong(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *rawEncoder) shortstr(s string) { e.b = append(append(e.b, byte(len(s))), s...) }
func (e *rawEncoder) longstr(s []byte)  { e.long(uint32(len(s))); e.b = append(e.b, s...) }
func (e *rawEncoder) bits(bs ...bool) {
	var o byte
	for i, b := range bs {
		if b {
			o |= 1 << i
		}
	}
	e.octet(o)
}

// rawTable is a field table that keeps its order; values are bool, int32, rawLongstr
// or a nested rawTable.
type rawTable []rawField

type rawField struct {
	Name  string
	Value any
}

// rawLongstr is a field-table long string ('S').
type rawLongstr string

// table appends t as a field table.
func (e *rawEncoder) table(t rawTable) {
	var inner rawEncoder
	for _, f := range t {
		inner.shortstr(f.Name)
		switch v := f.Value.(type) {
		case bool:
			inner.octet('t')
			if v {
				inner.octet(1)
			} else {
				inner.octet(0)
			}
		case int32:
			inner.octet('I')
			inner.long(uint32(v))
		case rawLongstr:
			inner.octet('S')
			inner.longstr([]byte(v))
		case rawTable:
			inner.octet('F')
			inner.table(v)
		default:
			panic(fmt.Sprintf("rawEncoder: unsupported field value %T", v))
		}
	}
	e.longstr(inner.b)
}

// rawDecoder reads AMQP field values from b; the first error sticks in err and every
// later read returns a zero value, so callers check err once at the end.
type rawDecoder struct {
	b   []byte
	err error
}

func (d *rawDecoder) take(n int) []byte {
	if d.err == nil && n > len(d.b) {
		d.err = fmt.Errorf("need %d bytes, have %d", n, len(d.b))
	}
	if d.err != nil {
		// Zeros, enough for the fixed-size readers; never as many as a corrupt
		// length asks for.
		return make([]byte, min(n, 8))
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *rawDecoder) octet() byte      { return d.take(1)[0] }
func (d *rawDecoder) short() uint16    { return binary.BigEndian.Uint16(d.take(2)) }
func (d *rawDecoder) long() uint32     { return binary.BigEndian.Uint32(d.take(4)) }
func (d *rawDecoder) longlong() uint64 { return binary.BigEndian.Uint64(d.take(8)) }
func (d *rawDecoder) shortstr() string { return string(d.take(int(d.octet()))) }
func (d *rawDecoder) longstr() []byte  { return d.take(int(d.long())) }

// table decodes a field table into a map; nested tables are map[string]any, long
// strings are string, integers are int64, booleans bool.
func (d *rawDecoder) table() map[string]any {
	inner := rawDecoder{b: d.longstr()}
	if d.err != nil {
		return nil
	}
	t := map[string]any{}
	for len(inner.b) > 0 && inner.err == nil {
		name := inner.shortstr()
		t[name] = inner.fieldValue()
	}
	if inner.err != nil {
		d.err = inner.err
	}
	return t
}

// fieldValue decodes one tagged field value, as RabbitMQ encodes them.
func (d *rawDecoder) fieldValue() any {
	switch tag := d.octet(); tag {
	case 't':
		return d.octet() != 0
	case 'b':
		return int64(int8(d.octet()))
	case 'B':
		return int64(d.octet())
	case 's':
		return int64(int16(d.short()))
	case 'u':
		return int64(d.short())
	case 'I':
		return int64(int32(d.long()))
	case 'i':
		return int64(d.long())
	case 'l':
		return int64(d.longlong())
	case 'T':
		return int64(d.longlong())
	case 'f':
		d.take(4)
		return nil
	case 'd':
		d.take(8)
		return nil
	case 'D':
		d.take(5)
		return nil
	case 'S', 'x':
		return string(d.longstr())
	case 'F':
		return d.table()
	case 'A':
		inner := rawDecoder{b: d.longstr()}
		var a []any
		for len(inner.b) > 0 && inner.err == nil {
			a = append(a, inner.fieldValue())
		}
		if inner.err != nil && d.err == nil {
			d.err = inner.err
		}
		return a
	case 'V':
		return nil
	default:
		if d.err == nil {
			d.err = fmt.Errorf("unknown field type %q", tag)
		}
		return nil
	}
}
