package conv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of path that are in the page cache (mincore).
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	pg := os.Getpagesize()
	vec := make([]byte, (len(m)+pg-1)/pg)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestBatchDropsWrittenPages: once a batch has made its outputs durable and renamed them, their
// pages are no longer in the page cache (dropCache), with grouped flushes and with --fsync-each,
// to a new tree and in place. A file written the ordinary way stays cached, which shows that
// mincore can see the difference on this filesystem.
func TestBatchDropsWrittenPages(t *testing.T) {
	var st unix.Statfs_t
	dir := t.TempDir()
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == unix.TMPFS_MAGIC {
		t.Skip("the test directory is on tmpfs, whose pages are the files themselves")
	}
	ko := helloKO(t)
	control := filepath.Join(dir, "control.ko")
	writeFile(t, control, ko)
	if residentPages(t, control) == 0 {
		t.Skip("a file just written has no pages in the page cache here: nothing to compare")
	}
	k := loadKey(t, "rsa2048.key")
	for _, tc := range []struct {
		name            string
		inPlace, fsyncE bool
	}{
		{"out-dir", false, false},
		{"in-place", true, false},
		{"out-dir fsync-each", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := t.TempDir()
			var inputs []Input
			for _, name := range []string{"a.ko", "sub/b.ko"} {
				p := filepath.Join(in, name)
				writeFile(t, p, ko)
				inputs = append(inputs, Input{Path: p, Rel: name})
			}
			o := Options{To: "pkcs7", Key: k, InPlace: tc.inPlace, FsyncEach: tc.fsyncE, Jobs: 2}
			if !tc.inPlace {
				o.OutDir = t.TempDir()
			}
			rep := Convert(context.Background(), inputs, o)
			if err := rep.Err(); err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Files {
				if f.Outcome != Converted {
					t.Fatalf("%s: %s %s", f.Path, f.Outcome, f.Error)
				}
				if n := residentPages(t, f.Output); n != 0 {
					t.Errorf("%s: %d pages still in the page cache after the batch", f.Output, n)
				}
			}
		})
	}
}
