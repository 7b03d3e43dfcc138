//go:build cgo && openssl

package formats

import (
	"bytes"
	"crypto"
	"fmt"
	"hash"
	"math/rand/v2"
	"testing"
)

// TestOpenSSLHash: the openssl build hashes SHA-384 and SHA-512 with libcrypto, and its
// hash.Hash gives crypto's digests for inputs written in random pieces (empty ones too), with
// Sum leaving the state as it was and appending to its argument, and Reset starting over.
// Other hashes stay with Go.
func TestOpenSSLHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, h := range []crypto.Hash{crypto.SHA384, crypto.SHA512} {
		w := NewHash(h)
		if _, ok := w.(*evpDigest); !ok {
			t.Fatalf("%s: NewHash gave %T, not libcrypto's", h, w)
		}
		if w.Size() != h.Size() || w.BlockSize() != h.New().BlockSize() {
			t.Fatalf("%s: size %d, block %d", h, w.Size(), w.BlockSize())
		}
		for i := 0; i < 50; i++ {
			data := make([]byte, rng.IntN(300000))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			ref := h.New()
			w.Reset()
			for rest := data; ; {
				n := min(len(rest), rng.IntN(70000))
				w.Write(rest[:n])
				ref.Write(rest[:n])
				if rng.IntN(4) == 0 { // Sum in the middle must not disturb the state
					if got, want := w.Sum(nil), ref.Sum(nil); !bytes.Equal(got, want) {
						t.Fatalf("%s #%d: intermediate Sum %x, want %x", h, i, got, want)
					}
				}
				rest = rest[n:]
				if len(rest) == 0 {
					break
				}
			}
			want := ref.Sum([]byte("prefix"))
			if got := w.Sum([]byte("prefix")); !bytes.Equal(got, want) {
				t.Fatalf("%s #%d (%d bytes): Sum %x, want %x", h, i, len(data), got, want)
			}
			if got := w.Sum([]byte("prefix")); !bytes.Equal(got, want) {
				t.Fatalf("%s #%d: a second Sum differs", h, i)
			}
		}
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		if w := NewHash(h); fmt.Sprintf("%T", w) == "*formats.evpDigest" {
			t.Errorf("%s: NewHash took libcrypto's, which is no faster for it", h)
		}
	}
}

// BenchmarkHash384: SHA-384 over 64 KiB, Go against libcrypto, the choice opensslDigests
// records.
func BenchmarkHash384(b *testing.B) {
	buf := make([]byte, 64<<10)
	for _, bc := range []struct {
		name string
		new  func() hash.Hash
	}{
		{"go", crypto.SHA384.New},
		{"openssl", func() hash.Hash { return opensslHash(crypto.SHA384) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				w := bc.new()
				w.Write(buf)
				w.Sum(nil)
			}
		})
	}
}
