package keys_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

func load(t *testing.T, name string) *keys.Material {
	t.Helper()
	m, err := keys.LoadFile("../testdata/keys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mpi(x *big.Int) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(x.BitLen())), x.Bytes()...)
}

// TestOpenPGPDerivedRSA: the derived key is the v4 key FORMATS.md spells out (fingerprint
// SHA1(99 ‖ be16 len ‖ 04 ‖ be32 time ‖ 01 ‖ MPI(n) ‖ MPI(e)), key id its low 8 bytes), and
// the exported keyring is byte-identical from one run to the next.
func TestOpenPGPDerivedRSA(t *testing.T) {
	a, b := load(t, "rsa2048.key"), load(t, "rsa2048.key")
	ea, err := a.OpenPGP()
	if err != nil {
		t.Fatal(err)
	}
	pub := a.Public().(*rsa.PublicKey)
	body := binary.BigEndian.AppendUint32([]byte{4}, uint32(keys.DefaultCreated.Unix()))
	body = append(body, 1)
	body = append(body, mpi(pub.N)...)
	body = append(body, mpi(big.NewInt(int64(pub.E)))...)
	h := sha1.New()
	h.Write([]byte{0x99, byte(len(body) >> 8), byte(len(body))})
	h.Write(body)
	fp := h.Sum(nil)
	if !bytes.Equal(ea.PrimaryKey.Fingerprint, fp) {
		t.Fatalf("fingerprint %X, want %X", ea.PrimaryKey.Fingerprint, fp)
	}
	if keys.KeyID(ea) != binary.BigEndian.Uint64(fp[12:]) {
		t.Fatalf("key id %016X", keys.KeyID(ea))
	}
	if id, ok := keys.OpenPGPKeyID(pub, keys.DefaultCreated); !ok || id != keys.KeyID(ea) {
		t.Fatalf("OpenPGPKeyID %016X", id)
	}
	ka, err := a.OpenPGPPublicKeyring()
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.OpenPGPPublicKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ka, kb) {
		t.Fatal("two derivations of the same RSA key export different bytes")
	}
	// Old-format packets as gpg --export writes: public key 99, user id b4, signature 89.
	if ka[0] != 0x99 || ka[3+len(body)] != 0xb4 {
		t.Fatalf("export starts %x", ka[:4])
	}
	el, err := openpgp.ReadKeyRing(bytes.NewReader(ka))
	if err != nil || len(el) != 1 || el[0].PrimaryIdentity().Name != keys.DefaultUserID {
		t.Fatalf("re-read: %v %v", el, err)
	}
	sig := el[0].PrimaryIdentity().SelfSignature
	if !sig.CreationTime.Equal(keys.DefaultCreated) || len(sig.Notations) != 0 {
		t.Fatalf("self-signature time %v, %d notations", sig.CreationTime, len(sig.Notations))
	}
}

func TestOpenPGPKeyTypes(t *testing.T) {
	if _, err := load(t, "ecdsa-p256.key").OpenPGP(); !errors.Is(err, keys.ErrOpenPGPKeyType) {
		t.Fatalf("ECDSA: %v", err)
	}
	d := load(t, "dsa1024.key")
	e, err := d.OpenPGP()
	if err != nil {
		t.Fatal(err)
	}
	if e.PrimaryKey.PubKeyAlgo != 17 {
		t.Fatalf("algo %d", e.PrimaryKey.PubKeyAlgo)
	}
	// DSA self-signatures are randomised, the key id is not.
	d2 := load(t, "dsa1024.key")
	e2, _ := d2.OpenPGP()
	if keys.KeyID(e) != keys.KeyID(e2) {
		t.Fatal("DSA key id not deterministic")
	}
}

// TestOpenPGPExportImportsIntoGPG: gpg imports the exported keyrings (RSA and DSA) and shows
// the fingerprint and user id we computed.
func TestOpenPGPExportImportsIntoGPG(t *testing.T) {
	gpg := peers.Require(t, "gpg")
	home, err := os.MkdirTemp("", "kmk")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		c := exec.Command("gpgconf", "--kill", "gpg-agent")
		c.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = c.Run()
		os.RemoveAll(home)
	})
	run := func(args ...string) string {
		c := exec.Command(gpg, append([]string{"--batch"}, args...)...)
		c.Env = append(os.Environ(), "GNUPGHOME="+home, "LC_ALL=C")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, name := range []string{"rsa2048.key", "rsa4096.key", "dsa1024.key"} {
		m := load(t, name)
		m.UserID = "Module Signer " + name + " <modsign@example.invalid>"
		pub, err := m.OpenPGPPublicKeyring()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(home, name+".gpg")
		os.WriteFile(p, pub, 0o600)
		run("--import", p)
		e, _ := m.OpenPGP()
		out := run("--with-colons", "--fingerprint", fmt.Sprintf("%X", e.PrimaryKey.Fingerprint))
		if !strings.Contains(out, fmt.Sprintf("fpr:::::::::%X:", e.PrimaryKey.Fingerprint)) || !strings.Contains(out, m.UserID) {
			t.Errorf("%s: gpg shows\n%s", name, out)
		}
		if !strings.Contains(out, fmt.Sprintf(":%d:", keys.DefaultCreated.Unix())) {
			t.Errorf("%s: creation time not %d:\n%s", name, keys.DefaultCreated.Unix(), out)
		}
	}
}

// TestOpenPGPSecretKeyTypes: a gpg secret key of a type no module signature era verifies
// (ECDSA, Ed25519) is refused with its algorithm named, not a Go type.
func TestOpenPGPSecretKeyTypes(t *testing.T) {
	g := peers.NewGPGHome(t)
	for _, c := range []struct{ algo, name string }{{"nistp256", "ECDSA"}, {"ed25519", "EdDSA"}} {
		g.Must("--quick-gen-key", c.algo+" <"+c.algo+"@example.invalid>", c.algo, "sign", "never")
		secret := g.Must("--export-secret-keys", c.algo+"@example.invalid")
		_, err := keys.Parse(secret)
		if err == nil || !strings.Contains(err.Error(), "the signing key is "+c.name) || strings.Contains(err.Error(), "*") {
			t.Errorf("%s: %v", c.algo, err)
		}
	}
}
