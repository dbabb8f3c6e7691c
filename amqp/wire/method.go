package wire

import "encoding/binary"

// Method is one AMQP method. The generated structs (*BasicPublish,
// *QueueDeclare, ...) implement it with pointer receivers.
type Method interface {
	ClassID() uint16
	MethodID() uint16
	// Name is the specification's name, e.g. "basic.publish", "queue.declare-ok".
	Name() string
	// HasContent reports whether a content header and body frames follow the
	// method: true for basic.publish, basic.return, basic.deliver, basic.get-ok.
	HasContent() bool
	// AppendTo appends the method frame payload: class id, method id and the
	// arguments. Short strings longer than 255 octets are cut to 255.
	AppendTo(dst []byte) []byte
}

// IsBasicPublish reports whether a method frame's payload is a basic.publish.
func IsBasicPublish(payload []byte) bool {
	return len(payload) >= 4 && binary.BigEndian.Uint16(payload) == 60 && binary.BigEndian.Uint16(payload[2:]) == 40
}

// DecodeBasicPublish decodes a method frame's payload into m if it is a
// basic.publish, and reports whether it was; a hot path reuses one struct so
// (DecodeMethod allocates one each time). The fields do not alias payload.
func DecodeBasicPublish(payload []byte, m *BasicPublish) (bool, error) {
	if !IsBasicPublish(payload) {
		return false, nil
	}
	d := decoder{buf: payload, off: 4}
	m.decodeArguments(&d)
	return true, d.finish(m.Name())
}

// DecodeMethod decodes a method frame payload into a new method struct
// (*BasicPublish, ...). Ids that name no method give an *UnknownMethodError;
// truncated arguments, trailing octets and invalid field tables give a
// *SyntaxError. The result shares no memory with payload.
func DecodeMethod(payload []byte) (Method, error) {
	if len(payload) < 4 {
		return nil, &SyntaxError{Reason: "method frame payload shorter than class id and method id"}
	}
	classID := binary.BigEndian.Uint16(payload)
	methodID := binary.BigEndian.Uint16(payload[2:])
	d := decoder{buf: payload, off: 4}
	m := decodeArguments(classID, methodID, &d)
	if m == nil {
		return nil, &UnknownMethodError{ClassID: classID, MethodID: methodID}
	}
	if err := d.finish(m.Name()); err != nil {
		return nil, err
	}
	return m, nil
}
