// Package storage owns durability: the Store interface the broker writes
// definitions and persistent messages through, its Badger implementation and an
// in-memory twin, group commit and recovery (see DESIGN.md, "Storage").
//
// # On disk
//
// A data directory holds one Badger database and a format marker, FormatFile,
// naming FormatVersion. Open creates the marker in a new or empty directory and
// refuses, without writing anything, a directory whose marker names another
// version (ErrIncompatible) or a non-empty directory without a marker. Keys are
// laid out in keys.go: one prefix byte per record type, fixed-width big-endian
// integers, so a queue's index iterates in seq order from a Seek to its prefix.
// Message bodies go to Badger's value log; the LSM tree holds keys, index
// entries and delivered marks.
//
// # Writes
//
// Every write goes through one committer goroutine (committer.go): Submit
// queues a batch (a batch carrying message bytes blocks while
// Options.MaxPendingBytes of them wait; acks never wait behind publishes), the committer
// takes everything queued up to Options.MaxGroupOps / MaxGroupBytes, writes it in
// one Badger WriteBatch with one sync, and calls the dones in submit order.
// Definition writes join the same groups; DropQueue and Compact's memtable
// flush run on the committer between groups, so they are ordered with batches.
// After a failed write the store refuses every later write with that error.
//
// # Space and memory
//
// Deletes leave tombstones that compaction drops; value-log GC runs in the
// background and Compact reclaims everything at once. Badger's memory is bounded
// by Options (memtables, caches), and the pages of its memory-mapped files are
// handed back to the kernel past Options.TrimMappedAbove, so resident memory does
// not grow with the backlog.
package storage
