// Package exchange implements the AMQP 0-9-1 exchange types of one virtual host
// (direct, fanout, topic, headers), their bindings, and routing a message through
// exchange-to-exchange bindings and alternate exchanges to a set of queues.
//
// Routing follows RabbitMQ 3.x (checked against RabbitMQ 3.10.8) wherever the
// specification is silent or RabbitMQ deviates from it; the tests name each
// corner case and what RabbitMQ did.
//
// Concurrency: an Exchange's routing methods (Match, MatchKeys, Route) take only
// its read lock and allocate nothing per call for direct, fanout and topic
// exchanges; Bind, Unbind and RemoveDestination take its write lock. Callbacks
// are always invoked with no lock held.
//
// The package imports nothing of Warren's. Field-table values are the Go types of
// a decoded AMQP field table: bool, int8, uint8, int16, uint16, int32, uint32,
// int64, float32, float64, string, []byte, []any, time.Time, map[string]any (or a
// named type whose underlying type is map[string]any, such as wire.Table), nil
// (void), and a decimal struct with fields Scale and Value.
package exchange
