package exchange

import (
	"slices"
	"testing"
)

// vhost is a set of exchanges for Route's lookup.
type vhost map[string]*Exchange

func (v vhost) lookup(name string) *Exchange { return v[name] }

func (v vhost) declare(t *testing.T, name, typ string, args map[string]any) *Exchange {
	t.Helper()
	x, err := New(name, typ, false, false, false, args)
	if err != nil {
		t.Fatal(err)
	}
	v[name] = x
	return x
}

func (v vhost) route(from, key string, headers map[string]any) []string {
	got := Route(v.lookup, v[from], key, headers, nil)
	slices.Sort(got)
	return got
}

func TestRouteCycle(t *testing.T) {
	v := vhost{}
	a := v.declare(t, "a", Direct, nil)
	b := v.declare(t, "b", Fanout, nil)
	c := v.declare(t, "c", Topic, nil)
	a.Bind(Binding{Destination: "b", ToExchange: true, Key: "k"})
	a.Bind(Binding{Destination: "qa", Key: "k"})
	b.Bind(Binding{Destination: "c", ToExchange: true})
	b.Bind(Binding{Destination: "a", ToExchange: true}) // back to the start
	c.Bind(Binding{Destination: "a", ToExchange: true, Key: "#"})
	c.Bind(Binding{Destination: "c", ToExchange: true, Key: "#"}) // to itself
	c.Bind(Binding{Destination: "qc", Key: "k"})
	if got := v.route("a", "k", nil); !slices.Equal(got, []string{"qa", "qc"}) {
		t.Errorf("got %v", got)
	}
	if got := v.route("b", "zz", nil); len(got) != 0 {
		t.Errorf("got %v", got)
	}
}

// TestRouteDiamond reaches one queue along several paths and one exchange along two.
func TestRouteDiamond(t *testing.T) {
	v := vhost{}
	top := v.declare(t, "top", Fanout, nil)
	left := v.declare(t, "left", Fanout, nil)
	right := v.declare(t, "right", Direct, nil)
	bottom := v.declare(t, "bottom", Topic, nil)
	top.Bind(Binding{Destination: "left", ToExchange: true})
	top.Bind(Binding{Destination: "right", ToExchange: true})
	top.Bind(Binding{Destination: "q1"})
	left.Bind(Binding{Destination: "bottom", ToExchange: true})
	left.Bind(Binding{Destination: "q1"})
	left.Bind(Binding{Destination: "q2"})
	right.Bind(Binding{Destination: "bottom", ToExchange: true, Key: "k"})
	right.Bind(Binding{Destination: "q2", Key: "k"})
	right.Bind(Binding{Destination: "q3", Key: "k"})
	bottom.Bind(Binding{Destination: "q3", Key: "*"})
	bottom.Bind(Binding{Destination: "q4", Key: "#"})
	bottom.Bind(Binding{Destination: "q1", Key: "#"})
	if got := v.route("top", "k", nil); !slices.Equal(got, []string{"q1", "q2", "q3", "q4"}) {
		t.Errorf("got %v", got)
	}
	// dst keeps what it had; only what Route appends is de-duplicated.
	got := Route(v.lookup, top, "k", nil, []string{"q1", "zz"})
	if len(got) != 6 || got[0] != "q1" || got[1] != "zz" {
		t.Errorf("Route with dst = %v", got)
	}
}

// TestRouteAlternateExchange follows RabbitMQ 3.10.8: x1 (direct) is bound to x2 (direct,
// alternate-exchange ae) with key k. While x2 also routed k back to x1, nothing reached
// ae; after that binding went, a message published to x1 with key k reached ae's queue:
// the alternate exchange of an exchange reached through a binding is used too.
func TestRouteAlternateExchange(t *testing.T) {
	v := vhost{}
	x1 := v.declare(t, "x1", Direct, nil)
	x2 := v.declare(t, "x2", Direct, map[string]any{"alternate-exchange": "ae"})
	ae := v.declare(t, "ae", Fanout, nil)
	ae.Bind(Binding{Destination: "aeq"})
	x1.Bind(Binding{Destination: "x2", ToExchange: true, Key: "k"})
	x2.Bind(Binding{Destination: "x1", ToExchange: true, Key: "k"})
	if got := v.route("x1", "k", nil); len(got) != 0 {
		t.Errorf("with the cycle: got %v, RabbitMQ routed nowhere", got)
	}
	x2.Unbind(Binding{Destination: "x1", ToExchange: true, Key: "k"})
	if got := v.route("x1", "k", nil); !slices.Equal(got, []string{"aeq"}) {
		t.Errorf("got %v, RabbitMQ routed to aeq", got)
	}
	if got := v.route("x1", "other", nil); len(got) != 0 {
		t.Errorf("x1 has no alternate exchange: got %v", got)
	}
	if got := v.route("x2", "other", nil); !slices.Equal(got, []string{"aeq"}) {
		t.Errorf("got %v", got)
	}
	x2.Bind(Binding{Destination: "q", Key: "k"})
	if got := v.route("x1", "k", nil); !slices.Equal(got, []string{"q"}) {
		t.Errorf("x2 routes k: got %v", got)
	}
	// An alternate exchange that is missing, or its own alternate: no loop.
	ae.RemoveDestination("aeq", false)
	ae2 := v.declare(t, "ae2", Fanout, map[string]any{"alternate-exchange": "ae2"})
	_ = ae2
	v["x2"], _ = New("x2", Direct, false, false, false, map[string]any{"alternate-exchange": "ae2"})
	if got := v.route("x2", "k", nil); len(got) != 0 {
		t.Errorf("got %v", got)
	}
	v["x2"], _ = New("x2", Direct, false, false, false, map[string]any{"alternate-exchange": "gone"})
	if got := v.route("x2", "k", nil); len(got) != 0 {
		t.Errorf("got %v", got)
	}
}

func TestRouteMissingExchange(t *testing.T) {
	v := vhost{}
	a := v.declare(t, "a", Fanout, nil)
	a.Bind(Binding{Destination: "gone", ToExchange: true})
	a.Bind(Binding{Destination: "q"})
	if got := v.route("a", "", nil); !slices.Equal(got, []string{"q"}) {
		t.Errorf("got %v", got)
	}
	if got := Route(v.lookup, nil, "", nil, nil); got != nil {
		t.Errorf("nil from: %v", got)
	}
}

func TestRouteHeadersChain(t *testing.T) {
	v := vhost{}
	h := v.declare(t, "h", Headers, nil)
	f := v.declare(t, "f", Fanout, nil)
	h.Bind(Binding{Destination: "f", ToExchange: true, Args: table{"x-match": "any", "a": int32(1)}})
	f.Bind(Binding{Destination: "q"})
	if got := v.route("h", "", table{"a": int64(1)}); !slices.Equal(got, []string{"q"}) {
		t.Errorf("got %v", got)
	}
	if got := v.route("h", "", table{"a": int64(2)}); len(got) != 0 {
		t.Errorf("got %v", got)
	}
}

// TestRouteKeysAlternate: with several routing keys, the alternate exchange takes the
// message only if no key routes it.
func TestRouteKeysAlternate(t *testing.T) {
	v := vhost{}
	x := v.declare(t, "x", Direct, map[string]any{"alternate-exchange": "ae"})
	ae := v.declare(t, "ae", Fanout, nil)
	ae.Bind(Binding{Destination: "aeq"})
	x.Bind(Binding{Destination: "q", Key: "cc"})
	got := RouteKeys(v.lookup, x, []string{"rk", "cc"}, nil, nil)
	if !slices.Equal(got, []string{"q"}) {
		t.Errorf("got %v", got)
	}
	got = RouteKeys(v.lookup, x, []string{"rk", "none"}, nil, nil)
	if !slices.Equal(got, []string{"aeq"}) {
		t.Errorf("got %v", got)
	}
}

// TestRouteManyExchanges visits more exchanges than the seen list holds before it
// switches to a map.
func TestRouteManyExchanges(t *testing.T) {
	v := vhost{}
	root := v.declare(t, "root", Fanout, nil)
	var want []string
	for i := 0; i < 3*seenSetMin; i++ {
		n := "x" + string(rune('A'+i))
		x := v.declare(t, n, Fanout, nil)
		root.Bind(Binding{Destination: n, ToExchange: true})
		x.Bind(Binding{Destination: "root", ToExchange: true})
		x.Bind(Binding{Destination: "shared"})
		x.Bind(Binding{Destination: "q" + n})
		want = append(want, "q"+n)
	}
	want = append(want, "shared")
	slices.Sort(want)
	if got := v.route("root", "", nil); !slices.Equal(got, want) {
		t.Errorf("got %v", got)
	}
}
