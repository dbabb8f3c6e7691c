package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// gcHeadroom is the garbage the heap may grow by past its live part before a
// collection, at the least; see tuneGC.
const gcHeadroom = 64 << 20

// gcPercent is the GC percent tuneGC sets for a live heap of live octets: Go's
// default of 100 while that leaves at most gcHeadroom of garbage, then down to
// 50, so that the headroom is gcHeadroom or half the live heap, whichever is
// more.
func gcPercent(live uint64) int {
	if live <= gcHeadroom {
		return 100
	}
	return int(max(50, gcHeadroom*100/live))
}

// tuneGC keeps the GC percent at gcPercent of the live heap, measured every
// second, until stop is closed; done is closed when it has stopped. A broker
// holding much (long queues, many connections) would otherwise hold as much
// again in garbage: with Go's default a 190 MiB live heap let a backlog's drain
// reach 600 MiB of RSS. A small heap keeps the default, which collects less
// often (16-byte messages ran 10% slower at a GC percent of 50). It does
// nothing when GOGC is set.
func tuneGC(stop <-chan struct{}) (done <-chan struct{}) {
	d := make(chan struct{})
	if os.Getenv("GOGC") != "" {
		close(d)
		return d
	}
	go func() {
		defer close(d)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		set := 100
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			if p := gcPercent(sample[0].Value.Uint64()); p != set {
				debug.SetGCPercent(p)
				set = p
			}
		}
	}()
	return d
}
