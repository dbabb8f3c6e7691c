package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "warren.conf")
	conf := "# comment\nlisten = 127.0.0.1:6000\ndata_dir = /from/file\nheartbeat = 30\nlog.format = json\n" +
		"disk_free_limit.absolute = 2GB\nvm_memory_high_watermark.relative = 0.6\n"
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WARREN_CONFIG_FILE": file, "WARREN_DATA_DIR": "/from/env", "WARREN_LOOPBACK_USERS": "none"}
	cfg, err := load([]string{"--listen", "127.0.0.1:7000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" {
		t.Errorf("listen = %q, want the flag's", cfg.Listen)
	}
	if cfg.DataDir != "/from/env" {
		t.Errorf("data_dir = %q, want the environment's", cfg.DataDir)
	}
	if cfg.Heartbeat != 30*time.Second || cfg.LogFormat != "json" {
		t.Errorf("heartbeat %v, log.format %q: want the file's", cfg.Heartbeat, cfg.LogFormat)
	}
	if len(cfg.LoopbackUsers) != 0 {
		t.Errorf("loopback_users = %v, want none", cfg.LoopbackUsers)
	}
	if cfg.DiskFreeLimit != 2_000_000_000 || cfg.MemoryHighWatermark != 0.6 {
		t.Errorf("alarm settings %d %v: want the file's", cfg.DiskFreeLimit, cfg.MemoryHighWatermark)
	}
	if cfg.FrameMax != 131072 || cfg.DefaultUser != "guest" {
		t.Errorf("defaults lost: %+v", cfg)
	}
}

func TestLoadErrors(t *testing.T) {
	none := func(string) string { return "" }
	for _, args := range [][]string{
		{"--frame-max", "100"},
		{"--log-format", "xml"},
		{"--heartbeat", "-1"},
		{"--nonsense"},
		{"--disk-free-limit-absolute", "lots"},
		{"--vm-memory-high-watermark-relative", "2"},
		{"--pprof", "0.0.0.0:6060"},
		{"--pprof", "6060"},
	} {
		if _, err := load(args, none); err == nil {
			t.Errorf("load(%q) succeeded, want an error", args)
		}
	}
	if cfg, err := load([]string{"--pprof", "127.0.0.1:6060"}, none); err != nil || cfg.Pprof != "127.0.0.1:6060" {
		t.Errorf("--pprof on loopback: %v, %q", err, cfg.Pprof)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.conf")
	os.WriteFile(file, []byte("no_such_key = 1\n"), 0o644)
	if _, err := load([]string{"--config", file}, none); err == nil {
		t.Error("unknown key in config file accepted")
	}
}

func TestPoliciesAndDefinitions(t *testing.T) {
	dir := t.TempDir()
	defs := filepath.Join(dir, "definitions.json")
	os.WriteFile(defs, []byte(`{"policies": [{"vhost": "/", "name": "from-file", "pattern": "^f\\.", "apply-to": "queues",
		"priority": 0, "definition": {"max-length": 5}}]}`), 0o644)
	file := filepath.Join(dir, "warren.conf")
	conf := "load_definitions = " + defs + "\n" +
		`policy.retry = {"pattern": "^retry\\.", "apply-to": "queues", "definition": {"message-ttl": 30000, "dead-letter-exchange": "work"}}` + "\n"
	os.WriteFile(file, []byte(conf), 0o644)
	cfg, err := load([]string{"--config", file}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d, err := cfg.definitions()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Policies) != 2 || d.Policies[0].Name != "from-file" || d.Policies[1].Name != "retry" ||
		d.Policies[1].Definition["message-ttl"] != int64(30000) {
		t.Fatalf("policies %+v", d.Policies)
	}
	os.WriteFile(file, []byte(`policy.bad = {"pattern": ".*", "definition": {"message-ttl": -5}}`+"\n"), 0o644)
	if _, err := load([]string{"--config", file}, func(string) string { return "" }); err == nil {
		t.Error("a policy with a negative TTL was accepted")
	}
	cfg, _ = load([]string{"--load-definitions", filepath.Join(dir, "missing.json")}, func(string) string { return "" })
	if _, err := cfg.definitions(); err == nil {
		t.Error("a missing definitions file was accepted")
	}
}
