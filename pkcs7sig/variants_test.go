package pkcs7sig

import (
	"bytes"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestKernelVariants is the acceptance table of ORACLES.md §8.5: the 27 variants the real
// Linux 6.1 kernel was fed in qemu, made here the same way (sign-file, openssl cms/smime,
// byte edits of the trailer), each with the errno that kernel returned in permissive and
// enforcing mode. The linux-4.3 columns follow FORMATS.md "Result codes by kernel version".
func TestKernelVariants(t *testing.T) {
	unsigned := hello(t)
	trusted := ring(t, "rsa2048", "rsa4096", "ecdsa-p256", "ecdsa-p384")
	good := signFile(t, unsigned, "sha256", "rsa2048", false)
	flip := func(b []byte, i int) []byte {
		c := append([]byte{}, b...)
		c[i] ^= 0x01
		return c
	}
	cmsOf := func(b []byte) []byte { _, c := split(t, b); return c }
	goodCMS := cmsOf(good)
	blk2 := formats.ModSig{IDType: formats.IDTypePKCS7}
	with := func(cms []byte) []byte { return attach(unsigned, cms, blk2) }
	ossl := func(cmd string, extra ...string) []byte {
		return with(opensslSign(t, cmd, unsigned, "rsa2048", "sha256", extra...))
	}
	setSigLen := func(b []byte, add uint32) []byte {
		c := append([]byte{}, b...)
		n := len(c)
		l := uint32(c[n-32])<<24 | uint32(c[n-31])<<16 | uint32(c[n-30])<<8 | uint32(c[n-29])
		l += add
		c[n-32], c[n-31], c[n-30], c[n-29] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		return c
	}
	modinfoAt := bytes.Index(unsigned, []byte("kmodsig test module"))
	if modinfoAt < 0 {
		t.Fatal("description string not found in hello.ko")
	}
	rsaEnc := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00}
	sha256RSA := func() []byte {
		c := append([]byte{}, goodCMS...)
		i := bytes.Index(c, rsaEnc)
		if i < 0 {
			t.Fatal("rsaEncryption not found")
		}
		c[i+10] = 0x0b
		return with(c)
	}

	const (
		OK  = formats.ErrnoOK
		KR  = formats.ErrnoEKEYREJECTED
		BAD = formats.ErrnoEBADMSG
		NK  = formats.ErrnoENOKEY
		NP  = formats.ErrnoENOPKG
	)
	tests := []struct {
		id, name      string
		mod           []byte
		outcome       formats.Outcome
		perm, enf     formats.Errno // linux-6.1 (observed)
		perm43, enf43 formats.Errno // linux-4.3
		notOurs       bool          // Detect must say no (id_type 1: the x509 driver's)
	}{
		{"01", "sign-file sha256 RSA-2048", good, formats.OK, OK, OK, OK, OK, false},
		{"02", "unsigned", unsigned, formats.Unsigned, OK, KR, OK, NK, true},
		{"03", "untrusted key", signFile(t, unsigned, "sha256", "untrusted-rsa2048", false), formats.UnknownKey, OK, KR, OK, NK, false},
		{"04", "last RSA byte flipped", flip(good, len(good)-41), formats.BadSignature, KR, KR, KR, KR, false},
		{"05", "payload byte flipped", flip(good, modinfoAt+3), formats.BadSignature, KR, KR, KR, KR, false},
		{"06", "outer tag 30->31", flip(good, len(unsigned)), formats.Corrupt, BAD, BAD, BAD, BAD, false},
		{"07", "sha1", signFile(t, unsigned, "sha1", "rsa2048", false), formats.OK, OK, OK, OK, OK, false},
		{"08", "sha224", signFile(t, unsigned, "sha224", "rsa2048", false), formats.OK, OK, OK, OK, OK, false},
		{"09", "sha384", signFile(t, unsigned, "sha384", "rsa2048", false), formats.OK, OK, OK, OK, OK, false},
		{"10", "sha512", signFile(t, unsigned, "sha512", "rsa2048", false), formats.OK, OK, OK, OK, OK, false},
		{"11", "RSA-4096", signFile(t, unsigned, "sha256", "rsa4096", false), formats.OK, OK, OK, OK, OK, false},
		{"12", "ECDSA P-256 sha256", signFile(t, unsigned, "sha256", "ecdsa-p256", false), formats.OK, OK, OK, NP, NP, false},
		{"13", "ECDSA P-384 sha384", signFile(t, unsigned, "sha384", "ecdsa-p384", false), formats.OK, OK, OK, NP, NP, false},
		{"14", "ECDSA P-256 sha512", signFile(t, unsigned, "sha512", "ecdsa-p256", false), formats.OK, OK, OK, NP, NP, false},
		{"15", "sign-file -k", signFile(t, unsigned, "sha256", "rsa2048", true), formats.OK, OK, OK, OK, OK, false},
		{"16", "openssl cms -noattr -nocerts", ossl("cms", "-noattr", "-nocerts"), formats.OK, OK, OK, OK, OK, false},
		{"17", "signed attributes", ossl("cms", "-nocerts"), formats.Unsupported, KR, KR, KR, KR, false},
		{"18", "certificate embedded", ossl("cms", "-noattr"), formats.OK, OK, OK, OK, OK, false},
		{"19", "attached content", ossl("cms", "-noattr", "-nocerts", "-nodetach"), formats.Corrupt, BAD, BAD, BAD, BAD, false},
		{"20", "openssl smime PKCS#7 v1", ossl("smime", "-noattr", "-nocerts"), formats.OK, OK, OK, OK, OK, false},
		{"21", "CMS in an id_type 1 block", attach(unsigned, goodCMS, formats.ModSig{IDType: formats.IDTypeX509}), formats.Unsupported, OK, KR, NP, NP, true},
		{"22", "block hash byte 4", attach(unsigned, goodCMS, formats.ModSig{IDType: 2, Hash: 4}), formats.Corrupt, BAD, BAD, BAD, BAD, false},
		{"23", "sig_len + 100000000", setSigLen(good, 100000000), formats.Corrupt, BAD, BAD, BAD, BAD, false},
		{"24", "sig_len + 1", setSigLen(good, 1), formats.Corrupt, BAD, BAD, BAD, BAD, false},
		{"25", "signed twice", signFile(t, good, "sha256", "rsa2048", false), formats.OK, OK, OK, OK, OK, false},
		{"26", "sha256WithRSAEncryption OID", sha256RSA(), formats.Unsupported, OK, KR, NP, NP, false},
		{"27", "RSASSA-PSS", ossl("cms", "-noattr", "-nocerts", "-keyopt", "rsa_padding_mode:pss"), formats.Unsupported, OK, KR, NP, NP, false},
	}
	for _, tc := range tests {
		t.Run(tc.id+"-"+tc.name, func(t *testing.T) {
			m := formats.NewModule(tc.id+".ko", tc.mod)
			if got := (Driver{}).Detect(m); got == tc.notOurs {
				t.Errorf("Detect = %v", got)
			}
			v := Driver{}.Verify(m, trusted, formats.Policy{})
			if v.Outcome != tc.outcome || v.Permissive != tc.perm || v.Enforcing != tc.enf || v.Kernel != "linux-6.1" {
				t.Errorf("linux-6.1: got %s %s/%s (%s), want %s %s/%s", v.Outcome, v.Permissive, v.Enforcing, v.Reason, tc.outcome, tc.perm, tc.enf)
			}
			if v.Reason == "" {
				t.Errorf("empty reason")
			}
			v43 := Driver{}.Verify(m, trusted, formats.Policy{Kernel: "linux-4.3"})
			if v43.Permissive != tc.perm43 || v43.Enforcing != tc.enf43 {
				t.Errorf("linux-4.3: got %s/%s (%s), want %s/%s", v43.Permissive, v43.Enforcing, v43.Reason, tc.perm43, tc.enf43)
			}
			t.Logf("%s: %s", tc.id, v)
		})
	}
}
