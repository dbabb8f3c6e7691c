<?php
// Smoke test of a broker with php-amqplib (AMQPStreamConnection) on its default settings
// (AMQPLAIN login, the "rabbit" field-table dialect, heartbeat 0, 3 s I/O timeouts).
//
// Usage: php amqplib_smoke.php [AMQP_URL]   (default amqp://guest:guest@127.0.0.1:5672/)
//
// Prints one line per check, "ok <name>" or "FAIL <name>: <why>", and exits 1 if any check
// failed. Every wait is bounded by WAIT seconds. Uses Debian's php-amqplib.

require_once 'PhpAmqpLib/autoload.php';

use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Exception\AMQPProtocolChannelException;
use PhpAmqpLib\Exception\AMQPTimeoutException;
use PhpAmqpLib\Message\AMQPMessage;
use PhpAmqpLib\Wire\AMQPAbstractCollection as Coll;
use PhpAmqpLib\Wire\AMQPArray;
use PhpAmqpLib\Wire\AMQPDecimal;
use PhpAmqpLib\Wire\AMQPTable;

const WAIT = 10.0;

$url = $argv[1] ?? 'amqp://guest:guest@127.0.0.1:5672/';
$prefix = sprintf('clients.php.%d.%d', getmypid(), time());
$failures = [];

/** check runs $fn as the check $name and prints its outcome. */
function check(string $name, callable $fn): void
{
    global $failures;
    try {
        $fn();
        echo "ok $name\n";
    } catch (\Throwable $e) {
        $why = get_class($e) . ': ' . $e->getMessage();
        echo 'FAIL ' . $name . ': ' . str_replace("\n", ' ', $why) . "\n";
        if (getenv('SMOKE_DEBUG')) {
            fwrite(STDERR, $e->getTraceAsString() . "\n");
        }
        $failures[] = $name;
    }
}

function expect(bool $cond, string $what): void
{
    if (!$cond) {
        throw new \RuntimeException($what);
    }
}

/** getOne polls basic.get until a message arrives, at most WAIT seconds. */
function getOne($ch, string $queue, bool $noAck = false): AMQPMessage
{
    $deadline = microtime(true) + WAIT;
    while (true) {
        $m = $ch->basic_get($queue, $noAck);
        if ($m !== null) {
            return $m;
        }
        if (microtime(true) > $deadline) {
            throw new \RuntimeException("no message in $queue within " . WAIT . 's');
        }
        usleep(20000);
    }
}

/** waitUntil runs the channel's event loop until $cond() holds, at most WAIT seconds. */
function waitUntil($ch, callable $cond): void
{
    $deadline = microtime(true) + WAIT;
    while (!$cond()) {
        $left = $deadline - microtime(true);
        if ($left <= 0) {
            throw new \RuntimeException('condition not met within ' . WAIT . 's');
        }
        try {
            $ch->wait(null, false, min($left, 0.5));
        } catch (AMQPTimeoutException $e) {
        }
    }
}

/** drainFor runs the channel's event loop for $secs seconds. */
function drainFor($ch, float $secs): void
{
    $end = microtime(true) + $secs;
    while (($left = $end - microtime(true)) > 0) {
        try {
            $ch->wait(null, false, $left);
        } catch (AMQPTimeoutException $e) {
        }
    }
}

$u = parse_url($url);
$vhost = '/';
if (isset($u['path']) && strlen($u['path']) > 1) {
    $vhost = rawurldecode(substr($u['path'], 1));
}
$conn = null;
$ch = null;

check('connect', function () use ($u, $vhost, &$conn, &$ch) {
    $conn = new AMQPStreamConnection(
        $u['host'] ?? '127.0.0.1',
        $u['port'] ?? 5672,
        rawurldecode($u['user'] ?? 'guest'),
        rawurldecode($u['pass'] ?? 'guest'),
        $vhost
    );
    expect($conn->isConnected(), 'not connected');
    $ch = $conn->channel();
});
if ($conn === null) {
    echo 'FAIL summary: cannot connect, ' . count($failures) . " checks failed\n";
    exit(1);
}

check('server-properties', function () use ($conn) {
    $props = $conn->getServerProperties();
    expect(isset($props['capabilities']), 'no capabilities in server-properties');
    // server properties come back as [type, value] pairs
    $caps = $props['capabilities'][1];
    foreach (['publisher_confirms', 'basic.nack', 'consumer_cancel_notify'] as $cap) {
        expect(($caps[$cap] ?? null) == ['t', 1], "capability $cap missing");
    }
});

$durable = "$prefix.durable";
$excl = null;

check('queue-declare-durable', function () use ($ch, $durable) {
    [$name, $count] = $ch->queue_declare($durable, false, true, false, false);
    expect($name === $durable, "name $name");
    expect($count === 0, "message_count $count");
    [$name] = $ch->queue_declare($durable, true);
    expect($name === $durable, "passive name $name");
});

check('queue-declare-server-named-exclusive', function () use ($ch, &$excl) {
    [$name] = $ch->queue_declare('', false, false, true, false);
    expect(str_starts_with($name, 'amq.gen-'), "server name $name");
    $excl = $name;
});

check('exchange-direct-bind-route', function () use ($ch, $durable, $prefix) {
    $ex = "$prefix.direct";
    $ch->exchange_declare($ex, 'direct', false, false, true);
    $ch->queue_bind($durable, $ex, 'rk.direct');
    $ch->basic_publish(new AMQPMessage('direct'), $ex, 'rk.direct');
    $ch->basic_publish(new AMQPMessage('lost'), $ex, 'other');
    $m = getOne($ch, $durable, true);
    expect($m->getBody() === 'direct', 'body ' . $m->getBody());
    $ch->queue_unbind($durable, $ex, 'rk.direct');
    $ch->exchange_delete($ex);
});

check('exchange-topic-bind-route', function () use ($ch, &$excl, $prefix) {
    $ex = "$prefix.topic";
    $ch->exchange_declare($ex, 'topic', false, false, true);
    $ch->queue_bind($excl, $ex, 'stock.*.nyse');
    $ch->queue_bind($excl, $ex, 'news.#');
    foreach (['stock.ibm.nyse', 'stock.ibm.nasdaq', 'news', 'news.a.b', 'stock.nyse'] as $rk) {
        $ch->basic_publish(new AMQPMessage($rk), $ex, $rk);
    }
    $got = [];
    for ($i = 0; $i < 3; $i++) {
        $got[] = getOne($ch, $excl, true)->getBody();
    }
    sort($got);
    expect($got === ['news', 'news.a.b', 'stock.ibm.nyse'], 'routed ' . implode(',', $got));
    expect($ch->basic_get($excl, true) === null, 'unexpected extra message');
    $ch->exchange_delete($ex);
});

check('exchange-fanout-bind-route', function () use ($ch, &$excl, $durable, $prefix) {
    $ex = "$prefix.fanout";
    $ch->exchange_declare($ex, 'fanout', false, false, true);
    $ch->queue_bind($durable, $ex);
    $ch->queue_bind($excl, $ex);
    $ch->basic_publish(new AMQPMessage('fan'), $ex, 'ignored');
    foreach ([$durable, $excl] as $q) {
        $b = getOne($ch, $q, true)->getBody();
        expect($b === 'fan', "$q body $b");
    }
    $ch->exchange_delete($ex);
});

check('publish-properties-headers', function () use ($ch, $durable) {
    // every field type php-amqplib's default ("rabbit") dialect can encode
    $headers = new AMQPTable();
    $sent = [
        'shortshort' => [Coll::T_INT_SHORTSHORT, -5],
        'shortshort_u' => [Coll::T_INT_SHORTSHORT_U, 200],
        'short' => [Coll::T_INT_SHORT, -300],
        'short_u' => [Coll::T_INT_SHORT_U, 60000],
        'long' => [Coll::T_INT_LONG, -70000],
        'long_u' => [Coll::T_INT_LONG_U, 4000000000],
        'longlong' => [Coll::T_INT_LONGLONG, -5000000000],
        // T_FLOAT and T_DOUBLE are in the dialect, but php-amqplib 3.5's writer cannot
        // encode them ("Unsupported type")
        'decimal' => [Coll::T_DECIMAL, new AMQPDecimal(314, 2)],
        'timestamp' => [Coll::T_TIMESTAMP, 1700000000],
        'void' => [Coll::T_VOID, null],
        'bool' => [Coll::T_BOOL, true],
        'string' => [Coll::T_STRING_LONG, "text \u{e9}"],
        'bytes' => [Coll::T_BYTES, "\x00\x01raw"],
        'array' => [Coll::T_ARRAY, new AMQPArray([1, 'two', true])],
        'table' => [Coll::T_TABLE, new AMQPTable(['nested' => 'yes', 'n' => 1])],
    ];
    foreach ($sent as $k => [$type, $val]) {
        $headers->set($k, $val, $type);
    }
    $props = [
        'content_type' => 'application/json',
        'content_encoding' => 'utf-8',
        'application_headers' => $headers,
        'delivery_mode' => AMQPMessage::DELIVERY_MODE_PERSISTENT,
        'priority' => 5,
        'correlation_id' => 'corr-1',
        'reply_to' => 'reply.q',
        'expiration' => '60000',
        'message_id' => 'msg-1',
        'timestamp' => 1700000000,
        'type' => 'smoke',
        'user_id' => 'guest',
        'app_id' => 'php_smoke',
    ];
    $ch->basic_publish(new AMQPMessage('{"a":1}', $props), '', $durable);
    $m = getOne($ch, $durable, true);
    expect($m->getBody() === '{"a":1}', 'body ' . $m->getBody());
    foreach ($props as $k => $v) {
        if ($k === 'application_headers') {
            continue;
        }
        expect($m->has($k), "property $k missing");
        expect($m->get($k) == $v, "property $k: sent " . var_export($v, true) . ' got ' . var_export($m->get($k), true));
    }
    $got = [];
    foreach ($m->get('application_headers') as $k => $pair) {
        $got[$k] = $pair;
    }
    foreach ($sent as $k => [$type, $val]) {
        expect(isset($got[$k]) || array_key_exists($k, $got), "header $k missing");
        [$gtype, $gval] = $got[$k];
        expect($gtype === $type, "header $k: sent type " . Coll::getSymbolForDataType($type) . ' got ' . Coll::getSymbolForDataType($gtype));
        if ($gval instanceof Coll) {
            $gval = $gval->getNativeData();
            $val = $val->getNativeData();
        } elseif ($gval instanceof AMQPDecimal) {
            $gval = $gval->asBCvalue();
            $val = $val->asBCvalue();
        }
        expect($gval == $val, "header $k: sent " . var_export($val, true) . ' got ' . var_export($gval, true));
    }
});

check('consume-manual-ack-prefetch', function () use ($ch, &$excl) {
    $ch->basic_qos(0, 2, false);
    for ($i = 0; $i < 5; $i++) {
        $ch->basic_publish(new AMQPMessage("m$i"), '', $excl);
    }
    $got = [];
    $tag = $ch->basic_consume($excl, '', false, false, false, false, function (AMQPMessage $m) use (&$got) {
        $got[] = $m;
    });
    waitUntil($ch, function () use (&$got) {
        return count($got) >= 2;
    });
    drainFor($ch, 0.5);
    expect(count($got) === 2, 'with prefetch 2 and no acks got ' . count($got));
    $got[1]->ack(true);
    $acked = 2;
    $deadline = microtime(true) + WAIT;
    while ($acked < 5 && microtime(true) < $deadline) {
        try {
            $ch->wait(null, false, 0.5);
        } catch (AMQPTimeoutException $e) {
        }
        for (; $acked < count($got); $acked++) {
            $got[$acked]->ack();
        }
    }
    $bodies = array_map(fn ($m) => $m->getBody(), $got);
    expect($bodies === ['m0', 'm1', 'm2', 'm3', 'm4'], 'bodies ' . implode(',', $bodies));
    $ch->basic_cancel($tag);
    $ch->basic_qos(0, 0, false);
});

check('basic-get', function () use ($ch, &$excl) {
    $ch->basic_publish(new AMQPMessage('g1'), '', $excl);
    $ch->basic_publish(new AMQPMessage('g2'), '', $excl);
    $m = getOne($ch, $excl);
    expect($m->getBody() === 'g1', 'body ' . $m->getBody());
    expect($m->getMessageCount() === 1, 'message_count ' . var_export($m->getMessageCount(), true));
    expect(!$m->isRedelivered(), 'redelivered on first get');
    $m->ack();
    expect(getOne($ch, $excl, true)->getBody() === 'g2', 'second body');
    expect($ch->basic_get($excl) === null, 'get on empty queue returned a message');
});

check('reject-requeue-redelivered', function () use ($ch, &$excl) {
    $ch->basic_publish(new AMQPMessage('rj'), '', $excl);
    getOne($ch, $excl)->reject(true);
    $m = getOne($ch, $excl);
    expect($m->getBody() === 'rj' && $m->isRedelivered(), 'not redelivered');
    $m->reject(false);
    expect($ch->basic_get($excl) === null, 'rejected without requeue is still there');
});

check('nack-requeue-redelivered', function () use ($ch, &$excl) {
    $ch->basic_publish(new AMQPMessage('n1'), '', $excl);
    $ch->basic_publish(new AMQPMessage('n2'), '', $excl);
    getOne($ch, $excl);
    getOne($ch, $excl)->nack(true, true);
    $got = [];
    for ($i = 0; $i < 2; $i++) {
        $m = getOne($ch, $excl);
        expect($m->isRedelivered(), $m->getBody() . ' not redelivered');
        $got[] = $m->getBody();
        $m->ack();
    }
    expect($got === ['n1', 'n2'], 'requeued order ' . implode(',', $got));
});

check('publisher-confirms', function () use ($conn, $durable, $prefix) {
    $cch = $conn->channel();
    $acks = 0;
    $nacks = 0;
    $returns = [];
    $cch->set_ack_handler(function () use (&$acks) {
        $acks++;
    });
    $cch->set_nack_handler(function () use (&$nacks) {
        $nacks++;
    });
    $cch->set_return_listener(function ($code, $text, $ex, $rk, $m) use (&$returns) {
        $returns[] = [$code, $text];
    });
    $cch->confirm_select();
    for ($i = 0; $i < 20; $i++) {
        $cch->basic_publish(new AMQPMessage("c$i", ['delivery_mode' => 2]), '', $durable);
    }
    $cch->wait_for_pending_acks_returns(WAIT);
    expect($acks >= 1 && $nacks === 0, "acks $acks nacks $nacks");
    [, $count] = $cch->queue_declare($durable, true);
    expect($count === 20, "message_count $count");
    $cch->queue_purge($durable);
    $cch->basic_publish(new AMQPMessage('x'), '', "$prefix.nowhere", true);
    $cch->wait_for_pending_acks_returns(WAIT);
    expect(count($returns) === 1, 'returns ' . count($returns));
    expect($returns[0] === [312, 'NO_ROUTE'], 'basic.return ' . json_encode($returns[0]));
    $cch->close();
});

check('transaction', function () use ($conn, $durable) {
    $tch = $conn->channel();
    $tch->tx_select();
    $tch->basic_publish(new AMQPMessage('rolled-back'), '', $durable);
    $tch->tx_rollback();
    [, $count] = $tch->queue_declare($durable, true);
    expect($count === 0, "after rollback message_count $count");
    $tch->basic_publish(new AMQPMessage('committed'), '', $durable);
    $tch->tx_commit();
    expect(getOne($tch, $durable, true)->getBody() === 'committed', 'committed body');
    $tch->close();
});

$ch2 = null;
check('channel-error-404-and-recovery', function () use ($conn, $durable, $prefix, &$ch2) {
    $ech = $conn->channel();
    try {
        $ech->queue_declare("$prefix.missing", true);
        throw new \RuntimeException('passive declare of a missing queue succeeded');
    } catch (AMQPProtocolChannelException $e) {
        expect($e->getCode() === 404, 'code ' . $e->getCode());
        expect(str_starts_with($e->getMessage(), 'NOT_FOUND - no queue'), 'text ' . $e->getMessage());
    }
    expect(!$ech->is_open(), 'channel still open after 404');
    expect($conn->isConnected(), 'connection lost by a channel error');
    $ch2 = $conn->channel();
    [$name] = $ch2->queue_declare($durable, true);
    expect($name === $durable, 'new channel does not work');
});

check('large-message-1MiB', function () use ($conn, $durable, &$ch2) {
    $c = $ch2 ?? $conn->channel();
    $body = random_bytes(1 << 20);
    $c->basic_publish(new AMQPMessage($body), '', $durable);
    $got = getOne($c, $durable, true)->getBody();
    expect(strlen($got) === strlen($body), 'length ' . strlen($got));
    expect($got === $body, 'body differs');
});

check('queue-delete-and-close', function () use ($conn, $durable, &$ch2) {
    $c = $ch2 ?? $conn->channel();
    $c->queue_delete($durable);
    $conn->close();
    expect(!$conn->isConnected(), 'still connected');
});

if ($failures) {
    echo 'FAIL summary: ' . count($failures) . ' checks failed: ' . implode(', ', $failures) . "\n";
    exit(1);
}
echo "ok summary: all checks passed\n";
