package pkcs7sig

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestDigestInfoPrefix checks the prefixes against RFC 8017 §9.2 note 1 (FORMATS.md table).
func TestDigestInfoPrefix(t *testing.T) {
	for name, want := range map[string]string{
		"sha1":   "3021300906052b0e03021a05000414",
		"sha224": "302d300d06096086480165030402040500041c",
		"sha256": "3031300d060960864801650304020105000420",
		"sha384": "3041300d060960864801650304020205000430",
		"sha512": "3051300d060960864801650304020305000440",
	} {
		if got := hex.EncodeToString(digestInfoPrefix(digestByHash(hashByName[name]))); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestEmbeddedCertificate: with the signer's certificate inside the CMS (openssl cms without
// -nocerts) the kernel checks the signature against it before the trust check and returns the
// crypto layer's own error.
func TestEmbeddedCertificate(t *testing.T) {
	unsigned := hello(t)
	cms := opensslSign(t, "cms", unsigned, "rsa2048", "sha256", "-noattr")
	good := attach(unsigned, cms, formats.ModSig{IDType: 2})
	r := ring(t, "rsa2048")
	if v := (Driver{}).Verify(formats.NewModule("g.ko", good), r, formats.Policy{}); v.Outcome != formats.OK {
		t.Fatalf("good: %v", v)
	}
	if v := (Driver{}).Verify(formats.NewModule("g.ko", good), ring(t, "rsa4096"), formats.Policy{}); v.Outcome != formats.UnknownKey {
		t.Errorf("embedded but untrusted: %v", v)
	}
	payload := append([]byte{}, good...)
	payload[bytes.Index(payload, []byte("kmodsig test module"))] ^= 1
	v := Driver{}.Verify(formats.NewModule("p.ko", payload), r, formats.Policy{})
	if v.Outcome != formats.BadSignature || v.Permissive != formats.ErrnoEKEYREJECTED || !strings.Contains(v.Reason, "embedded certificate") {
		t.Errorf("payload modified: %v", v)
	}
	sig := append([]byte{}, good...)
	sig[len(sig)-41] ^= 1
	v = Driver{}.Verify(formats.NewModule("s.ko", sig), r, formats.Policy{})
	if v.Outcome != formats.BadSignature || (v.Permissive != formats.ErrnoEINVAL && v.Permissive != formats.ErrnoEBADMSG) || v.Enforcing != v.Permissive {
		t.Errorf("signature modified: %v", v)
	}
}
