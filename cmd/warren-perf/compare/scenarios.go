package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// phase is one warren-perf command line of a scenario.
type phase struct {
	name  string
	args  []string
	limit time.Duration // hard limit on the process
}

// metric is one figure of a scenario, compared as Warren / RabbitMQ.
type metric struct {
	label        string
	unit         string
	value        func(r *runResult) float64
	higherBetter bool
	bar          float64 // 0: informational
}

func (m *metric) barText() string {
	switch {
	case m.bar == 0:
		return ""
	case m.higherBetter:
		return "≥ " + trimFloat(m.bar) + "×"
	default:
		return "≤ " + trimFloat(m.bar) + "×"
	}
}

func (m *metric) met(ratio float64) bool {
	if m.higherBetter {
		return ratio >= m.bar
	}
	return ratio <= m.bar
}

type scenario struct {
	num         int
	short       string // for the summary table
	title       string
	phases      []phase
	queueArgs   []string // the arguments that name its queues and exchange, for --delete-only
	restartEach bool     // restart both brokers before every run (figures on memory)
	// stealSensitive: a run with more than settings.maxSteal of steal is run
	// again (see quietest).
	stealSensitive bool
	// floor: the scenario also runs against warren-perf's relay sink, whose
	// figures are the instrument's own floor in the same run.
	floor   bool
	metrics []metric
	note    string
}

// runResult is one run of a scenario on one broker.
type runResult struct {
	phases []*summary
	rss    []float64 // peak MiB per phase
	steal  []float64 // seconds of CPU the hypervisor took from the machine per phase, -1 unknown
	errs   []string
	// stealRuns is the steal of every run made for this one, in order (see
	// quietest).
	stealRuns []float64
}

// totalSteal is the steal of every phase of the run (unknown counts as none).
func (r *runResult) totalSteal() float64 {
	var t float64
	for _, x := range r.steal {
		t += max(x, 0)
	}
	return t
}

// quietest returns, of runs made one after another until one had at most
// maxSteal seconds of steal (or they ran out), the last if it was that quiet and
// otherwise the one with the least steal.
func quietest(runs []*runResult, maxSteal float64) *runResult {
	best := runs[0]
	for _, r := range runs {
		if r.totalSteal() < best.totalSteal() {
			best = r
		}
	}
	if last := runs[len(runs)-1]; last.totalSteal() <= maxSteal {
		best = last
	}
	for _, r := range runs {
		best.stealRuns = append(best.stealRuns, r.totalSteal())
	}
	return best
}

func (r *runResult) peakRSS() float64 {
	var p float64
	for _, x := range r.rss {
		p = max(p, x)
	}
	return p
}

func (r *runResult) phase(i int) *summary {
	if i < len(r.phases) && r.phases[i] != nil {
		return r.phases[i]
	}
	return &summary{}
}

func receiveRate(i int) func(*runResult) float64 {
	return func(r *runResult) float64 { return r.phase(i).ReceiveRate }
}

func p99(i int) func(*runResult) float64 {
	return func(r *runResult) float64 {
		if l := r.phase(i).Latency; l != nil {
			return l.P99
		}
		return 0
	}
}

func p50(i int) func(*runResult) float64 {
	return func(r *runResult) float64 {
		if l := r.phase(i).Latency; l != nil {
			return l.P50
		}
		return 0
	}
}

func rss(r *runResult) float64 { return r.peakRSS() }

// scenarios are the benchmark's scenarios, as the project's issue lists them.
func scenarios(st *settings) []scenario {
	d := st.duration.String()
	timed := st.duration + 2*time.Minute
	deliveries := func(bar float64) metric {
		return metric{label: "deliveries/s", unit: "msg/s", value: receiveRate(0), higherBetter: true, bar: bar}
	}
	published := metric{label: "publishes/s", unit: "msg/s", value: func(r *runResult) float64 { return r.phase(0).PublishRate }, higherBetter: true}
	latency99 := metric{label: "latency p99", unit: "µs", value: p99(0)}
	memory := metric{label: "peak RSS", unit: "MiB", value: rss}
	backlog := strconv.Itoa(st.backlog)
	return []scenario{
		{
			num: 1, short: "1→1, 16 B, transient, auto-ack", title: "1 producer, 1 consumer, 16 B, transient, auto-ack",
			phases:    []phase{{"run", []string{"--producers", "1", "--consumers", "1", "--size", "16", "--auto-ack", "--queue", "bench-s1", "--time", d}, timed}},
			queueArgs: []string{"--queue", "bench-s1"},
			metrics:   []metric{deliveries(4), published, latency99, memory},
		},
		{
			num: 2, short: "1→1, 1 KiB, transient, manual ack", title: "1 producer, 1 consumer, 1 KiB, transient, manual ack (every 50, multiple), prefetch 500",
			phases: []phase{{"run", []string{"--producers", "1", "--consumers", "1", "--size", "1024", "--prefetch", "500", "--multi-ack", "50",
				"--queue", "bench-s2", "--time", d}, timed}},
			queueArgs: []string{"--queue", "bench-s2"},
			metrics:   []metric{deliveries(3), published, latency99, memory},
		},
		{
			num: 3, short: "1→1, 1 KiB, persistent, confirms", title: "1 producer, 1 consumer, 1 KiB, persistent, durable queue, confirms (1,000 in flight), manual ack (every 50, multiple), prefetch 500",
			phases: []phase{{"run", []string{"--producers", "1", "--consumers", "1", "--size", "1024", "--persistent", "--durable", "--confirm", "1000",
				"--prefetch", "500", "--multi-ack", "50", "--queue", "bench-s3", "--time", d}, timed}},
			queueArgs: []string{"--queue", "bench-s3", "--durable"},
			metrics: []metric{deliveries(4), {label: "confirms/s", unit: "msg/s", value: func(r *runResult) float64 { return r.phase(0).ConfirmRate }, higherBetter: true},
				latency99, memory},
		},
		{
			num: 4, short: "16→16, 16 queues, 1 KiB, persistent, confirms", title: "16 producers, 16 consumers, 16 queues, 1 KiB, persistent, durable, confirms (1,000 in flight each), manual ack (every 50), prefetch 500",
			phases: []phase{{"run", []string{"--producers", "16", "--consumers", "16", "--queues", "16", "--queue", "bench-s4-%d", "--size", "1024",
				"--persistent", "--durable", "--confirm", "1000", "--prefetch", "500", "--multi-ack", "50", "--time", d}, timed}},
			queueArgs: []string{"--queues", "16", "--queue", "bench-s4-%d", "--durable"},
			metrics: []metric{deliveries(3), {label: "confirms/s", unit: "msg/s", value: func(r *runResult) float64 { return r.phase(0).ConfirmRate }, higherBetter: true},
				latency99, memory},
		},
		{
			num: 5, short: "fanout to 10 queues, 1 KiB", title: "fanout exchange to 10 queues, 1 producer, 10 consumers, 1 KiB, transient, manual ack (every 50), prefetch 500",
			phases: []phase{{"run", []string{"--producers", "1", "--consumers", "10", "--queues", "10", "--queue", "bench-s5-%d",
				"--exchange", "bench-s5", "--type", "fanout", "--size", "1024", "--prefetch", "500", "--multi-ack", "50", "--time", d}, timed}},
			queueArgs: []string{"--queues", "10", "--queue", "bench-s5-%d", "--exchange", "bench-s5", "--type", "fanout"},
			metrics:   []metric{deliveries(3), published, latency99, memory},
		},
		{
			num: 6, short: "latency at 10,000 msg/s", title: "latency at a fixed 10,000 msg/s: 1 producer, 1 consumer, 1 KiB, transient, auto-ack",
			phases: []phase{{"run", []string{"--producers", "1", "--consumers", "1", "--size", "1024", "--rate", "10000", "--auto-ack",
				"--queue", "bench-s6", "--procs", "1", "--time", d}, timed}},
			queueArgs:      []string{"--queue", "bench-s6"},
			stealSensitive: true,
			floor:          true,
			note: "warren-perf runs on one core here (`--procs 1`): at this rate it needs no more, and on two shared cores its own " +
				"latency against its relay sink is lower that way (median 77 µs against 103 µs, at the same p99; " +
				"[cmd/warren-perf/README.md](../cmd/warren-perf/README.md#the-instruments-ceiling)). " +
				"The sink column is the same command against `warren-perf sink` (no broker: it relays each publish straight to the consumer), " +
				"run in turn with the two brokers: the instrument's own floor in this run. It is of the same order as the brokers' p99, " +
				"so this scenario is sensitive to other load on the machine.",
			metrics: []metric{{label: "latency p99", unit: "µs", value: p99(0), bar: 0.5},
				{label: "latency median", unit: "µs", value: p50(0)}, deliveries(0), memory},
		},
		{
			num: 7, short: "1,000 connections at 10 msg/s", title: "1,000 connections, each a producer and a consumer of its own queue at 10 msg/s (10,000 msg/s in all), 1 KiB, auto-ack",
			phases: []phase{{"run", []string{"--producers", "1000", "--consumers", "1000", "--connections", "1000", "--queues", "1000",
				"--queue", "bench-s7-%d", "--rate", "10", "--size", "1024", "--auto-ack", "--time", d}, st.duration + 4*time.Minute}},
			queueArgs: []string{"--queues", "1000", "--queue", "bench-s7-%d"},
			note: "RabbitMQ runs with the hard open-file limit (the compare program raises the soft limit that runuser sets to 1,024; " +
				"with 1,024 RabbitMQ raises its file descriptor alarm at about 840 connections and accepts no more). " +
				"warren-perf's own latency with 1,000 connections against its sink is in cmd/warren-perf/README.md.",
			restartEach: true,
			metrics: []metric{{label: "peak RSS", unit: "MiB", value: rss, bar: 0.5},
				{label: "latency p99", unit: "µs", value: p99(0), bar: 0.5}, deliveries(0)},
		},
		{
			num: 8, short: "backlog of 1 KiB persistent messages", title: "backlog: " + group(st.backlog) + " persistent 1 KiB messages published with confirms (1,000 in flight) into a durable queue with no consumer, then drained by 1 consumer (prefetch 500, ack every 50)",
			phases: []phase{
				{"fill", []string{"--producers", "1", "--consumers", "0", "--queue", "bench-s8", "--durable", "--persistent", "--size", "1024",
					"--confirm", "1000", "--pmessages", backlog}, 25 * time.Minute},
				{"drain", []string{"--producers", "0", "--consumers", "1", "--queue", "bench-s8", "--durable", "--drain",
					"--prefetch", "500", "--multi-ack", "50"}, 20 * time.Minute},
			},
			queueArgs:   []string{"--queue", "bench-s8", "--durable"},
			restartEach: true,
			metrics: []metric{
				{label: "fill (confirmed/s)", unit: "msg/s", value: func(r *runResult) float64 { return r.phase(0).ConfirmRate }, higherBetter: true, bar: 5},
				{label: "drain (deliveries/s)", unit: "msg/s", value: receiveRate(1), higherBetter: true, bar: 3},
				{label: "peak RSS", unit: "MiB", value: rss, bar: 1},
				{label: "fill peak RSS", unit: "MiB", value: func(r *runResult) float64 { return at(r.rss, 0) }},
				{label: "drain peak RSS", unit: "MiB", value: func(r *runResult) float64 { return at(r.rss, 1) }},
			},
		},
	}
}

func at(xs []float64, i int) float64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}

// scenarioResult holds every run of a scenario, by broker name.
type scenarioResult struct {
	sc   scenario
	runs map[string][]*runResult
}

// runScenario runs sc st.repeats times on each broker, alternating.
func runScenario(ctx context.Context, st *settings, sc scenario, brokers []*broker) (*scenarioResult, error) {
	res := &scenarioResult{sc: sc, runs: map[string][]*runResult{}}
	for rep := range st.repeats {
		for _, b := range brokers {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if rep == 0 || sc.restartEach || !b.alive() {
				b.stop()
				if err := b.start(); err != nil {
					return nil, fmt.Errorf("%s: %w", b.name, err)
				}
			}
			logf("scenario %d, run %d of %d, %s", sc.num, rep+1, st.repeats, b.name)
			runs := []*runResult{runOnce(ctx, st, sc, b)}
			for sc.stealSensitive && len(runs) <= st.stealRetries && runs[len(runs)-1].totalSteal() > st.maxSteal && ctx.Err() == nil {
				logf("  %s: %.2f s of steal is over %.2f s: again (%d of at most %d more)",
					b.name, runs[len(runs)-1].totalSteal(), st.maxSteal, len(runs), st.stealRetries)
				runs = append(runs, runOnce(ctx, st, sc, b))
			}
			rr := quietest(runs, st.maxSteal)
			res.runs[b.name] = append(res.runs[b.name], rr)
			for _, e := range rr.errs {
				logf("  %s: %s", b.name, e)
			}
		}
	}
	return res, nil
}

// runOnce runs the phases of sc once against b, between deletions of its queues.
func runOnce(ctx context.Context, st *settings, sc scenario, b *broker) *runResult {
	rr := &runResult{}
	del := append(clone(sc.queueArgs), "--delete-only")
	if _, out, err := perf(ctx, st, b, time.Minute, del); err != nil {
		rr.errs = append(rr.errs, "deleting the queues before the run: "+err.Error()+" "+lastLine(out))
	}
	for _, ph := range sc.phases {
		sampler := sampleRSS(b.pid)
		steal0 := stolen()
		s, out, err := perf(ctx, st, b, ph.limit, ph.args)
		rr.rss = append(rr.rss, sampler.finish())
		rr.steal = append(rr.steal, stealBetween(steal0, stolen()))
		rr.phases = append(rr.phases, s)
		if err != nil {
			rr.errs = append(rr.errs, ph.name+": "+err.Error())
			if strings.TrimSpace(out) != "" {
				rr.errs = append(rr.errs, ph.name+" output: "+lastLine(out))
			}
			break
		}
		for _, e := range s.Errors {
			rr.errs = append(rr.errs, ph.name+": "+e)
		}
		logf("  %s %s: published %d confirmed %d received %d; %s msg/s out, %s msg/s in; peak RSS %.0f MiB; steal %.2f s",
			b.name, ph.name, s.Published, s.Confirmed, s.Received, group(int(s.PublishRate)), group(int(s.ReceiveRate)), rr.rss[len(rr.rss)-1], rr.steal[len(rr.steal)-1])
		if !b.alive() {
			rr.errs = append(rr.errs, ph.name+": the broker's process is gone")
			break
		}
	}
	if b.alive() {
		if _, out, err := perf(ctx, st, b, time.Minute, del); err != nil {
			rr.errs = append(rr.errs, "deleting the queues after the run: "+err.Error()+" "+lastLine(out))
		}
	}
	return rr
}

func clone(s []string) []string { return append([]string(nil), s...) }

// commandLine is the warren-perf command line of a phase against b.
func commandLine(st *settings, b *broker, ph phase) string {
	parts := []string{"bin/warren-perf", "--uri", b.uri()}
	for _, a := range ph.args {
		if strings.ContainsAny(a, "%* ") {
			a = "'" + a + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func group(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func trimFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
