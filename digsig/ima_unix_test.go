//go:build unix

package digsig

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
)

// TestIMAFilesNotRegular gives SignFile and VerifySigFile a directory and a FIFO, as the file
// and as its .sig: each is refused with formats.ErrNotRegular at once. Before, a FIFO made
// `kmodsig ima sign` wait for a writer for ever.
func TestIMAFilesNotRegular(t *testing.T) {
	tk := loadKey(t, "rsa2048")
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.ko")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	mod := filepath.Join(dir, "m.ko")
	writeFile(t, mod, helloKO(t))
	if err := syscall.Mkfifo(mod+SigFileSuffix, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub.ko")
	if err := syscall.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"SignFile(FIFO)":           func() error { _, err := SignFile(fifo, tk.m, formats.SignOptions{}); return err },
		"SignFile(directory)":      func() error { _, err := SignFile(sub, tk.m, formats.SignOptions{}); return err },
		"VerifySigFile(.sig FIFO)": func() error { _, err := VerifySigFile(mod, tk.ring()); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if !errors.Is(err, formats.ErrNotRegular) {
				t.Errorf("%s: %v, want ErrNotRegular", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waiting after 10 s", name)
		}
	}
}
