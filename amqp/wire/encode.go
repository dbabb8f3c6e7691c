package wire

import "unicode/utf8"

// Append helpers for the primitive AMQP types, all big-endian.

func appendUint16(dst []byte, v uint16) []byte {
	return append(dst, byte(v>>8), byte(v))
}

func appendUint32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendUint64(dst []byte, v uint64) []byte {
	return append(dst, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func putUint32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// maxShortstr is the longest short string: its length is one octet.
const maxShortstr = 255

// appendShortstr appends s as a short string. A string longer than 255 octets
// is cut to 255 octets, backed off to a UTF-8 boundary when the cut would
// split a character, so the frame stays well formed.
func appendShortstr(dst []byte, s string) []byte {
	if len(s) > maxShortstr {
		s = s[:shortstrCut(s)]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

// shortstrCut returns where to cut s (longer than 255 octets): at 255, or up
// to 3 octets earlier if s[255] continues a multi-octet UTF-8 character.
func shortstrCut(s string) int {
	n := maxShortstr
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	if utf8.RuneStart(s[n]) {
		return n
	}
	return maxShortstr // not UTF-8 text: cut at the octet limit
}

// appendLongstr appends s as a long string (4-octet length).
func appendLongstr(dst []byte, s string) []byte {
	dst = appendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// bit returns mask if b is true: the generated codec ORs these into an octet.
func bit(b bool, mask uint8) uint8 {
	if b {
		return mask
	}
	return 0
}
