package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestVerifyECDSA: Ring.VerifyECDSA with the private key in the ring (the fast path) and
// without it gives ecdsa.VerifyASN1's answer for valid signatures and for damaged ones: bit
// flips, r or s zero, equal to n or negative, non-minimal DER, trailing bytes, digests longer
// and shorter than the order, and another key's signature. A key whose D does not match its
// public point is not used.
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
		slow := &Ring{}
		for i := 0; i < 40; i++ {
			var digest []byte
			switch i % 4 {
			case 0:
				d := sha256.Sum256([]byte{byte(i)})
				digest = d[:]
			case 1:
				d := sha512.Sum512([]byte{byte(i)})
				digest = d[:]
			case 2:
				d := sha512.Sum384([]byte{byte(i)})
				digest = d[:]
			default:
				digest = []byte{byte(i), 1, 2} // shorter than any order
			}
			signer := priv
			if i%10 == 9 {
				signer = other
			}
			sig, err := ecdsa.SignASN1(cryptoRand{rng}, signer, digest)
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
				if got := fast.VerifyECDSA(&priv.PublicKey, dg, sg); got != want {
					t.Errorf("%s #%d %s: with the secret %v, ecdsa.VerifyASN1 %v", curve.Params().Name, i, name, got, want)
				}
				if got := slow.VerifyECDSA(&priv.PublicKey, dg, sg); got != want {
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
		if (&Ring{Secrets: []*Material{{Signer: bad}}}).VerifyECDSA(&priv.PublicKey, digest[:], sig) {
			t.Errorf("%s: a mismatched private key made another key's signature pass", curve.Params().Name)
		}
	}
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
