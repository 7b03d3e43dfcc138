package conv

import (
	"math/bits"
	"sync"
)

// Module buffers are pooled. A batch reads every uncompressed module whole into a buffer of
// its own (File.Bytes) and drops it once its temporary file is written; allocating each anew
// cost an ECDSA P-256 dry run of the Debian set a fifth of its CPU (zeroing, page faults on
// memory the runtime had returned to the system, collection). Buffers come in size classes
// a quarter of a power of two apart, so a pooled buffer wastes at most a fifth of itself,
// and sync.Pool lets the collector take back what sits unused.

// bufClasses are the pools: class c holds buffers of capacity classSize(c).
var bufClasses [4 * 64]sync.Pool

// minBufShift is the smallest class, 4 KiB: smaller modules are not pooled.
const minBufShift = 12

// bufClass returns the smallest class whose buffers hold n bytes, and their capacity.
func bufClass(n int) (class, size int) {
	if n <= 1<<minBufShift {
		return 0, 1 << minBufShift
	}
	k := bits.Len(uint(n-1)) - 1 // 2^k < n <= 2^(k+1)
	step := 1 << (k - 2)         // classes 2^k·5/4, 6/4, 7/4, 8/4
	q := (n - 1 - 1<<k) / step   // 0..3
	return 4*(k-minBufShift) + q + 1, 1<<k + (q+1)*step
}

// pooledBuf is what the pools hold (a pointer, so that Put does not allocate).
type pooledBuf struct{ b []byte }

// getBuf returns a buffer of length n and capacity at least n+room, from the pool when it
// has one. Its contents are not zeroed: the caller overwrites them.
func getBuf(n, room int) []byte {
	c, size := bufClass(n + room)
	if c >= len(bufClasses) {
		return make([]byte, n, n+room)
	}
	if p, ok := bufClasses[c].Get().(*pooledBuf); ok {
		return p.b[:n]
	}
	return make([]byte, n, size)
}

// putBuf gives a buffer from getBuf back to its pool. The caller must not use it, or any
// slice of it, afterwards. Buffers of other capacities are left to the collector.
func putBuf(b []byte) {
	c, size := bufClass(cap(b))
	if c >= len(bufClasses) || size != cap(b) {
		return
	}
	bufClasses[c].Put(&pooledBuf{b[:0]})
}
