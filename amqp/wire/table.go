package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// Table is an AMQP field table. Values have these Go types, by field type
// octet (RabbitMQ's reading of 0-9-1, which differs from the spec's list):
//
//	't' bool       'b' int8     'B' uint8     's' int16    'u' uint16
//	'I' int32      'i' uint32   'l' int64     'f' float32  'd' float64
//	'D' Decimal    'S' string   'x' []byte    'A' []any    'T' time.Time (UTC)
//	'F' Table      'V' nil
//
// Encoding picks the field type from the Go type, as above, plus int (as 'l')
// and map[string]any (as 'F'). Any other type is a programming error: the
// encoders panic on it (Validate reports it as an error instead).
//
// A map has no order, so tables are encoded with their keys sorted by octet
// value. Decoding then encoding gives the same octets for such a table; a
// table that arrived in another order, with duplicate keys (the last one
// wins) or with a bool octet other than 0 or 1 comes out in canonical form,
// with the same decoded values.
type Table map[string]any

// Fields is a field table encoded with its fields in the order given, where a
// Table sorts them: for the tables whose order RabbitMQ fixes (an x-death
// entry). A nested Fields value is encoded as 'F'; decoding always yields a
// Table.
type Fields []Field

// Field is one field of Fields.
type Field struct {
	Key   string
	Value any
}

// Get returns the value of the first field named key.
func (f Fields) Get(key string) (any, bool) {
	for _, x := range f {
		if x.Key == key {
			return x.Value, true
		}
	}
	return nil, false
}

// Table returns the fields as a Table.
func (f Fields) Table() Table {
	t := make(Table, len(f))
	for _, x := range f {
		if _, dup := t[x.Key]; !dup {
			t[x.Key] = x.Value
		}
	}
	return t
}

func appendFields(dst []byte, f Fields) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	for _, x := range f {
		dst = appendShortstr(dst, x.Key)
		dst = appendValue(dst, x.Value)
	}
	putUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// Decimal is a field value of type 'D': Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// maxTableDepth bounds the nesting of tables and arrays a decoder accepts, so
// that a frame of nested empty arrays cannot run the stack deep.
const maxTableDepth = 256

// AppendTable appends t as a field table: a 4-octet length, then each field
// as a short-string key, a type octet and a value. Keys are sorted; a key
// longer than 255 octets is cut like any short string. A nil or empty t is
// the empty table. It panics on a value of a type Table does not list.
func AppendTable(dst []byte, t Table) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	switch len(t) {
	case 0:
	case 1:
		for k, v := range t {
			dst = appendShortstr(dst, k)
			dst = appendValue(dst, v)
		}
	default:
		var arr [16]string
		keys := arr[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			dst = appendShortstr(dst, k)
			dst = appendValue(dst, t[k])
		}
	}
	putUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// appendArray appends a field array: a 4-octet length, then typed values.
func appendArray(dst []byte, a []any) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	for _, v := range a {
		dst = appendValue(dst, v)
	}
	putUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func appendValue(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, 'V')
	case bool:
		return append(dst, 't', bit(v, 1))
	case int8:
		return append(dst, 'b', byte(v))
	case uint8:
		return append(dst, 'B', v)
	case int16:
		return appendUint16(append(dst, 's'), uint16(v))
	case uint16:
		return appendUint16(append(dst, 'u'), v)
	case int32:
		return appendUint32(append(dst, 'I'), uint32(v))
	case uint32:
		return appendUint32(append(dst, 'i'), v)
	case int64:
		return appendUint64(append(dst, 'l'), uint64(v))
	case int:
		return appendUint64(append(dst, 'l'), uint64(v))
	case float32:
		return appendUint32(append(dst, 'f'), math.Float32bits(v))
	case float64:
		return appendUint64(append(dst, 'd'), math.Float64bits(v))
	case Decimal:
		return appendUint32(append(dst, 'D', v.Scale), uint32(v.Value))
	case string:
		return appendLongstr(append(dst, 'S'), v)
	case []byte:
		dst = appendUint32(append(dst, 'x'), uint32(len(v)))
		return append(dst, v...)
	case []any:
		return appendArray(append(dst, 'A'), v)
	case time.Time:
		return appendUint64(append(dst, 'T'), uint64(v.Unix()))
	case Table:
		return AppendTable(append(dst, 'F'), v)
	case map[string]any:
		return AppendTable(append(dst, 'F'), Table(v))
	case Fields:
		return appendFields(append(dst, 'F'), v)
	}
	panic(fmt.Sprintf("wire: field table value of unsupported type %T", v))
}

// Validate reports the first value (at any depth) whose Go type cannot be
// encoded in a field table.
func (t Table) Validate() error {
	for k, v := range t {
		if err := validateValue(v); err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	return nil
}

func validateValue(v any) error {
	switch v := v.(type) {
	case nil, bool, int8, uint8, int16, uint16, int32, uint32, int64, int,
		float32, float64, Decimal, string, []byte, time.Time:
		return nil
	case Table:
		return v.Validate()
	case map[string]any:
		return Table(v).Validate()
	case Fields:
		for _, x := range v {
			if err := validateValue(x.Value); err != nil {
				return fmt.Errorf("field %q: %w", x.Key, err)
			}
		}
		return nil
	case []any:
		for i, e := range v {
			if err := validateValue(e); err != nil {
				return fmt.Errorf("array element %d: %w", i, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unsupported field value type %T", v)
}

// DecodeTable decodes a field table with its 4-octet length prefix from the
// start of b and returns it with the number of octets consumed. An empty
// table decodes as nil (an empty table nested in a table or array decodes as
// a non-nil empty Table). The table's keys and strings share one copy of
// its octets; nothing aliases b. Errors are *SyntaxError.
func DecodeTable(b []byte) (Table, int, error) {
	d := decoder{buf: b}
	t, err := d.fieldTable(len(b), 0)
	if err != nil {
		return nil, 0, err
	}
	return t, d.off, nil
}

func tableError(format string, args ...any) error {
	return &SyntaxError{Reason: "field table: " + fmt.Sprintf(format, args...)}
}

var errTableTruncated = &SyntaxError{Reason: "field table: truncated"}

// fieldTable decodes a length-prefixed table that must end by buf[end].
func (d *decoder) fieldTable(end, depth int) (Table, error) {
	end, ok := d.sized(end)
	if !ok {
		return nil, errTableTruncated
	}
	if d.off == end {
		return nil, nil
	}
	if depth >= maxTableDepth {
		return nil, tableError("nested deeper than %d", maxTableDepth)
	}
	t := make(Table)
	for d.off < end {
		klen := int(d.buf[d.off])
		if end-d.off < 1+klen+1 { // key and at least a type octet
			return nil, errTableTruncated
		}
		key := d.substr(d.off+1, d.off+1+klen)
		d.off += 1 + klen
		v, err := d.fieldValue(end, depth+1)
		if err != nil {
			return nil, err
		}
		t[key] = v
	}
	return t, nil
}

// fieldArray decodes a length-prefixed array that must end by buf[end].
func (d *decoder) fieldArray(end, depth int) ([]any, error) {
	end, ok := d.sized(end)
	if !ok {
		return nil, errTableTruncated
	}
	if d.off == end {
		return []any{}, nil
	}
	if depth >= maxTableDepth {
		return nil, tableError("nested deeper than %d", maxTableDepth)
	}
	var a []any
	for d.off < end {
		v, err := d.fieldValue(end, depth+1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	return a, nil
}

// valueSize is the size of the fixed-size field values after the type octet.
var valueSize = [256]int8{
	't': 1, 'b': 1, 'B': 1, 's': 2, 'u': 2, 'I': 4, 'i': 4, 'l': 8,
	'f': 4, 'd': 8, 'D': 5, 'T': 8, 'V': 0,
	'S': -1, 'x': -1, 'A': -1, 'F': -1, // length-prefixed
}

// fieldValue decodes a type octet and its value, which must end by buf[end]
// (callers guarantee d.off < end).
func (d *decoder) fieldValue(end, depth int) (any, error) {
	typ := d.buf[d.off]
	d.off++
	if size := int(valueSize[typ]); size > 0 {
		if end-d.off < size {
			return nil, errTableTruncated
		}
		v := d.buf[d.off : d.off+size]
		d.off += size
		switch typ {
		case 't':
			return v[0] != 0, nil
		case 'b':
			return int8(v[0]), nil
		case 'B':
			return v[0], nil
		case 's':
			return int16(binary.BigEndian.Uint16(v)), nil
		case 'u':
			return binary.BigEndian.Uint16(v), nil
		case 'I':
			return int32(binary.BigEndian.Uint32(v)), nil
		case 'i':
			return binary.BigEndian.Uint32(v), nil
		case 'l':
			return int64(binary.BigEndian.Uint64(v)), nil
		case 'f':
			return math.Float32frombits(binary.BigEndian.Uint32(v)), nil
		case 'd':
			return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
		case 'D':
			return Decimal{Scale: v[0], Value: int32(binary.BigEndian.Uint32(v[1:]))}, nil
		case 'T':
			return time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC(), nil
		}
	}
	switch typ {
	case 'V':
		return nil, nil
	case 'S':
		vend, ok := d.sized(end)
		if !ok {
			return nil, errTableTruncated
		}
		s := d.substr(d.off, vend)
		d.off = vend
		return s, nil
	case 'x':
		vend, ok := d.sized(end)
		if !ok {
			return nil, errTableTruncated
		}
		b := make([]byte, vend-d.off) // its own copy: a []byte is mutable
		copy(b, d.buf[d.off:vend])
		d.off = vend
		return b, nil
	case 'A':
		return d.fieldArray(end, depth)
	case 'F':
		t, err := d.fieldTable(end, depth)
		if err == nil && t == nil {
			t = Table{}
		}
		return t, err
	}
	return nil, tableError("unknown field value type %q (0x%02x)", typ, typ)
}
