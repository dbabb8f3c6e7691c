package storage

import "encoding/binary"

// Key layout. Every key starts with a one-byte prefix that says what it holds;
// integers are fixed-width big-endian so that byte order is numeric order. These
// bytes are on disk: ONLY APPEND prefixes, never reuse one.
//
//	'D' kind key...        -> definition value
//	'M' msgID              -> message bytes (format 1 only: see segments.go)
//	'B' msgID              -> where the message's record is (segments.go)
//	'I' queueID seq        -> index entry: msgID (8 bytes), or msgID, expires
//	                          (8, Unix ms), priority (1), size (4): 21 bytes
//	'P' queueID            -> delivered mark (8 bytes)
//	'~'                    -> scratch key Compact writes and drops to flush memtables
const (
	prefixDefinition byte = 'D'
	prefixMessage    byte = 'M'
	prefixLocation   byte = 'B'
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

func appendLocationKey(b []byte, id uint64) []byte {
	return appendU64(append(b, prefixLocation), id)
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

// indexValueLen is the length of a full index value; an entry with nothing but
// its message id is written as the id alone.
const indexValueLen = 8 + 8 + 1 + 4

// appendIndexValue appends e's stored form.
func appendIndexValue(b []byte, e IndexEntry) []byte {
	b = appendU64(b, e.MsgID)
	if e.Expires == 0 && e.Priority == 0 && e.Size == 0 {
		return b
	}
	b = appendU64(b, uint64(e.Expires))
	b = append(b, e.Priority)
	return binary.BigEndian.AppendUint32(b, e.Size)
}

// decodeIndexValue decodes an index value; ok is false for a malformed one.
func decodeIndexValue(v []byte) (e IndexEntry, ok bool) {
	switch len(v) {
	case u64Len:
		return IndexEntry{MsgID: binary.BigEndian.Uint64(v)}, true
	case indexValueLen:
		return IndexEntry{
			MsgID:    binary.BigEndian.Uint64(v),
			Expires:  int64(binary.BigEndian.Uint64(v[8:])),
			Priority: v[16],
			Size:     binary.BigEndian.Uint32(v[17:]),
		}, true
	}
	return IndexEntry{}, false
}

// decodeU64 decodes an 8-byte value; ok is false for any other length.
func decodeU64(v []byte) (n uint64, ok bool) {
	if len(v) != u64Len {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}
