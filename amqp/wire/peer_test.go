package wire

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// peer speaks AMQP over a net.Conn with this package's codec only: the test
// side of the interoperability tests (a fake server for amqp091-go, a client
// for RabbitMQ).
type peer struct {
	t        testing.TB
	conn     net.Conn
	r        *FrameReader
	out      []byte
	frameMax uint32
}

func newPeer(t testing.TB, conn net.Conn) *peer {
	return &peer{t: t, conn: conn, r: NewFrameReader(conn), frameMax: FrameMinSize}
}

func (p *peer) setFrameMax(n uint32) {
	p.frameMax = n
	p.r.SetMaxFrameSize(n)
}

func (p *peer) flush() error {
	if err := p.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	_, err := p.conn.Write(p.out)
	p.out = p.out[:0]
	return err
}

// send writes a method frame, with content frames when props is non-nil.
func (p *peer) send(channel uint16, m Method, props *Properties, body []byte) error {
	p.out = AppendMethodFrame(p.out, channel, m)
	if props != nil {
		p.out = AppendHeaderFrame(p.out, channel, m.ClassID(), uint64(len(body)), props)
		p.out = AppendBodyFrames(p.out, channel, body, p.frameMax)
	}
	return p.flush()
}

// frame reads the next frame other than a heartbeat.
func (p *peer) frame() (Frame, error) {
	if err := p.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return Frame{}, err
	}
	for {
		f, err := p.r.ReadFrame()
		if err != nil || f.Type != FrameHeartbeat {
			return f, err
		}
	}
}

// message is a method with its content, if it has any.
type message struct {
	channel uint16
	method  Method
	props   Properties
	body    []byte
}

// recv reads the next method and, for a content method, its header and body.
func (p *peer) recv() (message, error) {
	f, err := p.frame()
	if err != nil {
		return message{}, err
	}
	if f.Type != FrameMethod {
		return message{}, fmt.Errorf("frame type %d, want a method frame", f.Type)
	}
	m, err := DecodeMethod(f.Payload)
	if err != nil {
		return message{}, err
	}
	msg := message{channel: f.Channel, method: m}
	if !m.HasContent() {
		return msg, nil
	}
	if f, err = p.frame(); err != nil {
		return message{}, err
	}
	if f.Type != FrameHeader {
		return message{}, fmt.Errorf("frame type %d after %s, want a content header", f.Type, m.Name())
	}
	classID, size, props, err := DecodeContentHeader(f.Payload)
	if err != nil {
		return message{}, err
	}
	if classID != m.ClassID() {
		return message{}, fmt.Errorf("content header class %d after %s", classID, m.Name())
	}
	msg.props = props
	msg.body = []byte{}
	for uint64(len(msg.body)) < size {
		if f, err = p.frame(); err != nil {
			return message{}, err
		}
		if f.Type != FrameBody {
			return message{}, fmt.Errorf("frame type %d inside a body", f.Type)
		}
		msg.body = append(msg.body, f.Payload...)
	}
	return msg, nil
}

// expect reads the next method and fails the test unless it has m's type; it
// returns the method read.
func expect[M Method](p *peer) M {
	p.t.Helper()
	msg, err := p.recv()
	if err != nil {
		p.t.Fatalf("reading: %v", err)
	}
	m, ok := msg.method.(M)
	if !ok {
		var want M
		p.t.Fatalf("got %s %+v, want %T", msg.method.Name(), msg.method, want)
	}
	return m
}
