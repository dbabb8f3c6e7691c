//go:build linux || darwin || freebsd

package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// FreeSpace returns the bytes available to an unprivileged user on the
// filesystem that holds dir (statfs f_bavail x f_bsize), for the broker's disk
// alarm.
func FreeSpace(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("storage: statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// DiskUsage returns the bytes of disk allocated to the regular files directly
// in dir (st_blocks x 512, so sparse files count for what they hold).
func DiskUsage(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("storage: disk usage: %w", err)
	}
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dir, e.Name()), &st); err != nil {
			if os.IsNotExist(err) {
				continue // Badger removed it meanwhile
			}
			return 0, fmt.Errorf("storage: disk usage: %w", err)
		}
		total += int64(st.Blocks) * 512
	}
	return total, nil
}
