package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFileBounded gives every reader of key files a file larger than MaxFile (sparse, so
// the test writes nothing) and /dev/zero: each is refused with ErrFileTooLarge naming the
// path. Before, os.ReadFile read /dev/zero until the process ran out of memory.
func TestReadFileBounded(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.pem")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFile + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	paths := []string{big}
	if _, err := os.Stat("/dev/zero"); err == nil {
		paths = append(paths, "/dev/zero")
	}
	for _, p := range paths {
		for name, load := range map[string]func(string) error{
			"LoadFile":        func(p string) error { _, err := LoadFile(p); return err },
			"LoadCertificate": func(p string) error { _, err := LoadCertificate(p); return err },
			"LoadRing":        func(p string) error { _, err := LoadRing(p); return err },
			"pin-source": func(p string) error {
				_, _, err := (&PKCS11URI{PINSource: "file:" + p}).PIN()
				return err
			},
		} {
			if err := load(p); !errors.Is(err, ErrFileTooLarge) || !strings.Contains(err.Error(), p) {
				t.Errorf("%s(%s) = %v, want ErrFileTooLarge naming the file", name, p, err)
			}
		}
	}
}

// TestLoadFileFromPipe loads a key through a pipe, as `--key <(pass show signing-key)` gives
// it: the bound reads what comes and stops at the end.
func TestLoadFileFromPipe(t *testing.T) {
	key, err := os.ReadFile(keyPath("rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write(key)
		w.Close()
	}()
	p := fmt.Sprintf("/dev/fd/%d", r.Fd())
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no /dev/fd here: %v", err)
	}
	m, err := LoadFile(p)
	if err != nil {
		t.Fatalf("LoadFile(%s) from a pipe: %v", p, err)
	}
	m.Close()
}
