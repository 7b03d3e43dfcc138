package formats

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
)

// TestRSAPublic: RSAPublic (libcrypto in the openssl build, math/big otherwise) gives what
// math/big gives for values below n, of full and short length, nil for values at or above n
// and for over-long input, and recovers the encoded message of crypto/rsa's signatures.
func TestRSAPublic(t *testing.T) {
	for _, bits := range []int{1024, 2048, 4096} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		pub := &k.PublicKey
		size := pub.Size()
		digest := sha256.Sum256([]byte("module payload"))
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		em := RSAPublic(pub, sig)
		if len(em) != size || em[0] != 0 || em[1] != 1 || !bytes.HasSuffix(em, digest[:]) {
			t.Fatalf("RSA-%d: signature recovers %x", bits, em)
		}
		check := func(name string, in []byte) {
			t.Helper()
			got, want := RSAPublic(pub, in), rsaPublicBig(pub, in)
			if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Errorf("RSA-%d %s: RSAPublic %x, math/big %x", bits, name, got, want)
			}
		}
		for i := 0; i < 20; i++ {
			v, _ := rand.Int(rand.Reader, pub.N)
			check("random", v.FillBytes(make([]byte, size)))
			check("random, unpadded", v.Bytes())
		}
		check("zero", make([]byte, size))
		check("one", []byte{1})
		check("n-1", new(big.Int).Sub(pub.N, big.NewInt(1)).Bytes())
		if RSAPublic(pub, pub.N.Bytes()) != nil {
			t.Errorf("RSA-%d: n accepted", bits)
		}
		if RSAPublic(pub, bytes.Repeat([]byte{0xff}, size)) != nil {
			t.Errorf("RSA-%d: all-ones accepted", bits)
		}
		if RSAPublic(pub, append([]byte{0}, sig...)) != nil {
			t.Errorf("RSA-%d: %d-byte input accepted", bits, size+1)
		}
	}
	if RSAPublic(&rsa.PublicKey{N: big.NewInt(0), E: 3}, nil) != nil {
		t.Error("zero modulus accepted")
	}
}

func BenchmarkRSAPublic4096(b *testing.B) {
	k, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("module payload"))
	sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:])
	b.Run("RSAPublic", func(b *testing.B) {
		for b.Loop() {
			RSAPublic(&k.PublicKey, sig)
		}
	})
	b.Run("math-big", func(b *testing.B) {
		for b.Loop() {
			rsaPublicBig(&k.PublicKey, sig)
		}
	})
}
