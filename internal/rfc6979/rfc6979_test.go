package rfc6979

import (
	"crypto"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
	"testing"
)

func hexInt(t *testing.T, s string) *big.Int {
	t.Helper()
	x, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return x
}

// TestNonceRFCVectors: RFC 6979 appendix A.2.5 (P-256) and A.2.6 (P-384), SHA-256, message
// "sample". The RFC gives k for P-256; for both it gives the signature (r, s), which must
// satisfy s·k = e + r·x (mod n) for the k derived here.
func TestNonceRFCVectors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		curve elliptic.Curve
		x     string
		k     string // empty: the RFC's k is not copied here
		r, s  string
	}{
		{"P-256", elliptic.P256(),
			"C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
			"A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60",
			"EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
			"F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"},
		{"P-384", elliptic.P384(),
			"6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5",
			"",
			"21B13D1E013C7FA1392D03C5F99AF8B30C570C6F98D4EA8E354B63A21D3DAA33BDE1E888E63355D92FA2B3C36D8FB2CD",
			"F3AA443FB107745BF4BD77CB3891674632068A10CA67E3D45DB2266FA7D1FEEBEFDC63ECCD1AC42EC0CB8668A4FA0AB0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.curve.Params().N
			x := hexInt(t, tc.x)
			digest := sha256.Sum256([]byte("sample"))
			k := Nonce(x, n, digest[:], crypto.SHA256)
			if k == nil {
				t.Fatal("no nonce")
			}
			if tc.k != "" && k.Cmp(hexInt(t, tc.k)) != 0 {
				t.Errorf("k = %X, want %s", k, tc.k)
			}
			r, s := hexInt(t, tc.r), hexInt(t, tc.s)
			e := Bits2Int(digest[:], n.BitLen())
			lhs := new(big.Int).Mul(s, k)
			lhs.Mod(lhs, n)
			rhs := new(big.Int).Mul(r, x)
			rhs.Add(rhs, e).Mod(rhs, n)
			if lhs.Cmp(rhs) != 0 {
				t.Errorf("the RFC's signature was not made with k = %X", k)
			}
		})
	}
}

// TestNoncesSequence: later candidates follow the RFC's step 3.2.h.3 (they differ from the
// first and from each other), Nonce is the first of them, and every candidate is in [1, q-1],
// also for a q far shorter than the HMAC output (the DSA test of formats covers 160 bits).
func TestNoncesSequence(t *testing.T) {
	q := big.NewInt(65521) // a 16-bit prime: bits2int keeps the leftmost 16 bits of each T
	x := big.NewInt(12345)
	d := sha256.Sum256([]byte("m"))
	var got []*big.Int
	for k := range Nonces(x, q, d[:], crypto.SHA256) {
		got = append(got, k)
		if len(got) == 5 {
			break
		}
	}
	if len(got) != 5 {
		t.Fatalf("%d candidates", len(got))
	}
	if got[0].Cmp(Nonce(x, q, d[:], crypto.SHA256)) != 0 {
		t.Error("Nonce is not the first candidate")
	}
	seen := map[string]bool{}
	for _, k := range got {
		if k.Sign() <= 0 || k.Cmp(q) >= 0 {
			t.Errorf("candidate %v out of range", k)
		}
		seen[k.String()] = true
	}
	if len(seen) < 4 {
		t.Errorf("candidates repeat: %v", got)
	}
}
