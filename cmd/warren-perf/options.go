package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options is one run of the load generator. parseOptions fills it from the
// command line; every field has the flag's name in its comment.
type Options struct {
	URI string // --uri: amqp://user:pass@host:port/vhost, loopback only

	Producers   int // --producers: publishing channels
	Consumers   int // --consumers: consuming channels
	Connections int // --connections: 0 = one connection per producer and per consumer; N = producers and consumers spread round robin over N connections

	Size       int           // --size: body octets; the first 8 carry the send time
	Persistent bool          // --persistent: delivery-mode 2
	Confirm    int           // --confirm: publisher confirms with at most this many unconfirmed messages per producer; 0 = off
	Rate       float64       // --rate: msg/s per producer; 0 = as fast as possible
	Duration   time.Duration // --time: stop after this long; 0 = no time limit
	PMessages  int64         // --pmessages: each producer stops after this many messages; 0 = no limit
	CMessages  int64         // --cmessages: each consumer stops after this many messages; 0 = no limit

	Prefetch int  // --prefetch: basic.qos prefetch-count per consumer; 0 = unlimited
	AutoAck  bool // --auto-ack: consume with no-ack
	MultiAck int  // --multi-ack: ack every N deliveries with multiple=true (1 = each)
	Drain    bool // --drain: consumers only; stop once the messages in the queues at the start are consumed

	Queue        string // --queue: queue name, or a pattern with %d for --queues > 1
	Queues       int    // --queues: number of queues; producer i and consumer i use queue i mod Queues
	Durable      bool   // --durable: declare the queues durable
	Exchange     string // --exchange: exchange to publish to; "" = the default exchange
	ExchangeType string // --type: direct, fanout, topic or headers
	RoutingKey   string // --routing-key: publish and bind with this key; "" = the queue's name

	Cleanup    bool          // --cleanup: delete the queues and the exchange at the end
	DeleteOnly bool          // --delete-only: delete the queues and the exchange, then exit
	JSON       string        // --json: write the summary to this file
	Interval   time.Duration // --interval: how often to print rates; 0 = never
	Heartbeat  int           // --heartbeat: seconds to ask for in tune-ok; 0 = none
	Grace      time.Duration // --grace: how long to wait for outstanding confirms and deliveries at the end
	Procs      int           // --procs: GOMAXPROCS for the run; 0 = Go's default (every core)
}

// defaultOptions returns the options of a run with no flags: one producer and one
// consumer of 16-octet transient messages on queue perf-0 for ten seconds.
func defaultOptions() Options {
	return Options{
		URI:          "amqp://guest:guest@127.0.0.1:5672/",
		Producers:    1,
		Consumers:    1,
		Size:         16,
		Duration:     10 * time.Second,
		MultiAck:     1,
		Queue:        "perf-%d",
		Queues:       1,
		ExchangeType: "direct",
		Interval:     time.Second,
		Grace:        10 * time.Second,
	}
}

const usageHeader = `warren-perf: a load generator for AMQP 0-9-1 brokers (loopback only)

usage:
  warren-perf [flags]            run a load against --uri
  warren-perf sink [flags]       a minimal AMQP server that discards, relays or generates messages
                                 (warren-perf sink --help)

Modes: fill a queue with --consumers 0 --pmessages N; drain it with --producers 0 --drain.
Rates (--rate) are per producer. Flags:
`

// parseOptions parses the command line (without the program name).
func parseOptions(args []string, stderr io.Writer) (Options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("warren-perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHeader)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.URI, "uri", o.URI, "broker `URL` (amqp://user:pass@host:port/vhost); loopback addresses only")
	fs.IntVar(&o.Producers, "producers", o.Producers, "number of producers (`N` channels that publish)")
	fs.IntVar(&o.Consumers, "consumers", o.Consumers, "number of consumers")
	fs.IntVar(&o.Connections, "connections", o.Connections, "spread producers and consumers round robin over `N` connections (0: one connection each)")
	fs.IntVar(&o.Size, "size", o.Size, "message body size in `octets` (at least 8 for latency: the send time is in the first 8)")
	fs.BoolVar(&o.Persistent, "persistent", o.Persistent, "publish persistent messages (delivery-mode 2)")
	fs.IntVar(&o.Confirm, "confirm", o.Confirm, "publisher confirms with at most `N` unconfirmed messages per producer (0: no confirms)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "publish rate limit in `msg/s` per producer (0: unlimited)")
	fs.DurationVar(&o.Duration, "time", o.Duration, "run `duration` (0: until the message counts are reached)")
	fs.Int64Var(&o.PMessages, "pmessages", o.PMessages, "each producer stops after `N` messages (0: no limit)")
	fs.Int64Var(&o.CMessages, "cmessages", o.CMessages, "each consumer stops after `N` messages; the run ends when all have (0: no limit)")
	fs.IntVar(&o.Prefetch, "prefetch", o.Prefetch, "basic.qos prefetch-count per consumer (0: unlimited)")
	fs.BoolVar(&o.AutoAck, "auto-ack", o.AutoAck, "consume with no-ack (automatic acknowledgement)")
	fs.IntVar(&o.MultiAck, "multi-ack", o.MultiAck, "ack every `N` deliveries with multiple=true (1: ack each)")
	fs.BoolVar(&o.Drain, "drain", o.Drain, "consumers only: stop when the messages in the queues at the start have been consumed")
	fs.StringVar(&o.Queue, "queue", o.Queue, "queue `name`, or a pattern with %d when --queues > 1")
	fs.IntVar(&o.Queues, "queues", o.Queues, "number of queues (producer and consumer i use queue i mod N)")
	fs.BoolVar(&o.Durable, "durable", o.Durable, "declare the queues (and exchange) durable")
	fs.StringVar(&o.Exchange, "exchange", o.Exchange, "exchange to publish to (\"\": the default exchange)")
	fs.StringVar(&o.ExchangeType, "type", o.ExchangeType, "exchange `type`: direct, fanout, topic, headers")
	fs.StringVar(&o.RoutingKey, "routing-key", o.RoutingKey, "routing `key` to publish and bind with (\"\": the queue's name)")
	fs.BoolVar(&o.Cleanup, "cleanup", o.Cleanup, "delete the queues and the exchange at the end")
	fs.BoolVar(&o.DeleteOnly, "delete-only", o.DeleteOnly, "delete the queues and the exchange, then exit")
	fs.StringVar(&o.JSON, "json", o.JSON, "write the summary as JSON to `file`")
	fs.DurationVar(&o.Interval, "interval", o.Interval, "how often to print rates (0: never)")
	fs.IntVar(&o.Heartbeat, "heartbeat", o.Heartbeat, "heartbeat `seconds` asked for in tune-ok (0: none)")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "at the end, wait up to this long for outstanding confirms (and, after a count-limited publish, deliveries)")
	fs.IntVar(&o.Procs, "procs", o.Procs, "run warren-perf on at most `N` cores (GOMAXPROCS; 0: all). 1 lowers its own latency at low rates")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// A count-limited run has no time limit unless one is given.
	timeSet := false
	fs.Visit(func(f *flag.Flag) { timeSet = timeSet || f.Name == "time" })
	if !timeSet && (o.PMessages > 0 || o.CMessages > 0 || o.Drain) {
		o.Duration = 0
	}
	return o, o.validate()
}

// validate checks that the options describe a bounded run against loopback.
func (o *Options) validate() error {
	if _, err := parseURI(o.URI); err != nil {
		return err
	}
	if o.Queues < 1 {
		return errors.New("--queues must be at least 1")
	}
	if o.Queues > 1 && !strings.Contains(o.Queue, "%d") {
		return errors.New("--queues > 1 needs a --queue pattern with %d, such as perf-%d")
	}
	if o.Queue == "" {
		return errors.New("--queue must not be empty")
	}
	switch o.ExchangeType {
	case "direct", "fanout", "topic", "headers":
	default:
		return fmt.Errorf("--type %q: want direct, fanout, topic or headers", o.ExchangeType)
	}
	if strings.HasPrefix(o.Exchange, "amq.") {
		return errors.New("--exchange: names starting amq. are reserved; use the default exchange or your own")
	}
	if o.DeleteOnly {
		return nil
	}
	switch {
	case o.Producers < 0 || o.Consumers < 0 || o.Connections < 0:
		return errors.New("--producers, --consumers and --connections must not be negative")
	case o.Producers == 0 && o.Consumers == 0:
		return errors.New("nothing to do: --producers and --consumers are both 0")
	case o.Size < 0:
		return errors.New("--size must not be negative")
	case o.Confirm < 0:
		return errors.New("--confirm must not be negative")
	case o.Rate < 0:
		return errors.New("--rate must not be negative")
	case o.Procs < 0:
		return errors.New("--procs must not be negative")
	case o.Duration < 0 || o.Grace < 0 || o.Interval < 0:
		return errors.New("durations must not be negative")
	case o.PMessages < 0 || o.CMessages < 0:
		return errors.New("--pmessages and --cmessages must not be negative")
	case o.Prefetch < 0 || o.Prefetch > 65535:
		return errors.New("--prefetch must be between 0 and 65535")
	case o.MultiAck < 1:
		return errors.New("--multi-ack must be at least 1")
	case !o.AutoAck && o.Prefetch > 0 && o.MultiAck > o.Prefetch:
		return fmt.Errorf("--multi-ack %d > --prefetch %d: the consumer would stall waiting for deliveries it never gets", o.MultiAck, o.Prefetch)
	case o.Drain && o.Producers > 0:
		return errors.New("--drain is for consumers only: set --producers 0")
	case o.Drain && o.Consumers == 0:
		return errors.New("--drain needs consumers")
	case o.Heartbeat < 0 || o.Heartbeat > 65535:
		return errors.New("--heartbeat must be between 0 and 65535")
	}
	// Every load loop stops by itself: by time, or by counts on every side that runs.
	if o.Duration == 0 {
		prodBounded := o.Producers == 0 || o.PMessages > 0
		consBounded := o.Consumers == 0 || o.CMessages > 0 || o.Drain || (o.Producers > 0 && o.PMessages > 0)
		if !prodBounded || !consBounded {
			return errors.New("unbounded run: give --time, or --pmessages for producers and --cmessages or --drain for consumers alone")
		}
	}
	if per := o.channelsPerConnection(); per > 2047 {
		return fmt.Errorf("%d channels per connection: more than a broker's usual channel-max of 2047; raise --connections", per)
	}
	return nil
}

// channelsPerConnection is the most channels one connection carries.
func (o *Options) channelsPerConnection() int {
	if o.Connections == 0 {
		return 1
	}
	return (o.Producers+o.Connections-1)/o.Connections + (o.Consumers+o.Connections-1)/o.Connections
}

// queueName returns the name of queue i.
func (o *Options) queueName(i int) string {
	if strings.Contains(o.Queue, "%d") {
		return strings.ReplaceAll(o.Queue, "%d", strconv.Itoa(i))
	}
	return o.Queue
}

// routingKey returns the key producers of queue i publish with and queue i is
// bound with.
func (o *Options) routingKey(i int) string {
	if o.RoutingKey != "" {
		return o.RoutingKey
	}
	return o.queueName(i)
}

// brokerURI is a parsed --uri.
type brokerURI struct {
	Addr     string // host:port
	User     string
	Password string
	Vhost    string
}

// parseURI parses an amqp:// URL as RabbitMQ clients do (the path after the first
// slash, unescaped, is the vhost; an empty path is "/") and refuses any host that
// is not a loopback address: warren-perf only ever loads the local machine.
func parseURI(s string) (brokerURI, error) {
	u, err := url.Parse(s)
	if err != nil {
		return brokerURI{}, fmt.Errorf("--uri: %w", err)
	}
	if u.Scheme != "amqp" {
		return brokerURI{}, fmt.Errorf("--uri %q: want an amqp:// URL", s)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5672"
	}
	if host == "" {
		return brokerURI{}, fmt.Errorf("--uri %q: no host", s)
	}
	if !isLoopback(host) {
		return brokerURI{}, fmt.Errorf("--uri %q: %s is not a loopback address; warren-perf only loads the local machine", s, host)
	}
	b := brokerURI{Addr: net.JoinHostPort(host, port), User: "guest", Password: "guest", Vhost: "/"}
	if u.User != nil {
		b.User = u.User.Username()
		b.Password, _ = u.User.Password()
	}
	if p := strings.TrimPrefix(u.EscapedPath(), "/"); p != "" {
		v, err := url.PathUnescape(p)
		if err != nil {
			return brokerURI{}, fmt.Errorf("--uri vhost: %w", err)
		}
		b.Vhost = v
	}
	return b, nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
