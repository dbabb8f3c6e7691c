package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Reads run in one Badger read transaction each: a consistent snapshot of what
// had been committed when they began. They hold dbMu's read lock (off the
// committer's goroutine) so that a rebuild does not close the database under
// them. They iterate by prefix (Seek to the prefix, stop at its end), never from
// the start of the keyspace.

// ForEachDefinition implements Store. value is a copy fn may keep.
func (s *Badger) ForEachDefinition(kind Kind, fn func(key string, value []byte) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	prefix := appendDefinitionPrefix(nil, kind)
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
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
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
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

// ReadMessages implements Store. A missing id is an error wrapping ErrNotFound,
// a record that fails its check one wrapping ErrCorrupt.
func (s *Badger) ReadMessages(ids []uint64, fn func(id uint64, data []byte) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), readChunk)]
		ids = ids[len(chunk):]
		if err := s.readMessages(chunk, fn); err != nil {
			return err
		}
	}
	return nil
}

// readBufs holds the buffers readMessages reads records into.
var readBufs = sync.Pool{New: func() any { return new([]byte) }}

// readChunk is how many locations ReadMessages looks up before it reads.
const readChunk = 256

// readMessages looks up where ids are, then reads runs of consecutive records
// of a segment with one read each.
func (s *Badger) readMessages(ids []uint64, fn func(id uint64, data []byte) error) error {
	var locs [readChunk]location
	found := [readChunk]bool{}
	n, err := s.lookupLocations(ids, locs[:len(ids)], found[:len(ids)])
	if err != nil {
		return err
	}
	bp := readBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 2*maxReadRun {
			readBufs.Put(bp)
		}
	}()
	for i := 0; i < n; {
		if !found[i] {
			// A format-1 message, kept in Badger.
			if err := s.readLegacy(ids[i], fn); err != nil {
				return err
			}
			i++
			continue
		}
		j := i + 1
		for j < n && found[j] && locs[j].seg == locs[i].seg && locs[j].off == locs[j-1].end() &&
			locs[j].end()-locs[i].off <= maxReadRun {
			j++
		}
		var err error
		if *bp, err = s.segs.readRun(ids[i:j], locs[i:j], *bp, fn); err != nil {
			return err
		}
		i = j
	}
	if n < len(ids) {
		return fmt.Errorf("storage: message %d: %w", ids[n], ErrNotFound)
	}
	return nil
}

// lookupLocations finds the location of each id, up to the first that is not
// stored, and returns how many it looked up: found[i] is false for a format-1
// message (one without a location in a format-1 directory, which readLegacy
// reads or finds missing).
func (s *Badger) lookupLocations(ids []uint64, locs []location, found []bool) (n int, err error) {
	n = len(ids)
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	err = s.db.View(func(txn *badger.Txn) error {
		// One iterator serves the whole call, and an id just ahead of the last
		// (the usual read-ahead of consecutive messages) is reached with Next,
		// several times cheaper than a Seek or a Get.
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLocation}})
		defer it.Close()
		key := make([]byte, 0, messageKeyLen)
		const maxSteps = 4
		for i, id := range ids {
			key = appendLocationKey(key[:0], id)
			steps := 0
			for it.Valid() && bytes.Compare(it.Item().Key(), key) < 0 && steps < maxSteps {
				it.Next()
				steps++
			}
			if !it.Valid() || bytes.Compare(it.Item().Key(), key) != 0 {
				it.Seek(key)
			}
			if !it.Valid() || !bytes.Equal(it.Item().Key(), key) {
				if !s.legacy {
					n = i
					return nil
				}
				continue
			}
			if err := it.Item().Value(func(v []byte) error {
				var ok bool
				if locs[i], ok = decodeLocation(v); !ok {
					return fmt.Errorf("storage: message %d: location %x: %w", id, v, ErrCorrupt)
				}
				found[i] = true
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// readLegacy reads a message stored in format 1, under its message key.
func (s *Badger) readLegacy(id uint64, fn func(id uint64, data []byte) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(appendMessageKey(nil, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("storage: message %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("storage: read message %d: %w", id, err)
		}
		return item.Value(func(v []byte) error { return fn(id, v) })
	})
}

// ForEachMessageID implements Store: the ids come from the segments' tables
// (and the message keys of a format-1 directory), on the committer's
// goroutine, between groups; fn must not call the store.
func (s *Badger) ForEachMessageID(fn func(id uint64) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	var fnErr error // fn's error is the caller's, not a failed write
	err := s.c.do(&request{barrier: func() error {
		var legacy []uint64 // format-1 messages: only until deleted
		if s.legacy {
			if err := s.db.View(func(txn *badger.Txn) error {
				return eachKey(txn, []byte{prefixMessage}, func(item *badger.Item) error {
					if len(item.Key()) != messageKeyLen {
						return fmt.Errorf("storage: message key %x has a bad length", item.Key())
					}
					legacy = append(legacy, messageIDOf(item.Key()))
					return nil
				})
			}); err != nil {
				fnErr = err
				return nil
			}
		}
		call := func(id uint64) error {
			for len(legacy) > 0 && legacy[0] <= id {
				if legacy[0] < id {
					if err := fn(legacy[0]); err != nil {
						return err
					}
				}
				legacy = legacy[1:]
			}
			return fn(id)
		}
		fnErr = s.segs.eachLive(call)
		for _, id := range legacy {
			if fnErr == nil {
				fnErr = fn(id)
			}
		}
		return nil
	}})
	if err != nil {
		return err
	}
	return fnErr
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
