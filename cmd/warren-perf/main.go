// Command warren-perf is a load generator for AMQP 0-9-1 brokers, in the spirit of
// RabbitMQ's PerfTest: producers and consumers on a lean client of Warren's wire
// codec, rates every second, and a summary with end-to-end and confirm latency.
// It only ever connects to loopback addresses, and every run ends by itself
// (by --time or by message counts).
//
//	warren-perf --uri amqp://guest:guest@127.0.0.1:5672/ --producers 1 --consumers 1 --size 16 --time 10s
//	warren-perf sink --listen 127.0.0.1:5680     # a do-nothing broker, to measure warren-perf itself
//
// See README.md beside this file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "sink" {
		if err := sinkMain(args[1:], os.Stdout, os.Stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "warren-perf sink:", err)
			return 2
		}
		return 0
	}
	o, err := parseOptions(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "warren-perf:", err)
		return 2
	}
	if o.Procs > 0 {
		runtime.GOMAXPROCS(o.Procs)
	}
	s, err := execute(o, os.Stdout)
	if s != nil {
		s.Args = args
		s.print(os.Stdout)
		if o.JSON != "" {
			if werr := s.writeJSON(o.JSON); werr != nil {
				fmt.Fprintln(os.Stderr, "warren-perf: --json:", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "warren-perf:", err)
		return 1
	}
	return 0
}
