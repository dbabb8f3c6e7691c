package exchange

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchWords builds topic keys like "eu.orders.created.v2" from small vocabularies.
var benchWords = [][]string{
	{"eu", "us", "ap", "sa", "af"},
	{"orders", "payments", "users", "stock", "ship", "audit", "mail", "search"},
	{"created", "updated", "deleted", "failed", "retried"},
	{"v1", "v2", "v3"},
}

func benchTopicPattern(r *rand.Rand, i int) string {
	ws := make([]string, 0, 4)
	for level, vocab := range benchWords {
		switch x := r.IntN(10); {
		case x == 0:
			ws = append(ws, "*")
		case x == 1 && level > 0:
			ws = append(ws, "#")
			return strings.Join(ws, ".")
		default:
			ws = append(ws, vocab[r.IntN(len(vocab))])
		}
	}
	// Literal words unique to a binding keep the trie wide, like per-tenant keys.
	return strings.Join(ws, ".") + fmt.Sprintf(".t%d", i%2000)
}

func newBenchTopic(b *testing.B) (*Exchange, []string) {
	r := rand.New(rand.NewPCG(7, 7))
	x, _ := New("t", Topic, false, false, false, nil)
	for i := 0; i < 10000; i++ {
		x.Bind(Binding{Destination: fmt.Sprint("q", i%3000), Key: benchTopicPattern(r, i)})
	}
	keys := make([]string, 256)
	for i := range keys {
		ws := make([]string, 0, 5)
		for _, vocab := range benchWords {
			ws = append(ws, vocab[r.IntN(len(vocab))])
		}
		keys[i] = strings.Join(ws, ".") + fmt.Sprintf(".t%d", r.IntN(2000))
	}
	return x, keys
}

// BenchmarkTopicMatch10k matches routing keys against 10,000 topic bindings with mixed
// literal, "*" and "#" patterns.
func BenchmarkTopicMatch10k(b *testing.B) {
	x, keys := newBenchTopic(b)
	matched := 0
	count := func(string, bool) { matched++ }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Match(keys[i%len(keys)], nil, count)
	}
	b.ReportMetric(float64(matched)/float64(b.N), "dests/op")
}

// BenchmarkDirectMatch10k matches against 10,000 direct bindings.
func BenchmarkDirectMatch10k(b *testing.B) {
	x, _ := New("d", Direct, false, false, false, nil)
	for i := 0; i < 10000; i++ {
		x.Bind(Binding{Destination: fmt.Sprint("q", i), Key: fmt.Sprint("key.", i%5000)})
	}
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = fmt.Sprint("key.", i*19%5000)
	}
	matched := 0
	count := func(string, bool) { matched++ }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Match(keys[i%len(keys)], nil, count)
	}
	b.ReportMetric(float64(matched)/float64(b.N), "dests/op")
}

// BenchmarkHeadersMatch10k matches a message with five headers against 10,000 headers
// bindings of two or three arguments each, x-match all and any.
func BenchmarkHeadersMatch10k(b *testing.B) {
	x, _ := New("h", Headers, false, false, false, nil)
	for i := 0; i < 10000; i++ {
		args := map[string]any{
			"region":  benchWords[0][i%5],
			"service": benchWords[1][i%8],
		}
		if i%3 == 0 {
			args["version"] = int32(i % 4)
		}
		if i%2 == 0 {
			args["x-match"] = "any"
			args["tenant"] = fmt.Sprint("t", i)
		}
		x.Bind(Binding{Destination: fmt.Sprint("q", i), Args: args})
	}
	headers := []map[string]any{
		{"region": "eu", "service": "orders", "version": int64(1), "tenant": "t42", "trace": []byte("abc")},
		{"region": "us", "service": "mail", "version": int64(3), "tenant": "t7", "trace": []byte("def")},
	}
	matched := 0
	count := func(string, bool) { matched++ }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Match("", headers[i%2], count)
	}
	b.ReportMetric(float64(matched)/float64(b.N), "dests/op")
}

// BenchmarkFanoutMatch1k delivers to 1,000 queues.
func BenchmarkFanoutMatch1k(b *testing.B) {
	x, _ := New("f", Fanout, false, false, false, nil)
	for i := 0; i < 1000; i++ {
		x.Bind(Binding{Destination: fmt.Sprint("q", i)})
	}
	b.ReportAllocs()
	for b.Loop() {
		x.Match("", nil, discard)
	}
}

// BenchmarkRouteE2E routes through a direct exchange bound to a topic exchange of
// 10,000 bindings and, from there, to a fanout exchange.
func BenchmarkRouteE2E(b *testing.B) {
	tp, keys := newBenchTopic(b)
	v := vhost{"t": tp}
	d, _ := New("d", Direct, false, false, false, nil)
	f, _ := New("f", Fanout, false, false, false, nil)
	v["d"], v["f"] = d, f
	d.Bind(Binding{Destination: "t", ToExchange: true, Key: "k"})
	d.Bind(Binding{Destination: "q1", Key: "k"})
	tp.Bind(Binding{Destination: "f", ToExchange: true, Key: "#"})
	for i := 0; i < 10; i++ {
		f.Bind(Binding{Destination: fmt.Sprint("q", i)})
	}
	_ = keys
	dst := make([]string, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		dst = Route(v.lookup, d, "k", nil, dst[:0])
	}
}
