package storage
import _ "github.com/dgraph-io/badger/v4"
