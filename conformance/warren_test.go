package conformance

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/warren-mq/warren/amqp"
	"github.com/warren-mq/warren/broker"
	"github.com/warren-mq/warren/storage"
)

// startWarren starts an in-process Warren on a loopback port with its data in dir and
// returns its amqp:// URL and a function that stops it.
func startWarren(dir string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	store, err := storage.Open(dir, storage.TestOptions())
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	cfg := amqp.DefaultConfig()
	cfg.Store = store
	cfg.DataDir = dir
	// The policies the suite's tests expect, as the RabbitMQ node loads them.
	data, err := os.ReadFile("testdata/definitions.json")
	if err == nil {
		cfg.Definitions, err = broker.ParseDefinitions(data)
	}
	if err != nil {
		ln.Close()
		store.Close()
		return "", nil, err
	}
	srv, err := amqp.NewServer(cfg)
	if err != nil {
		ln.Close()
		store.Close()
		return "", nil, err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
		store.Close()
	}
	return fmt.Sprintf("amqp://guest:guest@%s/", ln.Addr()), stop, nil
}
