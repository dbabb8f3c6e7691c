package storage

import (
	"errors"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// trimKickBytes is how many message bytes the committer writes between asking
// the trimmer to look at resident memory (besides its ticker).
const trimKickBytes = 32 << 20

// trimLoop keeps the resident part of Badger's mapped files near
// Options.TrimMappedAbove (see trimMapped) until Close: it looks every
// Options.TrimInterval and whenever the committer has written trimKickBytes.
func (s *Badger) trimLoop() {
	defer s.bg.Done()
	dir, err := filepath.Abs(s.dir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		s.log.Warn("cannot trim mapped memory", zap.String("dir", s.dir), zap.Error(err))
		return
	}
	t := time.NewTicker(s.opts.TrimInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.trimKick:
		}
		before, trimmed, err := trimMapped(dir, s.opts.TrimMappedAbove)
		if errors.Is(err, errTrimUnsupported) {
			s.log.Info("not trimming mapped memory", zap.Error(err))
			return
		}
		if err != nil {
			s.log.Warn("trimming mapped memory failed", zap.String("dir", s.dir), zap.Error(err))
			continue
		}
		if trimmed {
			s.trims.Add(1)
			s.log.Debug("trimmed mapped memory", zap.String("dir", s.dir), zap.Int64("resident_before", before))
		}
	}
}

// written tells the background loops that n more message bytes were written:
// the trimmer looks every trimKickBytes, and the GC loop measures quiet by
// the total. Committer goroutine only.
func (s *Badger) written(n int) {
	s.writtenTotal.Add(int64(n))
	s.sinceTrim += n
	if s.sinceTrim >= trimKickBytes {
		s.sinceTrim = 0
		kick(s.trimKick)
	}
}

// kick wakes the loop waiting on ch, if it is not already due to wake.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
