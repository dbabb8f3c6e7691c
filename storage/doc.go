// Package storage will own durability: the Store interface the broker writes
// definitions and persistent messages through, its Badger implementation and an
// in-memory twin, group commit and recovery (see DESIGN.md, "Storage").
//
// Until it lands, Warren keeps everything in memory: the broker's seams for it are
// queue.Queue's Publish/Ack/Requeue (every change to a queue's contents goes through
// them) and broker.Vhost's declare/delete/bind methods (every change to definitions).
package storage
