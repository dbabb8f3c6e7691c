package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// everyTypeTable has a value of every field type, with nesting.
func everyTypeTable() Table {
	return Table{
		"t": true, "b": int8(-2), "B": uint8(200), "s": int16(-300), "u": uint16(60000),
		"I": int32(-70000), "i": uint32(4000000000), "l": int64(-1 << 40), "f": float32(1.5),
		"d": float64(-2.25), "D": Decimal{Scale: 2, Value: -12345}, "S": "héllo", "x": []byte{0, 1, 0xFF},
		"A": []any{int64(1), "two", []any{}, []any{false, nil}, Table{"in": "array"}},
		"T": time.Unix(1700000000, 0).UTC(), "F": Table{"nested": Table{"deeper": int32(3)}, "empty": Table{}},
		"V": nil,
	}
}

func TestTableRoundTripEveryType(t *testing.T) {
	want := everyTypeTable()
	enc := AppendTable([]byte("prefix"), want)[len("prefix"):]
	got, n, err := DecodeTable(append(enc, "suffix"...))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(enc) {
		t.Errorf("consumed %d octets, want %d", n, len(enc))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip\n got %#v\nwant %#v", got, want)
	}
	if again := AppendTable(nil, got); !bytes.Equal(again, enc) {
		t.Errorf("re-encoding differs")
	}
	if err := want.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// Octets written by hand from the specification (with RabbitMQ's type
// letters), keys in sorted order: decoding and re-encoding gives them back.
func TestTableKnownEncoding(t *testing.T) {
	enc := []byte{
		0, 0, 0, 0, // length, patched below
		1, 'A', 'A', 0, 0, 0, 7, 'S', 0, 0, 0, 1, 'z', 'V',
		1, 'D', 'D', 3, 0xFF, 0xFF, 0xFF, 0xFE,
		1, 'F', 'F', 0, 0, 0, 4, 1, 'k', 't', 1,
		1, 'T', 'T', 0, 0, 0, 0, 0x65, 0x53, 0xF1, 0x00,
		1, 'b', 'b', 0x80,
		1, 'f', 'f', 0x3F, 0xC0, 0, 0,
		1, 'i', 'i', 0xFF, 0xFF, 0xFF, 0xFF,
		1, 'l', 'l', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		1, 's', 's', 0x80, 0x00,
		1, 'u', 'u', 0xFF, 0xFF,
		1, 'x', 'x', 0, 0, 0, 2, 0xCA, 0xFE,
	}
	putUint32(enc, uint32(len(enc)-4))
	want := Table{
		"A": []any{"z", nil}, "D": Decimal{Scale: 3, Value: -2}, "F": Table{"k": true},
		"T": time.Unix(0x6553F100, 0).UTC(), "b": int8(-128), "f": float32(1.5), "i": uint32(math.MaxUint32),
		"l": int64(-1), "s": int16(math.MinInt16), "u": uint16(math.MaxUint16), "x": []byte{0xCA, 0xFE},
	}
	got, n, err := DecodeTable(enc)
	if err != nil || n != len(enc) {
		t.Fatalf("DecodeTable: n=%d err=%v", n, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	if again := AppendTable(nil, got); !bytes.Equal(again, enc) {
		t.Errorf("re-encoding\n got % x\nwant % x", again, enc)
	}
}

func TestTableEncodingConveniences(t *testing.T) {
	got, _, err := DecodeTable(AppendTable(nil, Table{"int": 7, "map": map[string]any{"k": "v"}}))
	if err != nil {
		t.Fatal(err)
	}
	want := Table{"int": int64(7), "map": Table{"k": "v"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestTableEmpty(t *testing.T) {
	for _, tab := range []Table{nil, {}} {
		enc := AppendTable(nil, tab)
		if !bytes.Equal(enc, []byte{0, 0, 0, 0}) {
			t.Errorf("AppendTable(%#v) = % x", tab, enc)
		}
		got, n, err := DecodeTable(enc)
		if got != nil || n != 4 || err != nil {
			t.Errorf("DecodeTable(empty) = %#v, %d, %v; want nil, 4, nil", got, n, err)
		}
	}
}

func TestTableSortedKeys(t *testing.T) {
	tab := Table{}
	for _, k := range strings.Fields("q w e r t y u i o p a s d f g h j k l z x c v b n m") {
		tab[k] = int8(1)
	}
	enc := AppendTable(nil, tab)
	for range 5 {
		if again := AppendTable(nil, tab); !bytes.Equal(again, enc) {
			t.Fatal("encoding of the same table varies")
		}
	}
	if i, j := bytes.Index(enc, []byte{1, 'a', 'b'}), bytes.Index(enc, []byte{1, 'z', 'b'}); i < 0 || j < i {
		t.Errorf("keys not sorted: a at %d, z at %d", i, j)
	}
}

// Fields keep their order on the wire and decode as a Table.
func TestFieldsKeepOrder(t *testing.T) {
	f := Fields{{"z", int64(1)}, {"a", "x"}, {"m", Fields{{"y", true}, {"b", int8(2)}}}}
	enc := AppendTable(nil, Table{"f": f})
	want := []byte{0, 0, 0, 41, 1, 'f', 'F', 0, 0, 0, 34,
		1, 'z', 'l', 0, 0, 0, 0, 0, 0, 0, 1,
		1, 'a', 'S', 0, 0, 0, 1, 'x',
		1, 'm', 'F', 0, 0, 0, 8, 1, 'y', 't', 1, 1, 'b', 'b', 2}
	if !bytes.Equal(enc, want) {
		t.Fatalf("encoded\n%v\nwant\n%v", enc, want)
	}
	got, _, err := DecodeTable(enc)
	if err != nil {
		t.Fatal(err)
	}
	inner, ok := got["f"].(Table)
	if !ok || inner["z"] != int64(1) || inner["a"] != "x" || inner["m"].(Table)["b"] != int8(2) {
		t.Fatalf("decoded %#v", got)
	}
	if err := (Table{"f": Fields{{"bad", struct{}{}}}}).Validate(); err == nil {
		t.Fatal("Validate passed a Fields value of an unsupported type")
	}
	if v, ok := f.Get("a"); !ok || v != "x" || len(f.Table()) != 3 {
		t.Fatalf("Get/Table: %v %v %v", v, ok, f.Table())
	}
}

// A table that arrives with unsorted or duplicate keys, or a bool octet other
// than 1, is decoded and re-encoded in canonical form.
func TestTableCanonicalForm(t *testing.T) {
	in := []byte{0, 0, 0, 15, 1, 'b', 't', 2, 1, 'a', 't', 0, 1, 'b', 'B', 9, 1, 'c', 'V'}
	putUint32(in, uint32(len(in)-4))
	got, _, err := DecodeTable(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Table{"a": false, "b": uint8(9), "c": nil}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v (last duplicate wins)", got, want)
	}
	again := AppendTable(nil, got)
	back, _, _ := DecodeTable(again)
	if !reflect.DeepEqual(back, got) {
		t.Errorf("canonical form decodes to %#v", back)
	}
}

func TestTableDecodeErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"no length":         {0, 0, 0},
		"length too long":   {0, 0, 0, 9, 1, 'k', 'V'},
		"key past end":      {0, 0, 0, 2, 5, 'k'},
		"no type octet":     {0, 0, 0, 2, 1, 'k'},
		"unknown type":      {0, 0, 0, 3, 1, 'k', 'Z'},
		"spec-only U type":  {0, 0, 0, 5, 1, 'k', 'U', 0, 1},
		"short value":       {0, 0, 0, 5, 1, 'k', 'I', 0, 1},
		"string past end":   {0, 0, 0, 8, 1, 'k', 'S', 0, 0, 0, 9, 'a'},
		"bytes past end":    {0, 0, 0, 7, 1, 'k', 'x', 0xFF, 0xFF, 0xFF, 0xFF},
		"array past end":    {0, 0, 0, 7, 1, 'k', 'A', 0, 0, 0, 1},
		"bad array element": {0, 0, 0, 9, 1, 'k', 'A', 0, 0, 0, 1, 'Z'},
		"nested bad table":  {0, 0, 0, 10, 1, 'k', 'F', 0, 0, 0, 3, 1, 'j', 'Q'},
	} {
		_, _, err := DecodeTable(b)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: err %v, want *SyntaxError", name, err)
		}
	}
}

func TestTableDepthLimit(t *testing.T) {
	nest := func(levels int) []byte {
		// A table {k: [[[...[]...]]]}: each array holds the next one.
		tab := []byte{0, 0, 0, 0, 1, 'k'}
		for i := range levels {
			tab = appendUint32(append(tab, 'A'), uint32(5*(levels-1-i)))
		}
		putUint32(tab, uint32(len(tab)-4))
		return tab
	}
	if _, _, err := DecodeTable(nest(maxTableDepth - 1)); err != nil {
		t.Errorf("depth %d refused: %v", maxTableDepth-1, err)
	}
	var se *SyntaxError
	if _, _, err := DecodeTable(nest(maxTableDepth + 1)); !errors.As(err, &se) {
		t.Errorf("depth %d: err %v, want *SyntaxError", maxTableDepth+1, err)
	}
	if _, _, err := DecodeTable(nest(100000)); !errors.As(err, &se) {
		t.Errorf("depth 100000: err %v, want *SyntaxError", err)
	}
}

func TestTableUnsupportedType(t *testing.T) {
	bad := Table{"ok": "x", "nested": Table{"arr": []any{uint64(1)}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "uint64") {
		t.Errorf("Validate = %v, want an error naming uint64", err)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("AppendTable did not panic on uint64")
		}
	}()
	AppendTable(nil, bad)
}

func TestTableNaNKeepsItsBits(t *testing.T) {
	nan32 := math.Float32frombits(0x7FC00001)
	nan64 := math.Float64frombits(0x7FF8000000000001)
	enc := AppendTable(nil, Table{"f": nan32, "d": nan64})
	got, _, err := DecodeTable(enc)
	if err != nil {
		t.Fatal(err)
	}
	if again := AppendTable(nil, got); !bytes.Equal(again, enc) {
		t.Errorf("NaN payload lost: % x vs % x", again, enc)
	}
}

func TestTableTimeBeyondInt64(t *testing.T) {
	enc := []byte{0, 0, 0, 11, 1, 'k', 'T', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE}
	got, _, err := DecodeTable(enc)
	if err != nil {
		t.Fatal(err)
	}
	if again := AppendTable(nil, got); !bytes.Equal(again, enc) {
		t.Errorf("timestamp 2^64-2 changed: % x", again)
	}
}
