//go:build !linux

package storage

import "errors"

var errTrimUnsupported = errors.New("storage: trimming mapped memory is only supported on Linux")

// trimMapped is not supported outside Linux: Badger's mapped files stay
// resident until the kernel reclaims them.
func trimMapped(dir string, limit int64) (resident int64, trimmed bool, err error) {
	return 0, false, errTrimUnsupported
}
