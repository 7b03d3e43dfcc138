package scalar

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"math/big"
	"testing"
)

func TestOrder(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P224(), elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		n := c.Params().N
		m, err := Order(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Nat().Bytes(m); !bytes.Equal(got, n.FillBytes(make([]byte, m.Size()))) {
			t.Errorf("%s: order %x, want %x", c.Params().Name, got, n)
		}
		if again, _ := Order(c); again != m {
			t.Errorf("%s: a second modulus was made", c.Params().Name)
		}
		below := new(big.Int).Sub(n, big.NewInt(1)).FillBytes(make([]byte, m.Size()))
		if x, ok := Nat(below, m); !ok || !bytes.Equal(x.Bytes(m), below) {
			t.Errorf("%s: n-1 refused", c.Params().Name)
		}
		if _, ok := Nat(n.FillBytes(make([]byte, m.Size())), m); ok {
			t.Errorf("%s: n accepted", c.Params().Name)
		}
		one := big.NewInt(1)
		for _, tc := range []struct {
			x  *big.Int
			ok bool
		}{
			{big.NewInt(0), true},
			{new(big.Int).Sub(n, one), true},
			{n, false},
			{new(big.Int).Lsh(one, uint(m.BitLen())), false}, // longer than n: FillBytes would panic
			{big.NewInt(-1), false},
		} {
			x, ok := FromBig(tc.x, m)
			if ok != tc.ok || ok && new(big.Int).SetBytes(x.Bytes(m)).Cmp(tc.x) != 0 {
				t.Errorf("%s: FromBig(%x) = %v, %v; want ok %v", c.Params().Name, tc.x, x, ok, tc.ok)
			}
		}
	}
}

// TestDigestAndBaseX: Digest is the digest's leftmost bits mod n, and BaseX the x-coordinate
// of k·G mod n, computed here independently with math/big and crypto/ecdsa's public key of
// the private scalar k; digests shorter and longer than n, on every curve crypto/ecdh has.
func TestDigestAndBaseX(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		m, err := Order(c)
		if err != nil {
			t.Fatal(err)
		}
		n := c.Params().N
		for _, size := range []int{20, 32, 48, 64} {
			digest := bytes.Repeat([]byte{0xff, 0x5a, 0x01}, size)[:size]
			want := new(big.Int).SetBytes(digest)
			if excess := size*8 - n.BitLen(); excess > 0 {
				want.Rsh(want, uint(excess))
			}
			want.Mod(want, n)
			e, err := Digest(digest, m)
			if err != nil || new(big.Int).SetBytes(e.Bytes(m)).Cmp(want) != 0 {
				t.Errorf("%s, %d-byte digest: %v, %v; want %x", c.Params().Name, size, e, err, want)
			}
		}
		for _, kv := range []*big.Int{big.NewInt(1), big.NewInt(7), new(big.Int).Sub(n, big.NewInt(2))} {
			k := kv.FillBytes(make([]byte, m.Size()))
			priv, err := ecdsa.ParseRawPrivateKey(c, k)
			if err != nil {
				t.Fatal(err)
			}
			want := new(big.Int).Mod(priv.X, n)
			x, err := BaseX(ECDH(c), k, m)
			if err != nil || new(big.Int).SetBytes(x.Bytes(m)).Cmp(want) != 0 {
				t.Errorf("%s, k = %x: %v; want %x", c.Params().Name, kv, err, want)
			}
		}
	}
	if ECDH(elliptic.P224()) != nil {
		t.Error("P-224 has a crypto/ecdh curve")
	}
}
