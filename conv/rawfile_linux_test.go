package conv

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenFIFO: a FIFO given as a module is refused at once (not a regular file); opening it
// for reading used to block until a writer came, and a batch with it never finished.
func TestOpenFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo.ko")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Open(path)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open(FIFO) = %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open(FIFO) still blocked after 10 s")
	}
}
