package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FormatFile is the name of the format-version marker in a data directory. It is checked before Badger touches the directory,
// so a directory that is refused is left exactly as it was.
const FormatFile = "WARREN_FORMAT"

// FormatVersion is the on-disk format this build writes. Format 3 keeps
// Badger's database in a subdirectory of the data directory that the marker
// names on its second line (see rebuild.go), message bodies in segment files
// (segments.go). Format 2 had the same records with Badger's files in the data
// directory itself; format 1 kept message bodies in Badger, under their
// message keys. A format-1 directory is read as it is and marked format 2 once
// it is open (its old messages stay where they are until deleted); a format-2
// one becomes format 3 when Compact first moves its database. A build of
// format 1 or 2 refuses a directory of a later format.
const FormatVersion = "warren-storage-v3"

// formatV1 and formatV2 are the formats of earlier builds, with Badger's files
// in the data directory itself.
const (
	formatV1 = "warren-storage-v1"
	formatV2 = "warren-storage-v2"
)

// marker is what a format marker says: the format, and for format 3 the
// subdirectory that holds Badger's database ("" for the data directory).
type marker struct {
	format string
	db     string
}

// dbPrefix begins the name of a database subdirectory; a number follows,
// one more for each rebuild.
const dbPrefix = "badger-"

// validDBName reports whether name is one rebuild gives a database directory.
func validDBName(name string) bool {
	n, ok := strings.CutPrefix(name, dbPrefix)
	if !ok || n == "" || len(n) > 12 {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// maxFormatLen bounds how much of a marker file is read.
const maxFormatLen = 256

// ignoredEntries may be in an otherwise empty directory that is taken as new:
// the root of a freshly made ext filesystem has lost+found, and a crash while the
// marker was first written leaves its temporary file.
var ignoredEntries = map[string]bool{"lost+found": true, FormatFile + ".tmp": true}

// prepareDir makes sure dir is a Warren data directory of a format this build
// reads, and returns its marker: it creates dir and a marker when dir is
// missing or empty, accepts it when its marker names a format this build
// reads, and otherwise refuses it without writing anything.
func prepareDir(dir string) (marker, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return marker{}, fmt.Errorf("storage: create data directory: %w", err)
	}
	m, err := readMarker(dir)
	switch {
	case err == nil && (m.format == formatV1 || m.format == formatV2):
		return marker{format: m.format}, nil
	case err == nil && m.format == FormatVersion && validDBName(m.db):
		if _, err := os.Stat(filepath.Join(dir, m.db)); err != nil {
			return marker{}, fmt.Errorf("storage: the database directory the format marker of %s names: %w", dir, err)
		}
		return m, nil
	case err == nil && m.format == FormatVersion:
		return marker{}, fmt.Errorf("storage: the format marker of %s names no valid database directory (%q): refusing to guess", dir, m.db)
	case err == nil:
		return marker{}, fmt.Errorf("%w: %s has format %q; this build reads %q", ErrIncompatible, dir, m.format, FormatVersion)
	case !errors.Is(err, fs.ErrNotExist):
		return marker{}, fmt.Errorf("storage: read format marker of %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return marker{}, fmt.Errorf("storage: read data directory: %w", err)
	}
	first := dbPrefix + "1"
	for _, e := range entries {
		if e.Name() == first && emptyDir(filepath.Join(dir, first)) {
			continue // made, then killed before the marker was written
		}
		if !ignoredEntries[e.Name()] {
			return marker{}, fmt.Errorf("storage: %s is not empty and has no %s: not a Warren data directory, refusing to use it (found %q)",
				dir, FormatFile, e.Name())
		}
	}
	m = marker{format: FormatVersion, db: first}
	if err := os.MkdirAll(filepath.Join(dir, m.db), 0o750); err != nil {
		return marker{}, fmt.Errorf("storage: create database directory: %w", err)
	}
	if _, err := writeMarker(dir, m); err != nil {
		return marker{}, err
	}
	return m, nil
}

// emptyDir reports whether dir is a directory with nothing in it.
func emptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// readMarker reads a marker: the format on its first line, the database
// directory on its second.
func readMarker(dir string) (marker, error) {
	f, err := os.Open(filepath.Join(dir, FormatFile))
	if err != nil {
		return marker{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFormatLen))
	if err != nil {
		return marker{}, err
	}
	first, rest, _ := bytes.Cut(b, []byte{'\n'})
	second, _, _ := bytes.Cut(rest, []byte{'\n'})
	return marker{format: string(bytes.TrimSpace(first)), db: string(bytes.TrimSpace(second))}, nil
}

// writeMarker writes m durably: a temporary file, fsync, rename, then fsync
// of the directory. renamed reports whether the rename happened, after which
// the new marker may be the one a restart reads even if err is not nil.
func writeMarker(dir string, m marker) (renamed bool, err error) {
	tmp := filepath.Join(dir, FormatFile+".tmp")
	text := m.format + "\n"
	if m.db != "" {
		text += m.db + "\n"
	}
	err = writeFileSync(tmp, []byte(text))
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, FormatFile))
		renamed = err == nil
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		if !renamed {
			os.Remove(tmp)
		}
		return renamed, fmt.Errorf("storage: write format marker in %s: %w", dir, err)
	}
	return true, nil
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
