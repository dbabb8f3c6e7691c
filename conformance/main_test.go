// Package conformance is Warren's black-box test suite: every test speaks AMQP 0-9-1
// over TCP through github.com/rabbitmq/amqp091-go (or raw frames, for bad input) to a
// broker. By default the broker is an in-process Warren on a loopback port; with
// AMQP_URL set, the same tests run against any broker, such as a real RabbitMQ.
// Every test must pass against both.
package conformance

import (
	"fmt"
	"net/url"
	"os"
	"testing"
)

// brokerURL is the amqp:// URL every test dials; brokerAddr is its host:port, for
// tests that speak raw frames.
var (
	brokerURL  string
	brokerAddr string
	// againstWarren is true when the suite runs against the in-process Warren.
	againstWarren bool
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	brokerURL = os.Getenv("AMQP_URL")
	if brokerURL == "" {
		dir, err := os.MkdirTemp("", "warren-conformance-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		u, stop, err := startWarren(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting in-process Warren:", err)
			return 1
		}
		defer stop()
		brokerURL = u
		againstWarren = true
	}
	u, err := url.Parse(brokerURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "AMQP_URL:", err)
		return 1
	}
	brokerAddr = u.Host
	return m.Run()
}
