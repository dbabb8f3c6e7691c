#!/usr/bin/python3
"""Smoke test of a broker with kombu on its default transport (pyamqp, i.e. py-amqp),
used the way Celery uses it.

Usage: kombu_smoke.py [AMQP_URL]   (default amqp://guest:guest@127.0.0.1:5672/)

Prints one line per check, "ok <name>" or "FAIL <name>: <why>", and exits 1 if any
check failed. Every wait is bounded by WAIT seconds. Uses Debian's python3-kombu and
python3-amqp, so run it with /usr/bin/python3.
"""

import datetime
import os
import socket
import sys
import time
import traceback
import uuid

import amqp.exceptions
from kombu import Connection, Consumer, Exchange, Producer, Queue

WAIT = 10.0
URL = sys.argv[1] if len(sys.argv) > 1 else "amqp://guest:guest@127.0.0.1:5672/"
PREFIX = "clients.kombu.%d.%d" % (os.getpid(), int(time.time()))

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


def drain_until(conn, cond):
    """Runs conn.drain_events until cond() holds; bounded by WAIT."""
    deadline = time.monotonic() + WAIT
    while not cond():
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("condition not met within %ss" % WAIT)
        try:
            conn.drain_events(timeout=min(left, 0.5))
        except socket.timeout:
            pass


state = {}

# Celery's default names: a durable direct exchange and queue called "celery"; ours are
# prefixed so runs do not collide.
TASK_EXCHANGE = Exchange(PREFIX + ".celery", type="direct", durable=True)
TASK_QUEUE = Queue(PREFIX + ".celery", TASK_EXCHANGE, routing_key=PREFIX + ".celery",
                   durable=True)


@check("connect")
def _():
    conn = Connection(URL)
    conn.ensure_connection(max_retries=1, timeout=WAIT)
    expect(conn.connected, "not connected")
    expect(conn.transport_cls == "amqp" or conn.transport.driver_type == "amqp",
           "transport %r" % conn.transport_cls)
    state["conn"] = conn


conn = state.get("conn")
if conn is None:
    print("FAIL summary: cannot connect, %d checks failed" % len(failures))
    sys.exit(1)


@check("producer-consumer-round-trip")
def _():
    task_id = str(uuid.uuid4())
    body = {"task": "proj.add", "id": task_id, "args": [2, 3], "kwargs": {}}
    headers = {
        "lang": "py", "task": "proj.add", "id": task_id, "retries": 0,
        "eta": None, "timelimit": [None, None], "argsrepr": "(2, 3)",
        "origin": "gen1@host", "ignore_result": False,
        "when": datetime.datetime(2024, 5, 6, 7, 8, 9),
    }
    with conn.channel() as pch:
        producer = Producer(pch)
        producer.publish(
            body, exchange=TASK_EXCHANGE, routing_key=TASK_QUEUE.routing_key,
            serializer="json", declare=[TASK_QUEUE], headers=headers,
            correlation_id=task_id, reply_to=PREFIX + ".reply", priority=0,
            delivery_mode=2, retry=True, retry_policy={"max_retries": 1},
        )
    got = []

    def on_message(b, message):
        got.append((b, message))
        message.ack()

    with conn.channel() as cch:
        with Consumer(cch, queues=[TASK_QUEUE], callbacks=[on_message],
                      accept=["json"], prefetch_count=4):
            drain_until(conn, lambda: got)
    b, message = got[0]
    expect(b == body, "body %r" % b)
    expect(message.content_type == "application/json", "content_type %r" % message.content_type)
    expect(message.properties.get("correlation_id") == task_id, "correlation_id %r"
           % message.properties.get("correlation_id"))
    expect(message.delivery_info.get("routing_key") == TASK_QUEUE.routing_key,
           "delivery_info %r" % message.delivery_info)
    for k, v in headers.items():
        expect(message.headers.get(k, "<missing>") == v,
               "header %s: sent %r got %r" % (k, v, message.headers.get(k, "<missing>")))


@check("prefetch-and-manual-ack")
def _():
    with conn.channel() as ch:
        producer = Producer(ch, exchange=TASK_EXCHANGE, routing_key=TASK_QUEUE.routing_key)
        for i in range(6):
            producer.publish({"n": i}, declare=[TASK_QUEUE])
        pending = []
        consumer = Consumer(ch, queues=[TASK_QUEUE], accept=["json"],
                            callbacks=[lambda b, m: pending.append((b, m))])
        consumer.qos(prefetch_count=2)
        consumer.consume()
        drain_until(conn, lambda: len(pending) >= 2)
        # nothing more may arrive while both are unacked
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            try:
                conn.drain_events(timeout=0.1)
            except socket.timeout:
                pass
        expect(len(pending) == 2, "prefetch 2 delivered %d unacked" % len(pending))
        done = []
        deadline = time.monotonic() + WAIT
        while len(done) < 6 and time.monotonic() < deadline:
            while pending:
                b, m = pending.pop(0)
                m.ack()
                done.append(b["n"])
            if len(done) < 6:
                try:
                    conn.drain_events(timeout=0.2)
                except socket.timeout:
                    pass
        consumer.cancel()
        expect(done == list(range(6)), "acked %r" % done)


@check("requeue-redelivered")
def _():
    with conn.channel() as ch:
        Producer(ch).publish({"r": 1}, exchange=TASK_EXCHANGE,
                             routing_key=TASK_QUEUE.routing_key, declare=[TASK_QUEUE])
        seen = []

        def on_message(b, m):
            seen.append(m.delivery_info.get("redelivered"))
            if len(seen) == 1:
                m.requeue()   # basic.reject requeue=True
            else:
                m.ack()

        with Consumer(ch, queues=[TASK_QUEUE], callbacks=[on_message], accept=["json"]):
            drain_until(conn, lambda: len(seen) >= 2)
        expect(seen[:2] == [False, True], "redelivered flags %r" % seen)


@check("simple-queue-get")
def _():
    name = PREFIX + ".simple"
    sq = conn.SimpleQueue(name)
    try:
        sq.put({"hello": "world"})
        m = sq.get(block=True, timeout=WAIT)
        expect(m.payload == {"hello": "world"}, "payload %r" % m.payload)
        m.ack()
        try:
            sq.get(block=False)
            raise AssertionError("get on an empty queue returned a message")
        except sq.Empty:
            pass
    finally:
        sq.close()
    # deleted after the consumer is gone: deleting a queue under its own consumer makes
    # py-amqp raise ConsumerCancelled on the broker's basic.cancel
    with conn.channel() as ch:
        ch.queue_delete(name)
        ch.exchange_delete(name)   # SimpleQueue's direct exchange of the same name


@check("delete-queue-under-own-consumer")
def _():
    # RabbitMQ answers queue.delete-ok before it sends basic.cancel to a consumer on the
    # same channel, so py-amqp's queue_delete returns and ConsumerCancelled comes later,
    # from the next read.
    ch = conn.channel()
    try:
        name, _, _ = ch.queue_declare("", exclusive=True)
        ch.basic_consume(name, callback=lambda m: None)
        ch.queue_delete(name)
        try:
            drain_until(conn, lambda: False)
            raise AssertionError("no basic.cancel after deleting the consumed queue")
        except amqp.exceptions.ConsumerCancelled:
            pass
    finally:
        ch.close()


@check("confirm-publish")
def _():
    cconn = Connection(URL, transport_options={"confirm_publish": True})
    try:
        with cconn.channel() as ch:
            producer = Producer(ch)
            for i in range(10):
                producer.publish({"c": i}, exchange=TASK_EXCHANGE,
                                 routing_key=TASK_QUEUE.routing_key, declare=[TASK_QUEUE])
            _, count, _ = ch.queue_declare(TASK_QUEUE.name, passive=True)
            expect(count == 10, "message_count %r" % count)
            ch.queue_purge(TASK_QUEUE.name)
    finally:
        cconn.release()


@check("celery-event-and-pidbox-queues")
def _():
    # Celery declares these with queue arguments on every worker start.
    ev_exchange = Exchange(PREFIX + ".celeryev", type="topic")
    ev_queue = Queue("%s.celeryev.%s" % (PREFIX, uuid.uuid4()), ev_exchange,
                     routing_key="worker.#", auto_delete=True, durable=False,
                     message_ttl=5.0, expires=60.0)
    pidbox_exchange = Exchange(PREFIX + ".celery.pidbox", type="fanout", durable=False,
                               delivery_mode="transient")
    pidbox_queue = Queue("%s@host.celery.pidbox" % PREFIX, pidbox_exchange,
                         auto_delete=True, durable=False, message_ttl=300.0, expires=10.0)
    got = []
    with conn.channel() as ch:
        with Consumer(ch, queues=[ev_queue, pidbox_queue], accept=["json"], no_ack=True,
                      callbacks=[lambda b, m: got.append(b)]):
            p = Producer(ch)
            p.publish({"type": "worker-heartbeat"}, exchange=ev_exchange,
                      routing_key="worker.heartbeat")
            p.publish({"method": "ping"}, exchange=pidbox_exchange)
            drain_until(conn, lambda: len(got) >= 2)
        ev_exchange(ch).delete()
        pidbox_exchange(ch).delete()
    expect({"type": "worker-heartbeat"} in got and {"method": "ping"} in got, "got %r" % got)


@check("channel-error-404-and-recovery")
def _():
    ch = conn.channel()
    try:
        ch.queue_declare(PREFIX + ".missing", passive=True)
        raise AssertionError("passive declare of a missing queue succeeded")
    except amqp.exceptions.NotFound as e:
        expect(e.reply_code == 404, "reply_code %r" % e.reply_code)
    expect(conn.connected, "connection lost by a channel error")
    with conn.channel() as nch:
        name, _, _ = nch.queue_declare(TASK_QUEUE.name, passive=True)
        expect(name == TASK_QUEUE.name, "new channel does not work")


@check("large-message-1MiB")
def _():
    blob = os.urandom(1 << 20)
    with conn.channel() as ch:
        Producer(ch).publish(blob, exchange=TASK_EXCHANGE, routing_key=TASK_QUEUE.routing_key,
                             serializer="raw", content_type="application/octet-stream",
                             declare=[TASK_QUEUE])
        got = []
        with Consumer(ch, queues=[TASK_QUEUE], accept=["application/octet-stream"],
                      callbacks=[lambda b, m: (got.append(b), m.ack())]):
            drain_until(conn, lambda: got)
    expect(got[0] == blob, "body differs (%d bytes)" % len(got[0]))


@check("cleanup-and-close")
def _():
    with conn.channel() as ch:
        TASK_QUEUE(ch).delete()
        TASK_EXCHANGE(ch).delete()
    conn.release()
    expect(not conn.connected, "still connected")


if failures:
    print("FAIL summary: %d checks failed: %s" % (len(failures), ", ".join(failures)))
    sys.exit(1)
print("ok summary: all checks passed")
