package x509sig

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

// modinfoHex renders bytes the way modinfo prints sig_key and signature: upper-case
// colon-separated hex, 20 bytes a line, continuation lines indented by two tabs.
func modinfoHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
			if i%20 == 0 {
				sb.WriteString("\n\t\t")
			}
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}

// modinfoSig runs modinfo on path and returns its signature fields (continuation lines
// joined with "\n").
func modinfoSig(t *testing.T, path string) map[string]string {
	t.Helper()
	out := peers.Run(t, peers.Require(t, "modinfo"), path)
	fields := map[string]string{}
	last := ""
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.HasPrefix(line, "\t") {
			fields[last] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = k
		fields[k] = strings.TrimLeft(v, " ")
	}
	sig := map[string]string{}
	for _, k := range []string{"sig_id", "signer", "sig_key", "sig_hashalgo", "signature"} {
		if v, ok := fields[k]; ok {
			sig[k] = v
		}
	}
	return sig
}

func ourFields(s *formats.Signature) map[string]string {
	return map[string]string{"sig_id": s.SigID, "signer": s.Signer, "sig_key": modinfoHex(s.KeyID),
		"sig_hashalgo": s.HashAlgo, "signature": modinfoHex(s.Value)}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func compareModinfo(t *testing.T, b []byte, s *formats.Signature) {
	t.Helper()
	got := modinfoSig(t, writeTemp(t, "m.ko", b))
	want := ourFields(s)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: modinfo %q, kmodsig %q", k, got[k], w)
		}
	}
}

// TestModinfoAgrees: kmod's modinfo, an independent parser, shows exactly the fields our
// Parse reports for our output, for every hash and both RSA sizes, the forced legacy hashes,
// the id_type 0 trailer and a CMS blob in an id_type 1 block.
func TestModinfoAgrees(t *testing.T) {
	peers.Require(t, "modinfo")
	unsigned := hello(t)
	for _, name := range []string{"rsa2048", "rsa4096"} {
		k := loadKey(t, name)
		cert, _ := k.Certificate()
		for _, h := range append(allHashes, crypto.MD5, crypto.RIPEMD160) {
			t.Run(name+"/"+formats.HashName(h), func(t *testing.T) {
				b, err := Driver{}.Sign(unsigned, k, formats.SignOptions{Hash: h, Force: true})
				if err != nil {
					t.Fatal(err)
				}
				s, err := Driver{}.Parse(mod(b))
				if err != nil {
					t.Fatal(err)
				}
				if s.Signer != keys.SignerName(cert) || !bytes.Equal(s.KeyID, cert.SubjectKeyId) {
					t.Fatal("Parse disagrees with the certificate")
				}
				compareModinfo(t, b, s)
			})
		}
	}
	t.Run("pgp-trailer", func(t *testing.T) {
		b, _ := formats.AppendModSig(unsigned, []byte("Red Hat kernel key"), []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4},
			bytes.Repeat([]byte{0x89, 0x02, 0x15}, 30), formats.ModSig{Algo: AlgoRSA, Hash: 8, IDType: formats.IDTypePGP})
		s, err := PGPDriver{}.Parse(mod(b))
		if err != nil {
			t.Fatal(err)
		}
		if s.HashAlgo != "sm3" {
			t.Fatalf("hash 8 is %q, kmod says sm3", s.HashAlgo)
		}
		compareModinfo(t, b, s)
	})
	t.Run("CMS in an id_type 1 block", func(t *testing.T) {
		cms := append([]byte{0x30, 0x82, 0x01, 0x00}, bytes.Repeat([]byte{7}, 0x100)...)
		b, _ := formats.AppendModSig(unsigned, nil, nil, cms, formats.ModSig{IDType: formats.IDTypeX509})
		s, err := Driver{}.Parse(mod(b))
		if err == nil || s == nil {
			t.Fatalf("Parse = %v, %v; want modinfo's view and an error", s, err)
		}
		if s.HashAlgo != "md4" || s.Signer != "" || len(s.KeyID) != 0 {
			t.Fatalf("Parse = %+v", s)
		}
		compareModinfo(t, b, s)
	})
	t.Run("rc1 is invisible to modinfo", func(t *testing.T) {
		b := toRC1(t, sign(t, unsigned, loadKey(t, "rsa2048"), crypto.SHA256), len(unsigned))
		if got := modinfoSig(t, writeTemp(t, "m.ko", b)); len(got) != 0 {
			t.Fatalf("modinfo printed %v for an rc1 module", got)
		}
	})
}

// TestOpenSSLVerifiesRawSignature carves the payload and the raw RSA value out of our output
// with kmodsig's Strip and Parse, then lets OpenSSL check them with the public key it extracts
// from the certificate itself: accepted for every hash, refused after one flipped payload
// byte and after one flipped signature byte.
func TestOpenSSLVerifiesRawSignature(t *testing.T) {
	openssl := peers.Require(t, "openssl")
	dir := t.TempDir()
	unsigned := hello(t)
	for _, name := range []string{"rsa2048", "rsa4096"} {
		pub := filepath.Join(dir, name+".pub.pem")
		out := peers.Run(t, openssl, "x509", "-in", filepath.Join(testdata, "keys", name+".crt"), "-noout", "-pubkey")
		os.WriteFile(pub, out, 0o644)
		k := loadKey(t, name)
		for _, h := range append(allHashes, crypto.MD5, crypto.RIPEMD160) {
			t.Run(name+"/"+formats.HashName(h), func(t *testing.T) {
				b, err := Driver{}.Sign(unsigned, k, formats.SignOptions{Hash: h, Force: true})
				if err != nil {
					t.Fatal(err)
				}
				m := mod(b)
				s, err := Driver{}.Parse(m)
				if err != nil {
					t.Fatal(err)
				}
				payload, _ := Driver{}.Strip(m)
				pfile := writeTemp(t, "payload.bin", payload)
				sfile := writeTemp(t, "raw.bin", s.Value[2:])
				md := "-" + strings.ReplaceAll(formats.HashName(h), "rmd160", "ripemd160")
				verify := func(p, sg string) (string, error) {
					out, err := exec.Command(openssl, "dgst", md, "-verify", pub, "-signature", sg, p).CombinedOutput()
					return string(out), err
				}
				if out, err := verify(pfile, sfile); err != nil || !strings.Contains(out, "Verified OK") {
					t.Fatalf("openssl dgst %s -verify: %v\n%s", md, err, out)
				}
				bad := append([]byte(nil), payload...)
				bad[len(bad)/2] ^= 1
				if out, err := verify(writeTemp(t, "bad.bin", bad), sfile); err == nil || strings.Contains(out, "Verified OK") {
					t.Fatalf("openssl accepted a flipped payload byte:\n%s", out)
				}
				badSig := append([]byte(nil), s.Value[2:]...)
				badSig[len(badSig)-1] ^= 1
				if out, err := verify(pfile, writeTemp(t, "badsig.bin", badSig)); err == nil || strings.Contains(out, "Verified OK") {
					t.Fatalf("openssl accepted a flipped signature byte:\n%s", out)
				}
			})
		}
	}
}

// TestHostKernelAgrees loads the certificate into the running kernel's asymmetric key type:
// its description is "<signer>: <SKID hex>", exactly the lookup key our trailer carries; then
// the kernel's own RSA code checks the raw signature (keyctl pkey_verify). Skipped when the
// host kernel has no asymmetric keys.
func TestHostKernelAgrees(t *testing.T) {
	keyctl := peers.Require(t, "keyctl")
	openssl := peers.Require(t, "openssl")
	unsigned := hello(t)
	for _, name := range []string{"rsa2048", "rsa4096", "expired-rsa2048"} {
		t.Run(name, func(t *testing.T) {
			id := padd(t, keyctl, readFile(t, "keys/"+name+".der"))
			desc := describe(t, keyctl, id)
			b := sign(t, unsigned, loadKey(t, name), crypto.SHA256)
			s, err := Driver{}.Parse(mod(b))
			if err != nil {
				t.Fatal(err)
			}
			if want := s.Signer + ": " + hex.EncodeToString(s.KeyID); desc != want {
				t.Fatalf("kernel describes the key as %q, our trailer looks up %q", desc, want)
			}
			dig := writeTemp(t, "digest.bin", peers.Run(t, openssl, "dgst", "-sha256", "-binary", writeTemp(t, "payload.bin", unsigned)))
			raw := writeTemp(t, "raw.bin", s.Value[2:])
			if out, err := exec.Command(keyctl, "pkey_verify", id, "0", dig, raw, "enc=pkcs1", "hash=sha256").CombinedOutput(); err != nil {
				t.Fatalf("kernel rejects our signature: %v\n%s", err, out)
			}
			bad := append([]byte(nil), s.Value[2:]...)
			bad[10] ^= 1
			if out, err := exec.Command(keyctl, "pkey_verify", id, "0", dig, writeTemp(t, "bad.bin", bad), "enc=pkcs1", "hash=sha256").CombinedOutput(); err == nil {
				t.Fatalf("kernel accepted a flipped signature byte\n%s", out)
			}
		})
	}
}

// padd adds a certificate to the user keyring and returns the key id, skipping the test when
// the host kernel refuses.
func padd(t *testing.T, keyctl string, der []byte) string {
	t.Helper()
	cmd := exec.Command(keyctl, "padd", "asymmetric", "", "@u")
	cmd.Stdin = bytes.NewReader(der)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("host kernel refuses asymmetric keys (%v: %s)", err, bytes.TrimSpace(out))
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(keyctl, "unlink", id, "@u").Run() })
	return id
}

func describe(t *testing.T, keyctl, id string) string {
	t.Helper()
	out := peers.Run(t, keyctl, "rdescribe", id)
	// type;uid;gid;perm;description
	parts := strings.SplitN(strings.TrimRight(string(out), "\n"), ";", 5)
	if len(parts) != 5 {
		t.Fatalf("keyctl rdescribe: %q", out)
	}
	return parts[4]
}

// TestVariant21 puts a real CMS from sign-file -d into an id_type 1 block, the way the
// Linux 6.1 harness made variant 21 (ORACLES.md §8.5): detected as x509; Linux 6.1 gives Ok
// with taint permissive and EKEYREJECTED enforcing (observed); the 3.7 model stops at
// algo 0 with ENOPKG; modinfo shows sig_id X509, empty signer and key, md4.
func TestVariant21(t *testing.T) {
	sf := peers.Require(t, peers.SignFile)
	dir := t.TempDir()
	ko := filepath.Join(dir, "hello.ko")
	os.WriteFile(ko, hello(t), 0o644)
	peers.Run(t, sf, "-d", "sha256", filepath.Join(testdata, "keys", "rsa2048.pem"), filepath.Join(testdata, "keys", "rsa2048.der"), ko)
	cms, err := os.ReadFile(ko + ".p7s")
	if err != nil {
		t.Fatal(err)
	}
	b, err := formats.AppendModSig(hello(t), nil, nil, cms, formats.ModSig{IDType: formats.IDTypeX509})
	if err != nil {
		t.Fatal(err)
	}
	m := mod(b)
	if !(Driver{}).Detect(m) {
		t.Fatal("not detected as x509")
	}
	ring := ringOf(t, "rsa2048")
	for _, c := range []struct {
		kernel    string
		perm, enf formats.Errno
	}{{Kernel61, "OK", "EKEYREJECTED"}, {Kernel37, "ENOPKG", "ENOPKG"}, {Kernel43, "ENOPKG", "ENOPKG"}} {
		v := Driver{}.Verify(m, ring, formats.Policy{Kernel: c.kernel})
		if v.Outcome != formats.Unsupported || v.Permissive != c.perm || v.Enforcing != c.enf {
			t.Fatalf("%s: %v", c.kernel, v)
		}
	}
	s, err := Driver{}.Parse(m)
	if err == nil || s == nil {
		t.Fatalf("Parse = %v, %v", s, err)
	}
	compareModinfo(t, b, s)
}
