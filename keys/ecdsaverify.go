package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"math/big"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kmodsig/kmodsig/internal/rfc6979"
	"github.com/kmodsig/kmodsig/internal/scalar"
)

// VerifyECDSA reports whether sig (DER, as in a CMS SignerInfo or a digsig v2 header) is a
// valid ECDSA signature of digest by pub; h is the signature's hash (the one digest was made
// with). Without pub's private key in the ring it answers exactly as ecdsa.VerifyASN1 does.
//
// When the ring holds the private key of pub (r.Secrets: a batch verifying what it has just
// signed, conv.SelfRing), it checks the verification equation with that key instead: for
// Q = d·G and t = (e + r·d)·s⁻¹ mod n, u1·G + u2·Q = (u1 + u2·d)·G = t·G, so one fixed-base
// scalar multiplication replaces the fixed- and variable-base pair of a plain verification
// (for P-384, 0.21 ms instead of 1.1 ms), with the same answer. The secret is used only after
// checking once that d·G is the very Q of pub, so a mismatched key file cannot make a
// signature pass. TestVerifyECDSA compares both ways with ecdsa.VerifyASN1 on valid and
// damaged signatures.
//
// With r.DeterministicECDSA (a signer checking signatures it made with RFC 6979 nonces,
// formats.SignOptions.Deterministic), the nonce must also be the one RFC 6979 derives for d,
// digest and h, that is t = k. A deterministic signer signs the same module with the same
// nonce every time, so one faulty signature beside a correct one of the same module gives
// the key away: a fault in k·G leaves s consistent with the wrong r (two linear equations in
// k and d), and a fault that changes k by a known amount gives a valid signature with a
// related nonce. The equation catches the first, the nonce the second; each alone misses the
// other, so a self-check of deterministic ECDSA does both.
func (r *Ring) VerifyECDSA(pub *ecdsa.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	if r != nil {
		for _, m := range r.Secrets {
			if priv, ok := m.Signer.(*ecdsa.PrivateKey); ok && priv.PublicKey.Equal(pub) && consistentECDSA(priv) {
				return verifyECDSAWithSecret(priv, h, digest, sig, r.DeterministicECDSA)
			}
		}
	}
	return ecdsa.VerifyASN1(pub, digest, sig)
}

// consistentECDSA reports (once per key) whether priv's D and public point agree.
func consistentECDSA(priv *ecdsa.PrivateKey) bool {
	if v, ok := consistentKeys.Load(priv); ok {
		return v.(bool)
	}
	ok := false
	if c := scalar.ECDH(priv.Curve); c != nil {
		d, err := priv.Bytes()
		if err == nil {
			k, err1 := c.NewPrivateKey(d)
			want, err2 := priv.PublicKey.Bytes()
			ok = err1 == nil && err2 == nil && bytes.Equal(k.PublicKey().Bytes(), want)
		}
	}
	consistentKeys.Store(priv, ok)
	return ok
}

var consistentKeys sync.Map // *ecdsa.PrivateKey -> bool

// verifyECDSAWithSecret is SEC 1 §4.1.4 verification with R = t·G, t = (e + r·d)·s⁻¹ mod n,
// and, with wantNonce, the RFC 6979 nonce comparison VerifyECDSA describes. The scalar
// multiplication is crypto/ecdh's constant-time one, and so is the arithmetic mod n on d and
// t (filippo.io/bigmod, internal/scalar): t is the signature's nonce, and a check that
// leaked it would undo a signer that does not. The nonce derivation (rfc6979.Nonce) handles
// its candidate in math/big, a fixed-length shift and comparisons.
func verifyECDSAWithSecret(priv *ecdsa.PrivateKey, h crypto.Hash, digest, sig []byte, wantNonce bool) bool {
	c := scalar.ECDH(priv.Curve)
	if c == nil && !wantNonce {
		return ecdsa.VerifyASN1(&priv.PublicKey, digest, sig)
	}
	var inner cryptobyte.String
	in := cryptobyte.String(sig)
	r, s := new(big.Int), new(big.Int)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) || !inner.Empty() {
		return false
	}
	n := priv.Curve.Params().N
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return false
	}
	db, err := priv.Bytes()
	if err != nil { // not a curve crypto/ecdsa signs with, so not a signature of ours
		return !wantNonce && ecdsa.VerifyASN1(&priv.PublicKey, digest, sig)
	}
	N, err := scalar.Order(priv.Curve)
	if err != nil {
		return false
	}
	// t = (e + r·d)·s⁻¹ mod n, in constant time: t is the nonce when the signature is right.
	// s is public, so its inverse is math/big's.
	dN, ok1 := scalar.Nat(db, N)
	rN, ok2 := scalar.FromBig(r, N)
	wN, ok3 := scalar.FromBig(new(big.Int).ModInverse(s, n), N)
	e, err := scalar.Digest(digest, N)
	if !ok1 || !ok2 || !ok3 || err != nil {
		return false
	}
	t := dN.Mul(rN, N).Add(e, N).Mul(wN, N)
	if t.IsZero() == 1 {
		return false // R is the point at infinity
	}
	// crypto/ecdsa signs with the first candidate in range (it fails rather than try the
	// next when r or s comes out zero), which is what rfc6979.Nonce returns
	if wantNonce {
		if h == 0 || !h.Available() {
			return false
		}
		k := rfc6979.Nonce(new(big.Int).SetBytes(db), n, digest, h)
		if k == nil {
			return false
		}
		if kN, ok := scalar.FromBig(k, N); !ok || t.Equal(kN) != 1 {
			return false
		}
	}
	if c == nil { // a curve crypto/ecdh lacks (P-224): the plain verification
		return ecdsa.VerifyASN1(&priv.PublicKey, digest, sig)
	}
	x, err := scalar.BaseX(c, t.Bytes(N), N)
	return err == nil && x.Equal(rN) == 1
}
