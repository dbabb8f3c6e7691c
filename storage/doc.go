// Package storage owns durability: the Store interface the broker writes
// definitions and persistent messages through, its Badger implementation and an
// in-memory twin, group commit and recovery (see DESIGN.md, "Storage").
package storage
