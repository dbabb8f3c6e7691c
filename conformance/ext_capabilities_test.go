package conformance

import (
	"sort"
	"testing"
)

// TestExtCapabilities pins the capabilities table of connection.start's
// server-properties exactly as RabbitMQ 3.10 sends it: these nine extensions, each a
// boolean true, and nothing else.
func TestExtCapabilities(t *testing.T) {
	t.Parallel()
	c := rawDial(t)
	c.sendHeader()
	s := c.expectStart()
	caps, ok := s.ServerProperties["capabilities"].(map[string]any)
	if !ok {
		t.Fatalf("capabilities = %#v, want a table", s.ServerProperties["capabilities"])
	}
	want := []string{
		"authentication_failure_close", "basic.nack", "connection.blocked", "consumer_cancel_notify",
		"consumer_priorities", "direct_reply_to", "exchange_exchange_bindings", "per_consumer_qos",
		"publisher_confirms",
	}
	var got []string
	for k, v := range caps {
		got = append(got, k)
		if v != true {
			t.Errorf("capability %s = %#v, want boolean true", k, v)
		}
	}
	sort.Strings(got)
	if !msgSame(got, want...) {
		t.Fatalf("capabilities %v, want exactly %v", got, want)
	}
}
