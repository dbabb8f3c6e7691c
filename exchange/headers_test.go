package exchange

import (
	"math"
	"slices"
	"testing"
	"time"
)

// table and decimal stand in for wire.Table and wire.Decimal: types this package
// cannot name.
type (
	table   map[string]any
	decimal struct {
		Scale uint8
		Value int32
	}
)

// headersCases are what RabbitMQ 3.10.8 did: a queue bound to a headers exchange with
// args received (match) or did not receive a message published with headers.
var headersCases = []struct {
	name    string
	args    map[string]any
	headers map[string]any
	match   bool
}{
	// Values compare as Erlang terms with ==: every integer width is a number, so is a
	// timestamp (seconds), and an integer equals a float of the same value.
	{"int32 vs int64", table{"k": int32(1)}, table{"k": int64(1)}, true},
	{"int8 vs uint32", table{"k": int8(1)}, table{"k": uint32(1)}, true},
	{"int vs string", table{"k": int32(1)}, table{"k": "1"}, false},
	{"int vs float64 1.0", table{"k": int32(1)}, table{"k": float64(1)}, true},
	{"float32 0.5 vs float64 0.5", table{"k": float32(0.5)}, table{"k": float64(0.5)}, true},
	{"float32 0.1 vs float64 0.1", table{"k": float32(0.1)}, table{"k": float64(0.1)}, false},
	{"int64 2^53+1 vs float 2^53", table{"k": int64(9007199254740993)}, table{"k": float64(9007199254740992)}, false},
	{"uint32 max vs int64", table{"k": uint32(4294967295)}, table{"k": int64(4294967295)}, true},
	{"int8 -1 vs uint8 255", table{"k": int8(-1)}, table{"k": uint8(255)}, false},
	{"timestamp vs int64", table{"k": time.Unix(1000, 0)}, table{"k": int64(1000)}, true},
	{"timestamp vs float", table{"k": time.Unix(2, 0)}, table{"k": float64(2)}, true},
	// longstr and byte array are both binaries.
	{"string vs bytes", table{"k": "v"}, table{"k": []byte("v")}, true},
	{"bytes vs string", table{"k": []byte("v")}, table{"k": "v"}, true},
	{"empty string vs empty table", table{"k": ""}, table{"k": table{}}, false},
	{"bool true vs int 1", table{"k": true}, table{"k": int32(1)}, false},
	{"bool vs bool", table{"k": true}, table{"k": true}, true},
	{"bool true vs false", table{"k": true}, table{"k": false}, false},
	// A void argument matches on the presence of the header.
	{"void arg, header string", table{"k": nil}, table{"k": "x"}, true},
	{"void arg, header absent", table{"k": nil}, table{"j": "x"}, false},
	{"void arg, header void", table{"k": nil}, table{"k": nil}, true},
	{"string arg, header void", table{"k": "x"}, table{"k": nil}, false},
	// A decimal is {Scale, Value}.
	{"decimal eq", table{"k": decimal{1, 10}}, table{"k": decimal{1, 10}}, true},
	{"decimal 1.0 vs 1", table{"k": decimal{1, 10}}, table{"k": decimal{0, 1}}, false},
	{"decimal vs int", table{"k": decimal{0, 1}}, table{"k": int32(1)}, false},
	// Tables and arrays are lists of typed elements: element types must be equal.
	{"table eq", table{"k": table{"a": int32(1)}}, table{"k": table{"a": int32(1)}}, true},
	{"table eq, plain map vs named type", table{"k": map[string]any{"a": "x"}}, table{"k": table{"a": "x"}}, true},
	{"table int32 vs int64", table{"k": table{"a": int32(1)}}, table{"k": table{"a": int64(1)}}, false},
	{"empty table vs empty table", table{"k": table{}}, table{"k": table{}}, true},
	{"empty table vs empty array", table{"k": table{}}, table{"k": []any{}}, true},
	{"array eq", table{"k": []any{"a", int32(1)}}, table{"k": []any{"a", int32(1)}}, true},
	{"array int32 vs int64", table{"k": []any{int32(1)}}, table{"k": []any{int64(1)}}, false},
	{"array string vs bytes", table{"k": []any{"a"}}, table{"k": []any{[]byte("a")}}, false},
	{"array order", table{"k": []any{"a", "b"}}, table{"k": []any{"b", "a"}}, false},
	{"nested empty table vs empty array in array", table{"k": []any{table{}}}, table{"k": []any{[]any{}}}, false},
	{"nested array int vs float", table{"k": []any{int32(1)}}, table{"k": []any{float64(1)}}, false},
	// x-match.
	{"all: 2 of 2", table{"a": "1", "b": "2"}, table{"a": "1", "b": "2", "c": "3"}, true},
	{"all: 1 of 2", table{"a": "1", "b": "2"}, table{"a": "1"}, false},
	{"any: 1 of 2", table{"x-match": "any", "a": "1", "b": "2"}, table{"a": "1"}, true},
	{"any: 0 of 2", table{"x-match": "any", "a": "1", "b": "2"}, table{"a": "2"}, false},
	{"all: empty args, no headers", table{}, nil, true},
	{"all: only x-match, no headers", table{"x-match": "all"}, nil, true},
	{"any: only x-match, headers", table{"x-match": "any"}, table{"a": "1"}, false},
	{"any: only x-match, no headers", table{"x-match": "any"}, nil, false},
	{"all: x-foo ignored", table{"x-foo": "1", "a": "1"}, table{"a": "1"}, true},
	{"all: only x-foo, no headers", table{"x-foo": "1"}, nil, true},
	{"all-with-x: x-foo must match, missing", table{"x-match": "all-with-x", "x-foo": "1", "a": "1"}, table{"a": "1"}, false},
	{"all-with-x: x-foo matches", table{"x-match": "all-with-x", "x-foo": "1", "a": "1"}, table{"a": "1", "x-foo": "1"}, true},
	{"any-with-x: only x-foo matches", table{"x-match": "any-with-x", "x-foo": "1", "a": "1"}, table{"x-foo": "1"}, true},
	{"any: only x-foo in header", table{"x-match": "any", "x-foo": "1", "a": "1"}, table{"x-foo": "1"}, false},
	{"all-with-x: x-match header", table{"x-match": "all-with-x"}, table{"x-match": "other"}, true},
	{"all-with-x: empty, no headers", table{"x-match": "all-with-x"}, nil, true},
	{"any-with-x: empty, headers", table{"x-match": "any-with-x"}, table{"a": "1"}, false},
	{"any: void arg present", table{"x-match": "any", "k": nil, "z": "no"}, table{"k": int32(5)}, true},
	{"all: header x-match ignored", table{"a": "1"}, table{"a": "1", "x-match": "any"}, true},
}

func TestHeadersMatchLikeRabbitMQ(t *testing.T) {
	for _, tc := range headersCases {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := New("h", Headers, false, false, false, nil)
			x.Bind(Binding{Destination: "q", Args: tc.args})
			var got []string
			x.Match("ignored", tc.headers, func(d string, _ bool) { got = append(got, d) })
			if (len(got) == 1) != tc.match {
				t.Errorf("matched %v, RabbitMQ %v", got, tc.match)
			}
		})
	}
}

func TestHeadersValueEqualCorners(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, tc := range []struct {
		p, d any
		want bool
	}{
		{float64(0), negZero, true},     // Erlang: 0.0 == -0.0
		{math.NaN(), math.NaN(), false}, // not an Erlang value; never equal
		{math.Inf(1), int64(math.MaxInt64), false},
		{float64(1 << 62), int64(1 << 62), true},
		{float64(-(1 << 63)), int64(math.MinInt64), true},
		{float64(1 << 63), int64(math.MaxInt64), false},
		{float64(1.5), int64(1), false},
		{time.Unix(5, 999), time.Unix(5, 0), true}, // the wire carries whole seconds
		{decimal{2, 5}, decimal{2, 5}, true},
		{decimal{2, 5}, struct{ Scale, Value int }{2, 5}, false},
		{table{"a": table{"b": []any{nil}}}, map[string]any{"a": map[string]any{"b": []any{nil}}}, true},
		{[]any{}, map[string]any{}, true},
		{[]any{int8(1)}, map[string]any{"a": int8(1)}, false},
		{"", []byte{}, true},
		{nil, nil, true},
		{[]any{[]int{1}}, []any{[]int{1}}, false}, // an uncomparable unknown type is never equal
	} {
		if got := headerValueEqual(tc.p, tc.d); got != tc.want {
			t.Errorf("headerValueEqual(%#v, %#v) = %v, want %v", tc.p, tc.d, got, tc.want)
		}
	}
}

// TestHeadersDestinationOnce binds one queue twice with different arguments; a message
// matching both reaches it once.
func TestHeadersDestinationOnce(t *testing.T) {
	x, _ := New("h", Headers, false, false, false, nil)
	x.Bind(Binding{Destination: "q", Args: table{"a": "1"}})
	x.Bind(Binding{Destination: "q", Args: table{"b": "2"}})
	x.Bind(Binding{Destination: "r", Args: table{"x-match": "any", "a": "1", "c": "3"}})
	var got []string
	x.Match("", table{"a": "1", "b": "2"}, func(d string, _ bool) { got = append(got, d) })
	slices.Sort(got)
	if !slices.Equal(got, []string{"q", "r"}) {
		t.Errorf("got %v", got)
	}
	x.Unbind(Binding{Destination: "q", Args: table{"a": "1"}})
	got = got[:0]
	x.Match("", table{"a": "1"}, func(d string, _ bool) { got = append(got, d) })
	if !slices.Equal(got, []string{"r"}) {
		t.Errorf("after unbind got %v", got)
	}
}
