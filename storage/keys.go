package storage

import "encoding/binary"

// Key layout. Every key starts with a one-byte prefix that says what it holds;
// integers are fixed-width big-endian so that byte order is numeric order. These
// bytes are on disk: ONLY APPEND prefixes, never reuse one.
//
//	'D' kind key...        -> definition value
//	'M' msgID              -> message bytes
//	'I' queueID seq        -> msgID (8 bytes)
//	'P' queueID            -> delivered mark (8 bytes)
//	'~'                    -> scratch key Compact writes and drops to flush memtables
const (
	prefixDefinition byte = 'D'
	prefixMessage    byte = 'M'
	prefixIndex      byte = 'I'
	prefixDelivered  byte = 'P'
	prefixScratch    byte = '~'
)

const (
	messageKeyLen   = 1 + 8
	indexKeyLen     = 1 + 8 + 8
	deliveredKeyLen = 1 + 8
	u64Len          = 8
)

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func appendMessageKey(b []byte, id uint64) []byte {
	return appendU64(append(b, prefixMessage), id)
}

func appendIndexKey(b []byte, queueID, seq uint64) []byte {
	return appendU64(appendIndexPrefix(b, queueID), seq)
}

// appendIndexPrefix appends the prefix shared by every index key of a queue.
func appendIndexPrefix(b []byte, queueID uint64) []byte {
	return appendU64(append(b, prefixIndex), queueID)
}

func appendDeliveredKey(b []byte, queueID uint64) []byte {
	return appendU64(append(b, prefixDelivered), queueID)
}

// appendDefinitionPrefix appends the prefix shared by every definition of kind.
func appendDefinitionPrefix(b []byte, kind Kind) []byte {
	return append(b, prefixDefinition, byte(kind))
}

func appendDefinitionKey(b []byte, kind Kind, key string) []byte {
	return append(appendDefinitionPrefix(b, kind), key...)
}

// messageIDOf returns the id in a message key.
func messageIDOf(key []byte) uint64 { return binary.BigEndian.Uint64(key[1:]) }

// seqOf returns the seq in an index key.
func seqOf(key []byte) uint64 { return binary.BigEndian.Uint64(key[9:]) }

// decodeU64 decodes an 8-byte value; ok is false for any other length.
func decodeU64(v []byte) (n uint64, ok bool) {
	if len(v) != u64Len {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}
