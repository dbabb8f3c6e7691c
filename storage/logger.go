package storage

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
)

// badgerLogger adapts a *zap.Logger to Badger's Logger interface. Badger logs
// every compaction at Info; those go to Debug so that a broker at Info level
// stays quiet.
type badgerLogger struct {
	l     *zap.Logger
	debug bool // Debug is enabled: Badger calls Debugf on its write path, so skip formatting when not
}

func newBadgerLogger(l *zap.Logger) badgerLogger {
	if l == nil {
		l = zap.NewNop()
	}
	return badgerLogger{l: l.Named("badger").WithOptions(zap.AddCallerSkip(2)), debug: l.Core().Enabled(zap.DebugLevel)}
}

func (b badgerLogger) Errorf(format string, args ...any)   { b.l.Error(line(format, args)) }
func (b badgerLogger) Warningf(format string, args ...any) { b.l.Warn(line(format, args)) }
func (b badgerLogger) Infof(format string, args ...any)    { b.Debugf(format, args...) }
func (b badgerLogger) Debugf(format string, args ...any) {
	if b.debug {
		b.l.Debug(line(format, args))
	}
}

// line formats one Badger message without the newlines it ends with.
func line(format string, args []any) string {
	return strings.TrimSpace(fmt.Sprintf(format, args...))
}
