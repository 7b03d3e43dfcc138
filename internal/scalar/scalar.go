// Package scalar is the ECDSA arithmetic that kmodsig's signer (formats) and its self-check
// (keys) share: the NIST curves' group orders as filippo.io/bigmod moduli, the digest and the
// x-coordinate of k·G as elements mod n, and each curve's crypto/ecdh twin, whose
// constant-time fixed-base multiplication gives k·G. bigmod is constant-time, math/big is
// not, and the values here are secret (the key d, the nonce k). Making a modulus costs more
// than the rest of a signature's arithmetic, so each is made once.
package scalar

import (
	"crypto/ecdh"
	"crypto/elliptic"
	"math/big"
	"sync"

	"filippo.io/bigmod"

	"github.com/kmodsig/kmodsig/internal/rfc6979"
)

var orders sync.Map // elliptic.Curve → *bigmod.Modulus

// Order returns the order n of c's base point as a bigmod modulus.
func Order(c elliptic.Curve) (*bigmod.Modulus, error) {
	if m, ok := orders.Load(c); ok {
		return m.(*bigmod.Modulus), nil
	}
	m, err := bigmod.NewModulus(c.Params().N.Bytes())
	if err != nil {
		return nil, err
	}
	orders.Store(c, m)
	return m, nil
}

// Nat returns b, big-endian, as an element of m; ok is false when b is not below m.
func Nat(b []byte, m *bigmod.Modulus) (n *bigmod.Nat, ok bool) {
	n, err := bigmod.NewNat().SetBytes(b, m)
	return n, err == nil
}

// FromBig returns x as an element of m; ok is false when x is negative or not below m. It
// is the one way math/big values (the RFC 6979 nonce, a signature's public r and s⁻¹, an
// inverse math/big computed) become bigmod ones here.
func FromBig(x *big.Int, m *bigmod.Modulus) (n *bigmod.Nat, ok bool) {
	if x.Sign() < 0 || x.BitLen() > m.BitLen() {
		return nil, false
	}
	return Nat(x.FillBytes(make([]byte, m.Size())), m)
}

// ECDH returns crypto/ecdh's curve for c, or nil for a curve it lacks (P-224).
func ECDH(c elliptic.Curve) ecdh.Curve {
	switch c {
	case elliptic.P256():
		return ecdh.P256()
	case elliptic.P384():
		return ecdh.P384()
	case elliptic.P521():
		return ecdh.P521()
	}
	return nil
}

// Digest returns e, the digest's leftmost bits as many as n has (bits2int, as ECDSA takes
// them), reduced mod n.
func Digest(digest []byte, n *bigmod.Modulus) (*bigmod.Nat, error) {
	e := rfc6979.Bits2Int(digest, n.BitLen()).FillBytes(make([]byte, n.Size()))
	return bigmod.NewNat().SetOverflowingBytes(e, n)
}

// BaseX returns x(k·G) mod n for the scalar k (big-endian, n's size, in [1, n-1]) on c, the
// r of an ECDSA signature made with the nonce k, by crypto/ecdh's fixed-base multiplication.
func BaseX(c ecdh.Curve, k []byte, n *bigmod.Modulus) (*bigmod.Nat, error) {
	kk, err := c.NewPrivateKey(k)
	if err != nil {
		return nil, err
	}
	point := kk.PublicKey().Bytes() // 04 ‖ X ‖ Y
	return bigmod.NewNat().SetOverflowingBytes(point[1:1+(len(point)-1)/2], n)
}
