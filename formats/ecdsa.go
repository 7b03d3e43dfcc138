package formats

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"errors"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kmodsig/kmodsig/internal/rfc6979"
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
// What is written here is only the scalar arithmetic; everything else comes from the
// standard library and the tests hold it to crypto/ecdsa's bytes:
//   - k is RFC 6979's first candidate (rfc6979.Nonce), as crypto/ecdsa derives it;
//   - R = k·G is crypto/ecdh's fixed-base multiplication (NewPrivateKey(k).PublicKey(), the
//     constant-time nistec code crypto/ecdsa uses), r = x(R) mod n;
//   - k⁻¹ is computed blinded: a fresh uniform b in [1, n-1], (k·b)⁻¹ by math/big's extended
//     Euclid, times b. Euclid's running time depends on its input, and k·b mod n is uniform
//     and independent of k, so the time tells nothing of k. b changes nothing in the result;
//   - s = k⁻¹·(e + r·d) mod n, where e is the digest's leftmost bits (bits2int) as in
//     crypto/ecdsa; math/big's multiplications vary in time only with the operands' length
//     in 64-bit words, which for k⁻¹ and d is the full length but for a fraction 2⁻⁶⁴.
//
// In FIPS 140 mode (GODEBUG=fips140=on) crypto/ecdsa signs, as that mode requires its module.
// Every signature conv makes is checked again before it is written, including that r is
// x(t·G) and t the RFC 6979 nonce (keys.Ring.DeterministicECDSA): a fault here is caught
// there, as one in crypto/ecdsa would be.
func signECDSA(k *ecdsa.PrivateKey, digest []byte, h crypto.Hash) (sig []byte, done bool, err error) {
	var c ecdh.Curve
	switch k.Curve {
	case elliptic.P384():
		c = ecdh.P384()
	case elliptic.P521():
		c = ecdh.P521()
	default:
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
	d := new(big.Int).SetBytes(db)
	nonce := rfc6979.Nonce(d, n, digest, h)
	if nonce == nil {
		return nil, true, errors.New("ecdsa: no RFC 6979 nonce in range")
	}
	size := (n.BitLen() + 7) / 8
	kk, err := c.NewPrivateKey(nonce.FillBytes(make([]byte, size)))
	if err != nil {
		return nil, true, err
	}
	point := kk.PublicKey().Bytes() // 04 ‖ X ‖ Y
	r := new(big.Int).SetBytes(point[1 : 1+(len(point)-1)/2])
	r.Mod(r, n)
	if r.Sign() == 0 { // as crypto/ecdsa, which does not try the next candidate either
		return nil, true, errors.New("ecdsa: signing produced a zero r")
	}
	b, err := rand.Int(rand.Reader, new(big.Int).Sub(n, big.NewInt(1)))
	if err != nil {
		return nil, true, err
	}
	b.Add(b, big.NewInt(1))
	kInv := new(big.Int).Mul(nonce, b)
	kInv.Mod(kInv, n)
	if kInv.ModInverse(kInv, n) == nil {
		return nil, true, errors.New("ecdsa: blinded nonce not invertible")
	}
	kInv.Mul(kInv, b).Mod(kInv, n)
	s := new(big.Int).Mul(r, d)
	s.Add(s, rfc6979.Bits2Int(digest, n.BitLen())).Mul(s, kInv).Mod(s, n)
	if s.Sign() == 0 {
		return nil, true, errors.New("ecdsa: signing produced a zero s")
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	sig, err = out.Bytes()
	return sig, true, err
}
