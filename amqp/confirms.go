package amqp

import (
	"sync"

	"github.com/warren-mq/warren/amqp/wire"
)

// Outcomes of a publish in confirm mode.
const (
	confirmPending uint8 = iota
	confirmAck
	confirmNack
)

// confirms tracks a confirm-mode channel's publishes until each is confirmed.
// Publishes complete in the order they were made: a transient one is complete at
// once but waits behind earlier persistent ones, whose stored batches the group
// committer finishes in submit order. So the completed publishes always form a
// prefix, and each run of one outcome goes out as a single basic.ack or
// basic.nack, with multiple set when it covers more than one publish.
//
// The reader goroutine adds publishes; it and the store's committer goroutine
// complete and flush them, under mu.
type confirms struct {
	mu      sync.Mutex
	next    uint64  // delivery tag of the next publish (tags count from 1)
	base    uint64  // delivery tag of states[0]
	states  []uint8 // outcome of each publish not yet confirmed, oldest first
	stopped bool    // the channel closed: nothing more is sent
}

func newConfirms() *confirms { return &confirms{next: 1, base: 1} }

// add records a publish and returns its delivery tag.
func (c *confirms) add(outcome uint8) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	tag := c.next
	c.next++
	c.states = append(c.states, outcome)
	return tag
}

// complete sets a pending publish's outcome.
func (c *confirms) complete(tag uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tag < c.base || tag-c.base >= uint64(len(c.states)) {
		return
	}
	if ok {
		c.states[tag-c.base] = confirmAck
	} else {
		c.states[tag-c.base] = confirmNack
	}
}

// flush sends the confirms of the completed prefix on channel id through w.
func (c *confirms) flush(w *writer, id uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	i := 0
	for i < len(c.states) && c.states[i] != confirmPending {
		j := i
		for j+1 < len(c.states) && c.states[j+1] == c.states[i] {
			j++
		}
		tag, multiple := c.base+uint64(j), j > i
		if c.states[i] == confirmAck {
			w.method(id, &wire.BasicAck{DeliveryTag: tag, Multiple: multiple})
		} else {
			w.method(id, &wire.BasicNack{DeliveryTag: tag, Multiple: multiple})
		}
		i = j + 1
	}
	if i > 0 {
		c.base += uint64(i)
		c.states = c.states[:copy(c.states, c.states[i:])]
	}
}

// stop ends confirms for a closed channel.
func (c *confirms) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}
