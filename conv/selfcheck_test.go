package conv

import (
	"crypto"
	"errors"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// TestSelfCheckDeterministicECDSA: pkcs7, the format whose kernels take ECDSA (digsig2012
// v2 writes it only with --force, for a kernel that rejects it), hands VerifyECDSA the hash
// the signature was made with, so a deterministic signature passes the
// self-check that demands its RFC 6979 nonce, for every hash; a randomised one (SignOptions
// without Deterministic) passes our verifier but not that demand, which Sign makes only of
// deterministic signing (selfCheckRing, the ring Sign checks with).
func TestSelfCheckDeterministicECDSA(t *testing.T) {
	k := loadKey(t, "ecdsa-p384.key")
	const id = "pkcs7"
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		name := id + "/" + h.String()
		det, err := Sign("hello.ko", helloKO(t), id, k, formats.SignOptions{Hash: h, Deterministic: true})
		if err != nil {
			t.Fatalf("%s: deterministic signing: %v", name, err)
		}
		rnd, err := Sign("hello.ko", helloKO(t), id, k, formats.SignOptions{Hash: h})
		if err != nil {
			if errors.Is(err, ErrSelfCheck) {
				t.Fatalf("%s: a randomised signature failed the self-check meant for deterministic ones: %v", name, err)
			}
			t.Fatalf("%s: randomised signing: %v", name, err)
		}
		demanding := selfCheckRing(k, formats.SignOptions{Hash: h, Deterministic: true})
		plain := selfCheckRing(k, formats.SignOptions{Hash: h})
		for _, c := range []struct {
			what   string
			signed []byte
			ring   *keys.Ring
			ok     bool
		}{
			{"deterministic, nonce demanded", det.Signed, demanding, true},
			{"deterministic", det.Signed, plain, true},
			{"randomised", rnd.Signed, plain, true},
			{"randomised, nonce demanded", rnd.Signed, demanding, false},
		} {
			v := Verify(formats.NewModule("hello.ko", c.signed), c.ring, formats.Policy{}, "")
			if (v.Outcome == formats.OK) != c.ok {
				t.Errorf("%s, %s: %s (%s), want OK %v", name, c.what, v.Outcome, v.Reason, c.ok)
			}
		}
	}
}
