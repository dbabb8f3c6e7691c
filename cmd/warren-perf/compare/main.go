// Command compare runs warren-perf's benchmark scenarios against Warren and
// against Debian's RabbitMQ on loopback, alternating brokers and repeating each
// run, samples each broker's resident memory, and writes docs/BENCHMARKS.md.
// bench/compare.sh (make bench-compare) builds the binaries and runs it.
//
// Settings (environment):
//
//	BENCH_REPEATS    runs of each scenario on each broker, default 3 (the median is reported)
//	BENCH_DURATION   length of each timed run, default 15s
//	BENCH_SCENARIOS  comma-separated scenario numbers, default all
//	BENCH_BACKLOG    messages in the backlog scenario, default 1000000
//	BENCH_OUT        the report, default docs/BENCHMARKS.md
//	WARREN_PORT      Warren's port, default 5692; RABBITMQ_PORT RabbitMQ's, default 5693
//	WARREN_BIN, PERF_BIN  the binaries, default bin/warren and bin/warren-perf
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// settings are the environment's choices.
type settings struct {
	repeats int
	// maxSteal and stealRetries: a run of a steal-sensitive scenario with more
	// than maxSteal seconds of steal is run again, at most stealRetries times.
	maxSteal     float64
	stealRetries int
	duration     time.Duration
	scenarios    map[int]bool
	backlog      int
	out          string
	wport        int
	rport        int
	sport        int // warren-perf's sink, for the scenarios that measure the instrument's floor
	warrenBin    string
	perfBin      string
	repo         string
	// rabbitScript is a copy of conformance/rabbitmq.sh taken at the start, so that
	// edits to the script (in progress or during a long run) do not reach it.
	rabbitScript string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func load() (settings, error) {
	var s settings
	var err error
	if s.repeats, err = strconv.Atoi(env("BENCH_REPEATS", "3")); err != nil || s.repeats < 1 {
		return s, fmt.Errorf("BENCH_REPEATS: want a positive number")
	}
	if s.maxSteal, err = strconv.ParseFloat(env("BENCH_MAX_STEAL", "0.05"), 64); err != nil || s.maxSteal < 0 {
		return s, fmt.Errorf("BENCH_MAX_STEAL: want seconds, 0 or more")
	}
	if s.stealRetries, err = strconv.Atoi(env("BENCH_STEAL_RETRIES", "3")); err != nil || s.stealRetries < 0 {
		return s, fmt.Errorf("BENCH_STEAL_RETRIES: want a number, 0 or more")
	}
	d := env("BENCH_DURATION", "15s")
	if n, err := strconv.Atoi(d); err == nil {
		d = strconv.Itoa(n) + "s"
	}
	if s.duration, err = time.ParseDuration(d); err != nil || s.duration <= 0 {
		return s, fmt.Errorf("BENCH_DURATION %q: want a duration such as 15s", d)
	}
	if v := os.Getenv("BENCH_SCENARIOS"); v != "" {
		s.scenarios = map[int]bool{}
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return s, fmt.Errorf("BENCH_SCENARIOS: %v", err)
			}
			s.scenarios[n] = true
		}
	}
	if s.backlog, err = strconv.Atoi(env("BENCH_BACKLOG", "1000000")); err != nil || s.backlog < 1 {
		return s, fmt.Errorf("BENCH_BACKLOG: want a positive number")
	}
	s.out = env("BENCH_OUT", "docs/BENCHMARKS.md")
	if s.wport, err = strconv.Atoi(env("WARREN_PORT", "5692")); err != nil {
		return s, err
	}
	if s.rport, err = strconv.Atoi(env("RABBITMQ_PORT", "5693")); err != nil {
		return s, err
	}
	if s.sport, err = strconv.Atoi(env("SINK_PORT", "5694")); err != nil {
		return s, err
	}
	s.warrenBin = env("WARREN_BIN", "bin/warren")
	s.perfBin = env("PERF_BIN", "bin/warren-perf")
	s.repo, _ = os.Getwd()
	return s, nil
}

// snapshotRabbitScript copies conformance/rabbitmq.sh as last committed (or as
// it is, outside a git checkout) into dir, beside a link to the folder's
// testdata, which the script may read.
func snapshotRabbitScript(st *settings, dir string) error {
	b, err := exec.Command("git", "-C", st.repo, "show", "HEAD:conformance/rabbitmq.sh").Output()
	if err != nil {
		if b, err = os.ReadFile(filepath.Join(st.repo, "conformance", "rabbitmq.sh")); err != nil {
			return err
		}
	}
	// The node runs as the rabbitmq user through runuser, whose PAM session
	// lowers the soft open-file limit to 1024: RabbitMQ would refuse connections
	// past about 840 (its file descriptor alarm). Give it the hard limit, as the
	// Debian package's systemd unit does with LimitNOFILE, and as Warren has.
	const asUser = `local cmd=". '$dir/env.sh' && $*"`
	if bytes.Contains(b, []byte(asUser)) {
		b = bytes.Replace(b, []byte(asUser), []byte(`local cmd="ulimit -n \$(ulimit -Hn) 2>/dev/null; . '$dir/env.sh' && $*"`), 1)
	} else {
		logf("warning: conformance/rabbitmq.sh changed; RabbitMQ keeps its default open-file limit")
	}
	st.rabbitScript = filepath.Join(dir, "rabbitmq.sh")
	if err := os.WriteFile(st.rabbitScript, b, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(st.repo, "conformance", "testdata")); err == nil {
		return os.Symlink(filepath.Join(st.repo, "conformance", "testdata"), filepath.Join(dir, "testdata"))
	}
	return nil
}

func run() error {
	st, err := load()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "warren-bench-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := snapshotRabbitScript(&st, tmp); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	brokers := []*broker{
		{name: "Warren", port: st.wport, st: &st},
		{name: "RabbitMQ", port: st.rport, st: &st},
	}
	sink := &broker{name: sinkName, port: st.sport, st: &st}
	defer func() {
		sink.stop()
		for _, b := range brokers {
			b.stop()
		}
	}()
	began := time.Now()
	var results []*scenarioResult
	for _, sc := range scenarios(&st) {
		if st.scenarios != nil && !st.scenarios[sc.num] {
			continue
		}
		targets := brokers
		if sc.floor {
			targets = append(append([]*broker(nil), brokers...), sink)
		}
		res, err := runScenario(ctx, &st, sc, targets)
		sink.stop() // idle, but the later scenarios run without it
		if err != nil {
			return err
		}
		results = append(results, res)
		if err := writeReport(&st, results, began); err != nil { // after every scenario: a partial run still leaves a report
			return err
		}
	}
	logf("done in %s; report in %s", time.Since(began).Round(time.Second), st.out)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s compare: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// sinkName is the broker entry for warren-perf's relay sink: no broker at all,
// so what the load generator measures against it is its own floor.
const sinkName = "sink"

// broker is one of the two brokers under test, or the sink.
type broker struct {
	name string
	port int
	st   *settings

	cmd  *exec.Cmd // Warren's or the sink's process
	dir  string    // Warren's data directory
	pid  int
	up   bool
	vers string
}

func (b *broker) uri() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", b.port) }

// start starts the broker with empty state and waits until it accepts AMQP.
func (b *broker) start() error {
	if b.up {
		return nil
	}
	listen := fmt.Sprintf("127.0.0.1:%d", b.port)
	if b.name == "Warren" || b.name == sinkName {
		log, err := os.Create(filepath.Join(os.TempDir(), fmt.Sprintf("warren-bench-%d.log", b.port)))
		if err != nil {
			return err
		}
		defer log.Close() // the child has its own copy
		if b.name == sinkName {
			b.cmd = exec.Command(b.st.perfBin, "sink", "--listen", listen, "--interval", "0")
		} else {
			dir, err := os.MkdirTemp("", "warren-bench-")
			if err != nil {
				return err
			}
			b.dir = dir
			b.cmd = exec.Command(b.st.warrenBin, "--listen", listen, "--data-dir", dir, "--log-level", "warn")
		}
		b.cmd.Stdout, b.cmd.Stderr = log, log
		if err := b.cmd.Start(); err != nil {
			return err
		}
		b.pid = b.cmd.Process.Pid
	} else {
		b.rabbitmq("stop") // a node left behind by an interrupted run
		if err := b.rabbitmq("start"); err != nil {
			return fmt.Errorf("rabbitmq.sh start: %w", err)
		}
		pid, err := rabbitPid(b.port)
		if err != nil {
			return err
		}
		b.pid = pid
	}
	b.up = true
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections on port %d", b.name, b.port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rabbitPid reads the node's OS pid from the pid file in the state directory
// that conformance/rabbitmq.sh records in /tmp/warren-rabbitmq-PORT.state.
func rabbitPid(port int) (int, error) {
	state, err := os.ReadFile(fmt.Sprintf("/tmp/warren-rabbitmq-%d.state", port))
	if err != nil {
		return 0, err
	}
	var dir string
	for _, line := range strings.Split(string(state), "\n") {
		if v, ok := strings.CutPrefix(line, "dir="); ok {
			dir = strings.Trim(v, "'\"")
		}
	}
	if dir == "" {
		return 0, errors.New("no dir= in the RabbitMQ state file")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			return pid, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no pid file in %s", dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop stops the broker and removes its state.
func (b *broker) stop() {
	if !b.up {
		return
	}
	b.up = false
	if b.cmd != nil {
		b.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { b.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			b.cmd.Process.Kill()
			<-done
		}
		if b.dir != "" {
			os.RemoveAll(b.dir)
		}
		b.cmd, b.dir = nil, ""
		return
	}
	b.rabbitmq("stop")
}

// rabbitmq runs conformance/rabbitmq.sh with the broker's port.
func (b *broker) rabbitmq(verb string) error {
	cmd := exec.Command("bash", b.st.rabbitScript, verb)
	cmd.Env = append(os.Environ(), fmt.Sprintf("RABBITMQ_PORT=%d", b.port))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// alive reports whether the broker's process still runs.
func (b *broker) alive() bool {
	return b.pid > 0 && syscall.Kill(b.pid, 0) == nil
}

// rssSampler records the peak VmRSS of a process, sampled every 100 ms.
type rssSampler struct {
	mu   sync.Mutex
	peak int64 // KiB
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := readRSS(pid); kb > 0 {
				s.mu.Lock()
				s.peak = max(s.peak, kb)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the peak in MiB.
func (s *rssSampler) finish() float64 {
	close(s.stop)
	<-s.done
	return float64(s.peak) / 1024
}

// stolen returns the machine's steal time so far, in clock ticks (the eighth
// field of /proc/stat's cpu line: time the hypervisor ran something else while
// this machine's CPUs wanted to run), or -1 if it cannot be read.
func stolen() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return -1
	}
	n, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// stealBetween returns the steal time between two stolen readings in seconds
// (the kernel's USER_HZ is 100 ticks a second on Linux), or -1.
func stealBetween(a, b int64) float64 {
	if a < 0 || b < a {
		return -1
	}
	return float64(b-a) / 100
}

func readRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// summary is the part of warren-perf's --json output the report uses.
type summary struct {
	Published   int64    `json:"published"`
	Confirmed   int64    `json:"confirmed"`
	Nacked      int64    `json:"nacked"`
	Received    int64    `json:"received"`
	PublishRate float64  `json:"publish_rate"`
	ConfirmRate float64  `json:"confirm_rate"`
	ReceiveRate float64  `json:"receive_rate"`
	Latency     *latency `json:"latency"`
	ConfirmLat  *latency `json:"confirm_latency"`
	Errors      []string `json:"errors"`
	Backlog     int64    `json:"backlog"`
}

type latency struct {
	P50  float64 `json:"p50_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
}

// perf runs warren-perf with args against b, with a hard time limit, and returns its summary.
func perf(ctx context.Context, st *settings, b *broker, limit time.Duration, args []string) (*summary, string, error) {
	f, err := os.CreateTemp("", "warren-perf-*.json")
	if err != nil {
		return nil, "", err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	full := append([]string{"--uri", b.uri(), "--interval", "0", "--json", path}, args...)
	cmd := exec.CommandContext(ctx, st.perfBin, full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	var s summary
	data, err := os.ReadFile(path)
	if err == nil && len(data) > 0 {
		err = json.Unmarshal(data, &s)
	} else if err == nil && runErr == nil {
		return &summary{}, out.String(), nil // --delete-only writes none
	} else if err == nil {
		err = errors.New("no summary written")
	}
	if ctx.Err() == context.DeadlineExceeded {
		return nil, out.String(), fmt.Errorf("warren-perf did not finish within %v", limit)
	}
	if err != nil {
		if runErr != nil {
			return nil, out.String(), fmt.Errorf("%v: %s", runErr, lastLine(out.String()))
		}
		return nil, out.String(), err
	}
	if runErr != nil && len(s.Errors) == 0 {
		s.Errors = []string{runErr.Error() + ": " + lastLine(out.String())}
	}
	return &s, out.String(), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func hostInfo(st *settings, rabbitVersion string) []string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	ram := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
				ram = fmt.Sprintf("%.1f GiB", kb/1024/1024)
			}
		}
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return []string{
		fmt.Sprintf("CPUs: %d (`nproc`), %s", runtime.NumCPU(), model),
		"RAM: " + ram,
		"kernel: Linux " + kernel,
		"Go: " + goVersion,
		"RabbitMQ: " + rabbitVersion + " (Debian's rabbitmq-server, started by conformance/rabbitmq.sh, no plugins)",
		fmt.Sprintf("file descriptors: ulimit -n %s", fdLimit()),
	}
}

func fdLimit() string {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return "unknown"
	}
	return strconv.FormatUint(r.Cur, 10)
}

func rabbitVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "rabbitmq-server").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
