package pkcs7sig

import (
	"bytes"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

const testdata = "../testdata"

// keyPath returns testdata/keys/NAME.EXT.
func keyPath(name, ext string) string { return filepath.Join(testdata, "keys", name+"."+ext) }

// material loads testdata/keys/NAME.pem (key + certificate).
func material(t testing.TB, name string) *keys.Material {
	t.Helper()
	m, err := keys.LoadFile(keyPath(name, "pem"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Cert == nil {
		c, err := keys.LoadCertificate(keyPath(name, "crt"))
		if err != nil {
			t.Fatal(err)
		}
		m.Cert = c
	}
	return m
}

// ring trusts testdata/keys/NAME.crt for each name.
func ring(t testing.TB, names ...string) *keys.Ring {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, keyPath(n, "crt"))
	}
	r, err := keys.LoadRing(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hello returns the unsigned test module.
func hello(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "modules", "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// signFile runs sign-file on the unsigned module (or any input) and returns the signed bytes.
func signFile(t testing.TB, in []byte, hash, key string, skid bool) []byte {
	t.Helper()
	sf := peers.Require(t, peers.SignFile)
	dir := t.TempDir()
	src := filepath.Join(dir, "in.ko")
	dst := filepath.Join(dir, "out.ko")
	if err := os.WriteFile(src, in, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{hash, keyPath(key, "key"), keyPath(key, "der"), src, dst}
	if skid {
		args = append([]string{"-k"}, args...)
	}
	peers.Run(t, sf, args...)
	out, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// split carves a signed module with shell-level arithmetic (ORACLES.md §2.4), independently of
// formats.ParseModSig: payload, CMS.
func split(t testing.TB, signed []byte) (payload, cms []byte) {
	t.Helper()
	n := len(signed)
	if n < 40 || string(signed[n-28:]) != formats.Marker {
		t.Fatal("no marker")
	}
	l := int(signed[n-32])<<24 | int(signed[n-31])<<16 | int(signed[n-30])<<8 | int(signed[n-29])
	return signed[:n-40-l], signed[n-40-l : n-40]
}

// opensslSign runs `openssl cms -sign` (or smime) over payload with extra flags and returns DER.
func opensslSign(t testing.TB, cmd string, payload []byte, key, hash string, extra ...string) []byte {
	t.Helper()
	peers.Require(t, "openssl")
	dir := t.TempDir()
	in := filepath.Join(dir, "payload")
	out := filepath.Join(dir, "sig.p7s")
	if err := os.WriteFile(in, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{cmd, "-sign", "-binary", "-md", hash, "-signer", keyPath(key, "crt"), "-inkey", keyPath(key, "key"),
		"-in", in, "-outform", "DER", "-out", out}
	args = append(args, extra...)
	peers.Run(t, "openssl", args...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attach builds payload ‖ cms ‖ block ‖ marker with the given block.
func attach(payload, cms []byte, blk formats.ModSig) []byte {
	blk.SigLen = uint32(len(cms))
	out := append(append(append([]byte{}, payload...), cms...), blk.Marshal()...)
	return append(out, formats.Marker...)
}

// opensslVerify runs `openssl cms -verify -noverify` and certtool --p7-verify on cms over payload.
func opensslVerify(t testing.TB, cms, payload []byte, key string) {
	t.Helper()
	peers.Require(t, "openssl")
	dir := t.TempDir()
	sig := filepath.Join(dir, "sig.p7s")
	pl := filepath.Join(dir, "payload")
	os.WriteFile(sig, cms, 0o644)
	os.WriteFile(pl, payload, 0o644)
	out, err := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", pl,
		"-certfile", keyPath(key, "crt"), "-noverify", "-out", os.DevNull).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Verification successful")) {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
}

func certtoolVerify(t testing.TB, cms, payload []byte, key string) {
	t.Helper()
	peers.Require(t, "certtool")
	dir := t.TempDir()
	sig := filepath.Join(dir, "sig.p7s")
	pl := filepath.Join(dir, "payload")
	os.WriteFile(sig, cms, 0o644)
	os.WriteFile(pl, payload, 0o644)
	out, err := exec.Command("certtool", "--p7-verify", "--inder", "--infile", sig, "--load-data", pl,
		"--load-certificate", keyPath(key, "crt")).CombinedOutput()
	if err != nil {
		t.Fatalf("certtool --p7-verify: %v\n%s", err, out)
	}
}

// modinfoSig runs modinfo on b and returns its signature fields (signature unwrapped).
func modinfoSig(t testing.TB, b []byte) map[string]string {
	t.Helper()
	peers.Require(t, "modinfo")
	p := writeTemp(t, "m.ko", b)
	out := peers.Run(t, "modinfo", p)
	f := map[string]string{}
	last := ""
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "\t") && last != "" {
			f[last] += strings.TrimSpace(line)
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		switch k {
		case "sig_id", "signer", "sig_key", "sig_hashalgo", "signature":
			f[k] = strings.TrimSpace(val)
			last = k
		default:
			last = ""
		}
	}
	return f
}

var hashByName = map[string]crypto.Hash{
	"sha1": crypto.SHA1, "sha224": crypto.SHA224, "sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512,
	"sha3-256": crypto.SHA3_256, "sha3-384": crypto.SHA3_384, "sha3-512": crypto.SHA3_512,
}
