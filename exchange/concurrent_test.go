package exchange

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestConcurrentBindMatch churns bindings while other goroutines match and route. A
// binding that never changes must be matched every time, and no destination twice.
func TestConcurrentBindMatch(t *testing.T) {
	const (
		churners = 2
		matchers = 3
		rounds   = 2000
	)
	type setup struct {
		typ            string
		stable         Binding
		key            string
		headers        map[string]any
		churn          func(i int) Binding
		churnMatchable bool
	}
	setups := []setup{
		{Direct, Binding{Destination: "stable", Key: "k"}, "k", nil,
			func(i int) Binding { return Binding{Destination: fmt.Sprint("c", i%7), Key: []string{"k", "j"}[i%2]} }, true},
		{Fanout, Binding{Destination: "stable"}, "", nil,
			func(i int) Binding { return Binding{Destination: fmt.Sprint("c", i%7), Key: fmt.Sprint(i % 3)} }, true},
		{Topic, Binding{Destination: "stable", Key: "a.#"}, "a.b.c", nil,
			func(i int) Binding {
				return Binding{Destination: fmt.Sprint("c", i%7), Key: []string{"a.*.c", "#", "a.#.c", "x.#", "*.b.*"}[i%5]}
			}, true},
		{Headers, Binding{Destination: "stable", Args: table{"a": int32(1)}}, "", table{"a": int64(1), "b": "x"},
			func(i int) Binding {
				return Binding{Destination: fmt.Sprint("c", i%7), Args: table{"x-match": "any", "b": []string{"x", "y"}[i%2]}}
			}, true},
	}
	for _, s := range setups {
		t.Run(s.typ, func(t *testing.T) {
			v := vhost{}
			x := v.declare(t, "x", s.typ, nil)
			next := v.declare(t, "next", Fanout, nil)
			next.Bind(Binding{Destination: "stable"}) // reached again through churned e2e bindings
			x.Bind(s.stable)
			var wg sync.WaitGroup
			errs := make(chan error, matchers+churners)
			for c := 0; c < churners; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; i < rounds; i += churners {
						b := s.churn(i)
						if i%5 == 0 {
							b = Binding{Destination: "next", ToExchange: true, Key: b.Key, Args: b.Args}
						}
						x.Bind(b)
						if i%3 == 0 {
							x.Unbind(b)
						}
						if i%11 == 0 {
							x.RemoveDestination(b.Destination, b.ToExchange)
						}
					}
				}()
			}
			for m := 0; m < matchers; m++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var got []string
					var routed []string
					for i := 0; i < rounds; i++ {
						got = got[:0]
						x.Match(s.key, s.headers, func(d string, toExchange bool) {
							if !toExchange {
								got = append(got, d)
							}
						})
						slices.Sort(got)
						if !slices.Contains(got, "stable") || len(slices.Compact(got)) != len(got) {
							errs <- fmt.Errorf("Match = %v", got)
							return
						}
						routed = Route(v.lookup, x, s.key, s.headers, routed[:0])
						slices.Sort(routed)
						if !slices.Contains(routed, "stable") || len(slices.Compact(routed)) != len(routed) {
							errs <- fmt.Errorf("Route = %v", routed)
							return
						}
						_ = x.Bindings()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// Back to the stable binding alone.
			for i := 0; i < 7; i++ {
				x.RemoveDestination(fmt.Sprint("c", i), false)
			}
			x.RemoveDestination("next", true)
			if got := x.Bindings(); len(got) != 1 || !sameBinding(&got[0], &s.stable) {
				t.Errorf("bindings left: %v", got)
			}
		})
	}
}
