package exchange

import (
	"errors"
	"slices"
	"testing"
)

func matchAll(x *Exchange, key string, headers map[string]any) []string {
	var got []string
	x.Match(key, headers, func(d string, toExchange bool) {
		if toExchange {
			d = "x:" + d
		}
		got = append(got, d)
	})
	slices.Sort(got)
	return got
}

func TestNew(t *testing.T) {
	for _, typ := range []string{Direct, Fanout, Topic, Headers} {
		x, err := New("x", typ, true, false, true, map[string]any{"alternate-exchange": "ae"})
		if err != nil || x.Type != typ || !x.Durable || x.AutoDelete || !x.Internal || x.AlternateExchange() != "ae" {
			t.Errorf("New(%q) = %+v, %v", typ, x, err)
		}
	}
	_, err := New("x", "x-consistent-hash", false, false, false, nil)
	if !errors.Is(err, ErrUnknownType) || err.Error() != "unknown exchange type 'x-consistent-hash'" {
		t.Errorf("unknown type: %v", err) // RabbitMQ: 503 COMMAND_INVALID - unknown exchange type 'x-foo'
	}
	x, _ := New("x", Direct, false, false, false, map[string]any{"alternate-exchange": []byte("ae")})
	if x.AlternateExchange() != "" {
		t.Error("a non-longstr alternate-exchange was taken") // RabbitMQ refuses it at declare
	}
}

func TestDirect(t *testing.T) {
	x, _ := New("d", Direct, false, false, false, nil)
	x.Bind(Binding{Destination: "q1", Key: "k"})
	x.Bind(Binding{Destination: "q2", Key: "k"})
	x.Bind(Binding{Destination: "q3", Key: "K"})
	x.Bind(Binding{Destination: "q4", Key: ""})
	x.Bind(Binding{Destination: "x1", ToExchange: true, Key: "k"})
	x.Bind(Binding{Destination: "q5", Key: "a.*"})
	for key, want := range map[string][]string{
		"k":   {"q1", "q2", "x:x1"},
		"K":   {"q3"},
		"":    {"q4"},
		"k ":  nil,
		"a.*": {"q5"}, // no wildcards
		"a.b": nil,
	} {
		if got := matchAll(x, key, nil); !slices.Equal(got, want) {
			t.Errorf("key %q: got %v, want %v", key, got, want)
		}
	}
}

func TestFanout(t *testing.T) {
	x, _ := New("f", Fanout, false, false, false, nil)
	x.Bind(Binding{Destination: "q1", Key: "a"})
	x.Bind(Binding{Destination: "q2"})
	x.Bind(Binding{Destination: "q1", Key: "b"}) // a second binding to q1
	x.Bind(Binding{Destination: "x", ToExchange: true})
	want := []string{"q1", "q2", "x:x"}
	for _, key := range []string{"", "a", "zzz"} {
		if got := matchAll(x, key, nil); !slices.Equal(got, want) {
			t.Errorf("key %q: got %v, want %v", key, got, want)
		}
	}
	x.Unbind(Binding{Destination: "q1", Key: "a"})
	if got := matchAll(x, "", nil); !slices.Equal(got, want) {
		t.Errorf("q1 still has a binding: got %v", got)
	}
	x.Unbind(Binding{Destination: "q1", Key: "b"})
	if got := matchAll(x, "", nil); !slices.Equal(got, []string{"q2", "x:x"}) {
		t.Errorf("got %v", got)
	}
}

// TestBindingIdentity follows RabbitMQ 3.10.8: binding a queue with key k and args
// {a: 1 (signedint)}, {a: 1 (long)} twice, {a: 1.0 (double)}, none and {} left four
// bindings (list_bindings), and one publish reached the queue once.
func TestBindingIdentity(t *testing.T) {
	x, _ := New("d", Direct, false, false, false, nil)
	steps := []struct {
		args map[string]any
		new  bool
	}{
		{table{"a": int32(1)}, true},
		{table{"a": int64(1)}, true},
		{table{"a": int64(1)}, false},
		{map[string]any{"a": int64(1)}, false}, // the Go type of the table does not matter
		{table{"a": float64(1)}, true},
		{nil, true},
		{table{}, false},
		{table{"a": table{"b": "c"}}, true},
		{table{"a": map[string]any{"b": "c"}}, false},
		{table{"a": table{"b": []byte("c")}}, true},
	}
	for i, s := range steps {
		if got := x.Bind(Binding{Destination: "q", Key: "k", Args: s.args}); got != s.new {
			t.Errorf("step %d: Bind(%v) = %v, want %v", i, s.args, got, s.new)
		}
	}
	if n := x.BindingCount(); n != 6 {
		t.Errorf("BindingCount = %d, want 6", n)
	}
	if got := matchAll(x, "k", nil); !slices.Equal(got, []string{"q"}) {
		t.Errorf("got %v", got)
	}
	// Same args, other destination kind or key: other bindings.
	if !x.Bind(Binding{Destination: "q", ToExchange: true, Key: "k"}) || !x.Bind(Binding{Destination: "q", Key: "k2"}) {
		t.Error("bindings differing in ToExchange or Key were taken as duplicates")
	}
	if x.Unbind(Binding{Destination: "q", Key: "k", Args: table{"a": int8(1)}}) {
		t.Error("Unbind of a binding that does not exist reported true")
	}
	if !x.Unbind(Binding{Destination: "q", Key: "k", Args: table{"a": int32(1)}}) {
		t.Error("Unbind failed")
	}
	if x.Unbind(Binding{Destination: "q", Key: "k", Args: table{"a": int32(1)}}) {
		t.Error("second Unbind reported true")
	}
}

func TestBindingsOrderAndRemoveDestination(t *testing.T) {
	x, _ := New("t", Topic, false, false, false, nil)
	all := []Binding{
		{Destination: "q1", Key: "a.#"},
		{Destination: "q2", Key: "a.*"},
		{Destination: "q1", Key: "b"},
		{Destination: "q1", ToExchange: true, Key: "c"},
		{Destination: "q3", Key: "#"},
		{Destination: "q1", Key: "a.#", Args: table{"x": "y"}},
	}
	for _, b := range all {
		x.Bind(b)
	}
	if got := x.Bindings(); !slices.EqualFunc(got, all, func(a, b Binding) bool { return sameBinding(&a, &b) }) {
		t.Errorf("Bindings() = %v", got)
	}
	if n := x.RemoveDestination("q1", false); n != 3 {
		t.Errorf("RemoveDestination(q1) = %d, want 3", n)
	}
	if n := x.RemoveDestination("q1", false); n != 0 {
		t.Errorf("second RemoveDestination(q1) = %d", n)
	}
	want := []Binding{all[1], all[3], all[4]}
	if got := x.Bindings(); !slices.EqualFunc(got, want, func(a, b Binding) bool { return sameBinding(&a, &b) }) {
		t.Errorf("Bindings() after removal = %v", got)
	}
	if got := matchAll(x, "a.b", nil); !slices.Equal(got, []string{"q2", "q3"}) {
		t.Errorf("a.b matched %v", got)
	}
	if got := matchAll(x, "c", nil); !slices.Equal(got, []string{"q3", "x:q1"}) {
		t.Errorf("c matched %v", got)
	}
	if n := x.RemoveDestination("q1", true); n != 1 || x.BindingCount() != 2 {
		t.Errorf("RemoveDestination(exchange q1) = %d, count %d", n, x.BindingCount())
	}
	// Destination ids are reused, and a reused id does not carry old bindings.
	x.Bind(Binding{Destination: "q9", Key: "z"})
	if got := matchAll(x, "z", nil); !slices.Equal(got, []string{"q3", "q9"}) {
		t.Errorf("z matched %v", got)
	}
	if got := x.destIDs.next; got > 4 {
		t.Errorf("%d destination ids for 3 destinations ever live at once", got)
	}
}

// TestMatchKeys routes with several routing keys (CC/BCC): each destination once.
func TestMatchKeys(t *testing.T) {
	for _, typ := range []string{Direct, Topic} {
		x, _ := New("x", typ, false, false, false, nil)
		x.Bind(Binding{Destination: "q1", Key: "a"})
		x.Bind(Binding{Destination: "q1", Key: "b"})
		x.Bind(Binding{Destination: "q2", Key: "b"})
		var got []string
		x.MatchKeys([]string{"a", "b", "c", "a"}, nil, func(d string, _ bool) { got = append(got, d) })
		slices.Sort(got)
		if !slices.Equal(got, []string{"q1", "q2"}) {
			t.Errorf("%s: got %v", typ, got)
		}
	}
}

// TestLargeDestSet exercises a destSet past its linear-scan size: a fanout with many
// queues, bound twice each, unbound in another order.
func TestLargeDestSet(t *testing.T) {
	x, _ := New("f", Fanout, false, false, false, nil)
	const n = 100
	name := func(i int) string { return string(rune('A'+i%26)) + string(rune('a'+i/26)) }
	for i := 0; i < n; i++ {
		x.Bind(Binding{Destination: name(i), Key: "1"})
		x.Bind(Binding{Destination: name(i), Key: "2"})
	}
	for i := 0; i < n; i += 2 {
		x.Unbind(Binding{Destination: name(i), Key: "1"})
		x.Unbind(Binding{Destination: name(i), Key: "2"})
	}
	for i := 1; i < n; i += 2 {
		x.Unbind(Binding{Destination: name(i), Key: "2"})
	}
	got := matchAll(x, "", nil)
	var want []string
	for i := 1; i < n; i += 2 {
		want = append(want, name(i))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d destinations, want %d: %v", len(got), len(want), got)
	}
}
