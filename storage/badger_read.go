package storage

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Reads run in one Badger read transaction each: a consistent snapshot of what
// had been committed when they began. They iterate by prefix (Seek to the
// prefix, stop at its end), never from the start of the keyspace.

// ForEachDefinition implements Store. value is a copy fn may keep.
func (s *Badger) ForEachDefinition(kind Kind, fn func(key string, value []byte) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	prefix := appendDefinitionPrefix(nil, kind)
	return s.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, prefix, func(item *badger.Item) error {
			value, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("storage: read definition: %w", err)
			}
			return fn(string(item.Key()[len(prefix):]), value)
		})
	})
}

// ForEachIndex implements Store.
func (s *Badger) ForEachIndex(queueID uint64, fn func(seq uint64, e IndexEntry) error) (delivered uint64, err error) {
	if err := s.life.enter(); err != nil {
		return 0, err
	}
	defer s.life.exit()
	prefix := appendIndexPrefix(nil, queueID)
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(appendDeliveredKey(nil, queueID))
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("storage: read delivered mark of queue %d: %w", queueID, err)
		default:
			if err := item.Value(func(v []byte) error {
				var ok bool
				if delivered, ok = decodeU64(v); !ok {
					return fmt.Errorf("storage: delivered mark of queue %d is %d bytes long", queueID, len(v))
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return eachKey(txn, prefix, func(item *badger.Item) error {
			key := item.Key()
			if len(key) != indexKeyLen {
				return fmt.Errorf("storage: index key %x of queue %d has a bad length", key, queueID)
			}
			var e IndexEntry
			if err := item.Value(func(v []byte) error {
				var ok bool
				if e, ok = decodeIndexValue(v); !ok {
					return fmt.Errorf("storage: index entry %x holds %d bytes", key, len(v))
				}
				return nil
			}); err != nil {
				return err
			}
			return fn(seqOf(key), e)
		})
	})
	return delivered, err
}

// ReadMessages implements Store. A missing id is an error wrapping ErrNotFound.
func (s *Badger) ReadMessages(ids []uint64, fn func(id uint64, data []byte) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	return s.db.View(func(txn *badger.Txn) error {
		// One iterator serves the whole call, and an id just ahead of the last
		// (the usual read-ahead of consecutive messages) is reached with Next,
		// several times cheaper than a Seek or a Get.
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixMessage}})
		defer it.Close()
		key := make([]byte, 0, messageKeyLen)
		const maxSteps = 4
		for _, id := range ids {
			key = appendMessageKey(key[:0], id)
			// Step forward a few keys when the id is just ahead (the next
			// message of a read-ahead batch); Seek otherwise.
			steps := 0
			for it.Valid() && bytes.Compare(it.Item().Key(), key) < 0 && steps < maxSteps {
				it.Next()
				steps++
			}
			if !it.Valid() || bytes.Compare(it.Item().Key(), key) != 0 {
				it.Seek(key)
			}
			if !it.Valid() || !bytes.Equal(it.Item().Key(), key) {
				return fmt.Errorf("storage: message %d: %w", id, ErrNotFound)
			}
			if err := it.Item().Value(func(v []byte) error { return fn(id, v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForEachMessageID implements Store.
func (s *Badger) ForEachMessageID(fn func(id uint64) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	prefix := []byte{prefixMessage}
	return s.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, prefix, func(item *badger.Item) error {
			key := item.Key()
			if len(key) != messageKeyLen {
				return fmt.Errorf("storage: message key %x has a bad length", key)
			}
			return fn(messageIDOf(key))
		})
	})
}

// eachKey calls fn for the newest live version of every key with prefix, in key
// order. Values are not prefetched: fn reads the ones it needs.
func eachKey(txn *badger.Txn, prefix []byte, fn func(*badger.Item) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}
