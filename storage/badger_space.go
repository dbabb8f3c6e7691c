package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// Reclaiming space. A deleted key leaves a tombstone that compaction drops when
// it reaches the lowest level holding the key; a message body in the value log
// is reclaimed when value-log GC rewrites its file. A dropped queue's index goes
// at once with DropPrefix, which removes the keys from the tables themselves.

// dropPrefixAbove is the number of index entries above which DropQueue uses
// Badger's DropPrefix; a smaller queue's entries are deleted one by one, which
// leaves tombstones but does not stall writes to flush and compact.
const dropPrefixAbove = 4096

// DropQueue implements Store. It runs on the committer's goroutine, after every
// batch submitted before it. A large queue's index goes with Badger's
// DropPrefix, which removes the keys from the tables themselves but blocks
// writes while it flushes the memtables and rewrites the tables holding them
// (and waits for a running Compact's Flatten).
func (s *Badger) DropQueue(queueID uint64) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	return s.c.do(&request{barrier: func() error {
		if err := s.dropQueue(queueID); err != nil {
			return fmt.Errorf("storage: drop queue %d: %w", queueID, err)
		}
		return nil
	}})
}

func (s *Badger) dropQueue(queueID uint64) error {
	prefix := appendIndexPrefix(nil, queueID)
	delivered := appendDeliveredKey(nil, queueID)
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, prefix, func(item *badger.Item) error {
			if len(keys) > dropPrefixAbove {
				return errStop
			}
			keys = append(keys, item.KeyCopy(nil))
			return nil
		})
	})
	switch {
	case errors.Is(err, errStop):
		s.maint.Lock()
		defer s.maint.Unlock()
		return s.db.DropPrefix(prefix, delivered)
	case err != nil:
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range append(keys, delivered) {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	if !s.opts.SyncWrites {
		return s.db.Sync()
	}
	return nil
}

// errStop ends an iteration early.
var errStop = errors.New("stop")

// Compact reclaims space now: it flushes the memtables and compacts level 0
// (through DropPrefix of a scratch key, in the committer's order), has Badger
// compact the LSM tree until it is one level (Flatten), which drops tombstones
// and deleted versions, then runs value-log GC until no file qualifies, and
// when few keys are left rebuilds the database (rebuild.go). Writes go on
// meanwhile, except while the memtables are flushed and a rebuild copies.
// Call it after large drains; it can take seconds. A head segment no message
// is in goes too.
func (s *Badger) Compact() error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	s.deletes.Store(0)
	if err := s.c.do(&request{barrier: s.removeEmptyHead}); err != nil {
		return err
	}
	if err := s.c.do(&request{barrier: s.flushMemtables}); err != nil {
		return err
	}
	s.maint.Lock()
	s.dbMu.RLock()
	err := s.db.Flatten(2)
	s.dbMu.RUnlock()
	s.maint.Unlock()
	if err != nil {
		return fmt.Errorf("storage: compact: %w", err)
	}
	if _, err := s.runGC(); err != nil {
		return fmt.Errorf("storage: value-log GC: %w", err)
	}
	if rebuilt, err := s.rebuild(); err != nil {
		return err
	} else if rebuilt {
		s.dbMu.RLock()
		name := s.dbName
		s.dbMu.RUnlock()
		s.log.Debug("rebuilt the database", zap.String("dir", s.dir), zap.String("database", name))
	}
	return nil
}

// removeEmptyHead removes the segment being appended to if no message is in
// it (settle leaves a head that is less than a quarter full, for the next
// writes). On the committer's goroutine.
func (s *Badger) removeEmptyHead() error {
	if err := s.segs.removeEmpty(0); err != nil {
		s.log.Warn("removing a segment no message is in failed", zap.String("dir", s.dir), zap.Error(err))
	}
	return nil
}

// flushMemtables writes a scratch key and drops it: DropPrefix flushes every
// memtable to level 0 (leaving the scratch key out) and compacts level 0 into the
// next level. Badger has no other way to ask for either. It runs on the
// committer's goroutine, Badger's only other writer.
func (s *Badger) flushMemtables() error {
	s.maint.Lock()
	defer s.maint.Unlock()
	scratch := []byte{prefixScratch}
	err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(scratch, nil) })
	if err == nil {
		err = s.db.DropPrefix(scratch)
	}
	if err != nil {
		return fmt.Errorf("storage: flush memtables: %w", err)
	}
	return nil
}

// compactAfterDeletes is how many deleted messages make the background loop
// compact when value-log GC finds nothing to rewrite.
const compactAfterDeletes = 65536

// gcLoop looks every Options.GCInterval, until Close: it removes an empty head
// segment and compacts when the store is quiet, and runs value-log GC (which
// finds work only in a format-1 directory or for long definitions).
//
// A Compact stalls writes while it flushes the memtables and competes with
// them for the disk and a core, so the loop compacts only while the store is
// quiet (under quietBytesPerSecond of message bytes written since it last
// looked): after a drain, not in the middle of one.
func (s *Badger) gcLoop() {
	defer s.bg.Done()
	t := time.NewTicker(s.opts.GCInterval)
	defer t.Stop()
	lastAt, lastBytes := time.Now(), s.writtenTotal.Load()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now, total := time.Now(), s.writtenTotal.Load()
		quiet := float64(total-lastBytes) < quietBytesPerSecond*now.Sub(lastAt).Seconds()
		lastAt, lastBytes = now, total
		if quiet && s.life.enter() == nil {
			s.c.do(&request{barrier: s.removeEmptyHead})
			s.life.exit()
		}
		if n, err := s.runGC(); err != nil {
			s.log.Warn("value-log GC failed", zap.String("dir", s.dir), zap.Error(err))
		} else if n > 0 {
			s.log.Debug("value-log GC", zap.String("dir", s.dir), zap.Int("files", n))
		} else if quiet && s.deletes.Load() >= compactAfterDeletes {
			// Many deletes, and GC found nothing to rewrite: their tombstones
			// are not compacted yet. Compact, then GC can reclaim the space.
			if err := s.Compact(); err != nil {
				s.log.Warn("compaction failed", zap.String("dir", s.dir), zap.Error(err))
			}
		}
	}
}

// quietBytesPerSecond is the write rate under which the store counts as quiet
// for compaction.
const quietBytesPerSecond = 1 << 20

// runGC rewrites value-log files while one has at least Options.GCDiscardRatio
// garbage, and returns how many it rewrote. It stops early on Close.
func (s *Badger) runGC() (files int, err error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	for {
		select {
		case <-s.stop:
			return files, nil
		default:
		}
		s.dbMu.RLock()
		err := s.db.RunValueLogGC(s.opts.GCDiscardRatio)
		s.dbMu.RUnlock()
		switch {
		case err == nil:
			files++
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return files, nil
		case errors.Is(err, badger.ErrBlockedWrites):
			return files, nil // a DropPrefix is running; the next run retries
		default:
			return files, err
		}
	}
}

// Usage implements Store: the disk blocks allocated to the files of the data
// directory (Badger preallocates sparse files, so their length would overstate it).
func (s *Badger) Usage() (int64, error) {
	if err := s.life.enter(); err != nil {
		return 0, err
	}
	defer s.life.exit()
	n, err := DiskUsage(s.dir)
	if err != nil {
		return 0, err
	}
	segs, err := DiskUsage(s.segs.dir)
	if err != nil {
		return 0, err
	}
	s.dbMu.RLock() // a rebuild removes the database it replaced
	defer s.dbMu.RUnlock()
	var db int64
	if s.dbName != "" {
		db, err = DiskUsage(filepath.Join(s.dir, s.dbName))
	}
	return n + segs + db, err
}
