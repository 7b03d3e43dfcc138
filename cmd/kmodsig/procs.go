package main

import (
	"os"
	"runtime"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
)

// cgoWorkers sets GOMAXPROCS to one more than jobs (<= 0: one per CPU) when the workers'
// RSA operations are libcrypto's (the openssl build), and returns what restores it. A
// goroutine in a cgo call keeps its P until the runtime's monitor takes it back; when every
// P is so held, the monitor (as its retake rule reads) takes it back at each call and wakes
// a spinning thread to look for other work, which competes with the workers for the cores.
// One idle P spares that: verifying the Debian set took 0.64-0.77 s instead of 0.75-1.05 s
// (six alternating pairs on two cores); convert showed no clear gain. A GOMAXPROCS
// environment variable wins.
func cgoWorkers(jobs int) (restore func()) {
	if formats.RSABackend() != "openssl" || os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	old := runtime.GOMAXPROCS(conv.Workers(jobs) + 1)
	return func() { runtime.GOMAXPROCS(old) }
}
