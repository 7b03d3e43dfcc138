package pkcs7sig

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

// TestVerifyRSAPublic: the math/big verifier accepts exactly what crypto/rsa accepts, for good
// signatures and for every single-bit change of signature and digest.
func TestVerifyRSAPublic(t *testing.T) {
	for _, bits := range []int{1024, 2048} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
			d := h.New()
			d.Write([]byte("module payload"))
			digest := d.Sum(nil)
			sig, err := rsa.SignPKCS1v15(nil, k, h, digest)
			if err != nil {
				t.Fatal(err)
			}
			prefix := digestInfoPrefix(digestAlgByHash(t, h))
			check := func(name string, sig, digest []byte) {
				t.Helper()
				want := rsa.VerifyPKCS1v15(&k.PublicKey, h, digest, sig) == nil
				if got := verifyRSAPublic(&k.PublicKey, prefix, digest, sig); got != want {
					t.Errorf("RSA-%d %v %s: verifyRSAPublic = %v, crypto/rsa %v", bits, h, name, got, want)
				}
			}
			check("good", sig, digest)
			for i := 0; i < len(sig)*8; i += 37 {
				bad := bytes.Clone(sig)
				bad[i/8] ^= 1 << (i % 8)
				check("signature bit flipped", bad, digest)
			}
			bad := bytes.Clone(digest)
			bad[0] ^= 1
			check("digest changed", sig, bad)
			check("short signature", sig[1:], digest)
		}
	}
}

func digestAlgByHash(t *testing.T, h crypto.Hash) *digestAlg {
	t.Helper()
	for i := range digestAlgs {
		if digestAlgs[i].hash == h {
			return &digestAlgs[i]
		}
	}
	t.Fatalf("no digest algorithm for %v", h)
	return nil
}
