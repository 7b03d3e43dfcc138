package conv

import (
	"os"
	"path/filepath"
	"sync"
	"time"
)

// stagedWrite is a converted module whose temporary file is complete, waiting for its group
// to be made durable and renamed into place.
type stagedWrite struct {
	i    int
	r    FileResult
	t    tempFile
	size int64
}

// A commit group closes when it has groupFiles files or groupBytes bytes, or groupWindow after
// its first file: each flush waits for the disk (about 1 ms here, however little it writes), so
// groups must be large enough that flushing is not the batch's bottleneck, and the window
// bounds how long a finished module waits for its rename.
const (
	groupFiles  = 1024
	groupBytes  = 128 << 20
	groupWindow = 200 * time.Millisecond
)

// syncFS is syncfs; tests replace it to make a flush fail.
var syncFS = syncfs

// commitGroup makes the group's temporary files durable (one syncFS per filesystem, when
// grouped; else each was fsynced as it was written) and then renames each into place. If a
// filesystem cannot be flushed, its files are not renamed: their temporary files are removed
// and they fail. Each renamed file's pages then leave the page cache (dropCache).
func commitGroup(group []stagedWrite, dirs *sync.Map, done func(int, FileResult), grouped bool) {
	flushErr := map[uint64]error{}
	if grouped {
		for _, s := range group {
			if _, ok := flushErr[s.t.dev]; !ok {
				flushErr[s.t.dev] = syncFS(s.t.name)
			}
		}
	}
	for _, s := range group {
		r := s.r
		err := flushErr[s.t.dev]
		if err != nil {
			os.Remove(s.t.name)
		} else {
			err = s.t.commit()
		}
		if err != nil {
			r.Outcome, r.Error = Failed, err.Error()
		} else {
			r.Outcome = Converted
			if s.t.links > 1 {
				r.Warning = HardLinkWarning(s.t.links)
			}
			dirs.Store(filepath.Dir(s.t.path), s.t.dev)
			dropCache(s.t.path) // durable, so its pages are clean and go at once
		}
		done(s.i, r)
	}
}

// committer gathers staged files into commit groups and commits each group on a goroutine of
// its own. A group opens with its first file and closes when it has groupFiles files or
// groupBytes bytes, or groupWindow after it opened; the goroutine wakes only for those two
// events, not for every file (add is a mutex and an append).
type committer struct {
	commit func([]stagedWrite)
	// the group limits: groupFiles, groupBytes and groupWindow (tests use others)
	maxFiles int
	maxBytes int64
	window   time.Duration
	mu       sync.Mutex
	group    []stagedWrite
	size     int64
	wake     chan struct{} // a group opened or filled up (buffered: signals coalesce)
	closed   chan struct{}
	done     chan struct{}
}

func newCommitter(commit func([]stagedWrite)) *committer {
	return startCommitter(commit, groupFiles, groupBytes, groupWindow)
}

func startCommitter(commit func([]stagedWrite), files int, bytes int64, window time.Duration) *committer {
	c := &committer{commit: commit, maxFiles: files, maxBytes: bytes, window: window,
		wake: make(chan struct{}, 1), closed: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// add stages s in the open group, opening one if there is none.
func (c *committer) add(s stagedWrite) {
	c.mu.Lock()
	c.group = append(c.group, s)
	c.size += s.size
	signal := len(c.group) == 1 || c.fullLocked()
	c.mu.Unlock()
	if signal {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func (c *committer) fullLocked() bool { return len(c.group) >= c.maxFiles || c.size >= c.maxBytes }

// take removes the open group (nil if there is none).
func (c *committer) take() []stagedWrite {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.group
	c.group, c.size = nil, 0
	return g
}

func (c *committer) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fullLocked()
}

func (c *committer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.wake:
		case <-c.closed:
			// Nothing is added after close: commit what is left, and stop.
			if g := c.take(); len(g) > 0 {
				c.commit(g)
			}
			return
		}
		window := time.NewTimer(c.window)
	wait:
		for !c.full() {
			select {
			case <-c.wake:
			case <-window.C:
				break wait
			case <-c.closed:
				break wait
			}
		}
		window.Stop()
		if g := c.take(); len(g) > 0 {
			c.commit(g)
		}
	}
}

// close commits the last group and waits for every commit to finish. No add may follow.
func (c *committer) close() {
	close(c.closed)
	<-c.done
}
