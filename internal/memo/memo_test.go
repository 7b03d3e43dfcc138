package memo

import (
	"strconv"
	"sync"
	"testing"
)

// TestStrings: Get computes once per encoding while there is room, and computes every time
// once Max encodings are remembered.
func TestStrings(t *testing.T) {
	s := Strings{Max: 3}
	calls := map[string]int{}
	get := func(der string) string {
		return s.Get([]byte(der), func(b []byte) string { calls[string(b)]++; return "name of " + string(b) })
	}
	for range 5 {
		for _, der := range []string{"a", "b", "c"} {
			if got := get(der); got != "name of "+der {
				t.Fatalf("Get(%q) = %q", der, got)
			}
		}
	}
	for _, der := range []string{"a", "b", "c"} {
		if calls[der] != 1 {
			t.Errorf("%q computed %d times, want once", der, calls[der])
		}
	}
	for range 4 {
		if got := get("d"); got != "name of d" {
			t.Fatalf("Get(d) = %q", got)
		}
	}
	if calls["d"] != 4 {
		t.Errorf("past Max, d computed %d times in 4 calls, want every time", calls["d"])
	}
}

// TestStringsDefaultMax: the zero value remembers 256 encodings.
func TestStringsDefaultMax(t *testing.T) {
	var s Strings
	n := 0
	for range 2 {
		for i := range 300 {
			s.Get([]byte(strconv.Itoa(i)), func(b []byte) string { n++; return string(b) })
		}
	}
	if want := 256 + 2*44; n != want {
		t.Errorf("%d computations, want %d (256 remembered, 44 computed each pass)", n, want)
	}
}

// TestStringsConcurrent runs Get from many goroutines (for the race detector).
func TestStringsConcurrent(t *testing.T) {
	var s Strings
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				der := strconv.Itoa((g * i) % 300)
				if got := s.Get([]byte(der), func(b []byte) string { return "x" + string(b) }); got != "x"+der {
					t.Errorf("Get(%q) = %q", der, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
