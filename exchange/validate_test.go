package exchange

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestValidateBindingArgsLikeRabbitMQ checks the reply texts RabbitMQ 3.10.8 sent (after
// "PRECONDITION_FAILED - ") when queue.bind to a headers exchange carried these x-match
// values. RabbitMQ also refused them on exchange.bind, accepted them on queue.unbind,
// and accepted any x-match on a fanout exchange.
func TestValidateBindingArgsLikeRabbitMQ(t *testing.T) {
	const badValue = "; expected all, any, all-with-x, or any-with-x"
	for _, tc := range []struct {
		xMatch any
		want   string
	}{
		{"foo", `Invalid x-match field value <<"foo">>` + badValue},
		{"ALL", `Invalid x-match field value <<"ALL">>` + badValue},
		{"all ", `Invalid x-match field value <<"all ">>` + badValue},
		{"", `Invalid x-match field value <<>>` + badValue},
		{`a"b`, `Invalid x-match field value <<"a\"b">>` + badValue},
		{"a\nb", `Invalid x-match field value <<"a\nb">>` + badValue},
		{"é", `Invalid x-match field value <<"é">>` + badValue}, // UTF-8 bytes in 160-255 pass through
		{"Ā", `Invalid x-match field value <<196,128>>` + badValue},
		{"\x01a", `Invalid x-match field value <<1,97>>` + badValue},
		{"a\x7f", `Invalid x-match field value <<97,127>>` + badValue},
		{"\xa0\xff", "Invalid x-match field value <<\"\xa0\xff\">>" + badValue},
		{strings.Repeat("b", 100), `Invalid x-match field value <<"` + strings.Repeat("b", 100) + `">>` + badValue},
		{[]byte("all"), `Invalid x-match field type binary (value <<"all">>); expected longstr`},
		{int32(1), `Invalid x-match field type signedint (value 1); expected longstr`},
		{int64(7), `Invalid x-match field type long (value 7); expected longstr`},
		{int8(-3), `Invalid x-match field type byte (value -3); expected longstr`},
		{uint8(200), `Invalid x-match field type unsignedbyte (value 200); expected longstr`},
		{int16(-300), `Invalid x-match field type short (value -300); expected longstr`},
		{uint16(60000), `Invalid x-match field type unsignedshort (value 60000); expected longstr`},
		{uint32(4000000000), `Invalid x-match field type unsignedint (value 4000000000); expected longstr`},
		{nil, `Invalid x-match field type void (value undefined); expected longstr`},
		{true, `Invalid x-match field type bool (value true); expected longstr`},
		{float64(1.5), `Invalid x-match field type double (value 1.5); expected longstr`},
		{float64(1e6), `Invalid x-match field type double (value 1.0e6); expected longstr`},
		{float32(0.1), `Invalid x-match field type float (value 0.10000000149011612); expected longstr`},
		{table{"a": int32(1)}, `Invalid x-match field type table (value [{<<"a">>,signedint,1}]); expected longstr`},
		{[]any{"a"}, `Invalid x-match field type array (value [{longstr,<<"a">>}]); expected longstr`},
		{time.Unix(5, 0), `Invalid x-match field type timestamp (value 5); expected longstr`},
		{decimal{2, 314}, `Invalid x-match field type decimal (value {2,314}); expected longstr`},
		{decimal{1, -1}, `Invalid x-match field type decimal (value {1,4294967295}); expected longstr`},
	} {
		err := ValidateBindingArgs(Headers, map[string]any{"x-match": tc.xMatch, "a": "b"})
		if err == nil || err.Error() != tc.want {
			t.Errorf("x-match %#v:\n got %v\nwant %s", tc.xMatch, err, tc.want)
		}
		if !errors.Is(err, ErrInvalidBindingArgs) {
			t.Errorf("x-match %#v: error is not ErrInvalidBindingArgs", tc.xMatch)
		}
		if err := ValidateBindingArgs(Fanout, map[string]any{"x-match": tc.xMatch}); err != nil {
			t.Errorf("fanout, x-match %#v: %v", tc.xMatch, err)
		}
	}
	for _, ok := range []map[string]any{nil, {}, {"x-match": "all"}, {"x-match": "any"}, {"x-match": "all-with-x"}, {"x-match": "any-with-x"}, {"x-other": 1}} {
		if err := ValidateBindingArgs(Headers, ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

// TestErlFloat checks floats against io_lib:format("~p") in OTP 25 (the Erlang that runs
// RabbitMQ 3.10.8 here); the formatter also agreed on 20,000 random floats.
func TestErlFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0.1, "0.1"}, {1e20, "1.0e20"}, {100000, "1.0e5"}, {123456, "123456.0"}, {0.0001, "0.0001"},
		{0.001, "0.001"}, {1e-5, "1.0e-5"}, {1.5, "1.5"}, {100, "100.0"}, {1e15, "1.0e15"}, {1e16, "1.0e16"},
		{123456789012345, "123456789012345.0"}, {1234567890123456, "1234567890123456.0"},
		{12345678901234567, "1.2345678901234568e16"}, {math.Copysign(0, -1), "-0.0"}, {0, "0.0"},
		{float64(float32(0.1)), "0.10000000149011612"}, {3e-7, "3.0e-7"}, {1e100, "1.0e100"},
		{2.5e-308, "2.5e-308"}, {5e-324, "5.0e-324"}, {9007199254740990, "9007199254740990.0"},
		{9007199254740992, "9.007199254740992e15"}, {120000, "1.2e5"}, {0.00012, "1.2e-4"},
		{1.5e-4, "1.5e-4"}, {1234567, "1234567.0"}, {-12345, "-12345.0"}, {10, "10.0"},
	} {
		if got := string(appendErlFloat(nil, tc.f)); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.f, got, tc.want)
		}
	}
}
