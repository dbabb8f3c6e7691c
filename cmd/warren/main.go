// Command warren is the Warren broker: an AMQP 0-9-1 server that RabbitMQ clients
// connect to unchanged.
//
//	warren [--listen HOST:PORT] [--data-dir DIR] [--config FILE] [--log-format console|json] ...
//
// Every flag has an environment variable (WARREN_LISTEN, WARREN_DATA_DIR, ...) and a
// config file key (listen, data_dir, ...); see config.go. On SIGTERM or SIGINT it
// closes every client connection with 320 CONNECTION_FORCED and exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/warren-mq/warren/amqp"
	"github.com/warren-mq/warren/storage"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "warren:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := load(args, os.Getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	defs, err := cfg.definitions()
	if err != nil {
		return err
	}
	for _, what := range defs.Ignored {
		log.Warn("definitions: not taken", zap.String("what", what))
	}
	so := storage.DefaultOptions()
	so.Logger = log
	store, err := storage.Open(cfg.DataDir, so)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	defer store.Close()

	sc := amqp.DefaultConfig()
	sc.Users = map[string]string{cfg.DefaultUser: cfg.DefaultPass}
	sc.LoopbackUsers = cfg.LoopbackUsers
	sc.Heartbeat = cfg.Heartbeat
	sc.FrameMax = cfg.FrameMax
	sc.ChannelMax = cfg.ChannelMax
	sc.Logger = log
	sc.Store = store
	sc.DataDir = cfg.DataDir
	sc.DiskFreeLimit = cfg.DiskFreeLimit
	sc.MemoryHighWatermark = cfg.MemoryHighWatermark
	sc.Definitions = defs
	srv, err := amqp.NewServer(sc)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("warren started", zap.String("version", amqp.Version), zap.String("listen", ln.Addr().String()),
		zap.String("data_dir", cfg.DataDir))

	if cfg.Pprof != "" {
		stopPprof, err := servePprof(cfg.Pprof, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	stopGC := make(chan struct{})
	gcDone := tuneGC(stopGC)
	defer func() { close(stopGC); <-gcDone }()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case sig := <-sigs:
		log.Info("shutting down", zap.String("signal", sig.String()))
	case err := <-served:
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	if serr := <-served; serr != nil && !errors.Is(serr, amqp.ErrServerClosed) {
		log.Warn("listener", zap.Error(serr))
	}
	st := store.CommitStats()
	log.Info("warren stopped", zap.Uint64("store_groups", st.Groups), zap.Uint64("store_batches", st.Batches),
		zap.Uint64("store_ops", st.Ops), zap.Uint64("store_ops_elided", st.Elided))
	return err
}

func newLogger(format, level string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	var zc zap.Config
	if format == "json" {
		zc = zap.NewProductionConfig()
	} else {
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.Sampling = nil
	return zc.Build()
}

// servePprof serves Go's profiling endpoints on addr (loopback, checked by the
// config) until the returned function is called.
func servePprof(addr string, log *zap.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	log.Info("pprof serving", zap.String("addr", ln.Addr().String()))
	return func() { hs.Close(); <-done }, nil
}
