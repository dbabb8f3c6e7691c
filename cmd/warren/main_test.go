package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

var (
	buildOnce sync.Once
	buildDir  string
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// warrenBinary builds the broker once for all the tests that run it as a real
// process (skipped with -short).
func warrenBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "warren-bin-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "warren")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

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
	bin := warrenBinary(t)
	dir := t.TempDir()
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

// TestRefusesForeignDataDir: a data directory that is not Warren's (here one
// holding someone's file), or one of an unknown format version, stops the broker
// with a clear error and a non-zero exit, and is left as it was.
func TestRefusesForeignDataDir(t *testing.T) {
	bin := warrenBinary(t)
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "thesis.txt"), []byte("do not delete"), 0o644)
	future := filepath.Join(dir, "future")
	os.MkdirAll(future, 0o755)
	os.WriteFile(filepath.Join(future, "WARREN_FORMAT"), []byte("warren-storage-v99\n"), 0o644)
	for _, d := range []string{foreign, future} {
		before, _ := os.ReadDir(d)
		out, err := exec.Command(bin, "--listen", freePort(t), "--data-dir", d).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Fatalf("%s: warren exited with %v, want a non-zero exit\n%s", d, err, out)
		}
		if !strings.Contains(string(out), "data directory "+d) {
			t.Errorf("%s: the error does not name the directory:\n%s", d, out)
		}
		after, _ := os.ReadDir(d)
		if len(after) != len(before) {
			t.Errorf("%s: the directory was changed: %d entries, was %d", d, len(after), len(before))
		}
		t.Logf("%s: %s", filepath.Base(d), strings.TrimSpace(string(out)))
	}
}

func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100}, {32 << 20, 100}, {64 << 20, 100}, {96 << 20, 66}, {128 << 20, 50}, {1 << 30, 50},
	} {
		if got := gcPercent(c.live); got != c.want {
			t.Errorf("gcPercent(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}
