package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Summary is the result of a run, printed at the end and written by --json.
// Rates divide a count by the time from the start of the load to the last
// event of its kind (last publish, last confirm, last delivery).
type Summary struct {
	Broker      string    `json:"broker"`
	Args        []string  `json:"args"`
	Start       time.Time `json:"start"`
	Producers   int       `json:"producers"`
	Consumers   int       `json:"consumers"`
	Connections int       `json:"connections"`
	Size        int       `json:"size"`
	Backlog     int64     `json:"backlog,omitempty"` // --drain: messages in the queues at the start

	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Published      int64   `json:"published"`
	Confirmed      int64   `json:"confirmed"`
	Nacked         int64   `json:"nacked"`
	Received       int64   `json:"received"`
	PublishSeconds float64 `json:"publish_seconds"`
	ConfirmSeconds float64 `json:"confirm_seconds"`
	ReceiveSeconds float64 `json:"receive_seconds"`
	PublishRate    float64 `json:"publish_rate"` // msg/s
	ConfirmRate    float64 `json:"confirm_rate"` // confirms (acks and nacks) per second
	ReceiveRate    float64 `json:"receive_rate"` // deliveries per second, all consumers

	Latency        *Latency `json:"latency,omitempty"`         // end to end: delivery time minus send time
	ConfirmLatency *Latency `json:"confirm_latency,omitempty"` // confirm time minus send time

	Blocked   int64      `json:"blocked,omitempty"` // connection.blocked notifications
	Errors    []string   `json:"errors,omitempty"`
	Intervals []Interval `json:"intervals,omitempty"`
}

// Interval is one line of the per-interval report.
type Interval struct {
	Seconds     float64 `json:"t"`
	PublishRate float64 `json:"sent"`
	ConfirmRate float64 `json:"confirmed"`
	ReceiveRate float64 `json:"received"`
}

// Latency holds a histogram's figures in microseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Min   float64 `json:"min_us"`
	Mean  float64 `json:"mean_us"`
	P50   float64 `json:"p50_us"`
	P95   float64 `json:"p95_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p999_us"`
	Max   float64 `json:"max_us"`
}

func latencyOf(h *Histogram) *Latency {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return &Latency{
		Count: h.Count(), Min: us(h.Min()), Mean: h.Mean() / 1e3,
		P50: us(h.Quantile(0.50)), P95: us(h.Quantile(0.95)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max()),
	}
}

// print writes the summary for people.
func (s *Summary) print(w io.Writer) {
	fmt.Fprintf(w, "summary: %.2f s, %d producers, %d consumers, %d connections, %d-octet messages\n",
		s.ElapsedSeconds, s.Producers, s.Consumers, s.Connections, s.Size)
	if s.Backlog > 0 {
		fmt.Fprintf(w, "  backlog     %14s messages at the start\n", group(s.Backlog))
	}
	if s.Producers > 0 {
		fmt.Fprintf(w, "  published   %14s  %12s msg/s over %.2f s\n", group(s.Published), group(int64(s.PublishRate)), s.PublishSeconds)
	}
	if s.Confirmed+s.Nacked > 0 {
		fmt.Fprintf(w, "  confirmed   %14s  %12s msg/s over %.2f s (%s nacked)\n", group(s.Confirmed), group(int64(s.ConfirmRate)), s.ConfirmSeconds, group(s.Nacked))
	}
	if s.Consumers > 0 {
		fmt.Fprintf(w, "  received    %14s  %12s msg/s over %.2f s\n", group(s.Received), group(int64(s.ReceiveRate)), s.ReceiveSeconds)
	}
	if s.Latency != nil {
		fmt.Fprintf(w, "  latency     %s\n", s.Latency)
	}
	if s.ConfirmLatency != nil {
		fmt.Fprintf(w, "  confirm lat %s\n", s.ConfirmLatency)
	}
	if s.Blocked > 0 {
		fmt.Fprintf(w, "  blocked     the broker blocked publishing %d times (resource alarm)\n", s.Blocked)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(w, "  error       %s\n", e)
	}
}

func (l *Latency) String() string {
	return fmt.Sprintf("min %s  median %s  p95 %s  p99 %s  p99.9 %s  max %s  (%s samples)",
		micros(l.Min), micros(l.P50), micros(l.P95), micros(l.P99), micros(l.P999), micros(l.Max), group(int64(l.Count)))
}

// micros formats microseconds as µs or ms.
func micros(us float64) string {
	if us >= 1000 {
		return strconv.FormatFloat(us/1000, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(us, 'f', 0, 64) + " µs"
}

// writeJSON writes the summary to path.
func (s *Summary) writeJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// group formats n with thousands separators: 1234567 → "1,234,567".
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
