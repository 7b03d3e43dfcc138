package conv

import (
	"math/bits"
	"sync"
)

// Module buffers are pooled. A batch reads every uncompressed module whole into a buffer of
// its own (File.Bytes) and drops it once its temporary file is written; allocating each anew
// cost an ECDSA P-256 dry run of the Debian set a fifth of its CPU (zeroing, page faults on
// memory the runtime had returned to the system, collection). Buffers come in size classes
// a quarter of a power of two apart, so a pooled buffer wastes at most a fifth of itself.
// Up to maxFreeBytes of them wait in free lists that collections leave alone; the rest go to
// sync.Pool, which lets the collector take back what sits unused. For an RSA-2048 batch of the
// set, fresh buffers went from 145 MB (sync.Pool alone) to 105 MB: most of what is still
// allocated is for the few large modules, whose sizes rarely repeat.

// bufClassCount is the number of size classes: four per power of two.
const bufClassCount = 4 * 64

// bufClasses are the pools: class c holds buffers of the capacity bufClass gives for c.
var bufClasses [bufClassCount]sync.Pool

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

// freeBufs is a free list per class, at most maxFreeBytes in all, that a collection does not
// empty (sync.Pool does, and under a batch's memory limit collections are frequent).
var freeBufs struct {
	mu    sync.Mutex
	class [bufClassCount][][]byte
	bytes int
}

const maxFreeBytes = 8 << 20

// getBuf returns a buffer of length n and capacity at least n+room, from the pool when it
// has one. Its contents are not zeroed: the caller overwrites them.
func getBuf(n, room int) []byte {
	c, size := bufClass(n + room)
	if c >= len(bufClasses) {
		return make([]byte, n, n+room)
	}
	freeBufs.mu.Lock()
	if l := freeBufs.class[c]; len(l) > 0 {
		b := l[len(l)-1]
		freeBufs.class[c] = l[:len(l)-1]
		freeBufs.bytes -= cap(b)
		freeBufs.mu.Unlock()
		return b[:n]
	}
	freeBufs.mu.Unlock()
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
	freeBufs.mu.Lock()
	if freeBufs.bytes+cap(b) <= maxFreeBytes {
		freeBufs.class[c] = append(freeBufs.class[c], b[:0])
		freeBufs.bytes += cap(b)
		freeBufs.mu.Unlock()
		return
	}
	freeBufs.mu.Unlock()
	bufClasses[c].Put(&pooledBuf{b[:0]})
}
