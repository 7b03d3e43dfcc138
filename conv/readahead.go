package conv

import "sync/atomic"

// readAhead is prefetch: it asks the kernel to read a file ahead unless all of it is in the
// page cache, and reports whether it asked. Tests replace it to see which files are offered.
var readAhead = prefetch

// aheadPolicy decides which inputs a batch offers to readAhead. Reading ahead overlaps the
// disk with the work when a tree is not in the page cache; when it is (converting or
// verifying a tree just unpacked, built or read), every offer only finds the file there.
// Asking anyway (an open, an fadvise and a close a file) was a sixtieth of an ECDSA batch's
// CPU time, and checking first with cachestat costs about as much. So after warmRun files
// in a row were found wholly cached, only every warmSample-th input is offered, and the
// first one found not cached turns every offer back on. A tree that leaves the page cache
// part way through loses read-ahead for at most warmSample inputs.
type aheadPolicy struct {
	warm    atomic.Int64 // offers in a row that found the file cached
	skipped atomic.Int64 // inputs seen while warm
}

const (
	warmRun    = 64
	warmSample = 16
)

// offer reads path ahead, as the policy says.
func (p *aheadPolicy) offer(path string) {
	if p.warm.Load() >= warmRun && p.skipped.Add(1)%warmSample != 0 {
		return
	}
	if readAhead(path) {
		p.warm.Store(0)
	} else {
		p.warm.Add(1)
	}
}
