package wire

import "fmt"

// Error is a protocol error destined for channel.close (soft errors) or
// connection.close (hard errors, see IsHardError). ClassID and MethodID name
// the method that caused it, or are 0.
type Error struct {
	Code     uint16
	Text     string // reply-text, RabbitMQ style: "NOT_FOUND - no queue 'q1' in vhost '/'"
	ClassID  uint16
	MethodID uint16
}

// Errorf builds an *Error whose Text is RabbitMQ-style "<NAME> - <formatted>",
// e.g. Errorf(NotFound, "no queue '%s' in vhost '%s'", "q1", "/").Text is
// "NOT_FOUND - no queue 'q1' in vhost '/'". For a code ReplyName does not know
// the Text is the formatted message alone. A Text longer than a short string
// (255 octets) is cut when encoded.
func Errorf(code uint16, format string, args ...any) *Error {
	text := fmt.Sprintf(format, args...)
	if name := ReplyName(code); name != "" {
		text = name + " - " + text
	}
	return &Error{Code: code, Text: text}
}

func (e *Error) Error() string {
	if e.ClassID != 0 || e.MethodID != 0 {
		return fmt.Sprintf("amqp error %d: %s (class %d, method %d)", e.Code, e.Text, e.ClassID, e.MethodID)
	}
	return fmt.Sprintf("amqp error %d: %s", e.Code, e.Text)
}

// Hard reports whether the error closes the connection rather than a channel.
func (e *Error) Hard() bool { return IsHardError(e.Code) }

// For returns e with ClassID and MethodID set to those of m, the method that
// caused the error, and returns e for chaining.
func (e *Error) For(m Method) *Error {
	e.ClassID, e.MethodID = m.ClassID(), m.MethodID()
	return e
}

// ConnectionClose returns the connection.close that reports e.
func (e *Error) ConnectionClose() *ConnectionClose {
	return &ConnectionClose{ReplyCode: e.Code, ReplyText: e.Text, FailingClassID: e.ClassID, FailingMethodID: e.MethodID}
}

// ChannelClose returns the channel.close that reports e.
func (e *Error) ChannelClose() *ChannelClose {
	return &ChannelClose{ReplyCode: e.Code, ReplyText: e.Text, FailingClassID: e.ClassID, FailingMethodID: e.MethodID}
}

// SyntaxError reports method arguments, a content header or a field table
// that cannot be decoded: truncated, trailing octets, an unknown field value
// type, nesting deeper than 256, a continuation property-flags word naming a
// property. RabbitMQ 3.10 answers truncated or overlong method arguments with
// connection.close FRAME_ERROR (501) "FRAME_ERROR - cannot decode <<...>>"
// naming the method, drops the TCP connection without a close on an unknown
// field type, and closes with INTERNAL_ERROR (541) on a content header it
// cannot decode; the specification suggests SYNTAX_ERROR (502).
type SyntaxError struct {
	Reason string
}

func (e *SyntaxError) Error() string { return "amqp syntax error: " + e.Reason }

// UnknownMethodError reports a method frame whose class and method ids name
// no method of AMQP 0-9-1 as RabbitMQ speaks it. RabbitMQ 3.10 drops the
// TCP connection without a connection.close on one; the specification
// suggests NOT_IMPLEMENTED (540) or COMMAND_INVALID (503).
type UnknownMethodError struct {
	ClassID, MethodID uint16
}

func (e *UnknownMethodError) Error() string {
	return fmt.Sprintf("amqp unknown method: class %d, method %d", e.ClassID, e.MethodID)
}
