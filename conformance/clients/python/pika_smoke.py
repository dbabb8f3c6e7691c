#!/usr/bin/python3
"""Smoke test of a broker with pika (BlockingConnection) on its default settings.

Usage: pika_smoke.py [AMQP_URL]   (default amqp://guest:guest@127.0.0.1:5672/)

Prints one line per check, "ok <name>" or "FAIL <name>: <why>", and exits 1 if any
check failed. Every wait is bounded by WAIT seconds. Uses Debian's python3-pika, so
run it with /usr/bin/python3.
"""

import datetime
import decimal
import os
import sys
import time
import traceback

import pika
import pika.exceptions

WAIT = 10.0
URL = sys.argv[1] if len(sys.argv) > 1 else "amqp://guest:guest@127.0.0.1:5672/"
PREFIX = "clients.pika.%d.%d" % (os.getpid(), int(time.time()))

failures = []


def check(name):
    """Runs the decorated function at once as the check NAME and reports its outcome."""

    def run(fn):
        try:
            fn()
            print("ok %s" % name, flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
            why = "%s: %s" % (type(e).__name__, e)
            print("FAIL %s: %s" % (name, why.replace("\n", " ")), flush=True)
            if os.environ.get("SMOKE_DEBUG"):
                traceback.print_exc()
            failures.append(name)
        return fn

    return run


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def get_one(ch, queue, auto_ack=False):
    """basic.get with a bounded retry: a publish is not necessarily routed yet."""
    deadline = time.monotonic() + WAIT
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
        if method is not None:
            return method, props, body
        if time.monotonic() > deadline:
            raise AssertionError("no message in %s within %ss" % (queue, WAIT))
        ch.connection.process_data_events(time_limit=0.05)


def consume_n(conn, ch, queue, n, settle=0.3):
    """Consumes with manual ack until n deliveries arrived (bounded by WAIT), then
    waits `settle` seconds more for any surplus. Returns the (method, props, body) list
    and the consumer tag; the caller acks and cancels."""
    got = []

    def on_message(_ch, method, props, body):
        got.append((method, props, body))

    tag = ch.basic_consume(queue, on_message, auto_ack=False)
    deadline = time.monotonic() + WAIT
    while len(got) < n and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.1)
    end = time.monotonic() + settle
    while time.monotonic() < end:
        conn.process_data_events(time_limit=0.05)
    return got, tag


state = {}


@check("connect")
def _():
    params = pika.URLParameters(URL)
    conn = pika.BlockingConnection(params)
    state["conn"] = conn
    state["ch"] = conn.channel()
    expect(conn.is_open, "connection not open")


conn = state.get("conn")
if conn is None:
    print("FAIL summary: cannot connect, %d checks failed" % len(failures))
    sys.exit(1)
ch = state["ch"]


@check("negotiated-tune")
def _():
    p = conn._impl.params
    expect(p.frame_max >= 4096, "frame_max %r" % p.frame_max)
    expect(p.channel_max >= 1, "channel_max %r" % p.channel_max)
    expect(p.heartbeat is not None and p.heartbeat > 0, "heartbeat %r" % p.heartbeat)
    props = conn._impl.server_properties or {}
    caps = props.get("capabilities", {})
    # the capabilities a client changes its behaviour on (connection.blocked only
    # matters for a broker that blocks publishers)
    for cap in ("publisher_confirms", "basic.nack", "consumer_cancel_notify",
                "exchange_exchange_bindings", "authentication_failure_close"):
        expect(caps.get(cap) is True, "server capability %s = %r" % (cap, caps.get(cap)))


DURABLE = PREFIX + ".durable"


@check("queue-declare-durable")
def _():
    r = ch.queue_declare(DURABLE, durable=True)
    expect(r.method.queue == DURABLE, "name %r" % r.method.queue)
    expect(r.method.message_count == 0, "message_count %r" % r.method.message_count)
    r = ch.queue_declare(DURABLE, passive=True)
    expect(r.method.queue == DURABLE, "passive name %r" % r.method.queue)


@check("queue-declare-server-named-exclusive")
def _():
    r = ch.queue_declare("", exclusive=True)
    name = r.method.queue
    expect(name.startswith("amq.gen-"), "server name %r" % name)
    state["exclusive"] = name


@check("exchange-direct-bind-route")
def _():
    ex = PREFIX + ".direct"
    ch.exchange_declare(ex, exchange_type="direct", auto_delete=True)
    ch.queue_bind(DURABLE, ex, routing_key="rk.direct")
    ch.basic_publish(ex, "rk.direct", b"direct")
    ch.basic_publish(ex, "no.such.key", b"lost")
    _, _, body = get_one(ch, DURABLE, auto_ack=True)
    expect(body == b"direct", "body %r" % body)
    ch.queue_unbind(DURABLE, ex, routing_key="rk.direct")
    ch.exchange_delete(ex)


@check("exchange-topic-bind-route")
def _():
    ex = PREFIX + ".topic"
    q = state["exclusive"]
    ch.exchange_declare(ex, exchange_type="topic", auto_delete=True)
    ch.queue_bind(q, ex, routing_key="stock.*.nyse")
    ch.queue_bind(q, ex, routing_key="news.#")
    for rk in ("stock.ibm.nyse", "stock.ibm.nasdaq", "news", "news.a.b", "stock.nyse"):
        ch.basic_publish(ex, rk, rk.encode())
    got = set()
    for _i in range(3):
        _, _, body = get_one(ch, q, auto_ack=True)
        got.add(body)
    expect(got == {b"stock.ibm.nyse", b"news", b"news.a.b"}, "routed %r" % got)
    m, _, _ = ch.basic_get(q, auto_ack=True)
    expect(m is None, "unexpected extra message")
    ch.exchange_delete(ex)


@check("exchange-fanout-bind-route")
def _():
    ex = PREFIX + ".fanout"
    ch.exchange_declare(ex, exchange_type="fanout", auto_delete=True)
    ch.queue_bind(DURABLE, ex)
    ch.queue_bind(state["exclusive"], ex)
    ch.basic_publish(ex, "ignored", b"fan")
    for q in (DURABLE, state["exclusive"]):
        _, _, body = get_one(ch, q, auto_ack=True)
        expect(body == b"fan", "%s body %r" % (q, body))
    ch.exchange_delete(ex)


HEADERS = {
    "str": "text é",
    "bytes": b"\x00\x01raw",
    "int_small": 7,
    "int_neg": -42,
    "int_big": 2 ** 40,
    "bool_t": True,
    "bool_f": False,
    # pika 1.2 cannot encode float ('f'/'d'): UnsupportedAMQPFieldException
    "decimal": decimal.Decimal("3.14"),
    "timestamp": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "table": {"nested": "yes", "n": 1},
    "array": [1, "two", True, {"k": "v"}, [3]],
    "void": None,
}


@check("publish-properties-headers")
def _():
    props = pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        headers=HEADERS,
        delivery_mode=2,
        priority=5,
        correlation_id="corr-1",
        reply_to="reply.q",
        expiration="60000",
        message_id="msg-1",
        timestamp=1700000000,
        type="smoke",
        user_id="guest",
        app_id="pika_smoke",
    )
    ch.basic_publish("", DURABLE, b'{"a":1}', properties=props)
    _, p, body = get_one(ch, DURABLE, auto_ack=True)
    expect(body == b'{"a":1}', "body %r" % body)
    for attr in ("content_type", "content_encoding", "delivery_mode", "priority",
                 "correlation_id", "reply_to", "expiration", "message_id", "timestamp",
                 "type", "user_id", "app_id"):
        expect(getattr(p, attr) == getattr(props, attr),
               "%s: sent %r got %r" % (attr, getattr(props, attr), getattr(p, attr)))
    h = p.headers or {}
    for k, v in HEADERS.items():
        got = h.get(k, "<missing>")
        if k == "str":
            got = got.decode() if isinstance(got, bytes) else got
        expect(got == v, "header %s: sent %r got %r" % (k, v, got))


@check("consume-manual-ack-prefetch")
def _():
    q = state["exclusive"]
    ch.basic_qos(prefetch_count=2)
    for i in range(5):
        ch.basic_publish("", q, b"m%d" % i)
    got, tag = consume_n(conn, ch, q, 2, settle=0.5)
    expect(len(got) == 2, "with prefetch 2 and no acks got %d deliveries" % len(got))
    expect([b for _, _, b in got] == [b"m0", b"m1"], "order %r" % [b for _, _, b in got])
    # ack both at once (multiple) and the rest must flow
    ch.basic_ack(got[-1][0].delivery_tag, multiple=True)
    rest = []
    deadline = time.monotonic() + WAIT
    seen = len(got)
    while len(rest) < 3 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.1)
        # consume_n's callback keeps appending to got
        while len(got) > seen:
            m = got[seen]
            seen += 1
            rest.append(m[2])
            ch.basic_ack(m[0].delivery_tag)
    expect(rest == [b"m2", b"m3", b"m4"], "rest %r" % rest)
    ch.basic_cancel(tag)
    ch.basic_qos(prefetch_count=0)


@check("basic-get")
def _():
    q = state["exclusive"]
    ch.basic_publish("", q, b"g1")
    ch.basic_publish("", q, b"g2")
    m, _, body = get_one(ch, q)
    expect(body == b"g1", "body %r" % body)
    expect(m.message_count == 1, "message_count %r" % m.message_count)
    expect(not m.redelivered, "redelivered on first get")
    ch.basic_ack(m.delivery_tag)
    _, _, body = get_one(ch, q, auto_ack=True)
    expect(body == b"g2", "body %r" % body)
    m, _, _ = ch.basic_get(q)
    expect(m is None, "get on empty queue returned %r" % m)


@check("reject-requeue-redelivered")
def _():
    q = state["exclusive"]
    ch.basic_publish("", q, b"rj")
    m, _, _ = get_one(ch, q)
    ch.basic_reject(m.delivery_tag, requeue=True)
    m, _, body = get_one(ch, q)
    expect(body == b"rj" and m.redelivered, "body %r redelivered %r" % (body, m.redelivered))
    ch.basic_reject(m.delivery_tag, requeue=False)
    m, _, _ = ch.basic_get(q)
    expect(m is None, "rejected without requeue is still there")


@check("nack-requeue-redelivered")
def _():
    q = state["exclusive"]
    ch.basic_publish("", q, b"n1")
    ch.basic_publish("", q, b"n2")
    m1, _, _ = get_one(ch, q)
    m2, _, _ = get_one(ch, q)
    ch.basic_nack(m2.delivery_tag, multiple=True, requeue=True)
    got = []
    for _i in range(2):
        m, _, body = get_one(ch, q)
        expect(m.redelivered, "%r not marked redelivered" % body)
        got.append(body)
        ch.basic_ack(m.delivery_tag)
    expect(got == [b"n1", b"n2"], "requeued order %r" % got)


@check("consume-redelivered-after-nack")
def _():
    q = state["exclusive"]
    ch.basic_publish("", q, b"cr")
    got, tag = consume_n(conn, ch, q, 1, settle=0)
    expect(len(got) == 1, "no delivery")
    ch.basic_nack(got[0][0].delivery_tag, requeue=True)
    deadline = time.monotonic() + WAIT
    while len(got) < 2 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.1)
    expect(len(got) == 2, "no redelivery after nack")
    expect(got[1][0].redelivered, "redelivery not flagged")
    ch.basic_ack(got[1][0].delivery_tag)
    ch.basic_cancel(tag)


@check("publisher-confirms")
def _():
    cch = conn.channel()
    cch.confirm_delivery()
    for i in range(20):
        cch.basic_publish("", DURABLE, b"c%d" % i,
                          properties=pika.BasicProperties(delivery_mode=2))
    r = cch.queue_declare(DURABLE, passive=True)
    expect(r.method.message_count == 20, "message_count %r" % r.method.message_count)
    cch.queue_purge(DURABLE)
    try:
        cch.basic_publish("", PREFIX + ".nowhere", b"x", mandatory=True)
        raise AssertionError("mandatory unroutable publish not returned")
    except pika.exceptions.UnroutableError as e:
        expect(len(e.messages) == 1, "returned %r" % e.messages)
        rm = e.messages[0].method
        expect(rm.reply_code == 312 and rm.reply_text == "NO_ROUTE",
               "basic.return %r %r" % (rm.reply_code, rm.reply_text))
    cch.close()


@check("transaction")
def _():
    tch = conn.channel()
    tch.tx_select()
    tch.basic_publish("", DURABLE, b"rolled-back")
    tch.tx_rollback()
    r = tch.queue_declare(DURABLE, passive=True)
    expect(r.method.message_count == 0, "after rollback message_count %r" % r.method.message_count)
    tch.basic_publish("", DURABLE, b"committed")
    tch.tx_commit()
    _, _, body = get_one(tch, DURABLE, auto_ack=True)
    expect(body == b"committed", "body %r" % body)
    tch.close()


@check("channel-error-404-and-recovery")
def _():
    ech = conn.channel()
    try:
        ech.queue_declare(PREFIX + ".missing", passive=True)
        raise AssertionError("passive declare of a missing queue succeeded")
    except pika.exceptions.ChannelClosedByBroker as e:
        expect(e.reply_code == 404, "reply_code %r" % e.reply_code)
        expect(e.reply_text.startswith("NOT_FOUND - no queue"), "reply_text %r" % e.reply_text)
    expect(ech.is_closed, "channel still open after 404")
    expect(conn.is_open, "connection closed by a channel error")
    nch = conn.channel()
    r = nch.queue_declare(DURABLE, passive=True)
    expect(r.method.queue == DURABLE, "new channel does not work")
    state["ch2"] = nch


@check("precondition-failed-406")
def _():
    ech = conn.channel()
    try:
        ech.queue_declare(DURABLE, durable=False)
        raise AssertionError("redeclare with other durability succeeded")
    except pika.exceptions.ChannelClosedByBroker as e:
        expect(e.reply_code == 406, "reply_code %r: %s" % (e.reply_code, e.reply_text))


@check("rpc-direct-reply-to")
def _():
    # RabbitMQ's direct reply-to, the default of many RPC clients: consume the
    # pseudo-queue amq.rabbitmq.reply-to with no-ack, publish a request whose reply_to
    # names it (the broker rewrites it to a per-channel name), answer to that name.
    rch = conn.channel()
    replies = []
    rch.basic_consume("amq.rabbitmq.reply-to", lambda _c, _m, _p, b: replies.append(b),
                      auto_ack=True)
    server_q = rch.queue_declare("", exclusive=True).method.queue
    rch.basic_publish("", server_q, b"req",
                      properties=pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
    _, p, _ = get_one(rch, server_q, auto_ack=True)
    expect(p.reply_to.startswith("amq.rabbitmq.reply-to."), "reply_to %r" % p.reply_to)
    rch.basic_publish("", p.reply_to, b"resp")
    deadline = time.monotonic() + WAIT
    while not replies and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.1)
    expect(replies == [b"resp"], "replies %r" % replies)
    rch.close()


@check("large-message-1MiB")
def _():
    nch = state.get("ch2") or conn.channel()
    body = os.urandom(1 << 20)
    nch.basic_publish("", DURABLE, body)
    m, _, got = get_one(nch, DURABLE, auto_ack=True)
    expect(len(got) == len(body), "length %d" % len(got))
    expect(got == body, "body differs")


@check("queue-delete-and-close")
def _():
    nch = state.get("ch2") or conn.channel()
    nch.queue_delete(DURABLE)
    conn.close()
    expect(conn.is_closed, "connection not closed")


if failures:
    print("FAIL summary: %d checks failed: %s" % (len(failures), ", ".join(failures)))
    sys.exit(1)
print("ok summary: all checks passed")
