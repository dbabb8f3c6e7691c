//go:build linux

package storage

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Badger reads and writes its tables (.sst) and value logs (.vlog) through
// shared memory maps, so every byte written or read stays resident in the
// process (RssFile) until the kernel needs the memory: a 2 GB backlog shows as
// 2 GB of RSS. These pages are clean page cache once synced, so the store asks
// the kernel to reclaim them (madvise MADV_PAGEOUT) once the process's
// file-backed resident memory passes Options.TrimMappedAbove. MADV_PAGEOUT is
// only advice: a page still in use is faulted back in from disk, dirty pages are
// left alone, and a range that has been unmapped and reused meanwhile (Badger
// maps and unmaps files by itself) is at worst swapped out, never lost.

const madvPageout = 0x15 // MADV_PAGEOUT, Linux 5.4

// errTrimUnsupported is returned by trimMapped when the kernel lacks MADV_PAGEOUT.
var errTrimUnsupported = errors.New("storage: madvise(MADV_PAGEOUT) is not supported by this kernel")

// residentFile returns the process's file-backed resident memory (RssFile).
func residentFile() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("RssFile:")); ok {
			f := strings.Fields(string(v))
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("storage: no RssFile in /proc/self/status")
}

// trimMapped asks the kernel to reclaim the pages of every table and value-log
// file of dir (an absolute path without symlinks) mapped by this process, if the
// process's file-backed resident memory is above limit. It returns the resident
// size it saw and whether it trimmed.
func trimMapped(dir string, limit int64) (resident int64, trimmed bool, err error) {
	resident, err = residentFile()
	if err != nil || resident <= limit {
		return resident, false, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return resident, false, err
	}
	defer f.Close()
	prefix := dir + "/"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		path := fields[5]
		if !strings.HasPrefix(path, prefix) || !(strings.HasSuffix(path, ".vlog") || strings.HasSuffix(path, ".sst")) {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), madvPageout)
		switch errno {
		case 0, syscall.ENOMEM, syscall.EAGAIN: // ENOMEM: unmapped meanwhile
		case syscall.EINVAL:
			return resident, false, errTrimUnsupported
		default:
			return resident, false, errno
		}
	}
	return resident, true, sc.Err()
}
