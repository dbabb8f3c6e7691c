// Package wire is the AMQP 0-9-1 wire codec of Warren, as RabbitMQ 3.x speaks it:
// frames, method arguments, content headers, field tables and reply codes.
//
// Encoding appends to a caller-provided []byte and does not allocate when the
// buffer has room. Decoding reads from a byte slice without reflection; it
// allocates only the method struct and the strings, byte slices and tables
// it returns, which never alias the input.
//
// The method structs, their codecs, Properties, the class ids and the reply
// codes are generated from the spec table spec/amqp0-9-1.json by
// internal/gen; edit the table and run go generate, never the *_gen.go files.
package wire

//go:generate go run ./internal/gen -spec spec/amqp0-9-1.json -out .
