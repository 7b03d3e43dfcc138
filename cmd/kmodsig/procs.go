package main

import (
	"os"
	"runtime"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
)

// cgoWorkers sets GOMAXPROCS to one more than jobs (<= 0: one per CPU) in the openssl build
// (libcrypto does RSA), and returns what restores it; verify and convert call it. A
// goroutine in a cgo call or a blocking system call keeps its P until the runtime's monitor
// takes it back; when every P is so held, the monitor (as its retake rule reads) takes it
// back at each call, hands it to another thread and keeps waking every 20 µs, all competing
// with the workers for the cores. One idle P spares that. Measured on two cores, alternating
// pairs: verifying the Debian set took 0.64-0.77 s instead of 0.75-1.05 s (six pairs);
// converting it to pkcs7 took 3.8-4.8 s instead of 4.6-5.5 s with RSA-2048 (six pairs, all
// won), 3.0-3.8 s instead of 2.9-4.7 s with ECDSA P-384 (eight pairs, seven won) and
// 14.5-15.4 s instead of 15.9-17.7 s with RSA-4096 (two pairs), with about half the
// voluntary context switches. The pure-Go build gained nothing (its RSA-2048 convert and its
// verify were slower with the extra P, its ECDSA convert no different), so it is left alone.
// A GOMAXPROCS environment variable wins.
func cgoWorkers(jobs int) (restore func()) {
	if formats.RSABackend() != "openssl" || os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	old := setGOMAXPROCS(conv.Workers(jobs) + 1)
	return func() { setGOMAXPROCS(old) }
}

// setGOMAXPROCS is runtime.GOMAXPROCS; TestCommandsTakeSpareP records the calls.
var setGOMAXPROCS = runtime.GOMAXPROCS
