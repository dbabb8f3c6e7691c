package queue

import (
	"time"

	"github.com/warren-mq/warren/message"
)

// Overflow is what a queue at its length limit does with one more message.
type Overflow uint8

const (
	// DropHead drops (dead-letters) messages from the head: RabbitMQ's default.
	DropHead Overflow = iota
	// RejectPublish refuses the new message; a publisher in confirm mode gets a nack.
	RejectPublish
	// RejectPublishDLX refuses it and dead-letters it.
	RejectPublishDLX
)

// Settings are what a queue does beyond holding messages in order: RabbitMQ's
// x-arguments (and policies), resolved by the broker. The zero value is not
// valid; start from DefaultSettings.
type Settings struct {
	// MessageTTL is how long a message may stay ready in the queue, in
	// milliseconds (x-message-ttl); -1: no limit. A message's own expiration
	// applies when it is shorter.
	MessageTTL int64
	// Expires deletes the queue once it has been unused (no consumers, no
	// basic.get, no redeclaration) for this many milliseconds (x-expires); 0: never.
	Expires int64
	// MaxLength and MaxLengthBytes limit the ready messages and their body
	// octets (x-max-length, x-max-length-bytes); -1: no limit.
	MaxLength      int64
	MaxLengthBytes int64
	// Overflow says what happens past a length limit (x-overflow).
	Overflow Overflow
	// DeadLetter turns on dead-lettering to DeadLetterExchange (which may be "",
	// the default exchange): messages rejected without requeue, expired or
	// dropped by a length limit are republished there.
	DeadLetter         bool
	DeadLetterExchange string
	// DeadLetterRoutingKey, when HasDeadLetterRoutingKey, replaces the routing
	// keys of dead-lettered messages.
	DeadLetterRoutingKey    string
	HasDeadLetterRoutingKey bool
	// MaxPriority makes a priority queue with levels 0..MaxPriority
	// (x-max-priority); 0: not a priority queue.
	MaxPriority uint8
	// SingleActiveConsumer delivers to one consumer at a time
	// (x-single-active-consumer).
	SingleActiveConsumer bool
}

// DefaultSettings are those of a queue declared without arguments.
func DefaultSettings() Settings {
	return Settings{MessageTTL: -1, MaxLength: -1, MaxLengthBytes: -1}
}

// limited reports whether the settings limit the queue's length.
func (s *Settings) limited() bool { return s.MaxLength >= 0 || s.MaxLengthBytes >= 0 }

// Reasons a message is dead-lettered, as x-death records them.
const (
	ReasonRejected = "rejected"
	ReasonExpired  = "expired"
	ReasonMaxLen   = "maxlen"
)

// DeadLetter is a message a queue dropped for Reason, to be republished to the
// queue's dead-letter exchange.
type DeadLetter struct {
	Msg    *message.Message
	Reason string
}

// Env is what a queue needs from its surroundings. Its functions are called
// without any queue lock held.
type Env struct {
	// DeadLetter republishes messages q dropped, in order. nil drops them.
	DeadLetter func(q *Queue, dls []DeadLetter)
	// Expire is called when q has been unused for Settings.Expires: the owner
	// deletes it. nil never deletes it.
	Expire func(q *Queue)
	// Clock tells the time and runs timers; nil is the real clock.
	Clock Clock
	// Memory is the broker-wide budget the queue takes its share of, once it
	// has a store; nil: DefaultMemoryBudget.
	Memory *MemoryShare
}

// Clock is the time as a queue sees it; tests substitute their own.
type Clock interface {
	// Now is the current time in Unix milliseconds.
	Now() int64
	// AfterFunc runs f in its own goroutine after d, unless stopped.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer a Clock started.
type Timer interface {
	// Stop keeps the timer from firing; it reports false if it fired already.
	Stop() bool
}

type realClock struct{}

func (realClock) Now() int64 { return time.Now().UnixMilli() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(d, f)
}
