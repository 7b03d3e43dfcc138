package main

import (
	"runtime"
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
