// Package amqp is Warren's AMQP 0-9-1 front end: the TCP listener, the connection
// state machine (handshake, heartbeats, close) and the channel state machine
// (every class's methods), on top of the wire codec in amqp/wire and the virtual
// hosts in broker.
package amqp

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/broker"
	"github.com/warren-mq/warren/storage"
)

// Config is what a Server needs; DefaultConfig explains each default.
type Config struct {
	// Users maps user names to passwords.
	Users map[string]string
	// LoopbackUsers may only log in from a loopback address, like RabbitMQ's
	// loopback_users (which holds guest by default).
	LoopbackUsers []string
	// Heartbeat is the interval the server proposes in connection.tune; the
	// client's answer in tune-ok is what is used, as in RabbitMQ.
	Heartbeat time.Duration
	// FrameMax is the largest frame the server accepts, proposed in tune.
	FrameMax uint32
	// ChannelMax is the highest channel number, proposed in tune.
	ChannelMax uint16
	// HandshakeTimeout bounds the time from accept to connection.open.
	HandshakeTimeout time.Duration
	// MaxMessageSize is the largest body accepted, like RabbitMQ's max_message_size.
	MaxMessageSize uint64
	// Logger receives the server's structured logs.
	Logger *zap.Logger
	// Store keeps durable definitions and persistent messages; nil keeps
	// everything in memory.
	Store storage.Store
	// DataDir is where the store lives: the disk alarm watches its free space.
	DataDir string
	// DiskFreeLimit blocks publishers while free space on DataDir's file system
	// is below it, like RabbitMQ's disk_free_limit; 0 turns the check off.
	DiskFreeLimit uint64
	// MemoryHighWatermark blocks publishers while the broker's resident memory
	// is above this fraction of the machine's RAM, like RabbitMQ's
	// vm_memory_high_watermark; 0 turns the check off.
	MemoryHighWatermark float64
	// ResourceCheckInterval is how often the resource monitor looks.
	ResourceCheckInterval time.Duration
	// Resources reads disk and memory figures; nil reads the machine's.
	Resources func() (Resources, error)
	// Definitions are taken at start (policies, and exchanges, queues and
	// bindings to declare), as from RabbitMQ's load_definitions; nil for none.
	Definitions *broker.Definitions
}

// DefaultConfig returns RabbitMQ's defaults: guest/guest from loopback only,
// heartbeat 60 s, frame-max 131072, channel-max 2047, 128 MiB messages,
// publishers blocked below 50 MB of free disk or above 0.4 of RAM.
func DefaultConfig() Config {
	return Config{
		Users:            map[string]string{"guest": "guest"},
		LoopbackUsers:    []string{"guest"},
		Heartbeat:        60 * time.Second,
		FrameMax:         131072,
		ChannelMax:       2047,
		HandshakeTimeout: 10 * time.Second,
		MaxMessageSize:   128 << 20,
		Logger:           zap.NewNop(),
		DataDir:          ".",

		DiskFreeLimit:         50_000_000,
		MemoryHighWatermark:   0.4,
		ResourceCheckInterval: time.Second,
	}
}

// Server accepts AMQP connections and serves them from its virtual hosts.
type Server struct {
	cfg    Config
	log    *zap.Logger
	broker *broker.Broker

	alarm       alarm
	monitorOnce sync.Once
	monitorStop chan struct{}
	monitorDone chan struct{}

	replyMu sync.RWMutex
	replies map[string]*channel // direct reply-to addresses

	mu       sync.Mutex
	lns      []net.Listener
	conns    map[*conn]struct{}
	shutdown bool
	wg       sync.WaitGroup // one per connection goroutine
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("amqp: server closed")

// NewServer returns a server with the vhost "/" and whatever cfg.Store holds.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	start := time.Now()
	b, err := broker.Open(broker.Config{Store: cfg.Store, Logger: cfg.Logger, Definitions: cfg.Definitions})
	if err != nil {
		return nil, err
	}
	if cfg.Store != nil {
		cfg.Logger.Info("recovered from the store", zap.Duration("took", time.Since(start)))
	}
	if cfg.Resources == nil {
		dir := cfg.DataDir
		cfg.Resources = func() (Resources, error) { return machineResources(dir) }
	}
	if cfg.ResourceCheckInterval <= 0 {
		cfg.ResourceCheckInterval = time.Second
	}
	return &Server{cfg: cfg, log: cfg.Logger, broker: b, conns: map[*conn]struct{}{}, replies: map[string]*channel{},
		monitorStop: make(chan struct{}), monitorDone: make(chan struct{})}, nil
}

// Serve accepts connections on ln until Shutdown; each runs in its own goroutine,
// which Shutdown waits for.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	s.monitorOnce.Do(func() {
		go func() {
			defer close(s.monitorDone)
			s.monitor(s.monitorStop)
		}()
	})
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.shutdown
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.shutdown {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting, closes every connection with 320 CONNECTION_FORCED and
// waits for them to end, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	// The monitor ends with the server (if Serve never started it, it never will).
	s.monitorOnce.Do(func() { close(s.monitorDone) })
	select {
	case <-s.monitorStop:
	default:
		close(s.monitorStop)
	}
	for _, ln := range s.lns {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.forceClose("broker forced connection closure with reason 'shutdown'")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	<-s.monitorDone
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
