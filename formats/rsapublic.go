package formats

import (
	"crypto/rsa"
	"math/big"
)

// RSAPublic does the RSA public operation for a verifier: it returns sig^e mod n as k.Size()
// bytes, the encoded message whose padding the caller then checks as its era's kernel did.
// sig is a big-endian integer of at most k.Size() bytes; RSAPublic returns nil if it is
// longer, not below n, or if e < 2.
//
// The operation handles public data only, so it need not be constant time. math/big does it
// (for RSA-4096 three times faster than crypto/rsa, which rebuilds its Montgomery constants
// on every call); the openssl build uses libcrypto, which keeps them per key and is faster
// again: the RSA-4096 public operation was 45% of the CPU of verifying the Debian module set.
// TestRSAPublic checks both against crypto/rsa.
func RSAPublic(k *rsa.PublicKey, sig []byte) []byte {
	if k.N == nil || k.N.Sign() <= 0 {
		return nil
	}
	size := k.Size()
	if len(sig) > size || k.E < 2 {
		return nil
	}
	if rsaPublicBackend != nil {
		if em, done := rsaPublicBackend(k, sig); done {
			return em
		}
	}
	return rsaPublicBig(k, sig)
}

// rsaPublicBig is RSAPublic with math/big.
func rsaPublicBig(k *rsa.PublicKey, sig []byte) []byte {
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(k.N) >= 0 {
		return nil
	}
	return new(big.Int).Exp(s, big.NewInt(int64(k.E)), k.N).FillBytes(make([]byte, k.Size()))
}

// rsaPublicBackend, when set (the `openssl` build tag), does RSAPublic's operation in place of
// math/big; done is false when it declines, and math/big does it.
var rsaPublicBackend func(k *rsa.PublicKey, sig []byte) (em []byte, done bool)
