package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// freePort returns a loopback address no one listens on right now.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSIGTERMClosesClients starts the real binary, connects a client, sends SIGTERM
// and expects the client to be closed with 320 CONNECTION_FORCED and the process to
// exit cleanly.
func TestSIGTERMClosesClients(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "warren")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freePort(t)
	cmd := exec.Command(bin, "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--log-format", "json")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
	}()

	var conn *amqp091.Connection
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := amqp091.Dial("amqp://guest:guest@" + addr + "/")
		if err == nil {
			conn = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker did not accept connections: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-closed:
		if e == nil || e.Code != 320 {
			t.Fatalf("close = %v, want 320 CONNECTION_FORCED", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed after SIGTERM")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("warren exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("warren did not exit after SIGTERM")
	}
}
