#!/usr/bin/env node
// Smoke test of a broker with amqplib (promise API) on its default settings.
//
// Usage: node amqplib_smoke.js [AMQP_URL]   (default amqp://guest:guest@127.0.0.1:5672/)
//
// Prints one line per check, "ok <name>" or "FAIL <name>: <why>", and exits 1 if any
// check failed. Every wait is bounded by WAIT_MS. Install first with `npm ci` here.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const amqp = require('amqplib');

const WAIT_MS = 10000;
const url = process.argv[2] || 'amqp://guest:guest@127.0.0.1:5672/';
const prefix = `clients.node.${process.pid}.${Date.now()}`;
const failures = [];

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

// within rejects when p has not settled within ms.
function within(p, what, ms = WAIT_MS) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms}ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until polls cond every 20ms until it holds, at most WAIT_MS.
async function until(cond, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS}ms`);
    await sleep(20);
  }
}

// getOne polls basic.get until a message arrives, at most WAIT_MS.
async function getOne(ch, queue, opts = {}) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const m = await within(ch.get(queue, opts), `get ${queue}`);
    if (m !== false) return m;
    if (Date.now() > deadline) throw new Error(`no message in ${queue} within ${WAIT_MS}ms`);
    await sleep(20);
  }
}

// canonical is JSON with object keys sorted: AMQP tables compare without key order.
function canonical(v) {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) && !(x.type === 'Buffer')
      ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
      : x,
  );
}

async function check(name, fn) {
  try {
    await within(Promise.resolve().then(fn), name, 3 * WAIT_MS);
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${String((e && e.stack && process.env.SMOKE_DEBUG) ? e.stack : e).replace(/\n/g, ' ')}`);
    failures.push(name);
  }
}

async function main() {
  let conn;
  let ch;
  const connErrors = [];
  await check('connect', async () => {
    conn = await within(amqp.connect(url), 'connect');
    conn.on('error', (e) => connErrors.push(e));
    ch = await conn.createChannel();
    ch.on('error', () => {});
  });
  if (!conn) {
    console.log(`FAIL summary: cannot connect, ${failures.length} checks failed`);
    return 1;
  }

  await check('negotiated-tune', async () => {
    const c = conn.connection;
    expect(c.frameMax >= 4096, `frameMax ${c.frameMax}`);
    expect(c.channelMax >= 1, `channelMax ${c.channelMax}`);
    expect(c.heartbeat > 0, `heartbeat ${c.heartbeat}`);
    const caps = c.serverProperties.capabilities || {};
    for (const cap of ['publisher_confirms', 'basic.nack', 'consumer_cancel_notify', 'exchange_exchange_bindings']) {
      expect(caps[cap] === true, `capability ${cap} = ${caps[cap]}`);
    }
  });

  const durable = `${prefix}.durable`;
  let excl;

  await check('queue-declare-durable', async () => {
    const r = await ch.assertQueue(durable, { durable: true });
    expect(r.queue === durable, `name ${r.queue}`);
    expect(r.messageCount === 0, `messageCount ${r.messageCount}`);
    const p = await ch.checkQueue(durable);
    expect(p.queue === durable, `passive name ${p.queue}`);
  });

  await check('queue-declare-server-named-exclusive', async () => {
    const r = await ch.assertQueue('', { exclusive: true });
    expect(r.queue.startsWith('amq.gen-'), `server name ${r.queue}`);
    excl = r.queue;
  });

  await check('exchange-direct-bind-route', async () => {
    const ex = `${prefix}.direct`;
    await ch.assertExchange(ex, 'direct', { durable: false, autoDelete: true });
    await ch.bindQueue(durable, ex, 'rk.direct');
    ch.publish(ex, 'rk.direct', Buffer.from('direct'));
    ch.publish(ex, 'other', Buffer.from('lost'));
    const m = await getOne(ch, durable, { noAck: true });
    expect(m.content.toString() === 'direct', `body ${m.content}`);
    await ch.unbindQueue(durable, ex, 'rk.direct');
    await ch.deleteExchange(ex);
  });

  await check('exchange-topic-bind-route', async () => {
    const ex = `${prefix}.topic`;
    await ch.assertExchange(ex, 'topic', { durable: false, autoDelete: true });
    await ch.bindQueue(excl, ex, 'stock.*.nyse');
    await ch.bindQueue(excl, ex, 'news.#');
    for (const rk of ['stock.ibm.nyse', 'stock.ibm.nasdaq', 'news', 'news.a.b', 'stock.nyse']) {
      ch.publish(ex, rk, Buffer.from(rk));
    }
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await getOne(ch, excl, { noAck: true })).content.toString());
    got.sort();
    expect(got.join() === 'news,news.a.b,stock.ibm.nyse', `routed ${got}`);
    expect((await ch.get(excl, { noAck: true })) === false, 'unexpected extra message');
    await ch.deleteExchange(ex);
  });

  await check('exchange-fanout-bind-route', async () => {
    const ex = `${prefix}.fanout`;
    await ch.assertExchange(ex, 'fanout', { durable: false, autoDelete: true });
    await ch.bindQueue(durable, ex, '');
    await ch.bindQueue(excl, ex, '');
    ch.publish(ex, 'ignored', Buffer.from('fan'));
    for (const q of [durable, excl]) {
      const m = await getOne(ch, q, { noAck: true });
      expect(m.content.toString() === 'fan', `${q} body ${m.content}`);
    }
    await ch.deleteExchange(ex);
  });

  await check('exchange-exchange-binding', async () => {
    const src = `${prefix}.e2e.src`;
    const dst = `${prefix}.e2e.dst`;
    await ch.assertExchange(src, 'topic', { durable: false, autoDelete: false });
    await ch.assertExchange(dst, 'fanout', { durable: false, autoDelete: false });
    await ch.bindExchange(dst, src, 'a.*');
    await ch.bindQueue(excl, dst, '');
    ch.publish(src, 'a.b', Buffer.from('e2e'));
    ch.publish(src, 'x.y', Buffer.from('nope'));
    const m = await getOne(ch, excl, { noAck: true });
    expect(m.content.toString() === 'e2e', `body ${m.content}`);
    await sleep(100);
    expect((await ch.get(excl, { noAck: true })) === false, 'unexpected extra message');
    await ch.unbindExchange(dst, src, 'a.*');
    await ch.deleteExchange(src);
    await ch.deleteExchange(dst);
  });

  // every field type amqplib can encode, with the value it decodes back to
  const headers = {
    string: ['text é', 'text é'],
    buffer: [Buffer.from([0, 1, 114, 97, 119]), Buffer.from([0, 1, 114, 97, 119])],
    null: [null, null],
    bool: [true, true],
    table: [{ nested: 'yes', n: 1 }, { nested: 'yes', n: 1 }],
    array: [[1, 'two', true, { k: 'v' }, [3]], [1, 'two', true, { k: 'v' }, [3]]],
    guessed_byte: [-5, -5],
    guessed_short: [-300, -300],
    guessed_int: [-70000, -70000],
    guessed_long: [2 ** 40, 2 ** 40],
    guessed_double: [1.1, 1.1],
    int8: [{ '!': 'int8', value: -5 }, -5],
    uint8: [{ '!': 'uint8', value: 200 }, 200],
    int16: [{ '!': 'int16', value: -300 }, -300],
    uint16: [{ '!': 'uint16', value: 60000 }, 60000],
    int32: [{ '!': 'int32', value: -70000 }, -70000],
    uint32: [{ '!': 'uint32', value: 4000000000 }, 4000000000],
    int64: [{ '!': 'int64', value: -5000000000 }, -5000000000],
    float: [{ '!': 'float', value: 1.5 }, 1.5],
    double: [{ '!': 'double', value: 2.25 }, 2.25],
    timestamp: [{ '!': 'timestamp', value: 1700000000 }, { '!': 'timestamp', value: 1700000000 }],
    decimal: [{ '!': 'decimal', value: { places: 2, digits: 314 } }, { '!': 'decimal', value: { places: 2, digits: 314 } }],
  };

  let lastHeaders;
  await check('publish-properties-headers', async () => {
    const sent = {};
    for (const [k, [v]] of Object.entries(headers)) sent[k] = v;
    const props = {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: sent,
      deliveryMode: 2,
      priority: 5,
      correlationId: 'corr-1',
      replyTo: 'reply.q',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: 1700000000,
      type: 'smoke',
      userId: 'guest',
      appId: 'node_smoke',
    };
    ch.publish('', durable, Buffer.from('{"a":1}'), props);
    const m = await getOne(ch, durable, { noAck: true });
    expect(m.content.toString() === '{"a":1}', `body ${m.content}`);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'headers') continue;
      expect(m.properties[k] === v, `property ${k}: sent ${v} got ${m.properties[k]}`);
    }
    const h = m.properties.headers || {};
    for (const [k, [, want]] of Object.entries(headers)) {
      const got = h[k];
      const same = Buffer.isBuffer(want) ? Buffer.isBuffer(got) && want.equals(got) : canonical(got) === canonical(want);
      expect(same, `header ${k}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
    }
    lastHeaders = h;
  });

  // RabbitMQ passes a message's properties through byte for byte, so a field table
  // comes back with its keys in the order they were sent.
  await check('headers-key-order-preserved', async () => {
    expect(lastHeaders, 'no headers from the previous check');
    const sentTop = Object.keys(headers).join();
    const gotTop = Object.keys(lastHeaders).join();
    expect(gotTop === sentTop, `top-level keys sent ${sentTop} got ${gotTop}`);
    const gotNested = Object.keys(lastHeaders.table || {}).join();
    expect(gotNested === 'nested,n', `nested table keys sent nested,n got ${gotNested}`);
  });

  await check('consume-manual-ack-prefetch', async () => {
    await ch.prefetch(2);
    for (let i = 0; i < 5; i++) ch.sendToQueue(excl, Buffer.from(`m${i}`));
    const got = [];
    const { consumerTag } = await ch.consume(excl, (m) => got.push(m), { noAck: false });
    await until(() => got.length >= 2, 'two deliveries');
    await sleep(500);
    expect(got.length === 2, `with prefetch 2 and no acks got ${got.length}`);
    ch.ack(got[1], true);
    let acked = 2;
    const deadline = Date.now() + WAIT_MS;
    while (acked < 5 && Date.now() < deadline) {
      await sleep(20);
      for (; acked < got.length; acked++) ch.ack(got[acked]);
    }
    const bodies = got.map((m) => m.content.toString()).join();
    expect(bodies === 'm0,m1,m2,m3,m4', `bodies ${bodies}`);
    await ch.cancel(consumerTag);
    await ch.prefetch(0);
  });

  await check('basic-get', async () => {
    ch.sendToQueue(excl, Buffer.from('g1'));
    ch.sendToQueue(excl, Buffer.from('g2'));
    const m = await getOne(ch, excl);
    expect(m.content.toString() === 'g1', `body ${m.content}`);
    expect(m.fields.messageCount === 1, `messageCount ${m.fields.messageCount}`);
    expect(!m.fields.redelivered, 'redelivered on first get');
    ch.ack(m);
    const m2 = await getOne(ch, excl, { noAck: true });
    expect(m2.content.toString() === 'g2', `body ${m2.content}`);
    expect((await ch.get(excl)) === false, 'get on empty queue returned a message');
  });

  await check('reject-requeue-redelivered', async () => {
    ch.sendToQueue(excl, Buffer.from('rj'));
    ch.reject(await getOne(ch, excl), true);
    const m = await getOne(ch, excl);
    expect(m.content.toString() === 'rj' && m.fields.redelivered, 'not redelivered');
    ch.reject(m, false);
    expect((await ch.get(excl)) === false, 'rejected without requeue is still there');
  });

  await check('nack-requeue-redelivered', async () => {
    const got = [];
    const { consumerTag } = await ch.consume(excl, (m) => got.push(m), { noAck: false });
    ch.sendToQueue(excl, Buffer.from('n1'));
    ch.sendToQueue(excl, Buffer.from('n2'));
    await until(() => got.length >= 2, 'two deliveries');
    ch.nack(got[1], true, true);
    await until(() => got.length >= 4, 'two redeliveries');
    expect(got[2].fields.redelivered && got[3].fields.redelivered, 'redeliveries not flagged');
    const bodies = got.map((m) => m.content.toString()).join();
    expect(bodies === 'n1,n2,n1,n2', `deliveries ${bodies}`);
    ch.ack(got[3], true);
    await ch.cancel(consumerTag);
  });

  await check('publisher-confirms', async () => {
    const cch = await conn.createConfirmChannel();
    cch.on('error', () => {});
    const returns = [];
    cch.on('return', (m) => returns.push(m));
    const acks = [];
    for (let i = 0; i < 20; i++) {
      acks.push(
        new Promise((resolve, reject) => {
          cch.sendToQueue(durable, Buffer.from(`c${i}`), { persistent: true }, (err) => (err ? reject(err) : resolve()));
        }),
      );
    }
    await within(Promise.all(acks), 'confirms');
    await within(cch.waitForConfirms(), 'waitForConfirms');
    const q = await cch.checkQueue(durable);
    expect(q.messageCount === 20, `messageCount ${q.messageCount}`);
    await cch.purgeQueue(durable);
    cch.publish('', `${prefix}.nowhere`, Buffer.from('x'), { mandatory: true });
    await within(cch.waitForConfirms(), 'waitForConfirms after mandatory');
    await until(() => returns.length >= 1, 'basic.return');
    const f = returns[0].fields;
    expect(f.replyCode === 312 && f.replyText === 'NO_ROUTE', `basic.return ${f.replyCode} ${f.replyText}`);
    await cch.close();
  });

  await check('transaction', async () => {
    // amqplib has no tx API of its own; it is reached through the channel's RPC layer,
    // as a few applications do.
    const tch = await conn.createChannel();
    tch.on('error', () => {});
    // lib/defs is not in the package's exports map, so load it by its file path
    const defs = require(path.join(path.dirname(require.resolve('amqplib')), 'lib', 'defs.js'));
    const rpc = (method, fields, expected) => within(tch.rpc(method, fields, expected), `rpc ${method}`);
    await rpc(defs.TxSelect, {}, defs.TxSelectOk);
    tch.sendToQueue(durable, Buffer.from('rolled-back'));
    await rpc(defs.TxRollback, {}, defs.TxRollbackOk);
    let q = await tch.checkQueue(durable);
    expect(q.messageCount === 0, `after rollback messageCount ${q.messageCount}`);
    tch.sendToQueue(durable, Buffer.from('committed'));
    await rpc(defs.TxCommit, {}, defs.TxCommitOk);
    q = await tch.checkQueue(durable);
    expect(q.messageCount === 1, `after commit messageCount ${q.messageCount}`);
    const m = await getOne(tch, durable, { noAck: true });
    expect(m.content.toString() === 'committed', `body ${m.content}`);
    await tch.close();
  });

  let ch2;
  await check('channel-error-404-and-recovery', async () => {
    const ech = await conn.createChannel();
    const errors = [];
    ech.on('error', (e) => errors.push(e));
    let closed = false;
    ech.on('close', () => {
      closed = true;
    });
    let err;
    try {
      await within(ech.checkQueue(`${prefix}.missing`), 'checkQueue');
    } catch (e) {
      err = e;
    }
    expect(err, 'passive declare of a missing queue succeeded');
    expect(err.code === 404, `code ${err.code}: ${err.message}`);
    expect(/NOT_FOUND - no queue/.test(err.message), `message ${err.message}`);
    await until(() => closed, 'channel close event');
    expect(connErrors.length === 0, `connection error ${connErrors[0]}`);
    ch2 = await conn.createChannel();
    ch2.on('error', () => {});
    const q = await ch2.checkQueue(durable);
    expect(q.queue === durable, 'new channel does not work');
  });

  await check('large-message-1MiB', async () => {
    const c = ch2 || ch;
    const body = crypto.randomBytes(1 << 20);
    c.sendToQueue(durable, body);
    const m = await getOne(c, durable, { noAck: true });
    expect(m.content.length === body.length, `length ${m.content.length}`);
    expect(m.content.equals(body), 'body differs');
  });

  await check('queue-delete-and-close', async () => {
    const c = ch2 || ch;
    await c.deleteQueue(durable);
    let closed = false;
    conn.on('close', () => {
      closed = true;
    });
    await within(conn.close(), 'connection.close');
    await until(() => closed, 'close event');
    expect(connErrors.length === 0, `connection error ${connErrors[0]}`);
  });

  if (failures.length) {
    console.log(`FAIL summary: ${failures.length} checks failed: ${failures.join(', ')}`);
    return 1;
  }
  console.log('ok summary: all checks passed');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.log(`FAIL summary: ${e}`);
    process.exit(1);
  },
);
