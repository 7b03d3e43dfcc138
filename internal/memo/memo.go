// Package memo remembers strings computed from DER encodings: the names kmodsig prints for
// certificates and signers.
//
// A module tree is signed by one key or a few, so converting or verifying it names the same
// issuer and subject thousands of times. Decoding a Name through encoding/asn1 for each file
// was a fifth of `kmodsig inspect` over a tree, and half a percent of a whole-set RSA-4096
// batch. The standard library has no bounded cache, and sync.Map alone would grow with every
// new issuer a hostile tree brings.
package memo

import (
	"sync"
	"sync/atomic"
)

// Strings maps DER encodings to the strings computed from them. It remembers at most Max
// encodings (256 when Max is 0); past that it computes without remembering. The zero value
// is ready to use, and it is safe for concurrent use.
type Strings struct {
	Max int64

	m sync.Map // string(der) -> string
	n atomic.Int64
}

// Get returns compute(der), from memory when der was seen before. compute must depend on der
// alone.
func (s *Strings) Get(der []byte, compute func([]byte) string) string {
	if v, ok := s.m.Load(string(der)); ok {
		return v.(string)
	}
	v := compute(der)
	limit := s.Max
	if limit == 0 {
		limit = 256
	}
	if s.n.Add(1) <= limit {
		s.m.Store(string(der), v)
	}
	return v
}
