package digsig

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"
)

// tinyRSA builds an RSA key whose modulus has exactly bits bits (too small for crypto/rsa,
// which is the point: the kernel's decoder is only lenient where the padding is short).
func tinyRSA(t *testing.T, bits int) (*rsa.PublicKey, *big.Int) {
	t.Helper()
	e := big.NewInt(65537)
	for range 1000 {
		p, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			t.Fatal(err)
		}
		q, err := rand.Prime(rand.Reader, bits-bits/2)
		if err != nil {
			t.Fatal(err)
		}
		n := new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(q, big.NewInt(1)))
		d := new(big.Int).ModInverse(e, phi)
		if n.BitLen() == bits && d != nil && p.Cmp(q) != 0 {
			return &rsa.PublicKey{N: n, E: 65537}, d
		}
	}
	t.Fatal("no key")
	return nil, nil
}

// rawSign is textbook RSA on a PKCS#1 type 1 block with psLen FF bytes.
func rawSign(pub *rsa.PublicKey, d *big.Int, h []byte) []byte {
	k := (pub.N.BitLen() + 7) / 8
	em := append([]byte{0, 1}, bytes.Repeat([]byte{0xff}, k-3-len(h))...)
	em = append(em, 0)
	em = append(em, h...)
	s := new(big.Int).Exp(new(big.Int).SetBytes(em), d, pub.N)
	out := make([]byte, k)
	return s.FillBytes(out)
}

// TestV1KernelLeniency: with a 192-bit modulus the padding has a single FF byte; the
// kernel's decoder accepts that (and so does kmodsig), where a strict PKCS#1 verifier
// wants 8. With a 240-bit modulus (30 bytes) the RSA result spans four 64-bit limbs, more
// than the modulus has bytes, and lib/digsig.c returns EINVAL even for a correct signature.
func TestV1KernelLeniency(t *testing.T) {
	h := bytes.Repeat([]byte{0x42}, 20)
	pub, d := tinyRSA(t, 192)
	sig := rawSign(pub, d, h)
	if err := verifyV1RSA(pub, sig, uint16(len(sig)*8), h); err != nil {
		t.Errorf("1-byte padding rejected: %v", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, 0, h, sig); err == nil {
		t.Log("note: crypto/rsa accepted the short padding too")
	}
	if err := verifyV1RSA(pub, sig, uint16(len(sig)*8), bytes.Repeat([]byte{0x43}, 20)); err == nil {
		t.Error("wrong hash accepted")
	}
	pub, d = tinyRSA(t, 240)
	sig = rawSign(pub, d, h)
	if err := verifyV1RSA(pub, sig, uint16(len(sig)*8), h); err == nil {
		t.Error("30-byte modulus accepted; lib/digsig.c's limb check rejects it on 64-bit")
	}
}
