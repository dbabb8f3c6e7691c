package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/warren-mq/warren/broker"
)

// config is the broker's configuration. Each setting comes, in rising precedence,
// from its default, the config file, the environment (WARREN_<KEY>, with dots as
// underscores) and the command line.
type config struct {
	Listen        string        // listen: AMQP listener address
	DataDir       string        // data_dir: where durable data lives
	LogFormat     string        // log.format: console or json
	LogLevel      string        // log.level: debug, info, warn, error
	DefaultUser   string        // default_user: the user created at first start
	DefaultPass   string        // default_pass: its password
	LoopbackUsers []string      // loopback_users: users that may log in from loopback only
	Heartbeat     time.Duration // heartbeat: seconds proposed in connection.tune
	FrameMax      uint32        // frame_max: largest frame accepted
	ChannelMax    uint16        // channel_max: highest channel number
	// disk_free_limit.absolute: publishers are blocked while free disk is below
	// it (RabbitMQ's name and default, 50MB; suffixes kB, MB, GB, KiB, MiB, GiB).
	DiskFreeLimit uint64
	// vm_memory_high_watermark.relative: publishers are blocked while the
	// broker's memory is above this fraction of RAM (RabbitMQ's default, 0.4).
	MemoryHighWatermark float64
	// pprof: a loopback HOST:PORT on which Go's profiling endpoints
	// (/debug/pprof/) are served for operators; empty (the default) serves none.
	Pprof string
	// load_definitions: a RabbitMQ definitions file (JSON) whose policies,
	// exchanges, queues and bindings are taken at start.
	LoadDefinitions string
	// policy.NAME = {"pattern": ..., "apply-to": ..., "priority": ...,
	// "definition": {...}}: a policy in the JSON of a definitions file, on one
	// line (config file only).
	Policies []string
}

func defaultConfig() config {
	return config{
		Listen:        "0.0.0.0:5672",
		DataDir:       "./data",
		LogFormat:     "console",
		LogLevel:      "info",
		DefaultUser:   "guest",
		DefaultPass:   "guest",
		LoopbackUsers: []string{"guest"},
		Heartbeat:     60 * time.Second,
		FrameMax:      131072,
		ChannelMax:    2047,

		DiskFreeLimit:       50_000_000,
		MemoryHighWatermark: 0.4,
	}
}

// set applies one key = value setting.
func (c *config) set(key, value string) error {
	switch key {
	case "listen":
		c.Listen = value
	case "data_dir":
		c.DataDir = value
	case "log.format":
		if value != "console" && value != "json" {
			return fmt.Errorf("log.format must be console or json, not %q", value)
		}
		c.LogFormat = value
	case "log.level":
		c.LogLevel = value
	case "default_user":
		c.DefaultUser = value
	case "default_pass":
		c.DefaultPass = value
	case "loopback_users":
		c.LoopbackUsers = nil
		for _, u := range strings.Split(value, ",") {
			if u = strings.TrimSpace(u); u != "" && u != "none" {
				c.LoopbackUsers = append(c.LoopbackUsers, u)
			}
		}
	case "heartbeat":
		n, err := strconv.ParseUint(value, 10, 16)
		if err != nil {
			return fmt.Errorf("heartbeat: %v", err)
		}
		c.Heartbeat = time.Duration(n) * time.Second
	case "frame_max":
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil || n < 4096 {
			return fmt.Errorf("frame_max must be a number >= 4096, not %q", value)
		}
		c.FrameMax = uint32(n)
	case "channel_max":
		n, err := strconv.ParseUint(value, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("channel_max must be a number from 1 to 65535, not %q", value)
		}
		c.ChannelMax = uint16(n)
	case "disk_free_limit.absolute":
		n, err := parseSize(value)
		if err != nil {
			return fmt.Errorf("disk_free_limit.absolute: %v", err)
		}
		c.DiskFreeLimit = n
	case "vm_memory_high_watermark.relative":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("vm_memory_high_watermark.relative must be a fraction from 0 to 1, not %q", value)
		}
		c.MemoryHighWatermark = f
	case "load_definitions":
		c.LoadDefinitions = value
	case "pprof":
		if value != "" {
			host, _, err := net.SplitHostPort(value)
			if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
				return fmt.Errorf("pprof must be a loopback HOST:PORT such as 127.0.0.1:6060, not %q", value)
			}
		}
		c.Pprof = value
	default:
		if name, ok := strings.CutPrefix(key, "policy."); ok && name != "" {
			p, err := policyJSON(name, value)
			if err != nil {
				return err
			}
			c.Policies = append(c.Policies, p)
			return nil
		}
		return fmt.Errorf("unknown setting %q", key)
	}
	return nil
}

// keys lists every setting, for the environment and the usage text.
var keys = []string{"listen", "data_dir", "log.format", "log.level", "default_user", "default_pass",
	"loopback_users", "heartbeat", "frame_max", "channel_max", "disk_free_limit.absolute",
	"vm_memory_high_watermark.relative", "pprof", "load_definitions"}

// parseSize reads a byte count with an optional unit, as rabbitmq.conf writes them.
func parseSize(s string) (uint64, error) {
	units := []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1000}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}}
	mult := uint64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a size such as 50MB, not %q", s)
	}
	return n * mult, nil
}

// parseFile reads settings in RabbitMQ's rabbitmq.conf style: one "key = value" a
// line, '#' comments.
func (c *config) parseFile(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s:%d: want key = value", name, n)
		}
		if err := c.set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("%s:%d: %v", name, n, err)
		}
	}
	return sc.Err()
}

func envName(key string) string {
	return "WARREN_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}

// load builds the configuration from file, environment and arguments.
func load(args []string, getenv func(string) string) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("warren", flag.ContinueOnError)
	configFile := fs.String("config", getenv("WARREN_CONFIG_FILE"), "config file (key = value lines); env WARREN_CONFIG_FILE")
	flagKey := map[string]string{} // flag name -> setting
	for _, k := range keys {
		name := strings.NewReplacer(".", "-", "_", "-").Replace(k)
		flagKey[name] = k
		fs.String(name, "", "setting "+k+"; env "+envName(k))
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *configFile != "" {
		f, err := os.Open(*configFile)
		if err != nil {
			return cfg, err
		}
		err = cfg.parseFile(f, *configFile)
		f.Close()
		if err != nil {
			return cfg, err
		}
	}
	for _, k := range keys {
		if v := getenv(envName(k)); v != "" {
			if err := cfg.set(k, v); err != nil {
				return cfg, fmt.Errorf("%s: %v", envName(k), err)
			}
		}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if k, ok := flagKey[f.Name]; ok && err == nil {
			if err = cfg.set(k, f.Value.String()); err != nil {
				err = fmt.Errorf("--%s: %v", f.Name, err)
			}
		}
	})
	return cfg, err
}

// policyJSON checks a policy.NAME setting and returns it as the JSON of a
// definitions file's policy, named NAME.
func policyJSON(name, value string) (string, error) {
	var p map[string]any
	if err := json.Unmarshal([]byte(value), &p); err != nil {
		return "", fmt.Errorf("policy.%s: want a JSON object: %v", name, err)
	}
	p["name"] = name
	b, _ := json.Marshal(p)
	if _, err := broker.ParsePolicy(b); err != nil {
		return "", fmt.Errorf("policy.%s: %v", name, err)
	}
	return string(b), nil
}

// definitions reads the load_definitions file, if any, and adds the policy.*
// settings.
func (c *config) definitions() (*broker.Definitions, error) {
	d := &broker.Definitions{}
	if c.LoadDefinitions != "" {
		data, err := os.ReadFile(c.LoadDefinitions)
		if err != nil {
			return nil, fmt.Errorf("load_definitions: %w", err)
		}
		if d, err = broker.ParseDefinitions(data); err != nil {
			return nil, fmt.Errorf("load_definitions %s: %w", c.LoadDefinitions, err)
		}
	}
	for _, s := range c.Policies {
		p, err := broker.ParsePolicy([]byte(s))
		if err != nil {
			return nil, err
		}
		d.Policies = append(d.Policies, p)
	}
	return d, nil
}
