// Package rfc6979 derives the deterministic DSA and ECDSA nonces of RFC 6979 §3.2.
//
// kmodsig signs DSA (the RHEL4-6 eras) with it, because crypto/dsa only draws random nonces,
// and checks its own fresh ECDSA signatures against it (keys.Ring.VerifyECDSA), because
// crypto/ecdsa derives the same nonces when signing without randomness but does not return
// them. No maintained Go library exports the derivation for arbitrary groups; it is a few
// HMAC calls, written here from the RFC.
package rfc6979

import (
	"crypto"
	"crypto/hmac"
	"iter"
	"math/big"
)

// maxTries bounds the candidates Nonces yields. For every group kmodsig uses, a candidate
// is out of range with probability below 2⁻³², so the first is all but certain to serve.
const maxTries = 64

// Nonces yields the candidate nonces k of RFC 6979 §3.2 for the private key x in the group of
// prime order q, over digest (the message's hash, H(m)), with HMAC over h: the first candidate
// in [1, q-1], then, if the caller asks for more (k gave r = 0 or s = 0), the next ones, at
// most maxTries in all. h must be available (crypto.Hash.Available).
func Nonces(x, q *big.Int, digest []byte, h crypto.Hash) iter.Seq[*big.Int] {
	return func(yield func(*big.Int) bool) {
		qlen := q.BitLen()
		rlen := (qlen + 7) / 8
		z2 := new(big.Int).Mod(Bits2Int(digest, qlen), q)
		seed := append(int2octets(x, rlen), int2octets(z2, rlen)...)
		hl := h.Size()
		V := make([]byte, hl)
		K := make([]byte, hl)
		for i := range V {
			V[i] = 1
		}
		mac := func(key []byte, parts ...[]byte) []byte {
			m := hmac.New(h.New, key)
			for _, p := range parts {
				m.Write(p)
			}
			return m.Sum(nil)
		}
		K = mac(K, V, []byte{0}, seed)
		V = mac(K, V)
		K = mac(K, V, []byte{1}, seed)
		V = mac(K, V)
		for tries := 0; tries < maxTries; tries++ {
			var T []byte
			for len(T)*8 < qlen {
				V = mac(K, V)
				T = append(T, V...)
			}
			k := Bits2Int(T, qlen)
			if k.Sign() > 0 && k.Cmp(q) < 0 {
				if !yield(k) {
					return
				}
			}
			K = mac(K, V, []byte{0})
			V = mac(K, V)
		}
	}
}

// Bits2Int is RFC 6979 §2.3.2: the leftmost qlen bits of b as an integer. It is also how
// FIPS 186 and SEC 1 truncate a digest longer than the group order.
func Bits2Int(b []byte, qlen int) *big.Int {
	x := new(big.Int).SetBytes(b)
	if blen := len(b) * 8; blen > qlen {
		x.Rsh(x, uint(blen-qlen))
	}
	return x
}

// int2octets is RFC 6979 §2.3.3: x as rlen big-endian bytes.
func int2octets(x *big.Int, rlen int) []byte {
	return x.FillBytes(make([]byte, rlen))
}

// Nonce is the first of [Nonces]: the nonce a signer uses unless it gives r = 0 or s = 0.
// It is nil only if no candidate is in range, which for kmodsig's groups does not happen.
func Nonce(x, q *big.Int, digest []byte, h crypto.Hash) *big.Int {
	for k := range Nonces(x, q, digest, h) {
		return k
	}
	return nil
}
