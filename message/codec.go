package message

import (
	"encoding/binary"
	"errors"

	"github.com/warren-mq/warren/amqp/wire"
)

// The stored form of a message: exchange and routing key (each a 1-octet length
// and its octets), the content header payload with its 4-octet length, then the
// body. The content header is AMQP's own encoding, so properties round-trip
// exactly.

// ErrCorrupt is returned by Decode for bytes that are not a stored message.
var ErrCorrupt = errors.New("message: corrupt stored message")

// Encode appends m's stored form to dst.
func (m *Message) Encode(dst []byte) []byte {
	dst = appendShort(dst, m.Exchange)
	dst = appendShort(dst, m.RoutingKey)
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	if m.RawProps != nil {
		dst = binary.BigEndian.AppendUint16(dst, 60)
		dst = append(dst, 0, 0)
		dst = binary.BigEndian.AppendUint64(dst, uint64(len(m.Body)))
		dst = append(dst, m.RawProps...)
	} else {
		dst = wire.AppendContentHeader(dst, 60, uint64(len(m.Body)), &m.Props)
	}
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return append(dst, m.Body...)
}

func appendShort(dst []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

// Decode reads a message from its stored form; the message does not alias b.
func Decode(b []byte) (*Message, error) {
	m := &Message{}
	var ok bool
	if m.Exchange, b, ok = readShort(b); !ok {
		return nil, ErrCorrupt
	}
	if m.RoutingKey, b, ok = readShort(b); !ok {
		return nil, ErrCorrupt
	}
	if len(b) < 4 {
		return nil, ErrCorrupt
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return nil, ErrCorrupt
	}
	_, size, props, err := wire.DecodeContentHeader(b[4 : 4+n])
	if err != nil {
		return nil, ErrCorrupt
	}
	body := b[4+n:]
	if uint64(len(body)) != size {
		return nil, ErrCorrupt
	}
	m.Props = props
	m.RawProps = append([]byte(nil), b[4+wire.ContentHeaderPropertiesOffset:4+n]...)
	m.Body = append([]byte(nil), body...)
	return m, nil
}

func readShort(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}
