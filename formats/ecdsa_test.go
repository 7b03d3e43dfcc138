package formats

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"fmt"
	"math/big"
	"testing"
)

// fixedECDSAKey derives a private key on c from label, so that the tests are repeatable.
func fixedECDSAKey(t testing.TB, c elliptic.Curve, label string) *ecdsa.PrivateKey {
	t.Helper()
	n := c.Params().N
	seed := sha512.Sum512([]byte(label))
	more := sha512.Sum512(seed[:])
	wide := append(seed[:], more[:]...) // 128 bytes, more than any n
	d := new(big.Int).SetBytes(wide)
	d.Mod(d, new(big.Int).Sub(n, big.NewInt(1))).Add(d, big.NewInt(1))
	k, err := ecdsa.ParseRawPrivateKey(c, d.FillBytes(make([]byte, (n.BitLen()+7)/8)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSignECDSAMatchesCryptoECDSA holds signECDSA to crypto/ecdsa's deterministic signatures,
// byte for byte, over keys, hashes shorter and longer than the group order, and digests.
func TestSignECDSAMatchesCryptoECDSA(t *testing.T) {
	hashes := []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}
	for _, c := range []elliptic.Curve{elliptic.P384(), elliptic.P521()} {
		for key := range 4 {
			k := fixedECDSAKey(t, c, fmt.Sprintf("%s key %d", c.Params().Name, key))
			for _, h := range hashes {
				for msg := range 8 {
					hh := h.New()
					fmt.Fprintf(hh, "module %d", msg)
					digest := hh.Sum(nil)
					want, err := k.Sign(nil, digest, h)
					if err != nil {
						t.Fatal(err)
					}
					got, done, err := signECDSA(k, digest, h)
					if !done || err != nil {
						t.Fatalf("%s %v: done %v, %v", c.Params().Name, h, done, err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%s key %d %v msg %d:\n got %x\nwant %x", c.Params().Name, key, h, msg, got, want)
					}
					// the blinding factor is fresh each time and changes nothing
					if again, _, _ := signECDSA(k, digest, h); !bytes.Equal(again, got) {
						t.Fatalf("%s %v: a second signature differs", c.Params().Name, h)
					}
				}
			}
		}
	}
}

// TestSignECDSADeclines: the keys, hashes and modes signECDSA leaves to crypto/ecdsa.
func TestSignECDSADeclines(t *testing.T) {
	digest := make([]byte, 32)
	for _, tc := range []struct {
		name string
		c    elliptic.Curve
		h    crypto.Hash
	}{
		{"P-256 (crypto/ecdsa's assembly inversion)", elliptic.P256(), crypto.SHA256},
		{"P-224", elliptic.P224(), crypto.SHA256},
		{"no hash", elliptic.P384(), 0},
		{"unavailable hash", elliptic.P384(), crypto.MD4},
		{"a digest that is not the hash's length", elliptic.P384(), crypto.SHA384},
	} {
		k := fixedECDSAKey(t, tc.c, tc.name)
		if _, done, _ := signECDSA(k, digest, tc.h); done {
			t.Errorf("%s: signed", tc.name)
		}
	}
}

// TestSignDigestDeterministicECDSACurves: SignDigest's deterministic ECDSA on every curve is
// crypto/ecdsa's signature, whoever makes it.
func TestSignDigestDeterministicECDSACurves(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k := fixedECDSAKey(t, c, "SignDigest "+c.Params().Name)
		digest := sha512.Sum384([]byte("hello.ko"))
		want, err := k.Sign(nil, digest[:], crypto.SHA384)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SignDigest(k, digest[:], crypto.SHA384, SignOptions{Deterministic: true})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %x, %v; want %x", c.Params().Name, got, err, want)
		}
		random, err := SignDigest(k, digest[:], crypto.SHA384, SignOptions{})
		if err != nil || !ecdsa.VerifyASN1(&k.PublicKey, digest[:], random) {
			t.Errorf("%s: random signature %x, %v", c.Params().Name, random, err)
		}
		if bytes.Equal(random, want) {
			t.Errorf("%s: the randomised signature is the deterministic one", c.Params().Name)
		}
	}
}

// BenchmarkSignECDSA: a P-384 signature by signECDSA and by crypto/ecdsa (deterministic).
func BenchmarkSignECDSA(b *testing.B) {
	k := fixedECDSAKey(b, elliptic.P384(), "bench")
	digest := sha512.Sum384([]byte("module"))
	b.Run("kmodsig", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := signECDSA(k, digest[:], crypto.SHA384); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-ecdsa", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Sign(nil, digest[:], crypto.SHA384); err != nil {
				b.Fatal(err)
			}
		}
	})
}
