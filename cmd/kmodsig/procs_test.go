package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestCgoWorkers: with libcrypto doing RSA, verify and convert run with one P more than their
// workers (at most one more than the CPUs: TestCommandsTakeSpareP) and get the old setting back; a GOMAXPROCS environment variable wins; the pure-Go
// build is left alone.
func TestCgoWorkers(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Setenv("GOMAXPROCS", "")
	restore := cgoWorkers(1)
	want := before
	if formats.RSABackend() == "openssl" {
		want = 2
	}
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS %d with 1 worker (%s), want %d", got, formats.RSABackend(), want)
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
// cgoWorkers with their -j: in the openssl build GOMAXPROCS is set to one more than the
// workers, at most one more than the CPUs, for the batch and restored after it; in the
// pure-Go build it is never touched. A -j above conv.MaxWorkers runs that many, with a
// warning: -j 100000 once set GOMAXPROCS to 100001 and the runtime died of too many threads.
func TestCommandsTakeSpareP(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	calls := recordCalls(t, &setGOMAXPROCS)
	root, dir, in := helloTreeDir(t)
	before := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		args  []string
		procs int // GOMAXPROCS for the batch in the openssl build
		warn  bool
	}{
		{[]string{"convert", "--to", "pkcs7", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "-j", "1", "--out-dir", filepath.Join(dir, "out"), in}, 2, false},
		{[]string{"verify", "-j", "1", "--keyring", filepath.Join(root, "keys", "rsa2048.crt"), filepath.Join(dir, "out")}, 2, false},
		{[]string{"verify", "-j", "100000", "--keyring", filepath.Join(root, "keys", "rsa2048.crt"), filepath.Join(dir, "out")}, runtime.NumCPU() + 1, true},
		{[]string{"convert", "--to", "pkcs7", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "-j", "100000", "--out-dir", filepath.Join(dir, "out2"), in}, runtime.NumCPU() + 1, true},
	} {
		*calls = nil
		var stderr strings.Builder
		if code := run(tc.args, io.Discard, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr.String())
		}
		var want []int
		if formats.RSABackend() == "openssl" {
			want = []int{tc.procs, before}
		}
		if !slices.Equal(*calls, want) {
			t.Errorf("%v (%s): GOMAXPROCS set to %v, want %v", tc.args, formats.RSABackend(), *calls, want)
		}
		if got := strings.Contains(stderr.String(), "running 256 workers"); got != tc.warn {
			t.Errorf("%v: warning %v, want %v (stderr %q)", tc.args, got, tc.warn, stderr.String())
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
