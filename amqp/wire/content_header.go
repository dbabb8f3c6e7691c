package wire

// contentHeaderFixed is the size of a content header payload before the
// property flags: class id, weight, body size.
const contentHeaderFixed = 2 + 2 + 8

// AppendContentHeader appends a content header frame payload: class id,
// weight (0), body size, property flags and the properties whose Flags bits
// are set. A nil p has no properties.
func AppendContentHeader(dst []byte, classID uint16, bodySize uint64, p *Properties) []byte {
	dst = appendUint16(dst, classID)
	dst = append(dst, 0, 0) // weight: unused, must be zero
	dst = appendUint64(dst, bodySize)
	if p == nil {
		return append(dst, 0, 0)
	}
	return p.appendProperties(dst)
}

// DecodeContentHeader decodes a content header frame payload. The
// properties are those of class basic, the only class with content in
// AMQP 0-9-1, whatever classID says; the caller checks classID against the
// method the header follows. The weight is ignored. Property-flags words
// follow one another while bit 0 (continuation) is set, as the
// specification says (RabbitMQ itself fails with INTERNAL_ERROR on them);
// as basic has 14 properties, a later word with a property bit set gives a
// *SyntaxError. Bit 1 of the first word, which names no property, is
// ignored as RabbitMQ does. A truncated property or trailing octets give a
// *SyntaxError.
func DecodeContentHeader(payload []byte) (classID uint16, bodySize uint64, p Properties, err error) {
	d := decoder{buf: payload}
	classID = d.short()
	_ = d.short() // weight
	bodySize = d.longlong()
	flags := d.short()
	for more := flags&1 != 0; more && d.err == nil; {
		next := d.short()
		if next&^1 != 0 {
			d.fail("property flags name properties beyond the 14 of class basic")
		}
		more = next&1 != 0
	}
	p.decodeProperties(&d, flags&propertyFlagsMask)
	if err = d.finish("content header"); err != nil {
		return 0, 0, Properties{}, err
	}
	return classID, bodySize, p, nil
}
