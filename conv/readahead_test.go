package conv

import (
	"strconv"
	"sync"
	"testing"
)

// TestAheadPolicy: every input is offered until warmRun in a row are found cached; then one
// in warmSample, until one is found not cached, which turns every offer back on.
func TestAheadPolicy(t *testing.T) {
	var mu sync.Mutex
	cold := map[string]bool{}
	var offered []string
	old := readAhead
	t.Cleanup(func() { readAhead = old })
	readAhead = func(p string) bool {
		mu.Lock()
		defer mu.Unlock()
		offered = append(offered, p)
		return cold[p]
	}
	var p aheadPolicy
	run := func(from, to int) (n int) {
		before := len(offered)
		for i := from; i < to; i++ {
			p.offer(strconv.Itoa(i))
		}
		return len(offered) - before
	}
	if n := run(0, warmRun); n != warmRun {
		t.Fatalf("first %d cached inputs: %d offered, want all", warmRun, n)
	}
	if n := run(warmRun, warmRun+10*warmSample); n != 10 {
		t.Fatalf("%d inputs after a warm run: %d offered, want 10 (one in %d)", 10*warmSample, n, warmSample)
	}
	// The next sampled input is not cached: from there on every input is offered again.
	start := warmRun + 10*warmSample
	for i := start; i < start+warmSample; i++ {
		cold[strconv.Itoa(i)] = true
	}
	n := run(start, start+warmSample)
	if n != 1 || !cold[offered[len(offered)-1]] {
		t.Fatalf("a not-cached input was not found within %d inputs (%d offered)", warmSample, n)
	}
	if n := run(start+warmSample, start+warmSample+warmRun); n != warmRun {
		t.Fatalf("after a not-cached input, %d of %d offered, want all", n, warmRun)
	}
}
