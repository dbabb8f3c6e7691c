package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// crashPublishers is how many connections publish at once in each cycle.
const crashPublishers = 4

// TestCrashKill9 starts warren as a real process, publishes persistent messages
// with confirms from several connections, kills it with SIGKILL at a random moment,
// restarts it on the same data and drains the queue: every confirmed message must
// be there, each publisher's in order. Messages of earlier cycles (acked by an
// earlier drain) may reappear only flagged redelivered. WARREN_CRASH_CYCLES sets
// the number of cycles (make crash-test runs many).
func TestCrashKill9(t *testing.T) {
	bin := warrenBinary(t)
	cycles := 3
	if s := os.Getenv("WARREN_CRASH_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		cycles = n
	}
	data := filepath.Join(t.TempDir(), "data")
	total := 0
	for cycle := 1; cycle <= cycles; cycle++ {
		confirmed := crashPublishAndKill(t, bin, data, cycle)
		n := crashDrainAndCheck(t, bin, data, cycle, confirmed)
		total += n
		t.Logf("cycle %d: %d confirmed before kill -9, all recovered in order", cycle, n)
	}
	t.Logf("%d cycles, %d confirmed messages, none lost", cycles, total)
}

// crashStart starts warren on data and returns its URL and the process.
func crashStart(t *testing.T, bin, data string) (string, *exec.Cmd) {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(bin, "--listen", addr, "--data-dir", data, "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	url := "amqp://guest:guest@" + addr + "/"
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := amqp091.Dial(url)
		if err == nil {
			c.Close()
			return url, cmd
		}
		if exited(cmd.Process.Pid) {
			t.Fatalf("warren exited before accepting connections (%v); its stderr is above", cmd.Wait())
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("warren did not accept connections: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exited reports whether child process pid has ended and waits to be reaped
// (Linux: its state in /proc is Z).
func exited(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, so look after its ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// crashPublishAndKill publishes from several connections until the broker is
// killed, and returns, per publisher, the sequence numbers it had confirmed.
func crashPublishAndKill(t *testing.T, bin, data string, cycle int) [][]int {
	url, cmd := crashStart(t, bin, data)
	setup, err := amqp091.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	sch, _ := setup.Channel()
	if _, err := sch.QueueDeclare("crash", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	setup.Close()

	confirmed := make([][]int, crashPublishers)
	var wg sync.WaitGroup
	started := make(chan struct{}, crashPublishers)
	for p := 0; p < crashPublishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			confirmed[p] = crashPublisher(url, cycle, p, sync.OnceFunc(func() { started <- struct{}{} }))
		}()
	}
	for p := 0; p < crashPublishers; p++ {
		<-started
	}
	time.Sleep(time.Duration(50+rand.IntN(500)) * time.Millisecond) // the random moment of the crash
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	wg.Wait()
	return confirmed
}

// crashPublisher publishes until its connection breaks, with up to 256 publishes
// awaiting confirms, and returns the sequence numbers that were confirmed. It
// calls ready once it is publishing, or when it gives up before that.
func crashPublisher(url string, cycle, p int, ready func()) []int {
	defer ready()
	conn, err := amqp091.Dial(url)
	if err != nil {
		return nil
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil || ch.Confirm(false) != nil {
		return nil
	}
	ready()
	type inflight struct {
		seq int
		dc  *amqp091.DeferredConfirmation
	}
	var window []inflight
	var acked []int
	body := make([]byte, 1024)
	settle := func(all bool) bool {
		for len(window) > 0 && (all || len(window) >= 256) {
			f := window[0]
			select {
			case <-f.dc.Done():
			case <-time.After(10 * time.Second):
				return false
			}
			if !f.dc.Acked() {
				return false
			}
			acked = append(acked, f.seq)
			window = window[1:]
		}
		return true
	}
	for seq := 1; ; seq++ {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "crash", false, false, amqp091.Publishing{
			DeliveryMode: amqp091.Persistent,
			Headers:      amqp091.Table{"cycle": int32(cycle), "pub": int32(p), "seq": int32(seq)},
			Body:         body,
		})
		if err != nil || dc == nil {
			break
		}
		window = append(window, inflight{seq, dc})
		if !settle(false) {
			break
		}
	}
	// The connection is gone: what was acked before it broke counts.
	for _, f := range window {
		select {
		case <-f.dc.Done():
			if f.dc.Acked() {
				acked = append(acked, f.seq)
			}
		default:
		}
	}
	return acked
}

// crashDrainAndCheck restarts warren, drains the queue and checks it against what
// was confirmed; it returns how many confirmed messages it found. It stops the
// broker with SIGTERM afterwards.
func crashDrainAndCheck(t *testing.T, bin, data string, cycle int, confirmed [][]int) int {
	url, cmd := crashStart(t, bin, data)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	conn, err := amqp091.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]map[int]bool, crashPublishers)
	last := make([]int, crashPublishers)
	for p := range seen {
		seen[p] = map[int]bool{}
	}
	for {
		d, ok, err := ch.Get("crash", false)
		if err != nil {
			t.Fatalf("cycle %d: get: %v", cycle, err)
		}
		if !ok {
			break
		}
		c, _ := d.Headers["cycle"].(int32)
		p, _ := d.Headers["pub"].(int32)
		seq, _ := d.Headers["seq"].(int32)
		switch {
		case int(c) < cycle:
			if !d.Redelivered {
				t.Errorf("cycle %d: a message of cycle %d, acked then, came back without redelivered", cycle, c)
			}
		case int(c) > cycle || int(p) >= crashPublishers:
			t.Errorf("cycle %d: unexpected message cycle %d publisher %d", cycle, c, p)
		case !seen[p][int(seq)]:
			if int(seq) < last[p] {
				t.Errorf("cycle %d: publisher %d: seq %d after %d: out of order", cycle, p, seq, last[p])
			}
			seen[p][int(seq)] = true
			last[p] = int(seq)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	found := 0
	for p, seqs := range confirmed {
		for _, s := range seqs {
			if !seen[p][s] {
				t.Errorf("cycle %d: publisher %d: confirmed message %d lost", cycle, p, s)
			} else {
				found++
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// Acks are written through the group committer: wait until a fresh passive
	// declare sees the queue empty, so the next cycle starts from it.
	if q, err := ch.QueueDeclarePassive("crash", true, false, false, false, nil); err != nil || q.Messages != 0 {
		t.Fatalf("cycle %d: queue not drained: %v %+v", cycle, err, q)
	}
	return found
}
