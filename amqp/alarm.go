package amqp

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/storage"
)

// Resources is what the resource monitor reads: free disk space where the data
// lives, and the broker's memory use against the machine's.
type Resources struct {
	DiskFree uint64
	MemUsed  uint64 // resident set size of the broker
	MemTotal uint64 // the machine's RAM
}

// machineResources reads Resources for dataDir from the operating system.
func machineResources(dataDir string) (Resources, error) {
	var r Resources
	free, err := storage.FreeSpace(dataDir)
	if err != nil {
		return r, err
	}
	r.DiskFree = free
	r.MemUsed, r.MemTotal = memoryUse()
	return r, nil
}

// memoryUse returns the process's resident set size and the machine's RAM, from
// /proc (0, 0 where it cannot be read: the memory alarm is then off).
func memoryUse() (rss, total uint64) {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := bytes.Fields(b)
		if len(f) > 1 {
			pages, _ := strconv.ParseUint(string(f[1]), 10, 64)
			rss = pages * uint64(os.Getpagesize())
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := bytes.Fields(sc.Bytes()); len(fields) >= 2 && string(fields[0]) == "MemTotal:" {
				kb, _ := strconv.ParseUint(string(fields[1]), 10, 64)
				total = kb * 1024
				break
			}
		}
	}
	return rss, total
}

// alarm is the server's resource alarm: while it is raised, connections that
// publish are blocked, as in RabbitMQ.
type alarm struct {
	mu      sync.Mutex
	reason  string        // "" when clear
	cleared chan struct{} // closed when a raised alarm clears
}

// raised returns the alarm's reason and a channel closed when it clears, or ""
// when it is clear.
func (a *alarm) raised() (string, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reason, a.cleared
}

// set raises the alarm with reason, or clears it with "". It reports whether the
// state changed.
func (a *alarm) set(reason string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if (a.reason == "") == (reason == "") {
		a.reason = reason
		return false
	}
	if reason != "" {
		a.cleared = make(chan struct{})
	} else {
		close(a.cleared)
	}
	a.reason = reason
	return true
}

// monitor checks resources every interval until stop is closed.
func (s *Server) monitor(stop <-chan struct{}) {
	cfg := s.cfg
	t := time.NewTicker(cfg.ResourceCheckInterval)
	defer t.Stop()
	for {
		s.checkResources()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// checkResources raises or clears the alarm from one reading.
func (s *Server) checkResources() {
	cfg := s.cfg
	r, err := cfg.Resources()
	if err != nil {
		s.log.Warn("reading resources", zap.Error(err))
		return
	}
	reason := ""
	switch {
	case cfg.DiskFreeLimit > 0 && r.DiskFree < cfg.DiskFreeLimit:
		reason = "low on disk"
	case cfg.MemoryHighWatermark > 0 && r.MemTotal > 0 && float64(r.MemUsed) > cfg.MemoryHighWatermark*float64(r.MemTotal):
		reason = "low on memory"
	}
	if s.alarm.set(reason) {
		if reason != "" {
			s.log.Warn("resource alarm: blocking publishers", zap.String("reason", reason),
				zap.Uint64("disk_free", r.DiskFree), zap.Uint64("mem_used", r.MemUsed))
		} else {
			s.log.Info("resource alarm cleared: unblocking publishers")
		}
	}
}

// awaitPublishAllowed blocks a connection that is about to publish while the
// alarm is raised: it tells the client with connection.blocked (if the client
// understands it), stops reading until the alarm clears, then sends
// connection.unblocked. It reports false if the connection is closing.
func (c *conn) awaitPublishAllowed() bool {
	reason, cleared := c.srv.alarm.raised()
	if reason == "" {
		return true
	}
	c.flushes.flush() // deliveries must not wait for the alarm to clear
	notify := c.clientCaps["connection.blocked"] == true
	if notify {
		c.w.method(0, &wire.ConnectionBlocked{Reason: reason})
	}
	c.log.Info("connection blocked", zap.String("reason", reason))
	// Reading stops, so the client's heartbeats go unread: the read deadline is
	// lifted until the connection reads again, as RabbitMQ suspends its monitor.
	select {
	case <-cleared:
	case <-c.stopBlocking:
		return false
	}
	if notify {
		c.w.method(0, &wire.ConnectionUnblocked{})
	}
	c.log.Info("connection unblocked")
	return true
}
