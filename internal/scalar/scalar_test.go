package scalar

import (
	"bytes"
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
	}
}
