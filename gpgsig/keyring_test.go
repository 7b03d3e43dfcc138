package gpgsig

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestPublicKeyringDeterministic: with Deterministic, a derived DSA key exports to the same
// bytes from two separately loaded Materials, and gpg imports that keyring and finds its
// self-certification good (gpg --check-sigs); without it, the self-certification differs
// between loads (go-crypto's random nonce), so the re-signing is what makes the difference.
// An RSA key's keyring is the same either way.
func TestPublicKeyringDeterministic(t *testing.T) {
	det := formats.SignOptions{Deterministic: true}
	a, err := PublicKeyring(loadKey(t, "dsa1024.key"), det)
	if err != nil {
		t.Fatal(err)
	}
	b, err := PublicKeyring(loadKey(t, "dsa1024.key"), det)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two deterministic exports of one DSA key differ")
	}
	r1, _ := PublicKeyring(loadKey(t, "dsa1024.key"), formats.SignOptions{})
	r2, _ := PublicKeyring(loadKey(t, "dsa1024.key"), formats.SignOptions{})
	if bytes.Equal(r1, r2) {
		t.Fatal("two random exports are equal: the test cannot tell the re-signing apart")
	}
	for _, opts := range []formats.SignOptions{det, {}} {
		k := loadKey(t, "rsa2048.key")
		x, _ := PublicKeyring(k, opts)
		y, _ := k.OpenPGPPublicKeyring()
		if !bytes.Equal(x, y) {
			t.Errorf("RSA keyring changed by Deterministic=%v", opts.Deterministic)
		}
	}
	g := newGPG(t)
	g.Must("--import", g.File("kernel.pub", a))
	out := string(g.Must("--check-sigs", "--with-colons"))
	if !strings.Contains(out, "\nsig:!:") {
		t.Fatalf("gpg does not find a good self-signature:\n%s", out)
	}
}
