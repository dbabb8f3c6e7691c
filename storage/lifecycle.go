package storage

import "sync"

// lifecycle tracks the calls in progress on a store so that Close can refuse new
// ones and wait for those under way, without a lock held across them (a read's
// callback may Submit, and Submit may block on back-pressure).
type lifecycle struct {
	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
}

// enter registers a call; it returns ErrClosed once shut has begun. Every nil
// return must be paired with exit.
func (l *lifecycle) enter() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.active.Add(1)
	return nil
}

func (l *lifecycle) exit() { l.active.Done() }

// shut refuses new calls and waits for those in progress. It reports whether
// this was the first shut.
func (l *lifecycle) shut() bool {
	l.mu.Lock()
	first := !l.closed
	l.closed = true
	l.mu.Unlock()
	l.active.Wait()
	return first
}
