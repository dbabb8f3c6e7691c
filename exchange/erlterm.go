package exchange

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file renders field values the way RabbitMQ's error messages show them: the
// Erlang term RabbitMQ decoded, formatted with io_lib's ~p (OTP 25), so that Warren's
// reply texts read exactly like RabbitMQ's.

// FieldTypeName returns the name RabbitMQ gives v's AMQP field type.
func FieldTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "void"
	case bool:
		return "bool"
	case int8:
		return "byte"
	case uint8:
		return "unsignedbyte"
	case int16:
		return "short"
	case uint16:
		return "unsignedshort"
	case int32:
		return "signedint"
	case uint32:
		return "unsignedint"
	case int64, int:
		return "long"
	case float32:
		return "float"
	case float64:
		return "double"
	case string:
		return "longstr"
	case []byte:
		return "binary"
	case time.Time:
		return "timestamp"
	}
	if _, ok := tableOf(v); ok {
		return "table"
	}
	if _, ok := arrayOf(v); ok {
		return "array"
	}
	if _, _, ok := decimalOf(v); ok {
		return "decimal"
	}
	return "unknown"
}

// appendErlTerm appends v as ~p shows the Erlang term RabbitMQ decodes it into, on
// one line. (~p breaks terms wider than 80 columns over several lines; only tables
// and arrays get that wide, and those are shown here on one line, keys sorted.)
func appendErlTerm(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "undefined"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case uint8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case uint16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case uint32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float32:
		return appendErlFloat(b, float64(x))
	case float64:
		return appendErlFloat(b, x)
	case string:
		return appendErlBinary(b, x)
	case []byte:
		return appendErlBinary(b, string(x))
	case time.Time:
		return strconv.AppendUint(b, uint64(x.Unix()), 10) // the wire carries it unsigned
	}
	if t, ok := tableOf(v); ok {
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '[')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendErlBinary(b, k)
			b = append(b, ',')
			b = append(b, FieldTypeName(t[k])...)
			b = append(b, ',')
			b = appendErlTerm(b, t[k])
			b = append(b, '}')
		}
		return append(b, ']')
	}
	if a, ok := arrayOf(v); ok {
		b = append(b, '[')
		for i, e := range a {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = append(b, FieldTypeName(e)...)
			b = append(b, ',')
			b = appendErlTerm(b, e)
			b = append(b, '}')
		}
		return append(b, ']')
	}
	if scale, value, ok := decimalOf(v); ok {
		b = append(b, '{')
		b = strconv.AppendUint(b, scale, 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, value, 10)
		return append(b, '}')
	}
	return append(b, '?')
}

// appendErlBinary appends s as ~p shows a binary: <<"text">> if every byte is
// printable Latin-1 (bytes 160-255 are written as they are, so UTF-8 text whose bytes
// all fall there passes through intact), otherwise <<97,1>>.
func appendErlBinary(b []byte, s string) []byte {
	printable := true
	for i := 0; i < len(s); i++ {
		if !latin1Printable(s[i]) {
			printable = false
			break
		}
	}
	b = append(b, "<<"...)
	if printable && len(s) > 0 {
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case '\b':
				b = append(b, `\b`...)
			case '\t':
				b = append(b, `\t`...)
			case '\n':
				b = append(b, `\n`...)
			case '\v':
				b = append(b, `\v`...)
			case '\f':
				b = append(b, `\f`...)
			case '\r':
				b = append(b, `\r`...)
			case 27:
				b = append(b, `\e`...)
			case '"':
				b = append(b, `\"`...)
			case '\\':
				b = append(b, `\\`...)
			default:
				b = append(b, c)
			}
		}
		b = append(b, '"')
	} else {
		for i := 0; i < len(s); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(s[i]), 10)
		}
	}
	return append(b, ">>"...)
}

// latin1Printable is io_lib:printable_latin1_list's test for one character.
func latin1Printable(c byte) bool {
	return (c >= 8 && c <= 13) || c == 27 || (c >= 32 && c <= 126) || c >= 160
}

// appendErlFloat appends f as ~p shows a float (OTP 25): the shortest digits that read
// back as f, in plain notation ("0.1", "123456.0") when that is no longer than
// scientific notation ("1.0e6", "1.2e-5") and |f| < 2^53, scientific otherwise.
func appendErlFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.AppendFloat(b, f, 'g', -1, 64) // not representable in Erlang
	}
	if math.Signbit(f) {
		b = append(b, '-')
		f = -f
	}
	if f == 0 {
		return append(b, "0.0"...)
	}
	// Shortest round-trip digits and the decimal exponent of the first digit.
	e := strconv.FormatFloat(f, 'e', -1, 64) // d[.ddd]e±XX
	mant, expStr, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expStr)

	sci := make([]byte, 0, 32)
	sci = append(sci, digits[0], '.')
	if len(digits) == 1 {
		sci = append(sci, '0')
	} else {
		sci = append(sci, digits[1:]...)
	}
	sci = append(sci, 'e')
	sci = strconv.AppendInt(sci, int64(exp), 10)

	fixed := make([]byte, 0, 32)
	switch {
	case exp < 0:
		fixed = append(fixed, "0."...)
		for i := 0; i < -exp-1; i++ {
			fixed = append(fixed, '0')
		}
		fixed = append(fixed, digits...)
	case exp+1 >= len(digits):
		fixed = append(fixed, digits...)
		for i := 0; i < exp+1-len(digits); i++ {
			fixed = append(fixed, '0')
		}
		fixed = append(fixed, ".0"...)
	default:
		fixed = append(fixed, digits[:exp+1]...)
		fixed = append(fixed, '.')
		fixed = append(fixed, digits[exp+1:]...)
	}
	if f < 1<<53 && len(fixed) <= len(sci) {
		return append(b, fixed...)
	}
	return append(b, sci...)
}

// ErlTerm returns v as RabbitMQ's reply texts show the Erlang term it decodes
// a field value into (io_lib's ~p, on one line): 5, <<"text">>, [...].
func ErlTerm(v any) string { return string(appendErlTerm(nil, v)) }
