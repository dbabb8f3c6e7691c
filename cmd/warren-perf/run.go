package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
)

// runner is one run: its connections, producers and consumers.
type runner struct {
	o   Options
	uri brokerURI
	out io.Writer

	conns []*conn
	chans []int // next channel number per connection
	prods []*producer
	cons  []*consumer

	errMu  sync.Mutex
	errs   []string
	failed chan struct{}

	drainTarget int64 // messages in the queues at the start (--drain)

	stopped atomic.Bool // the load is over: producers stop, consumers stop counting
	nonce   uint64      // marks the bodies this run sends
}

// execute runs o against the broker and returns its summary. A run that saw
// errors returns both the summary and an error.
func execute(o Options, out io.Writer) (*Summary, error) {
	uri, err := parseURI(o.URI)
	if err != nil {
		return nil, err
	}
	r := &runner{o: o, uri: uri, out: out, failed: make(chan struct{}), nonce: rand.Uint64() | 1}
	setup, err := dial(dialOptions{uri: uri, channels: 1, readBuffer: 16 << 10})
	if err != nil {
		return nil, err
	}
	defer setup.close(2 * time.Second)
	sch := setup.newChannel(1)
	if err := setup.open(sch); err != nil {
		return nil, fmt.Errorf("setup channel: %w", err)
	}
	if o.DeleteOnly {
		return nil, r.deleteTopology(sch)
	}
	if err := r.declareTopology(sch); err != nil {
		return nil, err
	}
	if err := r.connect(); err != nil {
		r.closeAll()
		return nil, err
	}
	s := r.load()
	if o.Cleanup {
		if err := r.deleteTopology(sch); err != nil {
			r.fail(fmt.Errorf("cleanup: %w", err))
		}
	}
	s.Errors = r.errors()
	if len(s.Errors) > 0 {
		return s, errors.New(s.Errors[0])
	}
	return s, nil
}

// fail records an error of the run; the first one stops the load.
func (r *runner) fail(err error) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if len(r.errs) == 0 {
		close(r.failed)
	}
	if len(r.errs) < 20 {
		r.errs = append(r.errs, err.Error())
	}
}

func (r *runner) errors() []string {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return append([]string(nil), r.errs...)
}

// declareTopology declares the exchange, the queues and their bindings, and
// counts the messages already in the queues.
func (r *runner) declareTopology(ch *channel) error {
	o := &r.o
	if o.Exchange != "" {
		if m, err := ch.call(&wire.ExchangeDeclare{Exchange: o.Exchange, Type: o.ExchangeType, Durable: o.Durable}); err != nil {
			return err
		} else if _, ok := m.(*wire.ExchangeDeclareOk); !ok {
			return fmt.Errorf("exchange.declare %s: %w", o.Exchange, unexpected(m, "exchange.declare-ok"))
		}
	}
	for i := range o.Queues {
		name := o.queueName(i)
		m, err := ch.call(&wire.QueueDeclare{Queue: name, Durable: o.Durable})
		if err != nil {
			return err
		}
		ok, isOk := m.(*wire.QueueDeclareOk)
		if !isOk {
			return fmt.Errorf("queue.declare %s: %w", name, unexpected(m, "queue.declare-ok"))
		}
		r.drainTarget += int64(ok.MessageCount)
		if o.Exchange != "" {
			m, err := ch.call(&wire.QueueBind{Queue: name, Exchange: o.Exchange, RoutingKey: o.routingKey(i)})
			if err != nil {
				return err
			}
			if _, ok := m.(*wire.QueueBindOk); !ok {
				return fmt.Errorf("queue.bind %s: %w", name, unexpected(m, "queue.bind-ok"))
			}
		}
	}
	return nil
}

// deleteTopology deletes the queues and the exchange.
func (r *runner) deleteTopology(ch *channel) error {
	o := &r.o
	for i := range o.Queues {
		m, err := ch.call(&wire.QueueDelete{Queue: o.queueName(i)})
		if err != nil {
			return err
		}
		if _, ok := m.(*wire.QueueDeleteOk); !ok {
			return fmt.Errorf("queue.delete %s: %w", o.queueName(i), unexpected(m, "queue.delete-ok"))
		}
	}
	if o.Exchange != "" {
		m, err := ch.call(&wire.ExchangeDelete{Exchange: o.Exchange})
		if err != nil {
			return err
		}
		if _, ok := m.(*wire.ExchangeDeleteOk); !ok {
			return fmt.Errorf("exchange.delete %s: %w", o.Exchange, unexpected(m, "exchange.delete-ok"))
		}
	}
	return nil
}

// copiesPerMessage is how many queues one published message reaches.
func (o *Options) copiesPerMessage() int64 {
	if o.Exchange != "" && (o.ExchangeType == "fanout" || o.RoutingKey != "") {
		return int64(o.Queues)
	}
	return 1
}

// role is a producer (index < producers) or a consumer placed on a connection.
type role struct {
	conn     int
	producer bool
	index    int
}

// roles places producers and consumers on connections.
func (o *Options) roles() (nconns int, rs []role) {
	if o.Connections == 0 {
		nconns = o.Producers + o.Consumers
		for i := range o.Producers {
			rs = append(rs, role{conn: i, producer: true, index: i})
		}
		for i := range o.Consumers {
			rs = append(rs, role{conn: o.Producers + i, index: i})
		}
		return nconns, rs
	}
	for i := range o.Producers {
		rs = append(rs, role{conn: i % o.Connections, producer: true, index: i})
	}
	for i := range o.Consumers {
		rs = append(rs, role{conn: i % o.Connections, index: i})
	}
	return o.Connections, rs
}

// connect dials every connection and sets up its producers and consumers, a
// few dozen connections at a time.
func (r *runner) connect() error {
	o := &r.o
	nconns, rs := o.roles()
	byConn := make([][]role, nconns)
	for _, rl := range rs {
		byConn[rl.conn] = append(byConn[rl.conn], rl)
	}
	r.conns = make([]*conn, nconns)
	r.prods = make([]*producer, o.Producers)
	r.cons = make([]*consumer, o.Consumers)
	readBuf := 64 << 10
	if nconns > 64 {
		readBuf = 8 << 10
	}
	var wg sync.WaitGroup
	// A few handshakes at a time: RabbitMQ on two cores takes seconds for each
	// of dozens of simultaneous ones.
	sem := make(chan struct{}, 8)
	errc := make(chan error, nconns)
	for i := range nconns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.connectOne(i, byConn[i], readBuf); err != nil {
				errc <- fmt.Errorf("connection %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func (r *runner) connectOne(i int, rs []role, readBuf int) error {
	o := &r.o
	c, err := dial(dialOptions{uri: r.uri, channels: len(rs), heartbeat: o.Heartbeat, readBuffer: readBuf,
		onError: func(err error) { r.fail(fmt.Errorf("connection %d: %w", i, err)) }})
	if err != nil {
		return err
	}
	r.conns[i] = c
	for k, rl := range rs {
		ch := c.newChannel(uint16(k + 1))
		q := rl.index % o.Queues
		if rl.producer {
			exchange, key := o.Exchange, o.routingKey(q)
			if o.Exchange == "" {
				key = o.queueName(q)
			}
			p := newProducer(ch, o, exchange, key, r.nonce)
			if err := c.open(ch); err != nil {
				return err
			}
			if o.Confirm > 0 {
				if m, err := ch.call(&wire.ConfirmSelect{}); err != nil {
					return err
				} else if _, ok := m.(*wire.ConfirmSelectOk); !ok {
					return unexpected(m, "confirm.select-ok")
				}
			}
			r.prods[rl.index] = p
			continue
		}
		c.hasConsumers = c.hasConsumers || !o.AutoAck
		cs := &consumer{queue: q, autoAck: o.AutoAck, multiAck: o.MultiAck, limit: o.CMessages, stopped: &r.stopped, nonce: r.nonce}
		ch.cons = cs
		if err := c.open(ch); err != nil {
			return err
		}
		if o.Prefetch > 0 && !o.AutoAck {
			if m, err := ch.call(&wire.BasicQos{PrefetchCount: uint16(o.Prefetch)}); err != nil {
				return err
			} else if _, ok := m.(*wire.BasicQosOk); !ok {
				return unexpected(m, "basic.qos-ok")
			}
		}
		m, err := ch.call(&wire.BasicConsume{Queue: o.queueName(q), NoAck: o.AutoAck})
		if err != nil {
			return err
		}
		if _, ok := m.(*wire.BasicConsumeOk); !ok {
			return fmt.Errorf("basic.consume %s: %w", o.queueName(q), unexpected(m, "basic.consume-ok"))
		}
		r.cons[rl.index] = cs
	}
	return nil
}

// closeAll closes every connection, in parallel.
func (r *runner) closeAll() {
	var wg sync.WaitGroup
	for _, c := range r.conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.close(2 * time.Second)
		}()
	}
	wg.Wait()
}

// totals sums the counters of every producer and consumer.
func (r *runner) totals() (published, confirmed, received int64) {
	for _, p := range r.prods {
		published += p.published.Load()
		confirmed += p.confirmed.Load() + p.nacked.Load()
	}
	for _, cs := range r.cons {
		received += cs.count.Load()
	}
	return
}

// load runs the producers until the run's end condition and returns the summary.
func (r *runner) load() *Summary {
	o := &r.o
	stop := make(chan struct{})
	var prodWG sync.WaitGroup
	var prodsLeft atomic.Int64
	prodsLeft.Store(int64(len(r.prods)))
	wall := time.Now()
	start := sinceEpoch()
	for i, p := range r.prods {
		var phase time.Duration
		if o.Rate > 0 {
			phase = time.Duration(float64(i) / float64(len(r.prods)) / o.Rate * 1e9)
		}
		prodWG.Add(1)
		go func() {
			defer prodWG.Done()
			defer prodsLeft.Add(-1)
			p.run(stop, &r.stopped, o.Grace, phase)
		}()
	}
	s := &Summary{
		Broker: r.uri.Addr, Start: wall, Producers: o.Producers, Consumers: o.Consumers,
		Connections: len(r.conns), Size: o.Size,
	}
	if o.Drain {
		s.Backlog = r.drainTarget
	}

	var reportStop chan struct{}
	var reportDone sync.WaitGroup
	if o.Interval > 0 {
		reportStop = make(chan struct{})
		reportDone.Add(1)
		go func() {
			defer reportDone.Done()
			r.report(s, start, reportStop)
		}()
	}

	// Wait for the end: time, counts, or a failure.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var prodsDoneAt time.Time
	lastReceived, lastChange := int64(-1), time.Now()
wait:
	for {
		select {
		case <-r.failed:
			break wait
		case <-tick.C:
		}
		now := time.Now()
		if o.Duration > 0 && now.Sub(wall) >= o.Duration {
			break wait
		}
		published, _, received := r.totals()
		if received != lastReceived {
			lastReceived, lastChange = received, now
		}
		consDone := len(r.cons) > 0
		for _, cs := range r.cons {
			consDone = consDone && (cs.done() || cs.cancelled.Load())
		}
		idle := now.Sub(lastChange) >= o.Grace && o.Grace > 0
		switch {
		case len(r.prods) == 0 && idle:
			// Consumers alone (--drain, --cmessages) that get nothing for a grace
			// period: the broker has no more for them.
			r.fail(fmt.Errorf("consumers received nothing for %v: stopping with %d received", o.Grace, received))
			break wait
		case o.Drain && received >= r.drainTarget:
			break wait
		case consDone: // every consumer reached --cmessages (or was cancelled)
			break wait
		case len(r.prods) > 0 && prodsLeft.Load() == 0:
			if prodsDoneAt.IsZero() {
				prodsDoneAt = now
			}
			if len(r.cons) == 0 || consDone || o.CMessages == 0 && received >= published*o.copiesPerMessage() {
				break wait
			}
			// Deliveries still missing: wait a grace period, less if they stop coming.
			if now.Sub(prodsDoneAt) >= o.Grace || now.Sub(lastChange) >= min(o.Grace, 2*time.Second) {
				break wait
			}
		}
	}
	end := sinceEpoch()
	r.stopped.Store(true)
	close(stop)
	prodWG.Wait()
	if reportStop != nil {
		close(reportStop)
		reportDone.Wait()
	}
	// The readers must end before their histograms are read.
	r.closeAll()
	r.summarize(s, start, end)
	return s
}

// report prints the rates of every interval until stop is closed.
func (r *runner) report(s *Summary, start int64, stop <-chan struct{}) {
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	var lp, lc, lr int64
	last := start
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := sinceEpoch()
		p, c, rc := r.totals()
		dt := float64(now-last) / 1e9
		iv := Interval{
			Seconds:     float64(now-start) / 1e9,
			PublishRate: float64(p-lp) / dt, ConfirmRate: float64(c-lc) / dt, ReceiveRate: float64(rc-lr) / dt,
		}
		s.Intervals = append(s.Intervals, iv)
		line := fmt.Sprintf("%6.1fs  sent %s msg/s", iv.Seconds, group(int64(iv.PublishRate)))
		if r.o.Confirm > 0 {
			line += fmt.Sprintf("  confirmed %s msg/s", group(int64(iv.ConfirmRate)))
		}
		line += fmt.Sprintf("  received %s msg/s", group(int64(iv.ReceiveRate)))
		fmt.Fprintln(r.out, line)
		lp, lc, lr, last = p, c, rc, now
	}
}

// summarize fills s from the counters and histograms once the readers have ended.
func (r *runner) summarize(s *Summary, start, end int64) {
	s.ElapsedSeconds = float64(end-start) / 1e9
	var conf, recv Histogram
	pubEnd, ackEnd, recvEnd, recvStart := start, start, start, start
	for _, p := range r.prods {
		s.Published += p.published.Load()
		s.Confirmed += p.confirmed.Load()
		s.Nacked += p.nacked.Load()
		conf.Merge(&p.hist)
		pubEnd = max(pubEnd, min(p.stoppedAt, end))
		ackEnd = max(ackEnd, p.lastAck)
	}
	for _, cs := range r.cons {
		s.Received += cs.count.Load()
		recv.Merge(&cs.hist)
		recvEnd = max(recvEnd, cs.lastAt)
		if cs.firstAt > 0 {
			recvStart = min(recvStart, cs.firstAt)
		}
	}
	for _, c := range r.conns {
		s.Blocked += c.blocked.Load()
	}
	s.PublishSeconds = float64(pubEnd-start) / 1e9
	s.PublishRate = rate(s.Published, s.PublishSeconds)
	s.ConfirmSeconds = float64(ackEnd-start) / 1e9
	s.ConfirmRate = rate(s.Confirmed+s.Nacked, s.ConfirmSeconds)
	s.ReceiveSeconds = float64(recvEnd-recvStart) / 1e9
	s.ReceiveRate = rate(s.Received, s.ReceiveSeconds)
	if recv.Count() > 0 {
		s.Latency = latencyOf(&recv)
	}
	if conf.Count() > 0 {
		s.ConfirmLatency = latencyOf(&conf)
	}
}

func rate(n int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}
