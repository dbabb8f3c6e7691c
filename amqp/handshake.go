package amqp

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/amqp/wire"
)

// Version is Warren's version, in server-properties.
const Version = "0.1.0"

const (
	classConnection = 10
	classChannel    = 20
	classBasic      = 60
)

// serverCapabilities are the RabbitMQ extensions Warren implements, advertised in
// connection.start's server-properties.
func serverCapabilities() wire.Table {
	return wire.Table{
		"publisher_confirms":           true,
		"exchange_exchange_bindings":   true,
		"basic.nack":                   true,
		"consumer_cancel_notify":       true,
		"authentication_failure_close": true,
		"per_consumer_qos":             true,
		"connection.blocked":           true,
		"consumer_priorities":          true,
		"direct_reply_to":              true,
	}
}

func (c *conn) serverProperties() wire.Table {
	return wire.Table{
		"product":      "Warren",
		"version":      Version,
		"platform":     "Go " + runtime.Version(),
		"copyright":    "Copyright (c) the Warren authors",
		"information":  "An AMQP 0-9-1 broker; see README.md",
		"cluster_name": "warren",
		"capabilities": serverCapabilities(),
	}
}

// handshake runs protocol header, start, tune and open. It reports false, with a
// nil error, when it ended the connection itself (wrong header, refused login).
func (c *conn) handshake() (bool, error) {
	hdr, err := c.r.ReadProtocolHeader()
	if err != nil {
		return false, err
	}
	// RabbitMQ also takes the header that some early 0-9-1 clients send.
	if hdr != wire.ProtocolHeader && hdr != [8]byte{'A', 'M', 'Q', 'P', 1, 1, 0, 9} {
		// A client that speaks another protocol or version gets ours and a close.
		c.w.append(func(b []byte) []byte { return append(b, wire.ProtocolHeader[:]...) })
		return false, nil
	}
	c.w.method(0, &wire.ConnectionStart{
		VersionMajor:     0,
		VersionMinor:     9,
		ServerProperties: c.serverProperties(),
		Mechanisms:       "PLAIN AMQPLAIN",
		Locales:          "en_US",
	})

	m, err := c.handshakeMethod()
	if err != nil {
		return false, err
	}
	startOk, ok := m.(*wire.ConnectionStartOk)
	if !ok {
		return false, c.handshakeFail(m, "connection.start-ok")
	}
	c.clientCaps, _ = startOk.ClientProperties["capabilities"].(wire.Table)
	user, pass, ok := parseCredentials(startOk.Mechanism, startOk.Response)
	if !ok {
		// An unknown mechanism or a malformed response: RabbitMQ drops the socket.
		c.log.Warn("login refused: bad SASL response", zap.String("mechanism", startOk.Mechanism))
		return false, nil
	}
	if !c.srv.authenticate(user, pass, c.nc.RemoteAddr()) {
		c.log.Warn("login refused", zap.String("user", user), zap.String("mechanism", startOk.Mechanism))
		if c.clientCaps["authentication_failure_close"] == true {
			c.fail(wire.Errorf(wire.AccessRefused, "Login was refused using authentication mechanism %s. "+
				"For details see the broker logfile.", startOk.Mechanism), 0, 0)
		}
		return false, nil
	}
	c.user = user

	cfg := c.srv.cfg
	c.w.method(0, &wire.ConnectionTune{
		ChannelMax: cfg.ChannelMax,
		FrameMax:   cfg.FrameMax,
		Heartbeat:  uint16(cfg.Heartbeat / time.Second),
	})
	m, err = c.handshakeMethod()
	if err != nil {
		return false, err
	}
	tuneOk, ok := m.(*wire.ConnectionTuneOk)
	if !ok {
		return false, c.handshakeFail(m, "connection.tune-ok")
	}
	if err := c.tune(tuneOk); err != nil {
		// RabbitMQ drops the socket without a connection.close.
		c.log.Warn("tune-ok refused", zap.Error(err))
		return false, nil
	}

	m, err = c.handshakeMethod()
	if err != nil {
		return false, err
	}
	open, ok := m.(*wire.ConnectionOpen)
	if !ok {
		return false, c.handshakeFail(m, "connection.open")
	}
	v := c.srv.broker.Vhost(open.VirtualHost)
	if v == nil {
		c.fail(wire.Errorf(wire.NotAllowed, "vhost %s not found", open.VirtualHost), classConnection, 40)
		return false, nil
	}
	c.vhost = v
	c.w.method(0, &wire.ConnectionOpenOk{})
	return true, nil
}

// tune applies the client's tune-ok as RabbitMQ does: the client's values must lie
// within the server's (0, "no limit", is out of range when the server has one).
func (c *conn) tune(t *wire.ConnectionTuneOk) error {
	cfg := c.srv.cfg
	if t.FrameMax < wire.FrameMinSize || t.FrameMax > cfg.FrameMax {
		return fmt.Errorf("frame_max=%d outside %d..%d", t.FrameMax, wire.FrameMinSize, cfg.FrameMax)
	}
	if t.ChannelMax == 0 || t.ChannelMax > cfg.ChannelMax {
		return fmt.Errorf("channel_max=%d outside 1..%d", t.ChannelMax, cfg.ChannelMax)
	}
	c.frameMax = t.FrameMax
	c.r.SetMaxFrameSize(t.FrameMax)
	c.channelMax = t.ChannelMax
	c.heartbeat = time.Duration(t.Heartbeat) * time.Second
	if c.heartbeat > 0 {
		c.w.setHeartbeat(c.heartbeat / 2)
	}
	return nil
}

// handshakeMethod reads the next frame of the handshake, which must be a method
// on channel 0 (heartbeats are skipped).
func (c *conn) handshakeMethod() (wire.Method, error) {
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch {
		case f.Type == wire.FrameHeartbeat:
			continue
		case f.Type != wire.FrameMethod || f.Channel != 0:
			c.fail(wire.Errorf(wire.CommandInvalid, "unexpected frame type %d on channel %d during handshake", f.Type, f.Channel), 0, 0)
			return nil, errHandshakeClosed
		}
		if len(f.Payload) < 4 {
			c.fail(frameError(f.Type, f.Payload, "unknown_frame"), 0, 0)
			return nil, errHandshakeClosed
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			c.fail(decodeError(f.Payload, err), 0, 0)
			return nil, errHandshakeClosed
		}
		return m, nil
	}
}

var errHandshakeClosed = fmt.Errorf("closed during handshake")

func (c *conn) handshakeFail(m wire.Method, want string) error {
	if _, ok := m.(*wire.ConnectionClose); ok {
		c.w.method(0, &wire.ConnectionCloseOk{})
		return errHandshakeClosed
	}
	c.fail(wire.Errorf(wire.CommandInvalid, "expected '%s', got '%s'", want, m.Name()), m.ClassID(), m.MethodID())
	return errHandshakeClosed
}

// parseCredentials decodes a PLAIN or AMQPLAIN start-ok response.
func parseCredentials(mechanism, response string) (user, pass string, ok bool) {
	switch mechanism {
	case "PLAIN":
		// authzid NUL authcid NUL passwd
		parts := strings.SplitN(response, "\x00", 3)
		if len(parts) != 3 {
			return "", "", false
		}
		return parts[1], parts[2], true
	case "AMQPLAIN":
		// A field table without its length prefix, holding LOGIN and PASSWORD.
		b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(response)), uint32(len(response)))
		t, _, err := wire.DecodeTable(append(b, response...))
		if err != nil {
			return "", "", false
		}
		u, uok := t["LOGIN"].(string)
		p, pok := t["PASSWORD"].(string)
		return u, p, uok && pok
	}
	return "", "", false
}

// authenticate checks a user's password and the loopback rule.
func (s *Server) authenticate(user, pass string, addr net.Addr) bool {
	want, ok := s.cfg.Users[user]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
		return false
	}
	if slices.Contains(s.cfg.LoopbackUsers, user) {
		ta, ok := addr.(*net.TCPAddr)
		if !ok || !ta.IP.IsLoopback() {
			return false
		}
	}
	return true
}
