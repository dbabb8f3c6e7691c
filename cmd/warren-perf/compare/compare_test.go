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

func TestQuietest(t *testing.T) {
	run := func(steal ...float64) *runResult { return &runResult{steal: steal} }
	for _, c := range []struct {
		name  string
		runs  []*runResult
		want  int
		tries []float64
	}{
		{"quiet at once", []*runResult{run(0.1)}, 0, []float64{0.1}},
		{"quiet on the third", []*runResult{run(2, 1), run(0.9), run(0.2, 0.1)}, 2, []float64{3, 0.9, 0.30000000000000004}},
		{"never quiet", []*runResult{run(4), run(0.8), run(2)}, 1, []float64{4, 0.8, 2}},
		{"unknown steal counts as none", []*runResult{run(-1)}, 0, []float64{0}},
	} {
		got := quietest(c.runs, 0.5)
		if got != c.runs[c.want] || len(got.stealRuns) != len(c.tries) {
			t.Errorf("%s: kept %v (tries %v), want run %d", c.name, got.steal, got.stealRuns, c.want)
			continue
		}
		for i, x := range c.tries {
			if d := got.stealRuns[i] - x; d > 1e-9 || d < -1e-9 {
				t.Errorf("%s: tries %v, want %v", c.name, got.stealRuns, c.tries)
			}
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
	doc := report(t, st, res)
	for _, want := range []string{
		"| 1 | 1→1, 16 B, transient, auto-ack | deliveries/s | 450,000 msg/s | 25,000 msg/s | 18.00× | ≥ 4× | yes |",
		"scenario 1, RabbitMQ, run 2: run: boom",
		"| figure | Warren | RabbitMQ | ratio | Warren runs | RabbitMQ runs |\n|---|---|---|---|---|---|\n| deliveries/s | 450,000 msg/s | 25,000 msg/s | 18.00× | 400,000 msg/s, 500,000 msg/s | 50,000 msg/s, 0 msg/s |",
		"--uri amqp://guest:guest@127.0.0.1:1/ --producers 1",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}

// The latency scenario also runs against the sink: its report has the sink's
// column and, under the summary, the bar beside the floor the sink measured.
func TestReportFloor(t *testing.T) {
	st := &settings{repeats: 1, duration: 5 * time.Second, backlog: 1000, wport: 1, rport: 2,
		out: filepath.Join(t.TempDir(), "BENCHMARKS.md")}
	var sc scenario
	for _, s := range scenarios(st) {
		if s.floor {
			sc = s
		}
	}
	if sc.num != 6 {
		t.Fatalf("the floor scenario is %d, want 6", sc.num)
	}
	run := func(p99 float64) *runResult {
		return &runResult{phases: []*summary{{ReceiveRate: 10000, Latency: &latency{P50: p99 / 4, P99: p99}}}, rss: []float64{20}}
	}
	res := &scenarioResult{sc: sc, runs: map[string][]*runResult{
		"Warren": {run(500)}, "RabbitMQ": {run(800)}, sinkName: {run(360)},
	}}
	doc := report(t, st, res)
	for _, want := range []string{
		"| 6 | latency at 10,000 msg/s | latency p99 | 500 µs | 800 µs | 0.62× | ≤ 0.5× | **no** |",
		"Scenario 6's bar for latency p99 is 400 µs (≤ 0.5× RabbitMQ's). warren-perf against its relay sink, with no broker in the path, measured 360 µs in the same run (360 µs), 0.45× RabbitMQ's",
		"| figure | Warren | RabbitMQ | ratio | sink | Warren runs | RabbitMQ runs | sink runs |\n|---|---|---|---|---|---|---|---|\n| latency p99 | 500 µs | 800 µs | 0.62× | 360 µs | 500 µs | 800 µs | 360 µs |",
		"sink run 1, run: published 0",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}

// report writes the report of res and returns it.
func report(t *testing.T, st *settings, res *scenarioResult) string {
	t.Helper()
	if err := writeReport(st, []*scenarioResult{res}, time.Now()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(st.out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
