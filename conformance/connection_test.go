package conformance

// Connection-level behaviour: the protocol header, connection.start / tune / open,
// authentication, heartbeats and the close handshake.

import (
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// connHandshakeDelay bounds how long RabbitMQ takes to drop a connection that failed
// its handshake: it waits about 3s before it closes the socket, to slow down clients
// that probe credentials.
const connHandshakeDelay = 10 * time.Second

// TestConnectionProtocolHeaderMismatch pins that a client whose protocol header is
// not AMQP 0-9-1 gets the 0-9-1 header "AMQP\x00\x00\x09\x01" back, and then the
// broker closes the socket without sending anything else.
func TestConnectionProtocolHeaderMismatch(t *testing.T) {
	t.Parallel()
	for _, header := range []string{
		"AMQP\x00\x00\x09\x00", // 0-9-0
		"AMQP\x00\x00\x08\x00", // 0-8 with a 0-9-1 style header
		"AMQP\x00\x00\x09\x02", // a revision that does not exist
		"AMQP\x00\x01\x00\x00", // AMQP 1.0
		"AMQP\x03\x01\x00\x00", // AMQP 1.0 SASL layer
		"HTTP/1.1",
	} {
		t.Run(strings.NewReplacer("\x00", "0", "\x01", "1", "\x02", "2", "\x03", "3", "\x08", "8", "\x09", "9").Replace(header), func(t *testing.T) {
			t.Parallel()
			c := rawDial(t)
			c.write([]byte(header))
			if err := c.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c.r)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("socket still open after %v; received %q", wait, got)
			}
			if string(got) != rawProtocolHeader {
				t.Fatalf("want %q then close, got %q (%v)", rawProtocolHeader, got, err)
			}
		})
	}
}

// TestConnectionProtocolHeaderLegacy091 pins that RabbitMQ also accepts the
// pre-standard header "AMQP\x01\x01\x00\x09" that early 0-9-1 clients sent, and
// answers it with connection.start for version 0-9.
func TestConnectionProtocolHeaderLegacy091(t *testing.T) {
	t.Parallel()
	c := rawDial(t)
	c.write([]byte("AMQP\x01\x01\x00\x09"))
	s := c.expectStart()
	if s.VersionMajor != 0 || s.VersionMinor != 9 {
		t.Fatalf("want version 0-9, got %d-%d", s.VersionMajor, s.VersionMinor)
	}
}

// TestConnectionStart pins connection.start: version 0-9, mechanisms PLAIN and
// AMQPLAIN, locale en_US, and server-properties with product, version, platform and a
// capabilities table that advertises RabbitMQ's extensions.
func TestConnectionStart(t *testing.T) {
	t.Parallel()
	c := rawDial(t)
	c.sendHeader()
	s := c.expectStart()
	if s.VersionMajor != 0 || s.VersionMinor != 9 {
		t.Errorf("want version 0-9, got %d-%d", s.VersionMajor, s.VersionMinor)
	}
	mechanisms := strings.Fields(s.Mechanisms)
	for _, m := range []string{"PLAIN", "AMQPLAIN"} {
		if !slices.Contains(mechanisms, m) {
			t.Errorf("mechanisms %q lack %s", s.Mechanisms, m)
		}
	}
	if !slices.Contains(strings.Fields(s.Locales), "en_US") {
		t.Errorf("locales %q lack en_US", s.Locales)
	}
	for _, key := range []string{"product", "version", "platform"} {
		if v, ok := s.ServerProperties[key].(string); !ok || v == "" {
			t.Errorf("server-properties %s = %#v, want a non-empty long string", key, s.ServerProperties[key])
		}
	}
	caps, ok := s.ServerProperties["capabilities"].(map[string]any)
	if !ok {
		t.Fatalf("server-properties capabilities = %#v, want a table", s.ServerProperties["capabilities"])
	}
	for _, capability := range []string{
		"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "authentication_failure_close", "per_consumer_qos",
	} {
		if caps[capability] != true {
			t.Errorf("capability %s = %#v, want true", capability, caps[capability])
		}
	}
}

// TestConnectionStartSeenByClient pins what amqp091-go reports after the handshake:
// version 0-9 and the capabilities table in Connection.Properties.
func TestConnectionStartSeenByClient(t *testing.T) {
	t.Parallel()
	c := dial(t)
	if c.Major != 0 || c.Minor != 9 {
		t.Errorf("want version 0-9, got %d-%d", c.Major, c.Minor)
	}
	caps, ok := c.Properties["capabilities"].(amqp.Table)
	if !ok {
		t.Fatalf("capabilities = %#v, want a table", c.Properties["capabilities"])
	}
	for _, capability := range []string{"publisher_confirms", "basic.nack", "consumer_cancel_notify"} {
		if caps[capability] != true {
			t.Errorf("capability %s = %#v, want true", capability, caps[capability])
		}
	}
}

// connExpectWorks declares a queue on conn, publishes to it and gets the message back,
// proving the connection is usable.
func connExpectWorks(t *testing.T, conn *amqp.Connection) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	defer ch.Close()
	q := uniqueName(t)
	if _, err := ch.QueueDeclare(q, false, false, true, false, nil); err != nil {
		t.Fatalf("queue.declare: %v", err)
	}
	if err := ch.Publish("", q, false, false, amqp.Publishing{Body: []byte("alive")}); err != nil {
		t.Fatalf("basic.publish: %v", err)
	}
	var m amqp.Delivery
	eventually(t, "basic.get to return the message", func() bool {
		var ok bool
		m, ok, err = ch.Get(q, true)
		if err != nil {
			t.Fatalf("basic.get: %v", err)
		}
		return ok
	})
	if string(m.Body) != "alive" {
		t.Fatalf("got body %q, want %q", m.Body, "alive")
	}
}

// TestConnectionLoginPlain pins that the PLAIN mechanism logs in (amqp091-go's
// default).
func TestConnectionLoginPlain(t *testing.T) {
	t.Parallel()
	user, password, _ := rawCredentials(t)
	c, err := amqp.DialConfig(brokerURL, amqp.Config{SASL: []amqp.Authentication{&amqp.PlainAuth{Username: user, Password: password}}})
	if err != nil {
		t.Fatalf("dial with PLAIN: %v", err)
	}
	defer c.Close()
	connExpectWorks(t, c)
}

// TestConnectionLoginAMQPlain pins that the AMQPLAIN mechanism (credentials as a
// field table) logs in, through amqp091-go and through raw frames.
func TestConnectionLoginAMQPlain(t *testing.T) {
	t.Parallel()
	user, password, _ := rawCredentials(t)
	c, err := amqp.DialConfig(brokerURL, amqp.Config{SASL: []amqp.Authentication{&amqp.AMQPlainAuth{Username: user, Password: password}}})
	if err != nil {
		t.Fatalf("dial with AMQPLAIN: %v", err)
	}
	defer c.Close()
	connExpectWorks(t, c)

	raw, _ := rawOpen(t, rawOptions{Mechanism: "AMQPLAIN", Response: connAMQPlainResponse(user, password)})
	raw.close()
}

// connAMQPlainResponse encodes an AMQPLAIN response: a field table without its
// length prefix holding LOGIN and PASSWORD.
func connAMQPlainResponse(user, password string) []byte {
	var e rawEncoder
	e.shortstr("LOGIN")
	e.octet('S')
	e.longstr([]byte(user))
	e.shortstr("PASSWORD")
	e.octet('S')
	e.longstr([]byte(password))
	return e.b
}

// TestConnectionTune pins the broker's connection.tune: channel-max 2047, frame-max
// 131072, heartbeat 60.
func TestConnectionTune(t *testing.T) {
	t.Parallel()
	c := rawDial(t)
	c.sendHeader()
	c.expectStart()
	c.sendStartOk(rawOptions{})
	got := c.expectTune()
	if want := (rawTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60}); got != want {
		t.Fatalf("connection.tune = %+v, want %+v", got, want)
	}
}

// TestConnectionHeartbeatNegotiation pins the heartbeat in force after amqp091-go
// negotiates against the broker's proposal of 60s: amqp091-go takes the smaller of
// the two non-zero values and the server's when it asks 0 (heartbeat=0 in the URL), so
// asking 0 gives 60s, 10s gives 10s, 120s gives 60s, and the default is 10s.
func TestConnectionHeartbeatNegotiation(t *testing.T) {
	t.Parallel()
	sep := "?"
	if strings.Contains(brokerURL, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		name string
		url  string
		ask  time.Duration
		want time.Duration
	}{
		{"default", brokerURL, 0, 10 * time.Second},
		{"zero", brokerURL + sep + "heartbeat=0", 0, 60 * time.Second},
		{"10s", brokerURL, 10 * time.Second, 10 * time.Second},
		{"120s", brokerURL, 120 * time.Second, 60 * time.Second},
	} {
		c, err := amqp.DialConfig(tc.url, amqp.Config{Heartbeat: tc.ask})
		if err != nil {
			t.Fatalf("%s: dial: %v", tc.name, err)
		}
		got := c.Config.Heartbeat
		c.Close()
		if got != tc.want {
			t.Errorf("%s: heartbeat in force %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestConnectionTuneOkHeartbeat pins that the broker accepts whatever heartbeat the
// client puts in tune-ok, including 0 (disabled) and values above its own proposal.
func TestConnectionTuneOkHeartbeat(t *testing.T) {
	t.Parallel()
	for _, hb := range []uint16{0, 10, 120, 65535} {
		c, _ := rawOpen(t, rawOptions{Tune: func(tu rawTune) rawTune { tu.Heartbeat = hb; return tu }})
		c.openChannel(1)
		c.close()
	}
}

// TestConnectionTuneOkOutOfRange pins that a tune-ok outside the broker's limits
// (frame-max below the 4096 minimum or above the proposed 131072, frame-max or
// channel-max 0 meaning "no limit", channel-max above 2047) makes the broker close the
// socket without a connection.close; RabbitMQ does so after a delay of about 3s.
func TestConnectionTuneOkOutOfRange(t *testing.T) {
	t.Parallel()
	// All connections are provoked first and checked afterwards, so the broker's
	// close delays overlap.
	var conns []*rawConn
	for _, tu := range []rawTune{
		{ChannelMax: 2047, FrameMax: 4095},
		{ChannelMax: 2047, FrameMax: 1024},
		{ChannelMax: 2047, FrameMax: 0},
		{ChannelMax: 2047, FrameMax: 131073},
		{ChannelMax: 2048, FrameMax: 131072},
		{ChannelMax: 0, FrameMax: 131072},
	} {
		c := rawDial(t)
		c.sendHeader()
		c.expectStart()
		c.sendStartOk(rawOptions{})
		c.expectTune()
		c.sendTuneOk(tu)
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.expectSilentClose(connHandshakeDelay)
	}
}

// TestConnectionFrameMaxMinimum pins that frame-max 4096 is accepted and honoured: a
// 10000-octet message published in frames of at most 4096 octets comes back from
// basic.get split into body frames that fit 4096 octets.
func TestConnectionFrameMaxMinimum(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{Tune: func(tu rawTune) rawTune { tu.FrameMax = 4096; return tu }})
	c.openChannel(1)
	q := uniqueName(t)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(q, false, false, true, false, nil))
	c.expectMethod(1, rawQueue, rawQueueDeclareOk)
	body := make([]byte, 10000)
	for i := range body {
		body[i] = byte(i)
	}
	c.publish(1, "", q, body, 4096)
	// basic.get may race the publish through the queue; poll until the message is there.
	for deadline := time.Now().Add(wait); ; {
		c.sendMethod(1, rawBasic, rawBasicGet, rawBasicGetArgs(q))
		m := c.nextMethod()
		if m.is(rawBasic, rawBasicGetOk) {
			break
		}
		if !m.is(rawBasic, rawBasicGetEmpty) || time.Now().After(deadline) {
			t.Fatalf("want basic.get-ok, got %v", m)
		}
	}
	got, frames := c.readContent(1) // readFrame fails on any frame above 4096 octets
	if string(got) != string(body) {
		t.Fatalf("body differs: got %d octets", len(got))
	}
	if frames != 3 {
		t.Errorf("10000 octets came in %d body frames, want 3 (4088 payload octets each)", frames)
	}
	c.close()
}

// TestConnectionOpenVhost pins that connection.open of "/" is answered with open-ok
// whose reserved known-hosts field is an empty short string.
func TestConnectionOpenVhost(t *testing.T) {
	t.Parallel()
	c := rawDial(t)
	c.sendHeader()
	c.expectStart()
	c.sendStartOk(rawOptions{})
	tu := c.expectTune()
	tu.Heartbeat = 0
	c.sendTuneOk(tu)
	c.sendOpen("/")
	m := c.expectMethod(0, rawConnection, rawConnectionOpenOk)
	if string(m.Args) != "\x00" {
		t.Errorf("open-ok arguments % x, want 00", m.Args)
	}
	c.close()
}

// TestConnectionOpenUnknownVhost pins that connection.open of a vhost that does not
// exist is refused with connection.close 530 "NOT_ALLOWED - vhost <name> not found",
// naming connection.open (10, 40).
func TestConnectionOpenUnknownVhost(t *testing.T) {
	t.Parallel()
	vhost := uniqueName(t)
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + vhost
	_, err = amqp.Dial(u.String())
	expectAMQPError(t, err, amqp.NotAllowed, "NOT_ALLOWED - vhost "+vhost+" not found")

	c := rawDial(t)
	c.sendHeader()
	c.expectStart()
	c.sendStartOk(rawOptions{})
	tu := c.expectTune()
	tu.Heartbeat = 0
	c.sendTuneOk(tu)
	c.sendOpen(vhost)
	cl := c.expectConnectionClose(530, "NOT_ALLOWED - vhost "+vhost+" not found")
	if cl.ClassID != rawConnection || cl.MethodID != rawConnectionOpen {
		t.Errorf("close names method %d.%d, want 10.40", cl.ClassID, cl.MethodID)
	}
}

// connBadLogins are credentials the broker must refuse.
var connBadLogins = []struct {
	name, user, password string
}{
	{"wrong password", "guest", "not-the-password"},
	{"unknown user", "conformance-no-such-user", "x"},
}

// TestConnectionBadCredentials pins how a failed login ends. amqp091-go does not
// advertise authentication_failure_close, so the broker closes the socket without a
// word and amqp091-go reports its own ErrCredentials (403 "username or password not
// allowed"). A client that advertises the capability gets connection.close 403
// "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For
// details see the broker logfile." (AMQPLAIN named likewise when used), and one that
// does not is disconnected without a frame.
func TestConnectionBadCredentials(t *testing.T) {
	t.Parallel()
	// amqp091-go's dials each wait out the broker's close delay: run them alongside
	// the raw checks. The goroutines end when Dial returns; wg.Wait waits for them.
	dialErrs := make([]error, len(connBadLogins))
	var wg sync.WaitGroup
	for i, login := range connBadLogins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := amqp.Dial("amqp://" + login.user + ":" + login.password + "@" + brokerAddr + "/")
			if err == nil {
				c.Close()
			}
			dialErrs[i] = err
		}()
	}
	defer wg.Wait()

	var silent []*rawConn
	for _, login := range connBadLogins {
		c := rawDial(t)
		c.sendHeader()
		c.expectStart()
		c.sendStartOk(rawOptions{User: login.user, Password: login.password})
		cl := c.expectConnectionClose(403, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.")
		if cl.ClassID != 0 || cl.MethodID != 0 {
			t.Errorf("%s: close names method %d.%d, want 0.0", login.name, cl.ClassID, cl.MethodID)
		}

		c = rawDial(t)
		c.sendHeader()
		c.expectStart()
		c.sendStartOk(rawOptions{Mechanism: "AMQPLAIN", Response: connAMQPlainResponse(login.user, login.password)})
		c.expectConnectionClose(403, "ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN. For details see the broker logfile.")

		c = rawDial(t)
		c.sendHeader()
		c.expectStart()
		var e rawEncoder
		e.table(rawTable{{"product", rawLongstr("warren-conformance-raw")}})
		e.shortstr("PLAIN")
		e.longstr([]byte("\x00" + login.user + "\x00" + login.password))
		e.shortstr("en_US")
		c.sendMethod(0, rawConnection, rawConnectionStartOk, e.b)
		silent = append(silent, c)
	}
	for _, c := range silent {
		c.expectSilentClose(connHandshakeDelay)
	}

	wg.Wait()
	for i, err := range dialErrs {
		expectAMQPError(t, err, amqp.AccessRefused, "username or password not allowed")
		if !errors.Is(err, amqp.ErrCredentials) {
			t.Fatalf("%s: want amqp.ErrCredentials (no connection.close from the broker), got %#v", connBadLogins[i].name, err)
		}
	}
}

// TestConnectionBadSASL pins that an unknown mechanism or a PLAIN response that is not
// "\0user\0password" ends the connection without a frame.
func TestConnectionBadSASL(t *testing.T) {
	t.Parallel()
	var conns []*rawConn
	for _, sasl := range []struct{ mechanism, response string }{
		{"FOO", "x"},
		{"EXTERNAL", ""},
		{"PLAIN", "garbage"},
	} {
		c := rawDial(t)
		c.sendHeader()
		c.expectStart()
		c.sendStartOk(rawOptions{Mechanism: sasl.mechanism, Response: []byte(sasl.response)})
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.expectSilentClose(connHandshakeDelay)
	}
}

// TestConnectionHeartbeatTimeout pins heartbeats with a negotiated interval of 1s:
// the broker sends heartbeat frames (channel 0, empty payload) and, when the client
// stays silent, closes the socket after about two missed intervals without a
// connection.close.
func TestConnectionHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{Tune: func(tu rawTune) rawTune { tu.Heartbeat = 1; return tu }})
	start := time.Now()
	heartbeats := 0
	for {
		f, err := c.readFrameBy(start.Add(10 * time.Second))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("still connected after %v of client silence (%d heartbeats received)", time.Since(start), heartbeats)
			}
			break
		}
		if f.Type != rawFrameHeartbeat || f.Channel != 0 || len(f.Payload) != 0 {
			t.Fatalf("want only heartbeat frames, got type %d on channel %d payload % x", f.Type, f.Channel, f.Payload)
		}
		heartbeats++
	}
	if heartbeats < 2 {
		t.Errorf("broker sent %d heartbeats before closing, want at least 2", heartbeats)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("broker closed the socket after %v, before a single interval passed", d)
	}
}

// TestConnectionHeartbeatKeepsAlive pins that a client that answers the broker's
// heartbeats stays connected well past the point where a silent one is dropped.
func TestConnectionHeartbeatKeepsAlive(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{Tune: func(tu rawTune) rawTune { tu.Heartbeat = 1; return tu }})
	start := time.Now()
	for time.Since(start) < 4*time.Second {
		f, err := c.readFrame()
		if err != nil {
			t.Fatalf("connection lost after %v while answering heartbeats: %v", time.Since(start), err)
		}
		if f.Type != rawFrameHeartbeat {
			t.Fatalf("want heartbeats, got frame type %d", f.Type)
		}
		c.sendFrame(rawFrameHeartbeat, 0, nil)
	}
	c.openChannel(1)
	c.close()
}

// TestConnectionCloseFromClient pins the client-initiated close: connection.close is
// answered with close-ok (no arguments), also with channels open. amqp091-go's Close returns nil and NotifyClose is closed without an error.
func TestConnectionCloseFromClient(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	c.openChannel(2)
	c.close()

	conn, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	if _, err := conn.Channel(); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case e, ok := <-closed:
		if ok {
			t.Fatalf("NotifyClose delivered %v on a clean close", e)
		}
	case <-time.After(wait):
		t.Fatal("NotifyClose not closed")
	}
}

// TestConnectionCloseFromServer pins the server-initiated close after a hard error
// (here a second channel.open on an open channel, 504): the broker sends
// connection.close, the client answers close-ok and the broker closes the socket.
// amqp091-go reports the close through NotifyClose with the broker's code and text.
func TestConnectionCloseFromServer(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	c.sendMethod(1, rawChannel, rawChannelOpen, rawShortstrArg(""))
	c.expectConnectionClose(504, "CHANNEL_ERROR - second 'channel.open' seen")

	conn := dial(t)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	expectAMQPError(t, ch.Flow(false), amqp.NotImplemented, "NOT_IMPLEMENTED - active=false")
	select {
	case e := <-closed:
		expectAMQPError(t, e, amqp.NotImplemented, "NOT_IMPLEMENTED - active=false")
		if !e.Server {
			t.Errorf("close not attributed to the server: %#v", e)
		}
	case <-time.After(wait):
		t.Fatal("NotifyClose got nothing")
	}
	if !conn.IsClosed() {
		t.Fatal("connection still open after a hard error")
	}
}
