// Package storage owns durability: the Store interface the broker writes
// definitions and persistent messages through, its Badger implementation and an
// in-memory twin, group commit and recovery (see DESIGN.md, "Storage").
//
// # On disk
//
// A data directory holds a format marker, FormatFile, naming FormatVersion and
// the subdirectory that holds the Badger database (rebuild.go replaces it with
// a new one when a drained store is compacted). Open creates the marker in a
// new or empty directory and refuses, without writing anything, a directory
// whose marker names another version (ErrIncompatible) or a non-empty
// directory without a marker. Keys are
// laid out in keys.go: one prefix byte per record type, fixed-width big-endian
// integers, so a queue's index iterates in seq order from a Seek to its prefix.
// Message bodies go to segment files of the store's own (segments.go), in the
// directory's segments subdirectory; Badger's tree holds where each is, index
// entries, delivered marks and definitions.
//
// # Writes
//
// Every write goes through one committer goroutine (committer.go): Submit
// queues a batch (a batch carrying message bytes blocks while
// Options.MaxPendingBytes of them wait; acks never wait behind publishes, only
// while Options.MaxPendingOps operations of acks wait), the committer
// takes everything queued up to Options.MaxGroupOps / MaxGroupBytes, writes it in
// the segment (one sync) and then one Badger WriteBatch with one sync, and calls the dones in submit order.
// Definition writes join the same groups; DropQueue and Compact's memtable
// flush run on the committer between groups, so they are ordered with batches.
// After a failed write the store refuses every later write with that error.
//
// # Space and memory
//
// A segment's file is removed as soon as no stored message is in it, and the
// head segment once the store is quiet; deletes leave tombstones in Badger's
// tree that compaction drops, and Compact (which the background loop runs
// when the store is quiet after many deletes) reclaims them at once; when few
// keys are left it copies them into a new database and removes the old one,
// with what Badger's MANIFEST had grown by. Badger's memory is bounded
// by Options (memtables, caches), and the pages of its memory-mapped files are
// handed back to the kernel past Options.TrimMappedAbove, so resident memory does
// not grow with the backlog.
package storage
