package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestBars(t *testing.T) {
	up := metric{higherBetter: true, bar: 4}
	down := metric{bar: 0.5}
	if !up.met(4) || up.met(3.9) || up.barText() != "≥ 4×" {
		t.Errorf("higher-is-better bar: %v %v %q", up.met(4), up.met(3.9), up.barText())
	}
	if !down.met(0.5) || down.met(0.6) || down.barText() != "≤ 0.5×" {
		t.Errorf("lower-is-better bar: %v %v %q", down.met(0.5), down.met(0.6), down.barText())
	}
	if figure(1234567.4, "msg/s") != "1,234,567 msg/s" || figure(1500, "µs") != "1.5 ms" || figure(870, "µs") != "870 µs" {
		t.Errorf("figures: %q %q %q", figure(1234567.4, "msg/s"), figure(1500, "µs"), figure(870, "µs"))
	}
}

func TestReport(t *testing.T) {
	st := &settings{repeats: 2, duration: 5 * time.Second, backlog: 1000, wport: 1, rport: 2,
		out: filepath.Join(t.TempDir(), "docs", "BENCHMARKS.md")}
	sc := scenarios(st)[0]
	run := func(rate float64) *runResult {
		return &runResult{phases: []*summary{{ReceiveRate: rate, PublishRate: rate, Latency: &latency{P99: 100}}}, rss: []float64{50}}
	}
	res := &scenarioResult{sc: sc, runs: map[string][]*runResult{
		"Warren":   {run(400000), run(500000)},
		"RabbitMQ": {run(50000), {errs: []string{"run: boom"}, phases: []*summary{nil}}},
	}}
	if err := writeReport(st, []*scenarioResult{res}, time.Now()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(st.out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		"| 1 | 1→1, 16 B, transient, auto-ack | deliveries/s | 450,000 msg/s | 25,000 msg/s | 18.00× | ≥ 4× | yes |",
		"scenario 1, RabbitMQ, run 2: run: boom",
		"--uri amqp://guest:guest@127.0.0.1:1/ --producers 1",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}
