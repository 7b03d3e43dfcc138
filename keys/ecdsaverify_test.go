package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	_ "crypto/sha3" // SHA-3 digests, which the pkcs7 format signs since Linux 6.7
	"crypto/sha512"
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kmodsig/kmodsig/internal/rfc6979"
	"github.com/kmodsig/kmodsig/internal/scalar"
)

// TestVerifyECDSA: Ring.VerifyECDSA with the private key in the ring (the fast path) and
// without it gives ecdsa.VerifyASN1's answer for valid signatures and for damaged ones: bit
// flips, r or s zero, equal to n or negative, non-minimal DER, trailing bytes, digests longer
// and shorter than the order, and another key's signature; with random nonces and with RFC
// 6979's. With DeterministicECDSA it gives that answer and also demands RFC 6979's nonce.
// A key whose D does not match its public point is not used.
func TestVerifyECDSA(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		priv, err := ecdsa.GenerateKey(curve, cryptoRand{rng})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := ecdsa.GenerateKey(curve, cryptoRand{rng})
		n := curve.Params().N
		fast := &Ring{Secrets: []*Material{{Signer: priv}}}
		det := &Ring{Secrets: fast.Secrets, DeterministicECDSA: true}
		slow := &Ring{}
		for i := 0; i < 40; i++ {
			var digest []byte
			h := crypto.SHA256
			switch i % 4 {
			case 0:
				d := sha256.Sum256([]byte{byte(i)})
				digest = d[:]
			case 1:
				d := sha512.Sum512([]byte{byte(i)})
				digest, h = d[:], crypto.SHA512
			case 2:
				d := sha512.Sum384([]byte{byte(i)})
				digest, h = d[:], crypto.SHA384
			default:
				digest = []byte{byte(i), 1, 2} // shorter than any order
			}
			signer := priv
			if i%10 == 9 {
				signer = other
			}
			// Even rounds and the short digest: a random nonce; odd ones: RFC 6979's, which
			// the deterministic ring demands.
			var sig []byte
			var err error
			random := i%2 == 0 || len(digest) != h.Size()
			if random {
				sig, err = ecdsa.SignASN1(cryptoRand{rng}, signer, digest)
			} else {
				sig, err = signer.Sign(nil, digest, h)
			}
			if err != nil {
				t.Fatal(err)
			}
			r, s := parseSig(t, sig)
			cases := map[string][]byte{
				"valid":          sig,
				"flipped":        flip(sig, rng),
				"other digest":   sig,
				"r=0":            derSig(big.NewInt(0), s),
				"s=0":            derSig(r, big.NewInt(0)),
				"r=n":            derSig(n, s),
				"s=n":            derSig(r, n),
				"r+n":            derSig(new(big.Int).Add(r, n), s),
				"-r":             derSig(new(big.Int).Neg(r), s),
				"s=n-s":          derSig(r, new(big.Int).Sub(n, s)), // also valid: ECDSA does not fix the sign of s
				"trailing":       append(append([]byte{}, sig...), 0),
				"non-minimal":    nonMinimal(r, s),
				"empty":          nil,
				"truncated":      sig[:len(sig)-1],
				"swapped":        derSig(s, r),
				"r=x(G) s=1 e=0": derSig(new(big.Int).Mod(curve.Params().Gx, n), big.NewInt(1)),
			}
			for name, sg := range cases {
				dg := digest
				if name == "other digest" {
					dg = append([]byte{}, digest...)
					dg[0] ^= 1
				}
				want := ecdsa.VerifyASN1(&priv.PublicKey, dg, sg)
				if got := fast.VerifyECDSA(&priv.PublicKey, h, dg, sg); got != want {
					t.Errorf("%s #%d %s: with the secret %v, ecdsa.VerifyASN1 %v", curve.Params().Name, i, name, got, want)
				}
				// only the signature as made carries the nonce (with s negated, t is -k)
				wantDet := want && !random && signer == priv && name != "s=n-s"
				if got := det.VerifyECDSA(&priv.PublicKey, h, dg, sg); got != wantDet {
					t.Errorf("%s #%d %s: deterministic %v, want %v", curve.Params().Name, i, name, got, wantDet)
				}
				if got := slow.VerifyECDSA(&priv.PublicKey, h, dg, sg); got != want {
					t.Errorf("%s #%d %s: without the secret %v, ecdsa.VerifyASN1 %v", curve.Params().Name, i, name, got, want)
				}
				if name == "valid" && (want != (signer == priv)) {
					t.Errorf("%s #%d: a valid signature verifies %v", curve.Params().Name, i, want)
				}
			}
		}
		// A private key whose D belongs to another public point must not vouch for it.
		//lint:ignore SA1019 a key whose scalar and point disagree can only be built from the raw field
		bad := &ecdsa.PrivateKey{PublicKey: priv.PublicKey, D: other.D}
		digest := sha256.Sum256([]byte("x"))
		sig, _ := ecdsa.SignASN1(cryptoRand{rng}, other, digest[:])
		if (&Ring{Secrets: []*Material{{Signer: bad}}}).VerifyECDSA(&priv.PublicKey, crypto.SHA256, digest[:], sig) {
			t.Errorf("%s: a mismatched private key made another key's signature pass", curve.Params().Name)
		}
	}
}

// TestVerifyECDSANonce: for every curve and hash (SHA-2 and SHA-3), a signature crypto/ecdsa
// makes without randomness carries the nonce internal/rfc6979 derives, and the ring that
// demands it (DeterministicECDSA) accepts it. It rejects the two faulty signatures that give
// a deterministic signer's key away beside a correct one of the same digest, each of which
// one of its two checks alone would pass:
//   - a fault in k·G: r + 1 with s recomputed from it, d and the right nonce (the nonce
//     comparison passes it; ecdsa.VerifyASN1 rejects it);
//   - a fault in the nonce: a valid signature with k + 2^j (ecdsa.VerifyASN1 and the ring
//     without DeterministicECDSA accept it).
//
// and a nonce derived for another hash than the one named.
func TestVerifyECDSANonce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		priv, err := ecdsa.GenerateKey(curve, cryptoRand{rng})
		if err != nil {
			t.Fatal(err)
		}
		plain := &Ring{Secrets: []*Material{{Signer: priv}}}
		det := &Ring{Secrets: plain.Secrets, DeterministicECDSA: true}
		n := curve.Params().N
		d := new(big.Int).SetBytes(mustBytes(t, priv))
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA3_256, crypto.SHA3_384} {
			name := curve.Params().Name + "/" + h.String()
			for i := 0; i < 8; i++ {
				w := h.New()
				w.Write([]byte{byte(i)})
				digest := w.Sum(nil)
				sig, err := priv.Sign(nil, digest, h)
				if err != nil {
					t.Fatal(err)
				}
				r, _ := parseSig(t, sig)
				k := rfc6979.Nonce(d, n, digest, h)
				e := rfc6979.Bits2Int(digest, n.BitLen())
				if !bytes.Equal(signWithNonce(t, priv, e, k), sig) {
					t.Fatalf("%s #%d: crypto/ecdsa's nonce is not RFC 6979's as derived here", name, i)
				}
				if !det.VerifyECDSA(&priv.PublicKey, h, digest, sig) {
					t.Fatalf("%s #%d: valid deterministic signature rejected", name, i)
				}
				// A fault in k·G: r + 1, s consistent with it and the nonce.
				r2 := new(big.Int).Add(r, big.NewInt(1))
				s2 := new(big.Int).Mul(r2, d)
				s2.Add(s2, e).Mul(s2, new(big.Int).ModInverse(k, n)).Mod(s2, n)
				badR := derSig(r2, s2)
				if ecdsa.VerifyASN1(&priv.PublicKey, digest, badR) {
					t.Fatalf("%s #%d: r+1 verifies", name, i)
				}
				if det.VerifyECDSA(&priv.PublicKey, h, digest, badR) || plain.VerifyECDSA(&priv.PublicKey, h, digest, badR) {
					t.Fatalf("%s #%d: r+1 with s recomputed passes the self-check", name, i)
				}
				// A fault in the nonce: valid, but with k + 2^j.
				k2 := new(big.Int).Add(k, new(big.Int).Lsh(big.NewInt(1), uint(rng.IntN(n.BitLen()-1))))
				k2.Mod(k2, n)
				badK := signWithNonce(t, priv, e, k2)
				if !ecdsa.VerifyASN1(&priv.PublicKey, digest, badK) || !plain.VerifyECDSA(&priv.PublicKey, h, digest, badK) {
					t.Fatalf("%s #%d: a signature with another nonce is not valid", name, i)
				}
				if det.VerifyECDSA(&priv.PublicKey, h, digest, badK) {
					t.Fatalf("%s #%d: a signature with k + 2^j passes the deterministic self-check", name, i)
				}
				// The nonce of another hash than the one named.
				other := crypto.SHA256
				if h == crypto.SHA256 {
					other = crypto.SHA512
				}
				if det.VerifyECDSA(&priv.PublicKey, other, digest, sig) {
					t.Fatalf("%s #%d: passes with the nonce of another hash", name, i)
				}
			}
		}
	}
}

// signWithNonce is ECDSA signing of the digest integer e with the nonce k, as SEC 1 §4.1.3
// writes it: r = x(k·G) mod n, s = k⁻¹(e + r·d) mod n.
func signWithNonce(t *testing.T, priv *ecdsa.PrivateKey, e, k *big.Int) []byte {
	n := priv.Curve.Params().N
	kb := k.FillBytes(make([]byte, (n.BitLen()+7)/8))
	kp, err := scalar.ECDH(priv.Curve).NewPrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	pt := kp.PublicKey().Bytes()
	r := new(big.Int).SetBytes(pt[1 : 1+(len(pt)-1)/2])
	r.Mod(r, n)
	d := new(big.Int).SetBytes(mustBytes(t, priv))
	s := new(big.Int).Mul(r, d)
	s.Add(s, e).Mul(s, new(big.Int).ModInverse(k, n)).Mod(s, n)
	return derSig(r, s)
}

func mustBytes(t *testing.T, priv *ecdsa.PrivateKey) []byte {
	b, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type cryptoRand struct{ r *rand.Rand }

func (c cryptoRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c.r.Uint32())
	}
	return len(p), nil
}

func parseSig(t *testing.T, sig []byte) (*big.Int, *big.Int) {
	var inner cryptobyte.String
	in := cryptobyte.String(sig)
	r, s := new(big.Int), new(big.Int)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) {
		t.Fatal("bad signature from ecdsa.SignASN1")
	}
	return r, s
}

func derSig(r, s *big.Int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.BytesOrPanic()
}

// nonMinimal encodes r with a redundant leading zero byte.
func nonMinimal(r, s *big.Int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) {
			b.AddBytes(append([]byte{0, 0}, r.Bytes()...))
		})
		b.AddASN1BigInt(s)
	})
	return b.BytesOrPanic()
}

func flip(b []byte, rng *rand.Rand) []byte {
	c := append([]byte{}, b...)
	i := 6 + rng.IntN(len(c)-6)
	c[i] ^= 1 << rng.IntN(8)
	return c
}

// BenchmarkVerifyECDSAWithSecret: a batch's self-check of a fresh P-384 signature: t·G and the
// nonce comparison (RFC 6979 signatures, the default), and t·G alone (random nonces).
func BenchmarkVerifyECDSAWithSecret(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), cryptoRand{rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		b.Fatal(err)
	}
	d := sha512.Sum384([]byte("module"))
	sig, err := priv.Sign(nil, d[:], crypto.SHA384)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		det  bool
	}{{"deterministic", true}, {"multiplication", false}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if !verifyECDSAWithSecret(priv, crypto.SHA384, d[:], sig, bc.det) {
					b.Fatal("rejected")
				}
			}
		})
	}
}
