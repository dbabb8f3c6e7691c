package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// Rebuilding the database. Compaction drops what deleted keys leave in Badger's
// tables, but not what its MANIFEST grows by: a line for every table created
// and deleted, about 13 KiB for 2,000,000 messages stored and deleted, which
// Badger gives back only after 10,000 table deletions (a constant of its own)
// and never on open. So when Compact finds the database holding few keys (a
// drained store: definitions, delivered marks, a few messages), it copies them
// into a new database in a new subdirectory and switches to it, and the old
// one goes whole: the disk a drained store uses is what a new one uses.
//
// The switch is the marker: the new database is written and synced, then the
// marker is rewritten to name it (writeMarker: rename, then fsync of the
// directory), then the old database is closed and removed. Killed before the
// rename, the store opens the old database and removes the new one; after it,
// the other way round (removeUnused). The copy runs on the committer's
// goroutine, between groups, so no write is lost between the two databases,
// and under dbMu's write lock, so no read sees a closed database.

// rebuildMaxKeys and rebuildMaxBytes bound the database Compact rebuilds: the
// copy stalls writes while it runs, and a larger database gains little.
const (
	rebuildMaxKeys  = 1 << 14
	rebuildMaxBytes = 16 << 20
)

// errRebuildBusy is why a rebuild did not run: a read was under way.
var errRebuildBusy = errors.New("storage: a read holds the database")

// rebuild copies the database into a new one and switches to it, if it holds at
// most rebuildMaxKeys keys and rebuildMaxBytes; it reports whether it did. An
// error before the switch leaves the store as it was; one after it (the
// marker's rename happened but its directory sync failed, so either database
// may be the one a restart opens) fails the store's later writes.
func (s *Badger) rebuild() (bool, error) {
	if small, err := s.small(); err != nil || !small {
		return false, err
	}
	var (
		old     *badger.DB
		oldName string
		keepOld bool  // the marker's sync failed: either database may be the one a restart opens
		skipped error // why the copy was given up, the store unchanged
	)
	err := s.c.do(&request{barrier: func() error {
		if !s.dbMu.TryLock() {
			// A read may be waiting for the committer (a callback that
			// submits): it must not wait for this barrier as well.
			skipped = errRebuildBusy
			return nil
		}
		defer s.dbMu.Unlock()
		name := nextDBName(s.dbName)
		db, err := s.copyInto(filepath.Join(s.dir, name))
		if err != nil {
			skipped = err
			return nil
		}
		renamed, err := writeMarker(s.dir, marker{format: FormatVersion, db: name})
		if !renamed {
			db.Close()
			os.RemoveAll(filepath.Join(s.dir, name))
			skipped = err
			return nil
		}
		old, oldName = s.db, s.dbName
		s.db, s.dbName = db, name
		// On an error both databases stay until the next open, which keeps
		// the one the marker names; the committer refuses writes from now on.
		keepOld = err != nil
		return err
	}})
	if err == nil && skipped != nil {
		if errors.Is(skipped, errRebuildBusy) {
			return false, nil
		}
		return false, skipped
	}
	if old != nil {
		if cerr := old.Close(); cerr != nil {
			s.log.Warn("closing the database a rebuild replaced failed", zap.String("dir", s.dir), zap.Error(cerr))
		}
		if !keepOld {
			if rerr := removeDatabase(s.dir, oldName); rerr != nil {
				s.log.Warn("removing the database a rebuild replaced failed; the next open does", zap.String("dir", s.dir), zap.Error(rerr))
			}
		}
	}
	return err == nil, err
}

// small reports whether the database holds at most rebuildMaxKeys keys and
// rebuildMaxBytes.
func (s *Badger) small() (bool, error) {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	keys, bytes := 0, int64(0)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys++
			bytes += it.Item().EstimatedSize()
			if keys > rebuildMaxKeys || bytes > rebuildMaxBytes {
				return errStop
			}
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return false, nil
	}
	return err == nil, err
}

// copyInto creates a database in dir (removing what a killed rebuild left
// there), copies every key of s.db into it and syncs it. On the committer's
// goroutine: nothing writes to s.db meanwhile.
func (s *Badger) copyInto(dir string) (db *badger.DB, err error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("storage: rebuild: %w", err)
	}
	db, err = badger.Open(s.opts.badgerOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("storage: rebuild: open %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			db.Close()
			os.RemoveAll(dir)
		}
	}()
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if k := item.Key(); len(k) == 1 && k[0] == prefixScratch {
				continue
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := wb.Set(item.KeyCopy(nil), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	}
	if err == nil && !s.opts.SyncWrites {
		err = db.Sync()
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: rebuild: copy into %s: %w", dir, err)
	}
	return db, nil
}

// nextDBName is the name of the database directory that follows name.
func nextDBName(name string) string {
	n, _ := strconv.ParseUint(strings.TrimPrefix(name, dbPrefix), 10, 64) // 0 for "" (formats 1 and 2)
	return dbPrefix + strconv.FormatUint(n+1, 10)
}

// removeUnused removes, before the store opens, the databases a killed
// rebuild left: every database directory but current, and Badger's files in
// dir itself when current is a subdirectory.
func removeUnused(dir, current string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: read data directory: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); e.IsDir() && name != current && validDBName(name) {
			if err := removeDatabase(dir, name); err != nil {
				return err
			}
		}
	}
	if current != "" {
		return removeDatabase(dir, "")
	}
	return nil
}

// removeDatabase removes the database directory name of dir, or for "" the
// files of Badger's database in dir itself (formats 1 and 2).
func removeDatabase(dir, name string) error {
	if name != "" {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("storage: remove old database: %w", err)
		}
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: read data directory: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); e.Type().IsRegular() && isBadgerFile(name) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("storage: remove old database file: %w", err)
			}
		}
	}
	return syncDir(dir)
}

// isBadgerFile reports whether name is one of the files Badger v4 keeps in its
// directory.
func isBadgerFile(name string) bool {
	switch name {
	case badger.ManifestFilename, "MANIFEST-REWRITE", badger.KeyRegistryFileName, badger.KeyRegistryRewriteFileName, "DISCARD", "LOCK":
		return true
	}
	return strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".vlog") || strings.HasSuffix(name, ".mem")
}
