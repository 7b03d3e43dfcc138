package conv

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestCommitterGroups: a group is committed when it is full (by count or by bytes) without
// waiting for its window, when its window ends, and at close; every file is committed once,
// in the order it was added.
func TestCommitterGroups(t *testing.T) {
	commits := make(chan []int, 16)
	record := func(g []stagedWrite) {
		var ids []int
		for _, s := range g {
			ids = append(ids, s.i)
		}
		commits <- ids
	}
	next := func(want ...int) {
		t.Helper()
		if got := <-commits; !slices.Equal(got, want) {
			t.Fatalf("committed %v, want %v", got, want)
		}
	}

	// Full by count or by bytes, with a window no test waits for: only fullness commits.
	c := startCommitter(record, 2, 100, time.Hour)
	c.add(stagedWrite{i: 1, size: 1})
	c.add(stagedWrite{i: 2, size: 1})
	next(1, 2)
	c.add(stagedWrite{i: 3, size: 100})
	next(3)
	c.add(stagedWrite{i: 4, size: 1})
	c.close() // the open group is committed at close
	next(4)
	select {
	case g := <-commits:
		t.Fatalf("extra commit %v", g)
	default:
	}

	// The window: a group that never fills is committed when it ends, before close.
	c = startCommitter(record, 1000, 1<<30, time.Millisecond)
	c.add(stagedWrite{i: 5})
	next(5)
	c.add(stagedWrite{i: 6})
	next(6)
	c.close()

	// Nothing added: close commits nothing.
	c = startCommitter(record, 1, 1, time.Hour)
	c.close()
	if len(commits) != 0 {
		t.Fatalf("close of an empty committer committed %v", <-commits)
	}
}

// TestCommitterConcurrent: files added from many goroutines are each committed exactly once.
func TestCommitterConcurrent(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	c := startCommitter(func(g []stagedWrite) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range g {
			seen[s.i]++
		}
	}, 7, 1<<20, 50*time.Microsecond)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				c.add(stagedWrite{i: w*1000 + i, size: 10})
			}
		}()
	}
	wg.Wait()
	c.close()
	if len(seen) != 2000 {
		t.Fatalf("%d files committed, want 2000", len(seen))
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("file %d committed %d times", i, n)
		}
	}
}

// TestConvertReadAhead: a batch offers every input for read-ahead exactly once while they
// are not in the page cache, only some once a run of them is (aheadPolicy), and none when
// resuming (a resumed run skips most inputs).
func TestConvertReadAhead(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	_, inputs := helloTree(t, 200, 3)
	ahead := recordReadAhead(t)
	for _, c := range []struct{ resume, cached bool }{{false, false}, {true, false}, {false, true}} {
		ahead.reset(c.cached)
		rep := Convert(context.Background(), inputs, Options{To: "pkcs7", Key: k, OutDir: t.TempDir(), Jobs: 3, Resume: c.resume})
		if err := rep.Err(); err != nil {
			t.Fatal(err)
		}
		if c.resume {
			if ahead.len() != 0 {
				t.Fatalf("resume: %d files read ahead", ahead.len())
			}
			continue
		}
		if c.cached {
			// warmRun offers, then one in warmSample (a few more where workers race).
			if n := ahead.len(); n < warmRun || n > warmRun+len(inputs)/warmSample+8 {
				t.Fatalf("cached tree: %d of %d files offered, want about %d", n, len(inputs), warmRun+(len(inputs)-warmRun)/warmSample)
			}
			continue
		}
		if ahead.len() != len(inputs)-1 { // the first file runs alone, before any read-ahead
			t.Fatalf("%d of %d files read ahead", ahead.len(), len(inputs))
		}
		for _, in := range inputs[1:] {
			if n := ahead.count(in.Path); n != 1 {
				t.Errorf("%s read ahead %d times", in.Path, n)
			}
		}
	}
}
