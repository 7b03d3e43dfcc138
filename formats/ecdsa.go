package formats

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"errors"
	"math/big"

	"filippo.io/bigmod"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kmodsig/kmodsig/internal/rfc6979"
	"github.com/kmodsig/kmodsig/internal/scalar"
)

// signECDSA makes the deterministic ECDSA signature (RFC 6979, ASN.1 r,s) of digest on
// P-384 and P-521, byte for byte the one crypto/ecdsa makes when it signs without
// randomness, in about 60% of its time. done is false for every other key, hash or mode (and
// for a digest whose length is not h's), and crypto/ecdsa signs instead.
//
// Why not crypto/ecdsa alone: on P-384 and P-521 it inverts the nonce k by Fermat's little
// theorem (k^(n-2) mod n) in generic Montgomery code, which was 38% of a P-384 signature
// (0.13 ms of 0.35 ms on the bench machine; P-256 has an assembly inversion and is left to
// it). Re-signing a module set with P-384 is mostly that signature (a tenth of the batch
// went to this inversion), and no maintained Go library exports a faster constant-time one.
//
// What is written here is only the order of operations; the arithmetic comes from libraries,
// and the tests hold the result to crypto/ecdsa's bytes:
//   - k is RFC 6979's first candidate (rfc6979.Nonce), as crypto/ecdsa derives it (HMAC, then
//     a fixed-length math/big value shifted and compared with n);
//   - r = x(k·G) mod n by crypto/ecdh's fixed-base multiplication (scalar.BaseX: the
//     constant-time nistec code crypto/ecdsa uses);
//   - the arithmetic mod n on secrets is filippo.io/bigmod's (internal/scalar, which the
//     self-check shares): the constant-time code of crypto/ecdsa's own, published as a module;
//   - k⁻¹ is computed blinded: a fresh uniform b in [1, n-1], (k·b)⁻¹ by math/big's extended
//     Euclid (Lehmer's; bigmod's binary one took 80 µs, math/big's a few), whose running time
//     depends on its input, then times b. k·b mod n is uniform and independent of k, so the
//     time tells nothing of k, and b changes nothing in the result. This inversion is what
//     crypto/ecdsa does by exponentiation;
//   - s = k⁻¹·(e + r·d) mod n, where e is the digest's leftmost bits (bits2int) as in
//     crypto/ecdsa.
//
// In FIPS 140 mode (GODEBUG=fips140=on) crypto/ecdsa signs, as that mode requires its module.
// Every signature conv makes is checked again before it is written, including that r is
// x(t·G) and t the RFC 6979 nonce (keys.Ring.DeterministicECDSA): a fault here is caught
// there, as one in crypto/ecdsa would be.
func signECDSA(k *ecdsa.PrivateKey, digest []byte, h crypto.Hash) (sig []byte, done bool, err error) {
	if k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
		return nil, false, nil
	}
	if h == 0 || !h.Available() || len(digest) != h.Size() || fips140.Enabled() {
		return nil, false, nil
	}
	db, err := k.Bytes()
	if err != nil {
		return nil, false, nil // crypto/ecdsa says why
	}
	n := k.Curve.Params().N
	N, err := scalar.Order(k.Curve)
	if err != nil {
		return nil, true, err
	}
	d, err := bigmod.NewNat().SetBytes(db, N)
	if err != nil {
		return nil, true, err
	}
	nonce := rfc6979.Nonce(new(big.Int).SetBytes(db), n, digest, h)
	if nonce == nil {
		return nil, true, errors.New("ecdsa: no RFC 6979 nonce in range")
	}
	kb := nonce.FillBytes(make([]byte, N.Size()))
	r, err := scalar.BaseX(scalar.ECDH(k.Curve), kb, N)
	if err != nil {
		return nil, true, err
	}
	if r.IsZero() == 1 { // as crypto/ecdsa, which does not try the next candidate either
		return nil, true, errors.New("ecdsa: signing produced a zero r")
	}
	blind, err := rand.Int(rand.Reader, new(big.Int).Sub(n, big.NewInt(1)))
	if err != nil {
		return nil, true, err
	}
	b, ok := scalar.FromBig(blind.Add(blind, big.NewInt(1)), N)
	if !ok {
		return nil, true, errors.New("ecdsa: blinding factor out of range")
	}
	blinded, err := bigmod.NewNat().SetBytes(kb, N)
	if err != nil {
		return nil, true, err
	}
	blinded.Mul(b, N) // k·b
	inv := new(big.Int).SetBytes(blinded.Bytes(N))
	if inv.ModInverse(inv, n) == nil {
		return nil, true, errors.New("ecdsa: blinded nonce not invertible")
	}
	kInv, ok := scalar.FromBig(inv, N)
	if !ok {
		return nil, true, errors.New("ecdsa: blinded inverse out of range")
	}
	kInv.Mul(b, N) // (k·b)⁻¹·b = k⁻¹
	e, err := scalar.Digest(digest, N)
	if err != nil {
		return nil, true, err
	}
	s := d.Mul(r, N).Add(e, N).Mul(kInv, N)
	if s.IsZero() == 1 {
		return nil, true, errors.New("ecdsa: signing produced a zero s")
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(r.Bytes(N)))
		b.AddASN1BigInt(new(big.Int).SetBytes(s.Bytes(N)))
	})
	sig, err = out.Bytes()
	return sig, true, err
}
