package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args ...string) (Options, error) {
	t.Helper()
	return parseOptions(args, io.Discard)
}

func TestDefaults(t *testing.T) {
	o, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.URI != "amqp://guest:guest@127.0.0.1:5672/" || o.Producers != 1 || o.Consumers != 1 ||
		o.Size != 16 || o.Duration != 10*time.Second || o.queueName(0) != "perf-0" || o.MultiAck != 1 {
		t.Errorf("defaults: %+v", o)
	}
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "--producers", "16", "--consumers", "16", "--queues", "16", "--queue", "q-%d",
		"--size", "1024", "--persistent", "--durable", "--confirm", "1000", "--prefetch", "500",
		"--multi-ack", "50", "--rate", "10", "--time", "30s", "--connections", "4",
		"--exchange", "x", "--type", "fanout", "--json", "out.json", "--procs", "1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Producers != 16 || o.Queues != 16 || o.queueName(7) != "q-7" || !o.Persistent || !o.Durable ||
		o.Confirm != 1000 || o.Prefetch != 500 || o.MultiAck != 50 || o.Rate != 10 ||
		o.Duration != 30*time.Second || o.Connections != 4 || o.Exchange != "x" || o.ExchangeType != "fanout" || o.JSON != "out.json" || o.Procs != 1 {
		t.Errorf("parsed: %+v", o)
	}
	if o.copiesPerMessage() != 16 {
		t.Errorf("fanout to 16 queues: %d copies per message", o.copiesPerMessage())
	}
	if got := o.channelsPerConnection(); got != 8 {
		t.Errorf("16 producers + 16 consumers on 4 connections: %d channels each, want 8", got)
	}
}

func TestCountLimitedRunsHaveNoTimeLimit(t *testing.T) {
	o, err := parse(t, "--consumers", "0", "--pmessages", "1000000")
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration != 0 {
		t.Errorf("fill: --time %v, want 0 (until the count)", o.Duration)
	}
	o, err = parse(t, "--producers", "0", "--drain")
	if err != nil || o.Duration != 0 {
		t.Errorf("drain: %v, --time %v", err, o.Duration)
	}
	o, err = parse(t, "--pmessages", "10", "--time", "5s")
	if err != nil || o.Duration != 5*time.Second {
		t.Errorf("explicit --time kept: %v, %v", err, o.Duration)
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string][]string{
		"not a loopback":    {"--uri", "amqp://guest:guest@10.1.2.3:5672/"},
		"amqp":              {"--uri", "http://127.0.0.1/"},
		"pattern":           {"--queues", "2", "--queue", "fixed"},
		"both 0":            {"--producers", "0", "--consumers", "0"},
		"multi-ack":         {"--prefetch", "10", "--multi-ack", "20"},
		"unbounded":         {"--time", "0"},
		"unbounded consume": {"--time", "0", "--producers", "0"},
		"drain producers":   {"--drain"},
		"type":              {"--exchange", "x", "--type", "nope"},
		"reserved":          {"--exchange", "amq.direct"},
		"negative":          {"--size", "-1"},
		"procs":             {"--procs", "-1"},
		"channels":          {"--producers", "3000", "--connections", "1"},
		"extra":             {"oops"},
		"unknown":           {"--nope"},
	}
	for name, args := range cases {
		if _, err := parse(t, args...); err == nil {
			t.Errorf("%s: %v accepted", name, args)
		}
	}
}

func TestParseURI(t *testing.T) {
	cases := []struct {
		in   string
		want brokerURI
	}{
		{"amqp://guest:guest@127.0.0.1:5672/", brokerURI{"127.0.0.1:5672", "guest", "guest", "/"}},
		{"amqp://localhost", brokerURI{"localhost:5672", "guest", "guest", "/"}},
		{"amqp://u:p%40ss@[::1]:5673/%2f", brokerURI{"[::1]:5673", "u", "p@ss", "/"}},
		{"amqp://u:p@127.0.0.2:1/vh", brokerURI{"127.0.0.2:1", "u", "p", "vh"}},
	}
	for _, c := range cases {
		got, err := parseURI(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseURI(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	if _, err := parseURI("amqp://example.com/"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a remote host: %v", err)
	}
}

func TestRoles(t *testing.T) {
	o := defaultOptions()
	o.Producers, o.Consumers = 2, 3
	n, rs := o.roles()
	if n != 5 || len(rs) != 5 || rs[1].conn != 1 || rs[2].conn != 2 || rs[4].conn != 4 {
		t.Errorf("a connection each: %d, %+v", n, rs)
	}
	o.Connections = 2
	n, rs = o.roles()
	if n != 2 || rs[0].conn != 0 || rs[1].conn != 1 || rs[2].conn != 0 || rs[4].conn != 0 {
		t.Errorf("two connections: %d, %+v", n, rs)
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}
