package wire

import (
	"encoding/binary"
	"strconv"
)

// decoder reads primitive AMQP types from a byte slice. The first failure is
// recorded and every later read returns zero, so generated code reads all
// fields and checks once at the end (finish).
//
// Strings are substrings of one copy of the input, made on the first string
// read: decoding a method or header costs one allocation for all its short
// strings, long strings and table keys instead of one each. They never alias
// the input, which the caller may reuse.
type decoder struct {
	buf []byte
	off int    // read position in buf
	str string // string(buf) once a string has been read
	err error  // *SyntaxError after the first failure
}

const reasonTruncated = "truncated"

func (d *decoder) fail(reason string) {
	d.failErr(&SyntaxError{Reason: reason})
}

func (d *decoder) failErr(err error) {
	if d.err == nil {
		d.err = err
	}
	d.off = len(d.buf)
}

// left is the number of octets not yet read.
func (d *decoder) left() int { return len(d.buf) - d.off }

// substr returns buf[i:j] as a string sharing the decoder's one copy.
func (d *decoder) substr(i, j int) string {
	if i == j {
		return ""
	}
	if d.str == "" {
		d.str = string(d.buf)
	}
	return d.str[i:j]
}

func (d *decoder) octet() uint8 {
	if d.left() < 1 {
		d.fail(reasonTruncated)
		return 0
	}
	v := d.buf[d.off]
	d.off++
	return v
}

func (d *decoder) short() uint16 {
	if d.left() < 2 {
		d.fail(reasonTruncated)
		return 0
	}
	v := binary.BigEndian.Uint16(d.buf[d.off:])
	d.off += 2
	return v
}

func (d *decoder) long() uint32 {
	if d.left() < 4 {
		d.fail(reasonTruncated)
		return 0
	}
	v := binary.BigEndian.Uint32(d.buf[d.off:])
	d.off += 4
	return v
}

func (d *decoder) longlong() uint64 {
	if d.left() < 8 {
		d.fail(reasonTruncated)
		return 0
	}
	v := binary.BigEndian.Uint64(d.buf[d.off:])
	d.off += 8
	return v
}

func (d *decoder) shortstr() string {
	if d.left() < 1 || d.left()-1 < int(d.buf[d.off]) {
		d.fail(reasonTruncated)
		return ""
	}
	i := d.off + 1
	d.off = i + int(d.buf[d.off])
	return d.substr(i, d.off)
}

// sized reads a 4-octet length and returns where the value it prefixes
// ends, if it lies within buf[:end].
func (d *decoder) sized(end int) (int, bool) {
	if end-d.off < 4 {
		return 0, false
	}
	n := binary.BigEndian.Uint32(d.buf[d.off:])
	if uint64(n) > uint64(end-d.off-4) {
		return 0, false
	}
	d.off += 4
	return d.off + int(n), true
}

func (d *decoder) longstr() string {
	end, ok := d.sized(len(d.buf))
	if !ok {
		d.fail(reasonTruncated)
		return ""
	}
	i := d.off
	d.off = end
	return d.substr(i, end)
}

func (d *decoder) table() Table {
	if d.err != nil {
		return nil
	}
	t, err := d.fieldTable(len(d.buf), 0)
	if err != nil {
		d.failErr(err)
		return nil
	}
	return t
}

// finish returns the first failure, or a *SyntaxError if octets are left
// over, each prefixed with what was being decoded.
func (d *decoder) finish(what string) error {
	if d.err != nil {
		if se, ok := d.err.(*SyntaxError); ok {
			return &SyntaxError{Reason: what + ": " + se.Reason}
		}
		return d.err
	}
	if d.left() != 0 {
		return &SyntaxError{Reason: what + ": " + strconv.Itoa(d.left()) + " trailing octets"}
	}
	return nil
}
