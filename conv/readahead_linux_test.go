package conv

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPrefetchSkipsCached: prefetch asks the kernel to read a file whose pages are not in the
// page cache, and not one that is all there. Which pages are there is seen independently,
// with mincore (residentPages), and cached must agree with it.
func TestPrefetchSkipsCached(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.ko")
	data := make([]byte, 300<<10+123)
	rand.Read(data)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil { // clean pages, which DONTNEED drops
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(fd), &unix.CachestatRange{}, &cs, 0); err != nil {
		t.Skipf("cachestat: %v (Linux 6.5 and later): prefetch always asks here", err)
	}
	pages := (len(data) + os.Getpagesize() - 1) / os.Getpagesize()
	if residentPages(t, path) != pages {
		t.Skip("a file just written is not all in the page cache here: nothing to compare")
	}
	if !cached(fd) {
		t.Fatal("a file all in the page cache is not reported cached")
	}
	if prefetch(path) {
		t.Error("prefetch asked for a file that is all in the page cache")
	}
	unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
	if residentPages(t, path) != 0 {
		t.Skip("the filesystem keeps the pages (tmpfs?): cannot make a file not cached")
	}
	if cached(fd) {
		t.Error("a file with no page in the page cache is reported cached")
	}
	if !prefetch(path) {
		t.Error("prefetch did not ask for a file not in the page cache")
	}
	// A file missing only its second half is not cached either.
	if _, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	unix.Fadvise(fd, int64(len(data)/2)&^0xffff, 0, unix.FADV_DONTNEED)
	if n := residentPages(t, path); n == 0 || n == pages {
		t.Fatalf("%d of %d pages resident after dropping the second half", n, pages)
	}
	if cached(fd) {
		t.Error("a file without its second half is reported cached")
	}
}
