package exchange

import (
	"bytes"
	"math"
	"reflect"
	"time"
)

// This file compares decoded field-table values the two ways RabbitMQ does.
//
// RabbitMQ decodes a field table into a list of {Name, Type, Value} and an array into
// a list of {Type, Value}; integers of every width, timestamps (seconds) and floats
// become Erlang numbers, longstr and byte-array values become binaries, void becomes
// the atom undefined and a decimal becomes {Scale, Value}.
//
//   - Binding identity compares the whole argument table exactly (Erlang =:=), so
//     the type of every value matters: strictEqual.
//   - The headers exchange compares a binding argument with a header by value
//     (Erlang ==), so 1 (signedint) matches 1 (long) and 1.0 (double), and "1"
//     (longstr) matches "1" (byte array); nested tables and arrays are compared
//     element by element, types included: headerValueEqual.

// headerValueEqual reports whether binding argument p matches message header d the
// way RabbitMQ 3.10's headers exchange compares them (Erlang ==).
func headerValueEqual(p, d any) bool {
	switch pv := p.(type) {
	case string:
		switch dv := d.(type) {
		case string:
			return pv == dv
		case []byte:
			return pv == string(dv)
		}
		return false
	case []byte:
		switch dv := d.(type) {
		case string:
			return string(pv) == dv
		case []byte:
			return bytes.Equal(pv, dv)
		}
		return false
	case bool:
		dv, ok := d.(bool)
		return ok && pv == dv
	case nil:
		return d == nil
	}
	if pn, ok := numberOf(p); ok {
		dn, ok := numberOf(d)
		return ok && pn.equal(dn)
	}
	if isList(p) {
		return listsEqual(p, d)
	}
	return strictEqual(p, d)
}

// number is an Erlang number: an integer or a float.
type number struct {
	i       int64
	f       float64
	isFloat bool
}

// numberOf returns v as an Erlang number: every integer width and timestamps
// (seconds since the epoch) are integers, float and double are floats.
func numberOf(v any) (number, bool) {
	switch n := v.(type) {
	case int8:
		return number{i: int64(n)}, true
	case uint8:
		return number{i: int64(n)}, true
	case int16:
		return number{i: int64(n)}, true
	case uint16:
		return number{i: int64(n)}, true
	case int32:
		return number{i: int64(n)}, true
	case uint32:
		return number{i: int64(n)}, true
	case int64:
		return number{i: n}, true
	case int:
		return number{i: int64(n)}, true
	case float32:
		return number{f: float64(n), isFloat: true}, true
	case float64:
		return number{f: n, isFloat: true}, true
	case time.Time:
		return number{i: n.Unix()}, true
	}
	return number{}, false
}

// equal compares two numbers by value, exactly: an integer equals a float only if the
// float is that integer (RabbitMQ: 9007199254740993 (long) does not match
// 9007199254740992.0 (double)).
func (a number) equal(b number) bool {
	switch {
	case !a.isFloat && !b.isFloat:
		return a.i == b.i
	case a.isFloat && b.isFloat:
		return a.f == b.f
	case a.isFloat:
		return floatIsInt(a.f, b.i)
	default:
		return floatIsInt(b.f, a.i)
	}
}

func floatIsInt(f float64, i int64) bool {
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return false // fractional, NaN, infinite or out of int64's range
	}
	return int64(f) == i
}

// isList reports whether v is a table or an array: an Erlang list.
func isList(v any) bool {
	if _, ok := tableOf(v); ok {
		return true
	}
	_, ok := arrayOf(v)
	return ok
}

// listsEqual compares two lists with Erlang ==: a table equals a table and an array
// an array element by element, types included; an empty table equals an empty
// array (both are []), which RabbitMQ confirms.
func listsEqual(a, b any) bool {
	at, aIsTable := tableOf(a)
	bt, bIsTable := tableOf(b)
	if aIsTable && bIsTable {
		return tablesEqual(at, bt)
	}
	aa, aIsArray := arrayOf(a)
	ba, bIsArray := arrayOf(b)
	if aIsArray && bIsArray {
		return arraysEqual(aa, ba)
	}
	aEmpty := (aIsTable && len(at) == 0) || (aIsArray && len(aa) == 0)
	bEmpty := (bIsTable && len(bt) == 0) || (bIsArray && len(ba) == 0)
	return aEmpty && bEmpty
}

// strictEqual reports whether a and b are the same field value: the same AMQP type
// and the same value (Erlang =:= on {Type, Value}). Tables are compared as sets of
// keys: RabbitMQ would also compare their order on the wire, which a Go map has lost.
func strictEqual(a, b any) bool {
	switch av := a.(type) {
	case nil:
		return b == nil
	case bool:
		return same(av, b)
	case int8:
		return same(av, b)
	case uint8:
		return same(av, b)
	case int16:
		return same(av, b)
	case uint16:
		return same(av, b)
	case int32:
		return same(av, b)
	case uint32:
		return same(av, b)
	case int64:
		return same(av, b)
	case int:
		return same(av, b)
	case float32:
		return same(av, b)
	case float64:
		return same(av, b)
	case string:
		return same(av, b)
	case []byte:
		bv, ok := b.([]byte)
		return ok && bytes.Equal(av, bv)
	case time.Time:
		bv, ok := b.(time.Time)
		return ok && av.Unix() == bv.Unix()
	}
	if at, ok := tableOf(a); ok {
		bt, ok := tableOf(b)
		return ok && tablesEqual(at, bt)
	}
	if aa, ok := arrayOf(a); ok {
		ba, ok := arrayOf(b)
		return ok && arraysEqual(aa, ba)
	}
	return otherEqual(a, b)
}

func same[T comparable](a T, b any) bool {
	bv, ok := b.(T)
	return ok && a == bv
}

// tablesEqual compares two tables key by key with strictEqual. A nil table equals an
// empty one.
func tablesEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !strictEqual(av, bv) {
			return false
		}
	}
	return true
}

func arraysEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strictEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

var (
	tableType = reflect.TypeFor[map[string]any]()
	arrayType = reflect.TypeFor[[]any]()
)

// tableOf returns v as a table if v is a map[string]any or of a named type with that
// underlying type (wire.Table, amqp091.Table). Named types are converted with reflect:
// this package cannot name them, and only nested tables take this path.
func tableOf(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case nil, bool, int8, uint8, int16, uint16, int32, uint32, int64, int,
		float32, float64, string, []byte, []any, time.Time:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || !rv.Type().ConvertibleTo(tableType) {
		return nil, false
	}
	return rv.Convert(tableType).Interface().(map[string]any), true
}

// arrayOf returns v as an array if v is a []any or of a named type with that
// underlying type.
func arrayOf(v any) ([]any, bool) {
	switch a := v.(type) {
	case []any:
		return a, true
	case nil, bool, int8, uint8, int16, uint16, int32, uint32, int64, int,
		float32, float64, string, []byte, map[string]any, time.Time:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || !rv.Type().ConvertibleTo(arrayType) {
		return nil, false
	}
	return rv.Convert(arrayType).Interface().([]any), true
}

// otherEqual compares values of types this package does not name, such as a decimal
// struct: equal if of the same type and ==.
func otherEqual(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !ra.IsValid() || !rb.IsValid() || ra.Type() != rb.Type() || !ra.Comparable() {
		return false
	}
	return a == b
}

// decimalOf returns the scale and unsigned value of a decimal struct: any struct with
// integer fields Scale and Value, such as wire.Decimal or amqp091.Decimal.
func decimalOf(v any) (scale, value uint64, ok bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return 0, 0, false
	}
	s, val := rv.FieldByName("Scale"), rv.FieldByName("Value")
	if !s.IsValid() || !val.IsValid() {
		return 0, 0, false
	}
	scale, ok1 := uintOf(s)
	value, ok2 := uintOf(val)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	// The wire carries the value as 32 bits and RabbitMQ decodes it unsigned.
	return scale & 0xff, value & 0xffffffff, true
}

func uintOf(v reflect.Value) (uint64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return uint64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), true
	}
	return 0, false
}

// ArgEquivalent reports whether two values of a declaration argument are
// equivalent the way RabbitMQ 3.10 compares x-arguments when a queue or exchange
// is declared again: the same type class (every integer width is one class,
// float and double another, each other type its own) and equal values. So 5
// (signedint) is equivalent to 5 (long), but not to 5.0 (double) or "5".
func ArgEquivalent(a, b any) bool {
	ca, cb := typeClass(a), typeClass(b)
	if ca != cb {
		return false
	}
	if ca == "int" || ca == "float" {
		na, _ := numberOf(a)
		nb, _ := numberOf(b)
		return na.equal(nb)
	}
	return strictEqual(a, b)
}

func typeClass(v any) string {
	switch v.(type) {
	case int8, uint8, int16, uint16, int32, uint32, int64, int:
		return "int"
	case float32, float64:
		return "float"
	}
	return FieldTypeName(v)
}
