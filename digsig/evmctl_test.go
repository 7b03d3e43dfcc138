package digsig

// Tests against evmctl (ima-evm-utils 1.4), ORACLES.md §4, and the host kernel's keyring.

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
)

// evmctlSignHash runs `evmctl sign_hash` on one "<hex digest>  <name>" line and returns the
// signature it prints (the security.ima value, 03 first).
func evmctlSignHash(t *testing.T, evmctl string, args []string, digest []byte) []byte {
	t.Helper()
	cmd := exec.Command(evmctl, append([]string{"sign_hash"}, args...)...)
	cmd.Stdin = strings.NewReader(hex.EncodeToString(digest) + "  hello.ko\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("evmctl sign_hash %v: %v\n%s", args, err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 || f[0] != hex.EncodeToString(digest) {
		t.Fatalf("evmctl sign_hash printed %q", out)
	}
	sig, err := hex.DecodeString(f[2])
	if err != nil || len(sig) < 2 || sig[0] != XattrDigsig {
		t.Fatalf("evmctl sign_hash signature %q: %v", f[2], err)
	}
	return sig
}

// TestEvmctlSignHashModule: evmctl signs the module digest (v1), the test wraps the result
// by hand into the modsig layout, kmodsig verifies it; kmodsig's own signature at evmctl's
// timestamp is byte-identical.
func TestEvmctlSignHashModule(t *testing.T) {
	evmctl := peers.Require(t, "evmctl")
	tk := loadKey(t, "rsa2048")
	ko := helloKO(t)
	tests := []struct {
		name  string
		algo  string
		h     crypto.Hash
		field byte
	}{
		{"sha1", "sha1", crypto.SHA1, 0},
		{"sha256", "sha256", crypto.SHA256, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.h.New()
			w.Write(ko)
			sig := evmctlSignHash(t, evmctl, []string{"--rsa", "-a", tt.algo, "--key", tk.priv}, w.Sum(nil))[1:]
			if sig[0] != 1 || sig[6] != tt.field || len(sig) != 16+2+256 {
				t.Fatalf("evmctl v1 signature %x", sig[:18])
			}
			// payload ‖ signature ‖ be16 S ‖ magic, built without kmodsig's writer.
			var wrapped bytes.Buffer
			wrapped.Write(ko)
			wrapped.Write(sig)
			binary.Write(&wrapped, binary.BigEndian, uint16(len(sig)))
			wrapped.WriteString("This Is A Crypto Signed Module")
			m := mod(wrapped.Bytes())
			if d := formats.Detect(m); d == nil || d.ID() != ID {
				t.Fatalf("detected as %v", d)
			}
			v := Driver{}.Verify(m, tk.ring(), formats.Policy{})
			if v.Outcome != formats.OK || v.Hash != tt.algo || len(v.Notes) != 0 {
				t.Fatalf("kmodsig on evmctl's signature: %s", v)
			}
			ts := time.Unix(int64(binary.LittleEndian.Uint32(sig[1:5])), 0)
			ours := sign(t, ko, tk, formats.SignOptions{Time: ts, Hash: tt.h})
			if !bytes.Equal(ours, wrapped.Bytes()) {
				t.Errorf("kmodsig's signature differs from evmctl's at the same timestamp:\n ours   %x\n evmctl %x", ours[len(ko):len(ko)+40], sig[:40])
			}
		})
	}
}

// TestEvmctlVerifiesKmodsig: kmodsig's .sig sidecars verify with evmctl ima_verify, and a
// tampered file does not (evmctl is a negative oracle too).
func TestEvmctlVerifiesKmodsig(t *testing.T) {
	evmctl := peers.Require(t, "evmctl")
	rsaKey := loadKey(t, "rsa2048")
	ecKey := loadKey(t, "ecdsa-p256")
	tests := []struct {
		name string
		tk   *testKey
		o    formats.SignOptions
		args func(tk *testKey) []string
	}{
		{"v1 sha1", rsaKey, formats.SignOptions{}, func(tk *testKey) []string { return []string{"--rsa", "-a", "sha1", "--key", tk.pub} }},
		{"v1 sha256", rsaKey, formats.SignOptions{Hash: crypto.SHA256}, func(tk *testKey) []string { return []string{"--rsa", "-a", "sha256", "--key", tk.pub} }},
		{"v2 rsa sha256", rsaKey, formats.SignOptions{Variant: "v2"}, func(tk *testKey) []string { return []string{"--key", tk.certDER} }},
		{"v2 rsa sha512", rsaKey, formats.SignOptions{Variant: "v2", Hash: crypto.SHA512}, func(tk *testKey) []string { return []string{"--key", tk.certDER} }},
		{"v2 rsa sha1", rsaKey, formats.SignOptions{Variant: "v2", Hash: crypto.SHA1}, func(tk *testKey) []string { return []string{"--key", tk.certDER} }},
		{"v2 ecdsa sha256", ecKey, formats.SignOptions{Variant: "v2"}, func(tk *testKey) []string { return []string{"--key", tk.certDER} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "hello.ko")
			writeFile(t, f, helloKO(t))
			sigPath, err := SignFile(f, tt.tk.m, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if sigPath != f+".sig" {
				t.Fatalf("sidecar %s", sigPath)
			}
			args := append([]string{"ima_verify", "--sigfile"}, tt.args(tt.tk)...)
			out, rc := run(t, evmctl, append(args, f)...)
			if rc != 0 || !strings.Contains(out, "verification is OK") {
				t.Fatalf("evmctl %v: rc %d\n%s", args, rc, out)
			}
			b := helloKO(t)
			b[200] ^= 1
			writeFile(t, f, b)
			if out, rc := run(t, evmctl, append(args, f)...); rc == 0 || strings.Contains(out, "verification is OK") {
				t.Errorf("evmctl accepted a tampered file: %s", out)
			}
		})
	}
}

// evmctlImaSign runs `evmctl ima_sign --sigfile` on a copy of the module and returns the
// file and its .sig contents. evmctl also tries to set security.ima; that may fail on file
// systems without xattrs, so only the .sig file counts.
func evmctlImaSign(t *testing.T, evmctl string, args ...string) (string, []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "hello.ko")
	writeFile(t, f, helloKO(t))
	out, rc := run(t, evmctl, append(append([]string{"ima_sign", "--sigfile"}, args...), f)...)
	sig, err := os.ReadFile(f + ".sig")
	if err != nil {
		t.Fatalf("evmctl ima_sign %v: rc %d, no .sig: %v\n%s", args, rc, err, out)
	}
	return f, sig
}

// TestKmodsigVerifiesEvmctl: evmctl's .sig sidecars verify with kmodsig (and fail after
// tampering); v1 sidecars are byte-identical to kmodsig's at the same timestamp.
func TestKmodsigVerifiesEvmctl(t *testing.T) {
	evmctl := peers.Require(t, "evmctl")
	rsaKey := loadKey(t, "rsa2048")
	ecKey := loadKey(t, "ecdsa-p256")
	tests := []struct {
		name    string
		tk      *testKey
		args    []string
		variant string
		h       crypto.Hash
	}{
		{"v1 sha1", rsaKey, []string{"--rsa", "-a", "sha1"}, "v1", crypto.SHA1},
		{"v1 sha256", rsaKey, []string{"--rsa", "-a", "sha256"}, "v1", crypto.SHA256},
		{"v2 rsa sha256", rsaKey, []string{"-a", "sha256"}, "v2", crypto.SHA256},
		{"v2 rsa sha384", rsaKey, []string{"-a", "sha384"}, "v2", crypto.SHA384},
		{"v2 ecdsa sha256", ecKey, []string{"-a", "sha256"}, "v2", crypto.SHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, x := evmctlImaSign(t, evmctl, append(tt.args, "--key", tt.tk.priv)...)
			if tt.variant == "v1" && len(x) != 275 {
				t.Errorf("evmctl v1 .sig is %d bytes, want 275", len(x))
			}
			v, err := VerifySigFile(f, tt.tk.ring())
			if err != nil {
				t.Fatal(err)
			}
			if v.Outcome != formats.OK || v.Variant != tt.variant || v.Hash != formats.HashName(tt.h) || v.Format != "ima" {
				t.Fatalf("kmodsig on evmctl's .sig: %s (%s, %s)", v, v.Variant, v.Hash)
			}
			if v2 := VerifyIMA(bytes.NewReader(helloKO(t)), x, loadKey(t, "untrusted-rsa2048").ring()); v2.Outcome != formats.UnknownKey {
				t.Errorf("untrusted keyring: %s", v2)
			}
			b := helloKO(t)
			b[300] ^= 1
			if v := VerifyIMA(bytes.NewReader(b), x, tt.tk.ring()); v.Outcome != formats.BadSignature {
				t.Errorf("tampered file: %s", v)
			}
			if tt.variant == "v1" {
				s, err := ParseImaXattr(x)
				if err != nil {
					t.Fatal(err)
				}
				ours, err := SignIMA(bytes.NewReader(helloKO(t)), tt.tk.m, formats.SignOptions{Time: s.Timestamp(), Hash: tt.h})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ours, x) {
					t.Errorf("kmodsig's v1 xattr differs from evmctl's at the same timestamp:\n ours   %x\n evmctl %x", ours[:40], x[:40])
				}
			}
		})
	}
}

// TestEvmctlVerifiesModule: a kmodsig digsig2012 module, split and re-wrapped as an IMA
// .sig with plain byte slicing (ORACLES.md §4), verifies with evmctl.
func TestEvmctlVerifiesModule(t *testing.T) {
	evmctl := peers.Require(t, "evmctl")
	tk := loadKey(t, "rsa2048")
	for _, tt := range []struct {
		variant string
		args    []string
	}{
		{"v1", []string{"--rsa", "-a", "sha1", "--key", tk.pub}},
		{"v2", []string{"--key", tk.certDER}},
	} {
		t.Run(tt.variant, func(t *testing.T) {
			signed := sign(t, helloKO(t), tk, formats.SignOptions{Variant: tt.variant})
			sz := len(signed)
			S := int(signed[sz-32])<<8 | int(signed[sz-31])
			dir := t.TempDir()
			payload := filepath.Join(dir, "payload")
			writeFile(t, payload, signed[:sz-32-S])
			writeFile(t, payload+".sig", append([]byte{3}, signed[sz-32-S:sz-32]...))
			out, rc := run(t, evmctl, append(append([]string{"ima_verify", "--sigfile"}, tt.args...), payload)...)
			if rc != 0 || !strings.Contains(out, "verification is OK") {
				t.Fatalf("evmctl: rc %d\n%s", rc, out)
			}
		})
	}
}

// TestEvmctlImportKeyID: `evmctl import --rsa` names the user key with kmodsig's v1 key id
// and loads exactly kmodsig's exported blob; `evmctl import` of the certificate gives an
// asymmetric key whose id tail is kmodsig's v2 key id. Uses a throwaway keyring of the
// host kernel.
func TestEvmctlImportKeyID(t *testing.T) {
	evmctl := peers.Require(t, "evmctl")
	keyctl := peers.Require(t, "keyctl")
	tk := loadKey(t, "rsa2048")
	out, rc := run(t, keyctl, "newring", fmt.Sprintf("kmodsig-digsig-test-%d", os.Getpid()), "@u")
	if rc != 0 {
		t.Skipf("cannot create a keyring (no keyring support here): %s", out)
	}
	ring := strings.TrimSpace(out)
	defer run(t, keyctl, "unlink", ring, "@u")

	blob, name, err := Driver{}.ExportKey(tk.m, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	desc := strings.TrimSuffix(name, ".digsig")
	out, rc = run(t, evmctl, "-v", "import", "--rsa", tk.pub, ring)
	if rc != 0 {
		t.Fatalf("evmctl import --rsa: rc %d\n%s", rc, out)
	}
	if !strings.Contains(out, "Importing public key "+desc+" ") {
		t.Fatalf("evmctl import --rsa reports another key id than %s:\n%s", desc, out)
	}
	id, rc := run(t, keyctl, "search", ring, "user", desc)
	if rc != 0 {
		t.Fatalf("no user key %q in the keyring: %s", desc, id)
	}
	piped := pipeKey(t, keyctl, strings.TrimSpace(id))
	if !bytes.Equal(piped, blob) {
		t.Errorf("evmctl's blob differs from kmodsig's:\n evmctl %x\n ours   %x", piped, blob)
	}

	out, rc = run(t, evmctl, "import", tk.certDER, ring)
	if rc != 0 {
		t.Skipf("host kernel refuses the certificate as an asymmetric key: %s", out)
	}
	fields := strings.Fields(out)
	kid := fields[len(fields)-1] // evmctl prints the new key's serial last
	descr, _ := run(t, keyctl, "rdescribe", kid)
	kid2, err := V2KeyID(tk.m.Signer.Public(), tk.m.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(kid2[:]); !strings.HasSuffix(strings.TrimSpace(descr), want) {
		t.Errorf("asymmetric key description %q does not end with kmodsig's v2 key id %s", descr, want)
	}
	// The fallback computation (no certificate) agrees for a subjectKeyIdentifier=hash cert.
	if kid3, _ := V2KeyID(tk.m.Signer.Public(), nil); kid3 != kid2 {
		t.Errorf("SKID tail %x != SHA1(subjectPublicKey) tail %x", kid2, kid3)
	}
}

func pipeKey(t *testing.T, keyctl, id string) []byte {
	t.Helper()
	out, err := exec.Command(keyctl, "pipe", id).Output()
	if err != nil {
		t.Fatalf("keyctl pipe %s: %v", id, err)
	}
	return out
}

// TestHostKernelRSA: the host kernel's RSA (keyctl pkey_verify) accepts kmodsig's v1 value
// as raw PKCS#1 over H = SHA1(D ‖ header) with no DigestInfo, and its v2 value with
// DigestInfo (ORACLES.md §2.6).
func TestHostKernelRSA(t *testing.T) {
	keyctl := peers.Require(t, "keyctl")
	tk := loadKey(t, "rsa2048")
	ko := helloKO(t)
	cmd := exec.Command(keyctl, "padd", "asymmetric", "", "@u")
	cmd.Stdin = bytes.NewReader(tk.m.Cert.Raw)
	o, err := cmd.Output()
	if err != nil {
		t.Skipf("host kernel has no asymmetric keys here: %v", err)
	}
	kid := strings.TrimSpace(string(o))
	defer run(t, keyctl, "unlink", kid, "@u")
	dir := t.TempDir()

	s1, err := Sign(bytes.NewReader(ko), tk.m, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d1 := sha1.Sum(ko)
	writeFile(t, filepath.Join(dir, "h1"), V1SigHash(d1[:], s1.Header()))
	writeFile(t, filepath.Join(dir, "s1"), s1.Value)
	if out, rc := run(t, keyctl, "pkey_verify", kid, "0", filepath.Join(dir, "h1"), filepath.Join(dir, "s1"), "enc=pkcs1"); rc != 0 {
		t.Errorf("kernel rejects the v1 value: %s", out)
	}
	bad := V1SigHash(d1[:], append(s1.Header()[:15], 2))
	writeFile(t, filepath.Join(dir, "h1bad"), bad)
	if out, rc := run(t, keyctl, "pkey_verify", kid, "0", filepath.Join(dir, "h1bad"), filepath.Join(dir, "s1"), "enc=pkcs1"); rc == 0 {
		t.Errorf("kernel accepts the v1 value over another header: %s", out)
	}

	s2, err := Sign(bytes.NewReader(ko), tk.m, formats.SignOptions{Variant: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	d2 := sha256.Sum256(ko)
	writeFile(t, filepath.Join(dir, "h2"), d2[:])
	writeFile(t, filepath.Join(dir, "s2"), s2.Value)
	if out, rc := run(t, keyctl, "pkey_verify", kid, "0", filepath.Join(dir, "h2"), filepath.Join(dir, "s2"), "enc=pkcs1", "hash=sha256"); rc != 0 {
		t.Errorf("kernel rejects the v2 value: %s", out)
	}
}
