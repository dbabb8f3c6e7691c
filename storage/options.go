package storage

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"go.uber.org/zap"
)

// Options configure a Badger store. Start from DefaultOptions (or TestOptions)
// and change what you need; Open validates them.
//
// Memory: Badger's heap is roughly (MemTableSize x 1.3) x (NumMemtables+1) for
// memtables + BlockCacheSize + IndexCacheSize + buffers for building tables
// (a few times MemTableSize, kept in a pool while compactions run), plus the
// batches in flight (MaxPendingBytes). It does not grow with the number
// of stored messages: bodies live on disk and are read back on demand. Badger's
// memory-mapped files are kept near TrimMappedAbove.
type Options struct {
	// MemTableSize is the size of one Badger memtable (the in-memory skiplist that
	// takes writes before they become a level-0 table). Badger's largest single
	// transaction is 15% of it, and so is its largest value kept in the tree.
	MemTableSize int64
	// NumMemtables is about how many full memtables may wait to be flushed to
	// disk before writes stall (besides the one taking writes).
	NumMemtables int
	// BlockCacheSize bounds Badger's cache of table blocks (bytes). Required when
	// Compression is on.
	BlockCacheSize int64
	// IndexCacheSize bounds the memory used by table indexes and bloom filters
	// (bytes). 0 keeps every table's index in memory, unbounded, which grows
	// with the data: keep it non-zero.
	IndexCacheSize int64
	// SegmentSize is the size at which a segment file of message bodies is
	// closed and the next begun (see segments.go). A segment's disk comes back
	// when its last message is deleted, so this bounds the space one long-lived
	// message can keep: at most a segment's worth.
	SegmentSize int64
	// ValueLogFileSize is the size of one file of Badger's value log, which
	// holds only values too large for its tree (15% of MemTableSize, 1 MiB at most: long definitions) and
	// the message bodies of a format-1 directory.
	ValueLogFileSize int64
	// BaseTableSize is the target size of an SSTable at the base level.
	BaseTableSize int64
	// TableSizeMultiplier makes each level's tables this many times larger
	// than the level above's. Badger builds a table in a buffer of twice its
	// size and keeps such buffers pooled, so at its default of 2 a deep tree
	// holds tens of MiB for compactions; 1 keeps every table at BaseTableSize.
	TableSizeMultiplier int
	// NumCompactors is the number of concurrent compaction goroutines (0 or >= 2).
	NumCompactors int
	// Compression of table blocks. options.None by default: message bodies are
	// often compressed already, and it saves the CPU.
	Compression options.CompressionType

	// SyncWrites makes Badger fsync inside every write, so a group (one
	// WriteBatch) is durable when it returns. When false the committer calls
	// DB.Sync once per group instead, which was no faster in the benchmarks and
	// misses data: DB.Sync syncs only the current memtable log and value-log
	// file, so the tail of a memtable log or value-log file that Badger switched
	// away from within the group is not covered by it (the memtable's until it
	// is flushed, the value-log file's not at all). Keep it true.
	SyncWrites bool

	// QueueDepth is how many submitted batches may wait for the committer before
	// Submit blocks. It is a buffer, set large: back-pressure is MaxPendingBytes.
	QueueDepth int
	// MaxPendingBytes is how many message bytes submitted batches may hold
	// before Submit blocks the next batch that carries message bytes
	// (publishes); batches without (acks) never wait for them, so consumers
	// are not held up behind publishers.
	MaxPendingBytes int64
	// MaxPendingOps is how many operations submitted batches without message
	// bytes (acks, deletes) may hold before Submit blocks the next such batch,
	// so that consumers acking faster than the disk takes the deletes are slowed
	// to its pace instead of growing memory.
	MaxPendingOps int
	// MaxGroupOps and MaxGroupBytes bound one commit group: the committer stops
	// taking queued batches once the group holds this many operations or message
	// bytes (a single larger batch is still written whole).
	MaxGroupOps   int
	MaxGroupBytes int

	// GCInterval is how often the background loop reclaims space (0 disables
	// it; Compact still does all of it): an empty head segment and tombstones
	// once the store is quiet, and value-log GC, which repeats RunValueLogGC
	// while it reclaims a file.
	GCInterval time.Duration
	// GCDiscardRatio is the fraction of a value-log file that must be garbage
	// before GC rewrites it, in (0, 1).
	GCDiscardRatio float64

	// TrimMappedAbove: Badger reads and writes its files through memory maps,
	// so whatever it touched stays resident (RssFile) until the kernel needs the
	// memory, and a large backlog shows as RSS of its size. When the process's
	// file-backed resident memory passes this many bytes, the store asks the
	// kernel to reclaim the pages of its tables and value logs (madvise
	// MADV_PAGEOUT, Linux >= 5.4); later reads fault them back in from disk.
	// 0 disables it.
	TrimMappedAbove int64
	// TrimInterval is how often resident memory is checked (it is also checked
	// after every 32 MiB of message bytes written).
	TrimInterval time.Duration

	// Logger receives Badger's messages (its Info messages at Debug level) and
	// the store's own. nil discards them.
	Logger *zap.Logger
}

// DefaultOptions are the broker's: a bounded resident memory for Badger
// whatever the number of stored messages (see the package's big measurements),
// durable group commit.
func DefaultOptions() Options {
	return Options{
		MemTableSize:        4 << 20,
		NumMemtables:        2,
		BlockCacheSize:      8 << 20,
		IndexCacheSize:      16 << 20,
		SegmentSize:         64 << 20,
		ValueLogFileSize:    64 << 20,
		BaseTableSize:       2 << 20,
		TableSizeMultiplier: 1,
		NumCompactors:       2,
		Compression:         options.None,
		SyncWrites:          true,
		QueueDepth:          65536,
		MaxPendingBytes:     16 << 20,
		MaxPendingOps:       65536,
		MaxGroupOps:         16384,
		MaxGroupBytes:       8 << 20,
		GCInterval:          10 * time.Second,
		GCDiscardRatio:      0.75,
		TrimMappedAbove:     64 << 20,
		TrimInterval:        time.Second,
	}
}

// TestOptions are DefaultOptions made smaller for tests: small memtables,
// caches and value-log files, no background GC or trimming.
func TestOptions() Options {
	o := DefaultOptions()
	o.MemTableSize = 4 << 20
	o.BlockCacheSize = 2 << 20
	o.IndexCacheSize = 2 << 20
	o.ValueLogFileSize = 16 << 20
	o.SegmentSize = 16 << 20
	o.QueueDepth = 256
	o.GCInterval = 0
	o.TrimMappedAbove = 0
	return o
}

// validate reports the first option that cannot work.
func (o Options) validate() error {
	switch {
	case o.MemTableSize < 1<<20:
		return errors.New("storage: MemTableSize must be at least 1 MiB")
	case o.NumMemtables < 1:
		return errors.New("storage: NumMemtables must be at least 1")
	case o.BlockCacheSize < 0 || o.IndexCacheSize < 0:
		return errors.New("storage: cache sizes must not be negative")
	case o.Compression != options.None && o.BlockCacheSize == 0:
		return errors.New("storage: BlockCacheSize must be set when Compression is on")
	case o.SegmentSize < 1<<20:
		return errors.New("storage: SegmentSize must be at least 1 MiB")
	case o.ValueLogFileSize < 1<<20 || o.ValueLogFileSize >= 2<<30:
		return errors.New("storage: ValueLogFileSize must be in [1 MiB, 2 GiB)")
	case o.BaseTableSize < 64<<10:
		return errors.New("storage: BaseTableSize must be at least 64 KiB")
	case o.TableSizeMultiplier < 1:
		return errors.New("storage: TableSizeMultiplier must be at least 1")
	case o.NumCompactors == 1 || o.NumCompactors < 0:
		return errors.New("storage: NumCompactors must be 0 or at least 2")
	case o.QueueDepth < 1 || o.MaxGroupOps < 1 || o.MaxGroupBytes < 1 || o.MaxPendingBytes < 1 || o.MaxPendingOps < 1:
		return errors.New("storage: QueueDepth, MaxGroupOps, MaxGroupBytes, MaxPendingBytes and MaxPendingOps must be positive")
	case o.GCInterval < 0:
		return errors.New("storage: GCInterval must not be negative")
	case o.TrimMappedAbove < 0 || (o.TrimMappedAbove > 0 && o.TrimInterval <= 0):
		return errors.New("storage: TrimMappedAbove must not be negative, and needs a positive TrimInterval")
	case o.GCDiscardRatio <= 0 || o.GCDiscardRatio >= 1:
		return errors.New("storage: GCDiscardRatio must be in (0, 1)")
	}
	return nil
}

// badgerOptions translates o into Badger's options for dir.
func (o Options) badgerOptions(dir string) badger.Options {
	bo := badger.DefaultOptions(dir)
	bo.TableSizeMultiplier = o.TableSizeMultiplier // no With method for it
	return bo.
		WithLogger(newBadgerLogger(o.Logger)).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(o.NumMemtables).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(o.IndexCacheSize).
		// Everything Badger holds stays in its tree; message bodies are in segments.
		WithValueThreshold(min(1<<20, o.MemTableSize*15/100)).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithBaseTableSize(o.BaseTableSize).
		WithNumCompactors(o.NumCompactors).
		WithCompression(o.Compression).
		WithSyncWrites(o.SyncWrites).
		// One writer (the committer) doing blind writes: nothing to conflict.
		WithDetectConflicts(false).
		// Expvar metrics are process-global and keyed by directory; not needed.
		WithMetricsEnabled(false).
		WithNumGoroutines(2)
}
