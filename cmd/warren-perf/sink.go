package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
)

// The sink is a minimal AMQP 0-9-1 server that measures warren-perf itself: it
// does the handshake, answers the setup methods, confirms every publish at once
// and either relays each publish straight to a consumer of the queue named by its
// routing key (the default) or, with --generate, discards publishes and sends
// each consumer deliveries as fast as the socket takes them. It keeps no queue:
// a relayed publish with no consumer is dropped.

type sinkOptions struct {
	listen   string
	generate bool
	size     int
	duration time.Duration
	interval time.Duration
}

func sinkMain(args []string, stdout, stderr io.Writer) error {
	o := sinkOptions{listen: "127.0.0.1:5680", size: 16, interval: time.Second}
	fs := flag.NewFlagSet("warren-perf sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", o.listen, "loopback `address` to listen on")
	fs.BoolVar(&o.generate, "generate", o.generate, "send consumers deliveries as fast as possible and discard publishes (default: relay publishes to consumers)")
	fs.IntVar(&o.size, "size", o.size, "body `octets` of generated deliveries")
	fs.DurationVar(&o.duration, "time", o.duration, "stop after this long (0: at SIGINT or SIGTERM)")
	fs.DurationVar(&o.interval, "interval", o.interval, "how often to print rates (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return err
	}
	if !isLoopback(host) {
		return fmt.Errorf("--listen %s: loopback addresses only", o.listen)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if o.duration > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeout(ctx, o.duration)
		defer c2()
	}
	s := newSink(o)
	fmt.Fprintf(stdout, "sink listening on %s (%s)\n", ln.Addr(), map[bool]string{true: "generate", false: "relay"}[o.generate])
	if o.interval > 0 {
		go s.report(ctx, stdout, o.interval)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	err = s.serve(ln)
	s.closeAll()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// sink is the server: its listener's connections and the consumers by queue.
type sink struct {
	o        sinkOptions
	mu       sync.Mutex
	conns    map[*sinkConn]struct{}
	byQueue  map[string][]*sinkConsumer // relay targets
	rr       atomic.Uint64
	ctagSeq  atomic.Uint64
	publish  atomic.Int64 // publishes received
	delivers atomic.Int64 // deliveries sent
}

func newSink(o sinkOptions) *sink {
	return &sink{o: o, conns: map[*sinkConn]struct{}{}, byQueue: map[string][]*sinkConsumer{}}
}

// serve accepts connections until ln is closed.
func (s *sink) serve(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		c := &sinkConn{s: s, nc: nc, fr: wire.NewFrameReader(nc),
			done: make(chan struct{}), chans: map[uint16]*sinkChannel{}}
		c.outbox.init()
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *sink) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
}

func (s *sink) report(ctx context.Context, w io.Writer, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var lp, ld int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, d := s.publish.Load(), s.delivers.Load()
		if p != lp || d != ld {
			sec := every.Seconds()
			fmt.Fprintf(w, "sink: publishes %s msg/s  deliveries %s msg/s\n", group(int64(float64(p-lp)/sec)), group(int64(float64(d-ld)/sec)))
		}
		lp, ld = p, d
	}
}

// pick returns a consumer of queue, round robin, or nil.
func (s *sink) pick(queue []byte) *sinkConsumer {
	s.mu.Lock()
	cs := s.byQueue[string(queue)]
	s.mu.Unlock()
	if len(cs) == 0 {
		return nil
	}
	return cs[s.rr.Add(1)%uint64(len(cs))]
}

func (s *sink) addConsumer(cs *sinkConsumer) {
	s.mu.Lock()
	s.byQueue[cs.queue] = append(s.byQueue[cs.queue], cs)
	s.mu.Unlock()
}

func (s *sink) removeConsumers(c *sinkConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	for q, cs := range s.byQueue {
		kept := cs[:0:0]
		for _, x := range cs {
			if x.c != c {
				kept = append(kept, x)
			}
		}
		s.byQueue[q] = kept
	}
}

// sinkConn is one client connection of the sink; like the client, one reader and
// one writer around an outbox. Deliveries another connection's reader relays to
// it are written by that reader (flushDue) unless they pass inlineMax.
type sinkConn struct {
	s        *sink
	nc       net.Conn
	fr       *wire.FrameReader
	frameMax uint32

	outbox
	done chan struct{}
	once sync.Once

	chans map[uint16]*sinkChannel // reader only
	dirty []*sinkChannel          // reader only: confirm channels with publishes to ack
	due   []*sinkConn             // reader only: connections this reader relayed to since it last flushed
	gens  []*sinkConsumer         // generate mode: this connection's consumers, under s.mu
}

type sinkChannel struct {
	id       uint16
	confirm  bool
	seq      uint64 // publishes received in confirm mode
	acked    uint64 // highest seq confirmed
	prefetch int
	// The publish being assembled.
	inPub    bool
	key      []byte
	header   []byte
	body     []byte
	bodyLeft uint64
}

// sinkConsumer is a consumer: deliveries for it are appended to c.out.
type sinkConsumer struct {
	c     *sinkConn
	ch    uint16
	queue string
	ctag  string
	noAck bool
	// Under c.mu.
	tag      uint64 // last delivery tag sent
	ackedTag uint64 // highest tag acked
	prefetch int
	credit   chan struct{} // generate mode: acks arrived
}

func (c *sinkConn) fail() {
	c.once.Do(func() {
		c.mu.Lock()
		c.failed = true
		c.cond.Broadcast()
		c.mu.Unlock()
		close(c.done)
		c.nc.Close()
		c.s.removeConsumers(c)
	})
}

func (c *sinkConn) send(frames []byte) {
	c.mu.Lock()
	if !c.failed {
		c.out = append(c.out, frames...)
	}
	c.mu.Unlock()
	c.kick()
}

func (c *sinkConn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.claimLocked() && c.flushLocked(c.nc) != nil {
			c.fail()
			return
		}
	}
}

// inlineMax is the most a reader writes to another connection's socket itself
// (flushDue); past it the relay wakes that connection's writer at once, so that
// a fast publisher's deliveries are written while its reader reads on.
const inlineMax = 64 << 10

// flushDue writes the deliveries this reader relayed since it last flushed,
// before it blocks on a read: as Warren does, the relay's own goroutine writes a
// burst to the consumer's socket, with no wake-up of a second goroutine.
func (c *sinkConn) flushDue() {
	for i, t := range c.due {
		c.due[i] = nil
		t.mu.Lock()
		if t.claimLocked() && t.flushLocked(t.nc) != nil {
			t.fail()
		}
	}
	c.due = c.due[:0]
}

func (c *sinkConn) serve() {
	defer c.fail()
	if err := c.handshake(); err != nil {
		return
	}
	go c.writeLoop()
	for {
		if !c.fr.FrameBuffered() {
			c.flushConfirms()
			c.flushDue()
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		ch := c.chans[f.Channel]
		switch f.Type {
		case wire.FrameMethod:
			if !c.method(f.Channel, ch, f.Payload) {
				return
			}
		case wire.FrameHeader:
			if ch != nil && ch.inPub {
				ch.header = append(ch.header[:0], f.Payload[wire.ContentHeaderPropertiesOffset:]...)
				ch.bodyLeft = binary.BigEndian.Uint64(f.Payload[4:])
				ch.body = ch.body[:0]
				if ch.bodyLeft == 0 {
					c.published(ch)
				}
			}
		case wire.FrameBody:
			if ch != nil && ch.inPub {
				if !c.s.o.generate {
					ch.body = append(ch.body, f.Payload...)
				}
				ch.bodyLeft -= min(ch.bodyLeft, uint64(len(f.Payload)))
				if ch.bodyLeft == 0 {
					c.published(ch)
				}
			}
		}
	}
}

func (c *sinkConn) handshake() error {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	h, err := c.fr.ReadProtocolHeader()
	if err != nil {
		return err
	}
	if h != wire.ProtocolHeader {
		c.nc.Write(wire.ProtocolHeader[:])
		return errors.New("bad protocol header")
	}
	var b []byte
	b = wire.AppendMethodFrame(b, 0, &wire.ConnectionStart{VersionMajor: 0, VersionMinor: 9,
		ServerProperties: wire.Table{"product": "warren-perf sink", "capabilities": wire.Table{
			"publisher_confirms": true, "basic.nack": true, "consumer_cancel_notify": true}},
		Mechanisms: "PLAIN AMQPLAIN", Locales: "en_US"})
	if _, err := c.nc.Write(b); err != nil {
		return err
	}
	want := []string{"connection.start-ok", "connection.tune-ok", "connection.open"}
	for _, w := range want {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return err
		}
		if f.Type != wire.FrameMethod {
			return errors.New("handshake: not a method frame")
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			return err
		}
		if m.Name() != w {
			return fmt.Errorf("handshake: got %s, want %s", m.Name(), w)
		}
		switch m := m.(type) {
		case *wire.ConnectionStartOk:
			b = wire.AppendMethodFrame(b[:0], 0, &wire.ConnectionTune{ChannelMax: 2047, FrameMax: 131072})
		case *wire.ConnectionTuneOk:
			c.frameMax = m.FrameMax
			if c.frameMax == 0 || c.frameMax > 131072 {
				c.frameMax = 131072
			}
			c.fr.SetMaxFrameSize(131072)
			continue
		case *wire.ConnectionOpen:
			b = wire.AppendMethodFrame(b[:0], 0, &wire.ConnectionOpenOk{})
		}
		if _, err := c.nc.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// method handles a method frame; false ends the connection.
func (c *sinkConn) method(id uint16, ch *sinkChannel, p []byte) bool {
	if ch != nil && len(p) >= 4 && binary.BigEndian.Uint16(p) == wire.ClassBasic {
		switch binary.BigEndian.Uint16(p[2:]) {
		case 40: // basic.publish: reserved-1, exchange, routing-key, bits
			if len(p) < 7 {
				return false
			}
			ex := int(p[6])
			if len(p) < 8+ex {
				return false
			}
			kl := int(p[7+ex])
			if len(p) < 8+ex+kl {
				return false
			}
			ch.inPub = true
			ch.key = append(ch.key[:0], p[8+ex:8+ex+kl]...)
			return true
		case 80: // basic.ack from a consumer
			if len(p) >= 13 {
				c.acked(id, binary.BigEndian.Uint64(p[4:]), p[12]&1 != 0)
			}
			return true
		}
	}
	m, err := wire.DecodeMethod(p)
	if err != nil {
		return false
	}
	var reply wire.Method
	switch m := m.(type) {
	case *wire.ConnectionClose:
		c.send(wire.AppendMethodFrame(nil, 0, &wire.ConnectionCloseOk{}))
		// Let the writer send close-ok before the socket goes.
		time.AfterFunc(100*time.Millisecond, c.fail)
		return true
	case *wire.ChannelOpen:
		c.chans[id] = &sinkChannel{id: id}
		reply = &wire.ChannelOpenOk{}
	case *wire.ChannelClose:
		delete(c.chans, id)
		reply = &wire.ChannelCloseOk{}
	case *wire.ExchangeDeclare:
		reply = &wire.ExchangeDeclareOk{}
	case *wire.ExchangeDelete:
		reply = &wire.ExchangeDeleteOk{}
	case *wire.QueueDeclare:
		name := m.Queue
		if name == "" {
			name = "amq.gen-" + strconv.FormatUint(c.s.ctagSeq.Add(1), 10)
		}
		reply = &wire.QueueDeclareOk{Queue: name}
	case *wire.QueueBind:
		reply = &wire.QueueBindOk{}
	case *wire.QueueDelete:
		reply = &wire.QueueDeleteOk{}
	case *wire.QueuePurge:
		reply = &wire.QueuePurgeOk{}
	case *wire.BasicQos:
		if ch != nil {
			ch.prefetch = int(m.PrefetchCount)
		}
		reply = &wire.BasicQosOk{}
	case *wire.ConfirmSelect:
		if ch != nil {
			ch.confirm = true
		}
		if m.NoWait {
			return true
		}
		reply = &wire.ConfirmSelectOk{}
	case *wire.BasicConsume:
		if ch == nil {
			return false
		}
		tag := m.ConsumerTag
		if tag == "" {
			tag = "amq.ctag-" + strconv.FormatUint(c.s.ctagSeq.Add(1), 10)
		}
		cs := &sinkConsumer{c: c, ch: id, queue: m.Queue, ctag: tag, noAck: m.NoAck, prefetch: ch.prefetch,
			credit: make(chan struct{}, 1)}
		c.send(wire.AppendMethodFrame(nil, id, &wire.BasicConsumeOk{ConsumerTag: tag}))
		if c.s.o.generate {
			go c.generate(cs)
		} else {
			c.s.addConsumer(cs)
		}
		return true
	case *wire.BasicCancel:
		reply = &wire.BasicCancelOk{ConsumerTag: m.ConsumerTag}
	case *wire.BasicNack, *wire.BasicReject:
		return true
	default:
		c.send(wire.AppendMethodFrame(nil, 0, &wire.ConnectionClose{ReplyCode: wire.NotImplemented,
			ReplyText: "NOT_IMPLEMENTED - the sink does not do " + m.Name(), FailingClassID: m.ClassID(), FailingMethodID: m.MethodID()}))
		return true
	}
	c.send(wire.AppendMethodFrame(nil, id, reply))
	return true
}

// published handles a whole publish: confirm it later, relay it now.
func (c *sinkConn) published(ch *sinkChannel) {
	ch.inPub = false
	c.s.publish.Add(1)
	if ch.confirm {
		if ch.seq == ch.acked {
			c.dirty = append(c.dirty, ch)
		}
		ch.seq++
	}
	if c.s.o.generate {
		return
	}
	cs := c.s.pick(ch.key)
	if cs == nil {
		return
	}
	t := cs.c
	t.mu.Lock()
	for len(t.out) >= highWater && !t.failed {
		t.cond.Wait()
	}
	if !t.failed {
		cs.tag++
		d := wire.BasicDeliver{ConsumerTag: cs.ctag, DeliveryTag: cs.tag, RoutingKey: cs.queue}
		t.out = d.AppendFrame(t.out, cs.ch)
		t.out = wire.AppendRawHeaderFrame(t.out, cs.ch, wire.ClassBasic, uint64(len(ch.body)), ch.header)
		t.out = wire.AppendBodyFrames(t.out, cs.ch, ch.body, t.frameMax)
	}
	inline := len(t.out) <= inlineMax
	t.mu.Unlock()
	if !inline {
		t.kick()
	} else if !slices.Contains(c.due, t) {
		c.due = append(c.due, t)
	}
	c.s.delivers.Add(1)
}

// flushConfirms acks, with multiple, every publish received so far.
func (c *sinkConn) flushConfirms() {
	if len(c.dirty) == 0 {
		return
	}
	var b [32]byte
	c.mu.Lock()
	for _, ch := range c.dirty {
		ack := wire.BasicAck{DeliveryTag: ch.seq, Multiple: true}
		c.out = append(c.out, ack.AppendFrame(b[:0], ch.id)...)
		ch.acked = ch.seq
	}
	c.mu.Unlock()
	c.dirty = c.dirty[:0]
	c.kick()
}

// acked records a consumer's ack for generate mode's prefetch credit.
func (c *sinkConn) acked(ch uint16, tag uint64, multiple bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_ = multiple // acks arrive in order from warren-perf: the tag is the high mark either way
	for _, cs := range c.gens {
		if cs.ch == ch {
			c.mu.Lock()
			cs.ackedTag = max(cs.ackedTag, tag)
			c.mu.Unlock()
			select {
			case cs.credit <- struct{}{}:
			default:
			}
		}
	}
}

// generate sends cs deliveries as fast as the socket takes them, within its
// prefetch credit, until the connection ends.
func (c *sinkConn) generate(cs *sinkConsumer) {
	c.s.mu.Lock()
	c.gens = append(c.gens, cs)
	c.s.mu.Unlock()
	body := make([]byte, c.s.o.size)
	header := wire.AppendRawHeaderFrame(nil, cs.ch, wire.ClassBasic, uint64(len(body)), []byte{0x10, 0, 1})
	batch := batchFor(len(body))
	for {
		c.mu.Lock()
		for len(c.out) >= highWater && !c.failed {
			c.cond.Wait()
		}
		if c.failed {
			c.mu.Unlock()
			return
		}
		n := batch
		if !cs.noAck && cs.prefetch > 0 {
			n = min(n, int64(cs.prefetch)-int64(cs.tag-cs.ackedTag))
		}
		for range n {
			cs.tag++
			d := wire.BasicDeliver{ConsumerTag: cs.ctag, DeliveryTag: cs.tag, RoutingKey: cs.queue}
			c.out = d.AppendFrame(c.out, cs.ch)
			c.out = append(c.out, header...)
			c.out = wire.AppendBodyFrames(c.out, cs.ch, body, c.frameMax)
		}
		c.mu.Unlock()
		c.kick()
		if n > 0 {
			c.s.delivers.Add(n)
			continue
		}
		select {
		case <-cs.credit:
		case <-c.done:
			return
		}
	}
}
