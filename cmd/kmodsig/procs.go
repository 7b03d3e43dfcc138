package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

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
// More workers than CPUs (-j above the core count, for a slow filesystem) get one P per CPU
// and the spare one: a P beyond that runs nothing a core could. A GOMAXPROCS environment
// variable wins.
func cgoWorkers(jobs int) (restore func()) {
	if formats.RSABackend() != "openssl" || os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	old := setGOMAXPROCS(min(conv.Workers(jobs), runtime.NumCPU()) + 1)
	return func() { setGOMAXPROCS(old) }
}

// checkJobs refuses a negative -j (as make and xargs -P do; it ran one worker per core) and
// warns when -j asks for more workers than conv.MaxWorkers, which is what runs.
func checkJobs(e *env, jobs int) error {
	if jobs < 0 {
		return fmt.Errorf("-j %d: want a number of workers, or 0 for one per core", jobs)
	}
	if jobs > conv.MaxWorkers {
		fmt.Fprintf(e.stderr, "%s: warning: -j %d: running %d workers, the most kmodsig runs\n", programName, jobs, conv.MaxWorkers)
	}
	return nil
}

// setGOMAXPROCS is runtime.GOMAXPROCS; TestCommandsTakeSpareP records the calls.
var setGOMAXPROCS = runtime.GOMAXPROCS

// batchGC lets the heap grow to five times what is live (GOGC 400) while a command goes
// through a tree (convert, verify, inspect), and returns what restores it; a GOGC environment
// variable wins. Their live heap is small (results and pooled buffers) while they allocate
// several buffers a file, so at GOGC 100 the collector ran every few MiB, and its marking,
// its stops and the scavenger handing pages back to the kernel in between cost them more
// than a tenth of their time. Measured on two cores over the Debian set, eight alternating pairs, all
// won: verify took 0.69-0.79 s instead of 0.82-0.90 s, with a peak RSS of 38 MiB instead of
// 26-28; inspect --json 0.16-0.20 s instead of 0.18-0.29 s, 42-45 MiB instead of 31-33.
// convert also sets a memory limit (see there).
func batchGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := setGCPercent(400)
	return func() { setGCPercent(old) }
}

// setGCPercent is debug.SetGCPercent; TestTreeCommandsSetGC records the calls.
var setGCPercent = debug.SetGCPercent
