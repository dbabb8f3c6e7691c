package amqp

import (
	"strings"
	"sync"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/broker"
	"github.com/warren-mq/warren/queue"
)

// channel is one AMQP channel. The connection's reader goroutine runs all its
// methods; queues call into its consumers from other goroutines, so what
// deliveries touch is guarded by mu, a leaf lock: nothing that holds it calls into
// a queue (see package queue).
type channel struct {
	id   uint16
	conn *conn

	// Reader goroutine only.
	closing       bool      // channel.close sent; waiting for close-ok
	lastQueue     string    // the last queue declared, for the empty-name shortcut
	prefetchCount uint32    // for consumers created from now on (basic.qos global=false)
	pub           *pending  // publish awaiting its content, or nil
	pubScratch    pending   // what pub points to for a basic.publish
	confirm       *confirms // confirm mode, or nil
	dirty         bool      // in conn.dirty: confirms to flush before the next blocking read
	tx            bool
	txPublishes   []txPublish
	txAcks        []txAck
	routeQueues   []*queue.Queue // scratch for routing
	routeNames    []string
	routeKeys     []string
	routeCache    broker.RouteCache
	publisher     *broker.Publisher
	replyTo       *replyConsumer // the direct reply-to consumer, or nil
	scratch       []unacked

	mu              sync.Mutex
	closed          bool // released: no more deliveries
	globalPrefetch  uint32
	consumerUnacked uint32 // unacked deliveries to consumers (not gets), for globalPrefetch
	nextTag         uint64
	unacked         unackedSet
	consumers       map[string]*consumer
	// While the channel deletes a queue, the basic.cancel for its own consumers
	// of that queue waits here, to follow queue.delete-ok as in RabbitMQ.
	holdCancels bool
	heldCancels []string
}

func newChannel(c *conn, id uint16) *channel {
	ch := &channel{id: id, conn: c, consumers: map[string]*consumer{}, publisher: c.vhost.Broker().NewPublisher()}
	ch.publisher.Origin = &c.flushes
	return ch
}

func (ch *channel) vhost() *broker.Vhost { return ch.conn.vhost }

// method runs one method; the error, if any, closes the channel or (hard) the
// connection.
func (ch *channel) method(m wire.Method) *wire.Error {
	err := ch.dispatch(m)
	if err != nil && err.ClassID == 0 && err.MethodID == 0 {
		err.ClassID, err.MethodID = m.ClassID(), m.MethodID()
	}
	return err
}

func (ch *channel) dispatch(m wire.Method) *wire.Error {
	if ch.pub != nil {
		return ch.pub.awaiting()
	}
	switch m := m.(type) {
	case *wire.ChannelClose:
		ch.shutdown()
		ch.conn.removeChannel(ch.id)
		ch.conn.w.method(ch.id, &wire.ChannelCloseOk{})
		return nil
	case *wire.ChannelOpen:
		return wire.Errorf(wire.ChannelError, "second 'channel.open' seen")
	case *wire.ChannelFlow:
		if !m.Active {
			return wire.Errorf(wire.NotImplemented, "active=false")
		}
		ch.conn.w.method(ch.id, &wire.ChannelFlowOk{Active: true})
		return nil

	case *wire.ExchangeDeclare:
		return ch.reply(m.NoWait, ch.vhost().DeclareExchange(m.Exchange, m.Type, m.Passive, m.Durable, m.AutoDelete, m.Internal, m.Arguments), &wire.ExchangeDeclareOk{})
	case *wire.ExchangeDelete:
		return ch.reply(m.NoWait, ch.vhost().DeleteExchange(m.Exchange, m.IfUnused), &wire.ExchangeDeleteOk{})
	case *wire.ExchangeBind:
		return ch.reply(m.NoWait, ch.vhost().BindExchange(m.Destination, m.Source, m.RoutingKey, m.Arguments, false), &wire.ExchangeBindOk{})
	case *wire.ExchangeUnbind:
		return ch.reply(m.NoWait, ch.vhost().BindExchange(m.Destination, m.Source, m.RoutingKey, m.Arguments, true), &wire.ExchangeUnbindOk{})

	case *wire.QueueDeclare:
		return ch.queueDeclare(m)
	case *wire.QueueBind:
		name, key, err := ch.queueShortcut(m.Queue, m.RoutingKey)
		if err != nil {
			return err
		}
		return ch.reply(m.NoWait, ch.vhost().BindQueue(name, m.Exchange, key, m.Arguments, ch.conn, false), &wire.QueueBindOk{})
	case *wire.QueueUnbind:
		name, key, err := ch.queueShortcut(m.Queue, m.RoutingKey)
		if err != nil {
			return err
		}
		return ch.reply(false, ch.vhost().BindQueue(name, m.Exchange, key, m.Arguments, ch.conn, true), &wire.QueueUnbindOk{})
	case *wire.QueuePurge:
		name, _, err := ch.queueShortcut(m.Queue, "-")
		if err != nil {
			return err
		}
		n, err := ch.vhost().PurgeQueue(name, ch.conn)
		return ch.reply(m.NoWait, err, &wire.QueuePurgeOk{MessageCount: uint32(n)})
	case *wire.QueueDelete:
		name, _, err := ch.queueShortcut(m.Queue, "-")
		if err != nil {
			return err
		}
		ch.mu.Lock()
		ch.holdCancels = true
		ch.mu.Unlock()
		n, err := ch.vhost().DeleteQueue(name, m.IfUnused, m.IfEmpty, ch.conn)
		err = ch.reply(m.NoWait, err, &wire.QueueDeleteOk{MessageCount: uint32(n)})
		ch.mu.Lock()
		held := ch.heldCancels
		ch.holdCancels, ch.heldCancels = false, nil
		ch.mu.Unlock()
		for _, tag := range held {
			ch.conn.w.method(ch.id, &wire.BasicCancel{ConsumerTag: tag, NoWait: true})
		}
		return err

	case *wire.BasicQos:
		return ch.basicQos(m)
	case *wire.BasicConsume:
		return ch.basicConsume(m)
	case *wire.BasicCancel:
		return ch.basicCancel(m)
	case *wire.BasicPublish:
		return ch.basicPublish(m)
	case *wire.BasicGet:
		return ch.basicGet(m)
	case *wire.BasicAck:
		return ch.settle(m.DeliveryTag, m.Multiple, settleAck)
	case *wire.BasicNack:
		return ch.settle(m.DeliveryTag, m.Multiple, requeueOrDrop(m.Requeue))
	case *wire.BasicReject:
		return ch.settle(m.DeliveryTag, false, requeueOrDrop(m.Requeue))
	case *wire.BasicRecover:
		if !m.Requeue {
			return wire.Errorf(wire.NotImplemented, "requeue=false")
		}
		ch.recover()
		ch.conn.w.method(ch.id, &wire.BasicRecoverOk{})
		return nil
	case *wire.BasicRecoverAsync:
		if !m.Requeue {
			return wire.Errorf(wire.NotImplemented, "requeue=false")
		}
		ch.recover()
		return nil

	case *wire.ConfirmSelect:
		if ch.tx {
			return wire.Errorf(wire.PreconditionFailed, "cannot switch from tx to confirm mode")
		}
		if ch.confirm == nil {
			ch.confirm = newConfirms()
		}
		return ch.reply(m.NoWait, nil, &wire.ConfirmSelectOk{})
	case *wire.TxSelect:
		if ch.confirm != nil {
			return wire.Errorf(wire.PreconditionFailed, "cannot switch from confirm to tx mode")
		}
		ch.tx = true
		ch.conn.w.method(ch.id, &wire.TxSelectOk{})
		return nil
	case *wire.TxCommit:
		if !ch.tx {
			return wire.Errorf(wire.PreconditionFailed, "channel is not transactional")
		}
		ch.txCommit()
		return nil
	case *wire.TxRollback:
		if !ch.tx {
			return wire.Errorf(wire.PreconditionFailed, "channel is not transactional")
		}
		ch.txRollback()
		ch.conn.w.method(ch.id, &wire.TxRollbackOk{})
		return nil
	}
	if m.HasContent() {
		// A server-only method with content (basic.deliver, ...): like RabbitMQ,
		// assemble its content first, then refuse it.
		ch.pub = &pending{method: m}
		return nil
	}
	return wire.Errorf(wire.CommandInvalid, "unimplemented method")
}

// reply sends ok unless err is set or the client asked for nowait.
func (ch *channel) reply(noWait bool, err *wire.Error, ok wire.Method) *wire.Error {
	if err != nil {
		return err
	}
	if !noWait {
		ch.conn.w.method(ch.id, ok)
	}
	return nil
}

// queueShortcut applies the spec's empty-name rule: an empty queue name means the
// channel's last declared queue (and, for a bind, an empty key means its name).
func (ch *channel) queueShortcut(name, key string) (string, string, *wire.Error) {
	if name != "" {
		return name, key, nil
	}
	if ch.lastQueue == "" {
		return "", "", wire.Errorf(wire.NotFound, "no previously declared queue")
	}
	if key == "" {
		key = ch.lastQueue
	}
	return ch.lastQueue, key, nil
}

// namedQueue returns the queue a consume or get names (the empty name meaning
// the channel's last declared queue), if this connection may use it.
func (ch *channel) namedQueue(name string) (*queue.Queue, *wire.Error) {
	name, _, err := ch.queueShortcut(name, "-")
	if err != nil {
		return nil, err
	}
	return ch.vhost().Queue(name, ch.conn)
}

func (ch *channel) queueDeclare(m *wire.QueueDeclare) *wire.Error {
	if m.Queue == replyToQueue || (m.Passive && strings.HasPrefix(m.Queue, replyToPrefix) && ch.conn.srv.replyAddressLive(m.Queue)) {
		// The direct reply-to pseudo-queue, and a live reply address, declare
		// as RabbitMQ answers them.
		return ch.reply(m.NoWait, nil, &wire.QueueDeclareOk{Queue: m.Queue, ConsumerCount: 1})
	}
	name, serverNamed := m.Queue, false
	if name == "" {
		if m.Passive {
			var err *wire.Error
			if name, _, err = ch.queueShortcut("", "-"); err != nil {
				return err
			}
		} else {
			name, serverNamed = generatedName("amq.gen-"), true
		}
	}
	q, err := ch.vhost().DeclareQueue(broker.QueueDeclaration{
		Name: name, Passive: m.Passive, Durable: m.Durable, Exclusive: m.Exclusive,
		AutoDelete: m.AutoDelete, Args: m.Arguments, ServerNamed: serverNamed,
	}, ch.conn)
	if err != nil {
		return err
	}
	if q.Exclusive {
		ch.conn.exclusiveQueues[q] = struct{}{}
	}
	ch.lastQueue = q.Name
	msgs, consumers := q.Counts()
	return ch.reply(m.NoWait, nil, &wire.QueueDeclareOk{Queue: q.Name, MessageCount: uint32(msgs), ConsumerCount: uint32(consumers)})
}

func (ch *channel) basicQos(m *wire.BasicQos) *wire.Error {
	if m.PrefetchSize != 0 {
		return wire.Errorf(wire.NotImplemented, "prefetch_size!=0 (%d)", m.PrefetchSize)
	}
	if m.Global {
		ch.mu.Lock()
		ch.globalPrefetch = uint32(m.PrefetchCount)
		ch.mu.Unlock()
		ch.conn.w.method(ch.id, &wire.BasicQosOk{})
		ch.dispatchConsumers()
		return nil
	}
	ch.prefetchCount = uint32(m.PrefetchCount)
	ch.conn.w.method(ch.id, &wire.BasicQosOk{})
	return nil
}

func (ch *channel) basicConsume(m *wire.BasicConsume) *wire.Error {
	if m.Queue == replyToQueue {
		return ch.consumeReplyTo(m)
	}
	q, err := ch.namedQueue(m.Queue)
	if err != nil {
		return err
	}
	priority, perr := consumerPriority(q.Name, ch.vhost().Name, m.Arguments)
	if perr != nil {
		return perr
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = generatedName("amq.ctag-")
	}
	k := &consumer{ch: ch, tag: tag, q: q, noAck: m.NoAck, exclusive: m.Exclusive, prefetch: ch.prefetchCount}
	ch.mu.Lock()
	if _, dup := ch.consumers[tag]; dup {
		ch.mu.Unlock()
		return wire.Errorf(wire.NotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	ch.consumers[tag] = k
	ch.mu.Unlock()
	if err := q.AddConsumer(k, m.Exclusive, m.NoAck, priority); err != nil {
		ch.mu.Lock()
		delete(ch.consumers, tag)
		ch.mu.Unlock()
		return err
	}
	if !m.NoWait {
		ch.conn.w.method(ch.id, &wire.BasicConsumeOk{ConsumerTag: tag})
	}
	// Deliveries may start only now that consume-ok is on its way.
	ch.mu.Lock()
	k.active = true
	ch.mu.Unlock()
	q.Dispatch()
	return nil
}

// consumerPriority reads basic.consume's x-priority argument: any integer, as
// RabbitMQ takes it.
func consumerPriority(queueName, vhost string, args wire.Table) (int, *wire.Error) {
	v, ok := args["x-priority"]
	if !ok {
		return 0, nil
	}
	n, ok := broker.IntArg(v)
	if !ok {
		return 0, wire.Errorf(wire.PreconditionFailed, "invalid arg 'x-priority' for queue '%s' in vhost '%s': %s",
			queueName, vhost, broker.IntArgError(v))
	}
	return int(max(min(n, 1<<31-1), -1<<31)), nil
}

func (ch *channel) basicCancel(m *wire.BasicCancel) *wire.Error {
	ch.mu.Lock()
	k := ch.consumers[m.ConsumerTag]
	if k != nil {
		delete(ch.consumers, m.ConsumerTag)
		k.cancelled = true
	}
	ch.mu.Unlock()
	if k == nil {
		ch.cancelReplyTo(m.ConsumerTag)
	}
	if k != nil && k.q.RemoveConsumer(k) {
		ch.vhost().DeleteQueueIf(k.q)
	}
	if !m.NoWait {
		ch.conn.w.method(ch.id, &wire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
	}
	return nil
}

func (ch *channel) basicGet(m *wire.BasicGet) *wire.Error {
	q, err := ch.namedQueue(m.Queue)
	if err != nil {
		return err
	}
	d, remaining, ok := q.Get(m.NoAck)
	if !ok {
		ch.conn.w.method(ch.id, &wire.BasicGetEmpty{})
		return nil
	}
	frameMax := ch.conn.frameMax
	ch.mu.Lock()
	ch.nextTag++
	tag := ch.nextTag
	if !m.NoAck {
		ch.unacked.add(unacked{tag: tag, d: d})
	}
	ch.conn.w.append(func(b []byte) []byte {
		b = wire.AppendMethodFrame(b, ch.id, &wire.BasicGetOk{
			DeliveryTag:  tag,
			Redelivered:  d.Redelivered,
			Exchange:     d.Msg.Exchange,
			RoutingKey:   d.Msg.RoutingKey,
			MessageCount: uint32(remaining),
		})
		return appendContent(b, ch.id, d.Msg, frameMax)
	})
	ch.mu.Unlock()
	return nil
}

// closeWithError closes the channel from the server's side after a soft error.
func (ch *channel) closeWithError(err *wire.Error) {
	ch.shutdown()
	ch.closing = true
	ch.pub = nil
	ch.conn.w.method(ch.id, &wire.ChannelClose{ReplyCode: err.Code, ReplyText: replyText(err.Text), FailingClassID: err.ClassID, FailingMethodID: err.MethodID})
}

// shutdown releases what the channel holds: its consumers leave their queues
// (auto-deleting those that were waiting for it) and its unacked deliveries go
// back to their queues. Uncommitted transactional work is dropped.
func (ch *channel) shutdown() {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.closed = true
	if ch.confirm != nil {
		ch.confirm.stop()
	}
	consumers := make([]*consumer, 0, len(ch.consumers))
	for _, k := range ch.consumers {
		k.cancelled = true
		consumers = append(consumers, k)
	}
	clear(ch.consumers)
	pending, _ := ch.unacked.take(0, true, nil)
	ch.consumerUnacked = 0
	ch.mu.Unlock()
	ch.cancelReplyTo("")
	for _, k := range consumers {
		if k.q.RemoveConsumer(k) {
			ch.vhost().DeleteQueueIf(k.q)
		}
	}
	for _, t := range ch.txAcks {
		pending = append(pending, t.entries...)
	}
	ch.txAcks, ch.txPublishes = nil, nil
	requeue(pending)
}

// dispatchConsumers asks the queues of the channel's consumers to dispatch, after
// credit was freed.
func (ch *channel) dispatchConsumers() {
	ch.mu.Lock()
	var qs []*queue.Queue
	for _, k := range ch.consumers {
		if !containsQueue(qs, k.q) {
			qs = append(qs, k.q)
		}
	}
	ch.mu.Unlock()
	for _, q := range qs {
		q.Dispatch()
	}
}

func containsQueue(qs []*queue.Queue, q *queue.Queue) bool {
	for _, x := range qs {
		if x == q {
			return true
		}
	}
	return false
}
