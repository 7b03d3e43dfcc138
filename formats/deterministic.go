package formats

import (
	"crypto"
	//lint:ignore SA1019 the RHEL eras (RHEL4-6) verify only DSA signatures
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"math/big"

	"github.com/kmodsig/kmodsig/internal/rfc6979"
)

// SignDigest signs a finished digest with signer: RSA PKCS#1 v1.5 (deterministic by nature),
// ECDSA (ASN.1 r,s) or whatever the signer is. With o.Deterministic, ECDSA signatures are made
// deterministic by RFC 6979 (Go's ecdsa signs that way when given no randomness; on P-384
// and P-521 signECDSA makes the same bytes faster); otherwise
// they are randomised like the era's tools. h == 0 asks an RSA signer for a raw PKCS#1 v1.5
// type 1 signature without DigestInfo (digsig v1).
//
// An RSA signature over a RIPEMD-160 digest carries the DigestInfo with the TeleTrusT OID
// 1.3.36.3.2.1, the one in the kernels' PKCS#1 templates and in OpenPGP (RFC 4880 §5.2.2);
// Go's crypto/rsa would write the ISO OID 1.0.10118.3.0.49, so that DigestInfo is encoded
// here and signed raw.
func SignDigest(signer crypto.Signer, digest []byte, h crypto.Hash, o SignOptions) ([]byte, error) {
	if h == crypto.RIPEMD160 {
		if _, ok := signer.Public().(*rsa.PublicKey); ok {
			prefix, _ := DigestInfo(h)
			return signer.Sign(rand.Reader, append(prefix, digest...), crypto.Hash(0))
		}
	}
	if k, ok := signer.(*rsa.PrivateKey); ok && rsaBackend != nil && h != 0 {
		if sig, done, err := rsaBackend(k, digest, h); done {
			return sig, err
		}
	}
	var r io.Reader = rand.Reader
	if o.Deterministic {
		if k, ok := signer.(*ecdsa.PrivateKey); ok {
			if sig, done, err := signECDSA(k, digest, h); done {
				return sig, err
			}
			r = nil
		}
	}
	return signer.Sign(r, digest, h)
}

// rsaBackend, when set (the `openssl` build tag), signs RSA PKCS#1 v1.5 digests in place of
// crypto/rsa; done is false when it declines (a hash it does not map), and Go signs instead.
var rsaBackend func(k *rsa.PrivateKey, digest []byte, h crypto.Hash) (sig []byte, done bool, err error)

// RSABackend names the RSA signing implementation SignDigest uses: "crypto/rsa", or
// "openssl" in a build with the openssl tag.
func RSABackend() string {
	if rsaBackend != nil {
		return "openssl"
	}
	return "crypto/rsa"
}

// SignDSA signs a digest with a DSA key, truncating it to the size of q as FIPS 186 says.
// With o.Deterministic the nonce k is derived by RFC 6979 §3.2 with HMAC over h (the
// signature's hash), and the signature is checked before it is returned (checkDSA);
// otherwise k is random (crypto/dsa). Go's crypto/dsa is deprecated but
// correct for this historical use: the RHEL4-6 kernels verified only DSA.
func SignDSA(k *dsa.PrivateKey, digest []byte, h crypto.Hash, o SignOptions) (r, s *big.Int, err error) {
	if !o.Deterministic {
		return dsa.Sign(rand.Reader, k, digest)
	}
	q := k.Q
	if q.Sign() <= 0 || k.P.Sign() <= 0 || k.G.Sign() <= 0 || k.X.Sign() <= 0 {
		return nil, nil, errors.New("dsa: invalid key")
	}
	if !h.Available() {
		return nil, nil, ErrHash
	}
	n := q.BitLen()
	z := rfc6979.Bits2Int(digest, n)
	tried := 0
	for nonce := range rfc6979.Nonces(k.X, q, digest, h) {
		tried++
		r = new(big.Int).Exp(k.G, nonce, k.P)
		r.Mod(r, q)
		if r.Sign() == 0 {
			continue
		}
		kinv := new(big.Int).ModInverse(nonce, q)
		s = new(big.Int).Mul(k.X, r)
		s.Add(s, z)
		s.Mod(s, q)
		s.Mul(s, kinv)
		s.Mod(s, q)
		if s.Sign() != 0 {
			if !checkDSA(k, digest, h, z, r, s, tried) {
				return nil, nil, ErrSignFault
			}
			return r, s, nil
		}
	}
	return nil, nil, errors.New("dsa: no nonce")
}

// checkDSA reports whether (r, s) is a signature of z (the digest's integer) made with the
// RFC 6979 nonce that is candidate number nth for k, digest and h, with r = (g^k mod p) mod q.
// A deterministic signer signs a digest with the same nonce every time, so one faulty
// signature beside a correct one of the same digest gives x away: a fault in g^k leaves s
// consistent with the wrong r, and a fault in the nonce gives a valid signature with a
// related one (see keys.Ring.VerifyECDSA, which checks ECDSA's the same way). So the nonce
// is derived a second time, t = (z + x·r)·s⁻¹ mod q must equal it, and r is computed again
// from t.
func checkDSA(k *dsa.PrivateKey, digest []byte, h crypto.Hash, z, r, s *big.Int, nth int) bool {
	q := k.Q
	var want *big.Int
	i := 0
	for nonce := range rfc6979.Nonces(k.X, q, digest, h) {
		if i++; i == nth {
			want = nonce
			break
		}
	}
	w := new(big.Int).ModInverse(s, q)
	if want == nil || w == nil {
		return false
	}
	t := new(big.Int).Mul(k.X, r)
	t.Add(t, z).Mul(t, w).Mod(t, q)
	if t.Cmp(want) != 0 {
		return false
	}
	r2 := new(big.Int).Exp(k.G, t, k.P)
	return r2.Mod(r2, q).Cmp(r) == 0
}
