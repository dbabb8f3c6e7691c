package exchange

import "errors"

// ErrInvalidBindingArgs is matched (errors.Is) by every error ValidateBindingArgs
// returns.
var ErrInvalidBindingArgs = errors.New("invalid binding arguments")

// bindingArgsError is RabbitMQ's reply text for refused binding arguments.
type bindingArgsError struct{ text string }

func (e *bindingArgsError) Error() string        { return e.text }
func (e *bindingArgsError) Is(target error) bool { return target == ErrInvalidBindingArgs }

// ValidateBindingArgs checks binding arguments the way RabbitMQ 3.10 does on
// queue.bind and exchange.bind to an exchange of type typ (not on unbind). The broker
// closes the channel with 406 PRECONDITION_FAILED when it fails; the error's message is
// RabbitMQ's reply text without the "PRECONDITION_FAILED - " prefix, for example
//
//	Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x
//	Invalid x-match field type signedint (value 1); expected longstr
//
// Only the headers exchange checks its arguments (x-match); the other types accept
// any arguments, x-match included.
//
// The text can exceed the 255 bytes of a reply-text; RabbitMQ then sends its first
// 252 bytes and "...".
func ValidateBindingArgs(typ string, args map[string]any) error {
	if typ != Headers {
		return nil
	}
	v, ok := args["x-match"]
	if !ok {
		return nil
	}
	var b []byte
	if s, isStr := v.(string); isStr {
		switch s {
		case "all", "any", "all-with-x", "any-with-x":
			return nil
		}
		b = append(b, "Invalid x-match field value "...)
		b = appendErlBinary(b, s)
		b = append(b, "; expected all, any, all-with-x, or any-with-x"...)
	} else {
		b = append(b, "Invalid x-match field type "...)
		b = append(b, FieldTypeName(v)...)
		b = append(b, " (value "...)
		b = appendErlTerm(b, v)
		b = append(b, "); expected longstr"...)
	}
	return &bindingArgsError{text: string(b)}
}
