package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestCgoWorkers: with libcrypto doing RSA, verify and convert run with one P more than their
// workers and get the old setting back; a GOMAXPROCS environment variable wins; the pure-Go
// build is left alone.
func TestCgoWorkers(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Setenv("GOMAXPROCS", "")
	restore := cgoWorkers(3)
	want := before
	if formats.RSABackend() == "openssl" {
		want = 4
	}
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS %d with 3 workers (%s), want %d", got, formats.RSABackend(), want)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS %d after restore, want %d", got, before)
	}
	t.Setenv("GOMAXPROCS", "1")
	restore = cgoWorkers(3)
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS %d although the environment sets it", got)
	}
	restore()
}

// TestCommandsTakeSpareP: convert and verify, run as the command line runs them, call
// cgoWorkers with their -j: in the openssl build GOMAXPROCS is set to -j + 1 for the batch and
// restored after it; in the pure-Go build it is never touched.
func TestCommandsTakeSpareP(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	calls := recordCalls(t, &setGOMAXPROCS)
	root, dir, in := helloTreeDir(t)
	before := runtime.GOMAXPROCS(0)
	for _, args := range [][]string{
		{"convert", "--to", "pkcs7", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "-j", "5", "--out-dir", filepath.Join(dir, "out"), in},
		{"verify", "-j", "5", "--keyring", filepath.Join(root, "keys", "rsa2048.crt"), filepath.Join(dir, "out")},
	} {
		*calls = nil
		if code := run(args, io.Discard, io.Discard); code != 0 {
			t.Fatalf("%s: exit %d", args[0], code)
		}
		var want []int
		if formats.RSABackend() == "openssl" {
			want = []int{6, before}
		}
		if !slices.Equal(*calls, want) {
			t.Errorf("%s -j 5 (%s): GOMAXPROCS set to %v, want %v", args[0], formats.RSABackend(), *calls, want)
		}
	}
}

// TestTreeCommandsSetGC: convert, verify and inspect, run as the command line runs them, set
// GOGC 400 for their work and restore it after; a GOGC environment variable wins.
func TestTreeCommandsSetGC(t *testing.T) {
	calls := recordCalls(t, &setGCPercent)
	root, _, in := helloTreeDir(t)
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	commands := [][]string{
		{"convert", "--to", "pkcs7", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "--in-place", in},
		{"verify", "--keyring", filepath.Join(root, "keys", "rsa2048.crt"), in},
		{"inspect", "--json", in},
	}
	for _, env := range []string{"", "50"} {
		t.Setenv("GOGC", env)
		for _, args := range commands {
			*calls = nil
			if code := run(args, io.Discard, io.Discard); code != 0 {
				t.Fatalf("%s: exit %d", args[0], code)
			}
			want := []int{400, 100}
			if env != "" {
				want = nil
			}
			if !slices.Equal(*calls, want) {
				t.Errorf("%s with GOGC=%q: GC percent set to %v, want %v", args[0], env, *calls, want)
			}
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("%s: GC percent %d after the command, want 100", args[0], got)
			}
		}
	}
}

// helloTreeDir makes a directory (in, inside the temporary dir) holding testdata's hello.ko
// for the commands to work on; root is the testdata directory.
func helloTreeDir(t *testing.T) (root, dir, in string) {
	t.Helper()
	root, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	in = filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	ko, err := os.ReadFile(filepath.Join(root, "modules", "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "hello.ko"), ko, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, dir, in
}

// recordCalls replaces *f (setGOMAXPROCS, setGCPercent) until the test ends with a version
// that records each argument in the returned slice and then calls the original.
func recordCalls(t *testing.T, f *func(int) int) *[]int {
	calls := new([]int)
	orig := *f
	t.Cleanup(func() { *f = orig })
	*f = func(n int) int {
		*calls = append(*calls, n)
		return orig(n)
	}
	return calls
}
