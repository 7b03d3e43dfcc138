package formats

import (
	"bytes"
	"crypto"
	"sync"
)

// DigestMemo remembers the digests of byte strings held in memory, so that verifying a module
// right after signing it does not hash the same payload a second time (for SHA-384 that was a
// fifth of an ECDSA batch). A digest is reused only for bytes equal to those it was computed
// over, compared with bytes.Equal, which costs a small fraction of hashing; so a memo never
// vouches for bytes that changed in between, and the verifier still checks what it reads.
//
// A DigestMemo holds on to the bytes it has seen: keep it for one module (conv.Sign does).
type DigestMemo struct {
	mu      sync.Mutex
	entries []memoEntry
}

type memoEntry struct {
	h    crypto.Hash
	data []byte
	sum  []byte
}

// Sum returns the h digest of data, computed or remembered. A nil memo just computes it.
func (dm *DigestMemo) Sum(h crypto.Hash, data []byte) []byte {
	if dm != nil {
		dm.mu.Lock()
		for _, e := range dm.entries {
			if e.h == h && bytes.Equal(e.data, data) {
				dm.mu.Unlock()
				return append([]byte(nil), e.sum...)
			}
		}
		dm.mu.Unlock()
	}
	w := NewHash(h)
	w.Write(data)
	sum := w.Sum(nil)
	if dm != nil {
		dm.mu.Lock()
		dm.entries = append(dm.entries, memoEntry{h: h, data: data, sum: append([]byte(nil), sum...)})
		dm.mu.Unlock()
	}
	return sum
}

// DigestPrefix hashes the first n bytes of m with h: from m.Digests when m is in memory and
// the memo has seen equal bytes, else by streaming them.
func DigestPrefix(m Module, h crypto.Hash, n int64) ([]byte, error) {
	if data := m.InMemory(); data != nil && m.Digests != nil && h.Available() && n >= 0 && n <= int64(len(data)) {
		return m.Digests.Sum(h, data[:n]), nil
	}
	return Digest(h, m.Reader(0, n))
}
