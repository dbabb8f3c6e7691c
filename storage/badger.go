package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// ErrNotFound is wrapped by ReadMessages for a message id that is not stored.
var ErrNotFound = errors.New("storage: message not found")

// Badger is the Store on disk: one Badger database in a data directory, written
// through a group committer. Its methods are safe for concurrent use.
type Badger struct {
	dir  string
	opts Options
	// dbMu guards db and dbName against readers: a rebuild (rebuild.go)
	// replaces them under the write lock, on the committer's goroutine, which
	// uses them without the lock; everything else reads them under the read
	// lock.
	dbMu   sync.RWMutex
	db     *badger.DB
	dbName string // the subdirectory holding db ("" for dir itself, formats 1 and 2)
	segs   *segments
	// legacy is set when the directory was written in format 1 and still
	// holds messages under their message keys: reads and deletes look there
	// too.
	legacy bool
	log    *zap.Logger
	life   lifecycle
	c      *committer

	// maint serializes Badger's operations that stop and restart compactions
	// (DropPrefix, Flatten): they must not overlap.
	maint sync.Mutex
	// gcMu serializes value-log GC runs (Badger refuses overlapping ones).
	gcMu sync.Mutex

	stop     chan struct{}  // closed by Close: background loops end
	bg       sync.WaitGroup // the background loops (gcLoop, trimLoop)
	trimKick chan struct{}
	trims    atomic.Uint64
	// deletes counts messages deleted since the last Compact: the background
	// loop compacts after many, since value-log GC cannot see garbage whose
	// tombstones are not compacted yet (a drained queue would keep its disk).
	deletes atomic.Int64
	// writtenTotal counts message bytes written since Open.
	writtenTotal atomic.Int64

	// Owned by the committer goroutine (writeGroup): key and small-value
	// storage reused from group to group; the locations of the group's
	// records; message bytes written since the trimmer was last woken.
	arena     []byte
	locs      []location
	sinceTrim int
}

var _ Store = (*Badger)(nil)

// Open opens the store in dir, creating dir and an empty store if dir is missing
// or empty. A directory of another format version is refused with an error
// wrapping ErrIncompatible, and a non-empty directory without Warren's format
// marker is refused; neither is written to. Close the store when done.
func Open(dir string, opts Options) (*Badger, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m, err := prepareDir(dir)
	if err != nil {
		return nil, err
	}
	if err := removeUnused(dir, m.db); err != nil {
		return nil, err
	}
	dbDir := filepath.Join(dir, m.db)
	if err := removeEmptyMemtables(dbDir); err != nil {
		return nil, err
	}
	db, err := badger.Open(opts.badgerOptions(dbDir))
	if err != nil {
		return nil, fmt.Errorf("storage: open Badger database in %s: %w", dbDir, err)
	}
	s := &Badger{dir: dir, opts: opts, db: db, dbName: m.db, log: opts.Logger,
		stop: make(chan struct{}), trimKick: make(chan struct{}, 1)}
	if err := s.openSegments(); err != nil {
		db.Close()
		return nil, err
	}
	if m.format == formatV1 {
		// This build writes segments, which a format-1 build cannot read.
		if _, err := writeMarker(dir, marker{format: formatV2}); err != nil {
			s.segs.close()
			db.Close()
			return nil, err
		}
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.c = newCommitter(s, committerLimits{depth: opts.QueueDepth, groupOps: opts.MaxGroupOps, groupBytes: opts.MaxGroupBytes,
		pendingBytes: opts.MaxPendingBytes, pendingOps: int64(opts.MaxPendingOps)}, true)
	if opts.GCInterval > 0 {
		s.bg.Add(1)
		go s.gcLoop()
	}
	if opts.TrimMappedAbove > 0 {
		s.bg.Add(1)
		go s.trimLoop()
	}
	return s, nil
}

// removeEmptyMemtables removes the zero-length memtable logs of dir. Badger
// creates a memtable's log, then sizes it; killed in between, it leaves an
// empty .mem file, which holds nothing but which Badger v4 then refuses to open
// ("while opening memtables ... Create a new file"), so the store could not
// start again. Seen in the kill -9 test.
func removeEmptyMemtables(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: read data directory: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("storage: remove empty memtable log: %w", err)
		}
	}
	return nil
}

// openSegments reads where every stored message is and opens the segments
// (see segments.go); it notes whether format-1 messages are left.
func (s *Badger) openSegments() error {
	refs := map[uint32][]uint64{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixMessage}})
		it.Seek([]byte{prefixMessage})
		s.legacy = it.ValidForPrefix([]byte{prefixMessage})
		it.Close()
		return eachKey(txn, []byte{prefixLocation}, func(item *badger.Item) error {
			key := item.Key()
			return item.Value(func(v []byte) error {
				l, ok := decodeLocation(v)
				if len(key) != messageKeyLen || !ok {
					return fmt.Errorf("storage: message location %x -> %x is malformed", key, v)
				}
				refs[l.seg] = append(refs[l.seg], messageIDOf(key))
				return nil
			})
		})
	})
	if err == nil {
		s.segs, err = openSegments(s.dir, s.opts.SegmentSize, refs)
	}
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", s.dir, err)
	}
	return nil
}

// CommitStats reports the group committer's work so far.
func (s *Badger) CommitStats() CommitStats { return s.c.stats() }

// Trims reports how many times the store has asked the kernel to reclaim the
// pages of its mapped files (see Options.TrimMappedAbove).
func (s *Badger) Trims() uint64 { return s.trims.Load() }

// Dir is the data directory the store was opened in.
func (s *Badger) Dir() string { return s.dir }

// Submit implements Store. A nil done is allowed. A batch that carries message
// bytes blocks while Options.MaxPendingBytes of them wait to be written, one
// without while Options.MaxPendingOps operations of such batches wait, any
// batch while Options.QueueDepth batches wait; so done, which runs on the
// committer's goroutine, must not call Submit.
func (s *Badger) Submit(b *Batch, done func(error)) {
	if b == nil {
		b = &Batch{}
	}
	r := &request{batch: b, done: done, failed: checkBatch(b)}
	if err := s.life.enter(); err != nil {
		if done != nil {
			go done(err)
		}
		return
	}
	defer s.life.exit()
	s.c.submit(r)
}

// PutDefinition implements Store.
func (s *Badger) PutDefinition(kind Kind, key string, value []byte) error {
	return s.writeDefinition(&definitionOp{kind: kind, key: key, value: value})
}

// DeleteDefinition implements Store.
func (s *Badger) DeleteDefinition(kind Kind, key string) error {
	return s.writeDefinition(&definitionOp{kind: kind, key: key, delete: true})
}

func (s *Badger) writeDefinition(d *definitionOp) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.exit()
	return s.c.do(&request{def: d})
}

// Close implements Store: it refuses new calls, waits for those in progress and
// for every submitted batch (their done runs), stops value-log GC and closes
// Badger. A second Close returns ErrClosed.
func (s *Badger) Close() error {
	if !s.life.shut() {
		return ErrClosed
	}
	s.c.close()
	close(s.stop)
	s.bg.Wait()
	s.segs.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", s.dir, err)
	}
	return nil
}
