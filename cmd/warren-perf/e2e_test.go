package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/warren-mq/warren/amqp"
	"github.com/warren-mq/warren/storage"
)

// startWarren starts an in-process Warren on a loopback port and returns its URL.
func startWarren(t *testing.T, store storage.Store) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := amqp.DefaultConfig()
	cfg.Store = store
	cfg.DataDir = t.TempDir()
	srv, err := amqp.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
		store.Close()
	})
	return fmt.Sprintf("amqp://guest:guest@%s/", ln.Addr())
}

// startSink starts the sink on a loopback port and returns its URL.
func startSink(t *testing.T, generate bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newSink(sinkOptions{generate: generate, size: 16})
	done := make(chan struct{})
	go func() { s.serve(ln); close(done) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.closeAll()
	})
	return fmt.Sprintf("amqp://guest:guest@%s/", ln.Addr())
}

// runArgs parses args as the command line would and runs them against uri.
func runArgs(t *testing.T, uri string, args ...string) *Summary {
	t.Helper()
	o, err := parseOptions(append([]string{"--uri", uri, "--interval", "0"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, err := execute(o, io.Discard)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return s
}

func TestEndToEndConfirmsAndManualAcks(t *testing.T) {
	uri := startWarren(t, storage.NewMemory())
	s := runArgs(t, uri, "--producers", "2", "--consumers", "2", "--queues", "2", "--queue", "e2e-%d",
		"--pmessages", "2000", "--size", "200", "--persistent", "--durable", "--confirm", "100",
		"--prefetch", "50", "--multi-ack", "10", "--cleanup")
	if s.Published != 4000 || s.Confirmed != 4000 || s.Nacked != 0 || s.Received != 4000 {
		t.Fatalf("published %d confirmed %d nacked %d received %d, want 4000 each", s.Published, s.Confirmed, s.Nacked, s.Received)
	}
	if s.Latency == nil || s.Latency.Count != 4000 || s.ConfirmLatency == nil || s.ConfirmLatency.Count != 4000 {
		t.Fatalf("latency %+v, confirm latency %+v", s.Latency, s.ConfirmLatency)
	}
	if s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
		t.Errorf("latency quantiles out of order: %+v", s.Latency)
	}
}

func TestFillThenDrain(t *testing.T) {
	uri := startWarren(t, mustOpen(t))
	fill := runArgs(t, uri, "--consumers", "0", "--producers", "2", "--queue", "backlog",
		"--pmessages", "1500", "--size", "1024", "--persistent", "--durable", "--confirm", "200")
	if fill.Confirmed != 3000 || fill.ConfirmRate <= 0 {
		t.Fatalf("fill: confirmed %d at %v msg/s", fill.Confirmed, fill.ConfirmRate)
	}
	// 3,000 is no multiple of 7: the last acks of each consumer go out at the end.
	drain := runArgs(t, uri, "--producers", "0", "--consumers", "2", "--queue", "backlog", "--durable",
		"--drain", "--prefetch", "100", "--multi-ack", "7")
	if drain.Backlog != 3000 || drain.Received != 3000 || drain.ReceiveRate <= 0 {
		t.Fatalf("drain: backlog %d received %d at %v msg/s", drain.Backlog, drain.Received, drain.ReceiveRate)
	}
	if drain.Latency != nil {
		t.Errorf("the drain measured a latency for messages another run sent: %+v", drain.Latency)
	}
	again := runArgs(t, uri, "--producers", "0", "--queue", "backlog", "--durable", "--drain", "--cleanup")
	if again.Backlog != 0 {
		t.Errorf("%d messages left in the queue after the drain", again.Backlog)
	}
}

func TestFanoutAndSharedConnections(t *testing.T) {
	uri := startWarren(t, storage.NewMemory())
	s := runArgs(t, uri, "--exchange", "perf-fan", "--type", "fanout", "--queues", "3", "--queue", "fan-%d",
		"--producers", "1", "--consumers", "3", "--connections", "2", "--pmessages", "500", "--auto-ack", "--cleanup")
	if s.Published != 500 || s.Received != 1500 || s.Connections != 2 {
		t.Fatalf("fanout: published %d received %d on %d connections", s.Published, s.Received, s.Connections)
	}
}

func TestRateLimitedProducers(t *testing.T) {
	uri := startWarren(t, storage.NewMemory())
	// Four producers at 200 msg/s each, 40 messages each: bounded by the count.
	s := runArgs(t, uri, "--producers", "4", "--consumers", "4", "--queues", "4", "--connections", "4",
		"--rate", "200", "--pmessages", "40", "--auto-ack", "--cleanup")
	if s.Published != 160 || s.Received != 160 {
		t.Fatalf("published %d received %d, want 160", s.Published, s.Received)
	}
}

func TestConsumerLimitAndDeleteOnly(t *testing.T) {
	uri := startWarren(t, storage.NewMemory())
	s := runArgs(t, uri, "--queue", "limited", "--time", "20s", "--cmessages", "300", "--prefetch", "10")
	if s.Received != 300 {
		t.Fatalf("received %d, want 300", s.Received)
	}
	if s.ElapsedSeconds >= 20 {
		t.Errorf("the run did not end at the consumer's limit")
	}
	runArgs(t, uri, "--queue", "limited", "--delete-only")
	// A fresh declare sees an empty queue.
	d := runArgs(t, uri, "--producers", "0", "--queue", "limited", "--drain")
	if d.Backlog != 0 || d.Received != 0 {
		t.Fatalf("after --delete-only: backlog %d", d.Backlog)
	}
	runArgs(t, uri, "--queue", "limited", "--delete-only")
}

func TestAgainstSink(t *testing.T) {
	relay := startSink(t, false)
	s := runArgs(t, relay, "--pmessages", "5000", "--confirm", "500", "--auto-ack")
	if s.Published != 5000 || s.Confirmed != 5000 || s.Received != 5000 {
		t.Fatalf("relay: published %d confirmed %d received %d", s.Published, s.Confirmed, s.Received)
	}
	gen := startSink(t, true)
	s = runArgs(t, gen, "--producers", "0", "--cmessages", "5000", "--prefetch", "100", "--multi-ack", "25")
	if s.Received != 5000 {
		t.Fatalf("generate: received %d", s.Received)
	}
	if s.Latency != nil {
		t.Errorf("generated deliveries carry no send time, yet latency %+v", s.Latency)
	}
}

func TestBrokerErrorIsReported(t *testing.T) {
	uri := startWarren(t, storage.NewMemory())
	runArgs(t, uri, "--queue", "clash", "--delete-only")
	runArgs(t, uri, "--queue", "clash", "--pmessages", "1", "--consumers", "0") // a transient queue
	o, err := parseOptions([]string{"--uri", uri, "--interval", "0", "--queue", "clash", "--durable", "--pmessages", "1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execute(o, io.Discard); err == nil {
		t.Fatal("redeclaring a transient queue as durable succeeded")
	}
}

func mustOpen(t *testing.T) storage.Store {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.TestOptions())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
