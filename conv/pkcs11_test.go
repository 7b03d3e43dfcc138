//go:build cgo && pkcs11

package conv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

const softHSMLib = "/usr/lib/softhsm/libsofthsm2.so"

// softHSMToken makes a SoftHSM2 token "modsign" (PIN 1234) in a temporary SOFTHSM2_CONF with
// the committed RSA-2048 key as "modkey" (id 01) and ECDSA P-256 as "eckey" (id 02)
// (ORACLES.md §9).
func softHSMToken(t *testing.T) {
	t.Helper()
	util := peers.Require(t, "softhsm2-util")
	if _, err := os.Stat(softHSMLib); err != nil {
		if peers.Required() {
			t.Fatalf("%s missing (Debian package softhsm2) but KMODSIG_REQUIRE_PEERS=1", softHSMLib)
		}
		t.Skipf("%s missing: install Debian package softhsm2", softHSMLib)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	writeFile(t, conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\n"))
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	mustPeer(t, util, "--init-token", "--free", "--label", "modsign", "--pin", "1234", "--so-pin", "5678")
	mustPeer(t, util, "--import", filepath.Join(testdata, "keys", "rsa2048.key"), "--token", "modsign", "--label", "modkey", "--id", "01", "--pin", "1234")
	mustPeer(t, util, "--import", filepath.Join(testdata, "keys", "ecdsa-p256.key"), "--token", "modsign", "--label", "eckey", "--id", "02", "--pin", "1234")
}

// tokenRSAKey makes the SoftHSM2 token (softHSMToken) and loads its RSA key "modkey" with the
// committed certificate of that key; the key is closed when t ends.
func tokenRSAKey(t *testing.T) *keys.Material {
	t.Helper()
	softHSMToken(t)
	t.Setenv(keys.PKCS11ModuleEnv, softHSMLib)
	cert, err := keys.LoadCertificate(filepath.Join(testdata, "keys", "rsa2048.crt"))
	if err != nil {
		t.Fatal(err)
	}
	hsm, err := keys.LoadFile("pkcs11:token=modsign;object=modkey;type=private;pin-value=1234")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hsm.Close() })
	if err := hsm.WithCertificate(cert); err != nil {
		t.Fatal(err)
	}
	return hsm
}

// TestPKCS11SignPKCS7 signs hello.ko in pkcs7 with the RSA key on a SoftHSM2 token: the
// module is byte-identical to signing with the same key from its file, and to sign-file's;
// a batch through the token (two workers) equals the file-key batch; the CLI takes the URI
// with the PIN from KBUILD_SIGN_PIN. ECDSA on the token verifies with kmodsig and openssl.
func TestPKCS11SignPKCS7(t *testing.T) {
	hsm := tokenRSAKey(t)
	crt := filepath.Join(testdata, "keys", "rsa2048.crt")
	file := loadKey(t, "rsa2048.pem")
	unsigned := helloKO(t)
	a, err := Sign("hello.ko", unsigned, "pkcs7", hsm, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sign("hello.ko", unsigned, "pkcs7", file, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Signed, b.Signed) {
		t.Fatal("pkcs11 and file-key signatures differ")
	}
	dir := t.TempDir()
	if _, err := os.Stat(peers.SignFile); err == nil {
		in := filepath.Join(dir, "hello.ko")
		ref := filepath.Join(dir, "sign-file.ko")
		writeFile(t, in, unsigned)
		mustPeer(t, peers.SignFile, "sha256", filepath.Join(testdata, "keys", "rsa2048.pem"), filepath.Join(testdata, "keys", "rsa2048.der"), in, ref)
		if !bytes.Equal(readFile(t, ref), a.Signed) {
			t.Fatal("pkcs11 signature differs from sign-file's")
		}
	} else {
		t.Logf("sign-file missing (linux-kbuild-6.1): compared with the file key only")
	}

	// A batch through the token with two workers equals the file-key batch.
	var inputs []Input
	for i := 0; i < 6; i++ {
		p := filepath.Join(dir, "tree", "m"+string(rune('a'+i))+".ko")
		writeFile(t, p, unsigned)
		inputs = append(inputs, Input{Path: p, Root: filepath.Join(dir, "tree"), Rel: filepath.Base(p)})
	}
	rep := Convert(context.Background(), inputs, Options{To: "pkcs7", Key: hsm, OutDir: filepath.Join(dir, "out-hsm"), Jobs: 2})
	if rep.Err() != nil || rep.Converted != len(inputs) {
		t.Fatalf("batch through the token: %+v", rep.Files)
	}
	for _, in := range inputs {
		if !bytes.Equal(readFile(t, filepath.Join(dir, "out-hsm", in.Rel)), b.Signed) {
			t.Errorf("%s: token batch output differs from the file-key signature", in.Rel)
		}
	}

	// The CLI, built with the tag, PIN from KBUILD_SIGN_PIN.
	cli := filepath.Join(dir, "kmodsig")
	if out, err := exec.Command("go", "build", "-tags", "pkcs11", "-o", cli, "../cmd/kmodsig").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags pkcs11: %v\n%s", err, out)
	}
	cmd := exec.Command(cli, "convert", "--to", "pkcs7", "--key", "pkcs11:token=modsign;object=modkey", "--cert", crt,
		"-o", filepath.Join(dir, "cli.ko"), inputs[0].Path)
	cmd.Env = append(os.Environ(), keys.PINEnv+"=1234")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kmodsig convert with a pkcs11: key: %v\n%s", err, out)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "cli.ko")), b.Signed) {
		t.Error("CLI pkcs11 output differs from the file-key signature")
	}

	// ECDSA on the token: randomised, so verify (kmodsig and openssl cms).
	ec, err := keys.LoadFile("pkcs11:token=modsign;id=%02;pin-value=1234")
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	ecCert, err := keys.LoadCertificate(filepath.Join(testdata, "keys", "ecdsa-p256.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.WithCertificate(ecCert); err != nil {
		t.Fatal(err)
	}
	res, err := Sign("hello.ko", unsigned, "pkcs7", ec, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ring := &keys.Ring{}
	ring.AddMaterial(loadKey(t, "ecdsa-p256.pem"))
	if v := Verify(formats.NewModule("ec.ko", res.Signed), ring, formats.Policy{}, ""); v.Outcome != formats.OK {
		t.Errorf("kmodsig: ECDSA token signature: %s: %s", v.Outcome, v.Reason)
	}
	openssl := peers.Require(t, "openssl")
	sz := len(res.Signed)
	l := int(uint32(res.Signed[sz-32])<<24 | uint32(res.Signed[sz-31])<<16 | uint32(res.Signed[sz-30])<<8 | uint32(res.Signed[sz-29]))
	payload := filepath.Join(dir, "ec-payload.bin")
	sig := filepath.Join(dir, "ec.p7s")
	writeFile(t, payload, res.Signed[:sz-40-l])
	writeFile(t, sig, res.Signed[sz-40-l:sz-40])
	out := mustPeer(t, openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", payload,
		"-certfile", filepath.Join(testdata, "keys", "ecdsa-p256.crt"), "-noverify", "-out", os.DevNull)
	if !strings.Contains(out, "Verification successful") {
		t.Errorf("openssl cms: %s", out)
	}
}

// TestPKCS11EveryFormat: every format and variant that signs with an RSA key gives, through
// the token, the bytes the same key gives from its file. The OpenPGP-based formats panicked
// here (go-crypto's NewSignerPrivateKey knows no token signer) before keys put their key
// packet together itself.
func TestPKCS11EveryFormat(t *testing.T) {
	hsm := tokenRSAKey(t)
	file := loadKey(t, "rsa2048.pem")
	unsigned := helloKO(t)
	for _, c := range []struct{ format, variant string }{
		{"pkcs7", ""}, {"x509", ""}, {"gpg2012", ""}, {"digsig2012", "v1"}, {"digsig2012", "v2"},
		{"rhel6", "rsa"}, {"gkh2004", "detached"}, {"gkh2004", "rsa"}, {"gkh2004", "encrypted"},
	} {
		name := c.format + " " + c.variant
		o := formats.SignOptions{Variant: c.variant, Deterministic: true}
		a, err := Sign("hello.ko", unsigned, c.format, hsm, o)
		if err != nil {
			t.Errorf("%s through the token: %v", name, err)
			continue
		}
		b, err := Sign("hello.ko", unsigned, c.format, file, o)
		if err != nil {
			t.Fatalf("%s from the file: %v", name, err)
		}
		if !bytes.Equal(a.Signed, b.Signed) {
			t.Errorf("%s: the token's module differs from the file key's", name)
		}
	}
}
