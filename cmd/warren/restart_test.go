package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// restartBroker stops a broker with SIGTERM and starts it again on the same data.
func restartBroker(t *testing.T, bin, data string, cmd *exec.Cmd) (string, *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("warren exited with %v on SIGTERM", err)
	}
	return crashStart(t, bin, data)
}

// mustOK fails the test on an error.
func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dialChannel connects to url and opens a channel; the connection closes when
// the test ends.
func dialChannel(t *testing.T, url string) (*amqp091.Connection, *amqp091.Channel) {
	t.Helper()
	conn, err := amqp091.Dial(url)
	mustOK(t, err)
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	mustOK(t, err)
	return conn, ch
}

// TestRestartKeepsDurableState pins what survives a restart: durable exchanges,
// queues and bindings do, transient ones and exclusive queues do not; persistent
// messages on durable queues do, in order, transient messages do not; a message
// that was delivered but not acked comes back flagged redelivered.
func TestRestartKeepsDurableState(t *testing.T) {
	bin := warrenBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	url, cmd := crashStart(t, bin, data)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	conn, ch := dialChannel(t, url)
	must := func(err error) { t.Helper(); mustOK(t, err) }
	must(ch.ExchangeDeclare("dx", "topic", true, false, false, false, nil))
	must(ch.ExchangeDeclare("tx", "fanout", false, false, false, false, nil))
	for _, q := range []struct {
		name               string
		durable, exclusive bool
	}{{"dq", true, false}, {"dq2", true, false}, {"tq", false, false}, {"xq", true, true}} {
		_, err := ch.QueueDeclare(q.name, q.durable, false, q.exclusive, false, nil)
		must(err)
	}
	must(ch.QueueBind("dq", "a.#", "dx", false, nil))
	must(ch.QueueBind("dq2", "a.#", "dx", false, nil))
	must(ch.QueueBind("tq", "a.#", "dx", false, nil))
	must(ch.Confirm(false))
	publish := func(key string, mode uint8, body string) {
		t.Helper()
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "dx", key, false, false,
			amqp091.Publishing{DeliveryMode: mode, Body: []byte(body)})
		must(err)
		if !dc.Wait() {
			t.Fatalf("publish %q nacked", body)
		}
	}
	publish("a.1", amqp091.Persistent, "p1")
	publish("a.2", amqp091.Transient, "t1")
	publish("a.3", amqp091.Persistent, "p2")
	publish("a.4", amqp091.Persistent, "p3")
	// Take p1 from dq without acking it: it must come back redelivered.
	d, ok, err := ch.Get("dq", false)
	if err != nil || !ok || string(d.Body) != "p1" {
		t.Fatalf("get: %v %v %q", err, ok, d.Body)
	}
	// Ack p1 on dq2: it must not come back there.
	d2, ok, err := ch.Get("dq2", false)
	if err != nil || !ok || string(d2.Body) != "p1" {
		t.Fatalf("get dq2: %v %v %q", err, ok, d2.Body)
	}
	must(d2.Ack(false))
	// A round trip on the channel: the ack has been processed.
	_, err = ch.QueueDeclarePassive("dq2", true, false, false, false, nil)
	must(err)

	url, cmd = restartBroker(t, bin, data, cmd)
	conn, ch = dialChannel(t, url)
	if err := ch.ExchangeDeclarePassive("dx", "topic", true, false, false, false, nil); err != nil {
		t.Fatalf("durable exchange lost: %v", err)
	}
	for _, gone := range []string{"tx"} {
		c2, _ := conn.Channel()
		if err := c2.ExchangeDeclarePassive(gone, "fanout", false, false, false, false, nil); err == nil {
			t.Errorf("transient exchange %s survived", gone)
		}
	}
	for _, gone := range []string{"tq", "xq"} {
		c2, _ := conn.Channel()
		if _, err := c2.QueueDeclarePassive(gone, false, false, false, false, nil); err == nil {
			t.Errorf("queue %s survived a restart", gone)
		}
	}
	drain := func(q string) (bodies []string, redelivered []bool) {
		t.Helper()
		for {
			d, ok, err := ch.Get(q, true)
			must(err)
			if !ok {
				return
			}
			bodies = append(bodies, string(d.Body))
			redelivered = append(redelivered, d.Redelivered)
		}
	}
	bodies, redelivered := drain("dq")
	if len(bodies) != 3 || bodies[0] != "p1" || bodies[1] != "p2" || bodies[2] != "p3" {
		t.Fatalf("dq after restart = %q, want [p1 p2 p3]", bodies)
	}
	if !redelivered[0] || redelivered[1] || redelivered[2] {
		t.Errorf("dq redelivered flags = %v, want [true false false]", redelivered)
	}
	bodies, _ = drain("dq2")
	if len(bodies) != 2 || bodies[0] != "p2" || bodies[1] != "p3" {
		t.Fatalf("dq2 after restart = %q, want [p2 p3] (p1 was acked)", bodies)
	}
	// The binding survived: a new publish still routes to both durable queues.
	must(ch.PublishWithContext(context.Background(), "dx", "a.5", false, false, amqp091.Publishing{Body: []byte("n")}))
	if b, _ := drain("dq"); len(b) != 1 {
		t.Errorf("binding dx -> dq lost: %q", b)
	}
}

// TestRestartKeepsExtensions pins the extensions' state across a restart: a
// priority queue's messages come back by priority, a message's expiry holds
// (one that expired while the broker was down is dead-lettered at start, with
// its x-death), a dead-lettered persistent message keeps its x-death, and a
// message a consumer took without acking comes back redelivered.
func TestRestartKeepsExtensions(t *testing.T) {
	bin := warrenBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	url, cmd := crashStart(t, bin, data)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	conn, ch := dialChannel(t, url)
	must := func(err error) { t.Helper(); mustOK(t, err) }
	declare := func(name string, args amqp091.Table) {
		t.Helper()
		_, err := ch.QueueDeclare(name, true, false, false, false, args)
		must(err)
	}
	declare("dead", nil)
	declare("prio", amqp091.Table{"x-max-priority": int32(9)})
	declare("ttl", amqp091.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead"})
	declare("taken", nil)
	must(ch.Confirm(false))
	publish := func(q string, p amqp091.Publishing) {
		t.Helper()
		p.DeliveryMode = amqp091.Persistent
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", q, false, false, p)
		must(err)
		if !dc.Wait() {
			t.Fatalf("publish to %s nacked", q)
		}
	}
	for i, prio := range []uint8{1, 7, 3} {
		publish("prio", amqp091.Publishing{Priority: prio, Body: []byte{byte('a' + i)}})
	}
	publish("ttl", amqp091.Publishing{Expiration: "300", Body: []byte("short")})
	publish("ttl", amqp091.Publishing{Expiration: "3600000", Body: []byte("long")})
	publish("taken", amqp091.Publishing{Body: []byte("t")})
	cons, _ := conn.Channel()
	deliveries, err := cons.Consume("taken", "", false, false, false, false, nil)
	must(err)
	if d := <-deliveries; string(d.Body) != "t" || d.Redelivered {
		t.Fatalf("first delivery %q redelivered=%v", d.Body, d.Redelivered)
	}
	// Batches reach the disk in the order they were submitted: once a later
	// publish is confirmed, the delivery's mark is on disk too.
	publish("taken", amqp091.Publishing{Body: []byte("after")})
	start := time.Now()

	cmd.Process.Kill() // kill -9: nothing is flushed on the way out
	cmd.Wait()
	for time.Since(start) < 400*time.Millisecond { // "short" must expire while the broker is down
		time.Sleep(10 * time.Millisecond)
	}
	url, cmd = crashStart(t, bin, data)
	conn, ch = dialChannel(t, url)
	get := func(q string) (amqp091.Delivery, bool) {
		t.Helper()
		d, ok, err := ch.Get(q, true)
		must(err)
		return d, ok
	}
	var order string
	for {
		d, ok := get("prio")
		if !ok {
			break
		}
		order += string(d.Body)
	}
	if order != "bca" {
		t.Errorf("priority queue after restart gave %q, want bca (priorities 7, 3, 1)", order)
	}
	if d, ok := get("ttl"); !ok || string(d.Body) != "long" {
		t.Errorf("ttl queue after restart: %q %v, want only the long-lived message", d.Body, ok)
	}
	d, ok := get("dead")
	deaths, _ := d.Headers["x-death"].([]any)
	if !ok || string(d.Body) != "short" || len(deaths) != 1 || d.Expiration != "" {
		t.Fatalf("dead-letter queue after restart: %q %v, x-death %v, expiration %q", d.Body, ok, d.Headers["x-death"], d.Expiration)
	}
	if death, _ := deaths[0].(amqp091.Table); death["reason"] != "expired" || death["queue"] != "ttl" || death["original-expiration"] != "300" {
		t.Errorf("x-death entry %v", deaths[0])
	}
	if d, ok := get("taken"); !ok || !d.Redelivered {
		t.Errorf("consumed but unacked message after restart: %v redelivered=%v, want it redelivered", ok, d.Redelivered)
	}
}
