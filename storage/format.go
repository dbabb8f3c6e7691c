package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FormatFile is the name of the format-version marker in a data directory,
// beside Badger's own files. It is checked before Badger touches the directory,
// so a directory that is refused is left exactly as it was.
const FormatFile = "WARREN_FORMAT"

// FormatVersion is the on-disk format this build writes. Format 2 keeps message
// bodies in segment files (segments.go); format 1 kept them in Badger, under
// their message keys. A format-1 directory is read as it is and its marker
// rewritten once it is open: its old messages stay where they are until
// deleted. A build of format 1 refuses a format-2 directory.
const FormatVersion = "warren-storage-v2"

// formatV1 is the format of builds before segments.
const formatV1 = "warren-storage-v1"

// maxFormatLen bounds how much of a marker file is read.
const maxFormatLen = 256

// ignoredEntries may be in an otherwise empty directory that is taken as new:
// the root of a freshly made ext filesystem has lost+found, and a crash while the
// marker was first written leaves its temporary file.
var ignoredEntries = map[string]bool{"lost+found": true, FormatFile + ".tmp": true}

// prepareDir makes sure dir is a Warren data directory of a format this build
// reads, and returns that format: it creates dir and its marker when dir is
// missing or empty, accepts it when its marker says FormatVersion or formatV1,
// and otherwise refuses it without writing anything.
func prepareDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("storage: create data directory: %w", err)
	}
	found, err := readFormat(dir)
	switch {
	case err == nil && (found == FormatVersion || found == formatV1):
		return found, nil
	case err == nil:
		return "", fmt.Errorf("%w: %s has format %q; this build reads %q", ErrIncompatible, dir, found, FormatVersion)
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("storage: read format marker of %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("storage: read data directory: %w", err)
	}
	for _, e := range entries {
		if !ignoredEntries[e.Name()] {
			return "", fmt.Errorf("storage: %s is not empty and has no %s: not a Warren data directory, refusing to use it (found %q)",
				dir, FormatFile, e.Name())
		}
	}
	return FormatVersion, writeFormat(dir)
}

// readFormat returns the version a marker names (its first line).
func readFormat(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, FormatFile))
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFormatLen))
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimSpace(b)), nil
}

// writeFormat writes the marker durably: a temporary file, fsync, rename, then
// fsync of the directory.
func writeFormat(dir string) error {
	tmp := filepath.Join(dir, FormatFile+".tmp")
	err := writeFileSync(tmp, []byte(FormatVersion+"\n"))
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, FormatFile))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("storage: write format marker in %s: %w", dir, err)
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
