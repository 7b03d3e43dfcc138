// Package scalar holds the group orders of the NIST curves as filippo.io/bigmod moduli, for
// the arithmetic mod n that kmodsig's ECDSA signer (formats) and its self-check (keys) do on
// secrets: bigmod is constant-time, math/big is not. Making a modulus costs more than the
// rest of a signature's arithmetic, so each is made once.
package scalar

import (
	"crypto/elliptic"
	"sync"

	"filippo.io/bigmod"
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
