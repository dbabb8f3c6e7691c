package exchange

import (
	"fmt"
	"testing"
)

func discard(string, bool) {}

// TestMatchAllocatesNothing: once the pooled scratch is warm, matching a direct,
// fanout or topic exchange, and routing through exchange-to-exchange bindings,
// allocate nothing.
func TestMatchAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	v := vhost{}
	d := v.declare(t, "d", Direct, nil)
	f := v.declare(t, "f", Fanout, nil)
	tp := v.declare(t, "t", Topic, nil)
	h := v.declare(t, "h", Headers, nil)
	for i := 0; i < 100; i++ {
		q := fmt.Sprint("q", i)
		d.Bind(Binding{Destination: q, Key: fmt.Sprint("k", i%10)})
		f.Bind(Binding{Destination: q})
		tp.Bind(Binding{Destination: q, Key: []string{"a.#", "*.b.*", "a.b.c", "#.c", "#"}[i%5] + fmt.Sprint(".", i%3)})
		h.Bind(Binding{Destination: q, Args: table{"x-match": "any", "a": fmt.Sprint(i % 10), "n": int32(i)}})
	}
	d.Bind(Binding{Destination: "t", ToExchange: true, Key: "k1"})
	tp.Bind(Binding{Destination: "f", ToExchange: true, Key: "#"})
	headers := map[string]any{"a": "3", "n": int64(7)}
	dst := make([]string, 0, 256)
	for name, fn := range map[string]func(){
		"direct":  func() { d.Match("k1", nil, discard) },
		"fanout":  func() { f.Match("", nil, discard) },
		"topic":   func() { tp.Match("a.b.c.1", nil, discard) },
		"headers": func() { h.Match("", headers, discard) },
		"route":   func() { dst = Route(v.lookup, d, "k1", nil, dst[:0]) },
	} {
		fn() // warm the scratch
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
	if len(dst) != 100 {
		t.Errorf("route reached %d queues, want 100", len(dst))
	}
}
