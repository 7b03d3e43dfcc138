package conv

import (
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWriteAtomicFailureNamesTheFile: a write that fails half way (here a file size limit,
// as a full disk would) leaves the old file and no temporary file, and the error names the
// file being written and the cause, not the temporary file that no longer exists.
func TestWriteAtomicFailureNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ko")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// RLIMIT_FSIZE makes a write past 1 KiB fail with EFBIG (SIGXFSZ ignored), for this whole
	// process: nothing else in this package's tests runs meanwhile (none is parallel).
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 1024, Max: old.Max}); err != nil {
		t.Skip(err)
	}
	err := WriteAtomic(path, make([]byte, 4096), 0o644, time.Time{})
	if rerr := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); rerr != nil {
		t.Fatal(rerr)
	}
	if !errors.Is(err, syscall.EFBIG) || err.Error() != "writing "+path+": "+syscall.EFBIG.Error() {
		t.Fatalf("err = %v, want \"writing %s: %v\"", err, path, syscall.EFBIG)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "old" {
		t.Fatalf("the old file: %q, %v", b, err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), "kmodsig") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}
