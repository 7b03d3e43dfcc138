//go:build cgo && openssl

package formats

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
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
