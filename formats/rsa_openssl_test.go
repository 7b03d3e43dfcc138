//go:build cgo && openssl

package formats

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"testing"
)

// TestOpenSSLRSA: with the openssl build tag, SignDigest's RSA signatures are byte-identical
// to crypto/rsa's (PKCS#1 v1.5 is deterministic) for every hash it maps, and verify.
func TestOpenSSLRSA(t *testing.T) {
	if RSABackend() != "openssl" {
		t.Fatal("openssl backend not registered")
	}
	for _, bits := range []int{2048, 4096} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		for h := range opensslMD {
			d := h.New()
			d.Write([]byte("module payload"))
			digest := d.Sum(nil)
			got, err := SignDigest(k, digest, h, SignOptions{})
			if err != nil {
				t.Fatalf("RSA-%d %v: %v", bits, h, err)
			}
			want, err := rsa.SignPKCS1v15(nil, k, h, digest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("RSA-%d %v: openssl signature differs from crypto/rsa", bits, h)
			}
		}
		// Raw PKCS#1 (digsig v1) and unmapped hashes stay with crypto/rsa.
		raw := make([]byte, 20)
		if _, err := SignDigest(k, raw, crypto.Hash(0), SignOptions{}); err != nil {
			t.Errorf("raw: %v", err)
		}
	}
}

// TestOpenSSLContextReuse: signing and verifying reuse pooled libcrypto contexts (ctxPool).
// Many goroutines signing different digests with one key get crypto/rsa's bytes every time;
// a call that fails (a digest of the wrong length for its hash) frees its context instead of
// pooling it, and the calls after it still sign correctly; the pool never keeps more than
// maxIdleCtxs; and the public operation answers as math/big through its pooled contexts, and
// through a context of its own for a key beyond the cache.
func TestOpenSSLContextReuse(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(i int) error {
		digest := crypto.SHA256.New()
		fmt.Fprintf(digest, "module %d", i)
		sum := digest.Sum(nil)
		got, err := SignDigest(k, sum, crypto.SHA256, SignOptions{})
		if err != nil {
			return err
		}
		want, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum)
		if !bytes.Equal(got, want) {
			return fmt.Errorf("signature %d differs from crypto/rsa", i)
		}
		em, ok := opensslRSAPublic(&k.PublicKey, got)
		if !ok {
			return fmt.Errorf("public operation %d refused", i)
		}
		if wantEM := new(big.Int).Exp(new(big.Int).SetBytes(got), big.NewInt(int64(k.E)), k.N); !bytes.Equal(em, wantEM.FillBytes(make([]byte, k.Size()))) {
			return fmt.Errorf("public operation %d differs from math/big", i)
		}
		return nil
	}
	errs := make(chan error, 200)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; i < 25; i++ {
				errs <- sign(g*25 + i)
			}
		}(g)
	}
	for i := 0; i < 200; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := SignDigest(k, make([]byte, 20), crypto.SHA256, SignOptions{}); err == nil {
		t.Error("a 20-byte digest signed as SHA-256")
	}
	if err := sign(1000); err != nil {
		t.Fatalf("after a failed call: %v", err)
	}
	p, ok := opensslSignCtxs.Load(signKey{k, crypto.SHA256})
	if !ok {
		t.Fatal("no context pool for the key")
	}
	pool := p.(*ctxPool)
	pool.mu.Lock()
	n := len(pool.free)
	pool.mu.Unlock()
	if n < 1 || n > 8 {
		t.Errorf("%d idle signing contexts after 8 concurrent signers", n)
	}
	// Beyond maxOpenSSLPubKeys keys, a key is loaded, used with a context of its own and
	// freed per call: the answer is still math/big's.
	for i := 0; ; i++ {
		opensslPubMu.Lock()
		full := len(opensslPubKeys) >= maxOpenSSLPubKeys
		opensslPubMu.Unlock()
		pk, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, pk.Size())
		sig[len(sig)-1] = byte(i + 2)
		em, ok := opensslRSAPublic(&pk.PublicKey, sig)
		want := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(pk.E)), pk.N)
		if !ok || !bytes.Equal(em, want.FillBytes(make([]byte, pk.Size()))) {
			t.Fatalf("public operation with key %d (cache full: %v) differs from math/big", i, full)
		}
		if full {
			break
		}
	}
}

func BenchmarkSignRSA4096(b *testing.B) {
	k, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		b.Fatal(err)
	}
	d := make([]byte, 32)
	b.Run("openssl", func(b *testing.B) {
		for b.Loop() {
			SignDigest(k, d, crypto.SHA256, SignOptions{})
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		for b.Loop() {
			rsa.SignPKCS1v15(nil, k, crypto.SHA256, d)
		}
	})
}

// BenchmarkSignParallel signs on every core at once (run with -cpu 1,2): the ratio of the
// two is how well signing scales across a batch's workers, and at -cpu 2 the RSA-4096 case
// is what bench/run.sh's floor (`openssl speed -multi 2 rsa4096`) measures, from Go's threads.
func BenchmarkSignParallel(b *testing.B) {
	for _, bits := range []int{2048, 4096} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rsa%d", bits), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				d := make([]byte, 32)
				for pb.Next() {
					if _, err := SignDigest(k, d, crypto.SHA256, SignOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
