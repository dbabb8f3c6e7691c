package amqp

import (
	"context"
	"net"
	"testing"
)

// startServer serves cfg on a loopback port until the test ends and returns the
// server and its amqp:// URL.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { srv.Serve(ln); close(served) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-served
	})
	return srv, "amqp://guest:guest@" + ln.Addr().String() + "/"
}
