package gpgsig

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/kmodsig/kmodsig/keys"
)

var sigTime = time.Date(2012, 9, 1, 12, 0, 0, 0, time.UTC)

func loadKey(t testing.TB, name string) *keys.Material {
	t.Helper()
	m, err := keys.LoadFile("../testdata/keys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readRing(t testing.TB, b []byte) openpgp.EntityList {
	t.Helper()
	el, err := openpgp.ReadKeyRing(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// TestSignDetachedGPGVerifies: what SignDetached writes is checked by gpg --verify against
// the payload, with our key imported from our own export, and gpg --list-packets shows the
// shape of the era's gpg: v4, ctb 89 (88 for short DSA), creation time hashed, issuer unhashed.
func TestSignDetachedGPGVerifies(t *testing.T) {
	g := newGPG(t)
	payload := []byte("module bytes\x00\x01\x02 with a tail")
	cases := []struct {
		key   string
		hash  crypto.Hash
		ctb   string
		extra []string
	}{
		{"rsa2048.key", crypto.MD5, "89", []string{"--allow-weak-digest-algos"}},
		{"rsa2048.key", crypto.SHA1, "89", nil},
		{"rsa2048.key", crypto.RIPEMD160, "89", []string{"--allow-weak-digest-algos"}},
		{"rsa2048.key", crypto.SHA224, "89", nil},
		{"rsa2048.key", crypto.SHA256, "89", nil},
		{"rsa2048.key", crypto.SHA384, "89", nil},
		{"rsa2048.key", crypto.SHA512, "89", nil},
		{"rsa4096.key", crypto.SHA256, "89", nil},
		// testdata/keys/dsa1024.key has a 224-bit q (OpenSSL 3 dsaparam), so gpg wants a
		// hash of at least 224 bits; SHA-1 DSA is covered with gpg's own DSA-1024 key below.
		{"dsa1024.key", crypto.SHA224, "88", nil},
		{"dsa1024.key", crypto.SHA256, "88", nil},
	}
	imported := map[string]bool{}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%v", c.key, c.hash), func(t *testing.T) {
			k := loadKey(t, c.key)
			if !imported[c.key] {
				pub, err := k.OpenPGPPublicKeyring()
				if err != nil {
					t.Fatal(err)
				}
				g.Must("--import", g.File("pub.gpg", pub))
				imported[c.key] = true
			}
			sig, err := SignDetached(bytes.NewReader(payload), k, c.hash, sigTime)
			if err != nil {
				t.Fatal(err)
			}
			if ok, out := g.verify(sig, payload, c.extra...); !ok {
				t.Fatalf("gpg does not verify our signature:\n%s", out)
			}
			if ok, _ := g.verify(sig, append(payload, 0), c.extra...); ok {
				t.Fatal("gpg verified our signature over a changed payload")
			}
			lp := string(g.Must("--list-packets", g.File("lp.sig", sig)))
			id, err := SigningKeyID(k)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"ctb=" + c.ctb + " tag=2",
				"version 4, created 1346500800",
				"sigclass 0x00",
				"\thashed subpkt 2 len 4 (sig created 2012-09-01)",
				fmt.Sprintf("\tsubpkt 16 len 8 (issuer key ID %016X)", id),
			} {
				if !strings.Contains(lp, want) {
					t.Errorf("gpg --list-packets lacks %q:\n%s", want, lp)
				}
			}
			if n := len(regexp.MustCompile(`subpkt`).FindAllString(lp, -1)); n != 2 {
				t.Errorf("%d subpackets, want 2:\n%s", n, lp)
			}
		})
	}
}

// TestParseGPGSignatures: signatures made by gpg itself parse, marshal back byte for byte,
// name gpg's key id and verify with the key gpg exported; a changed payload does not verify.
func TestParseGPGSignatures(t *testing.T) {
	g := newGPG(t)
	g.Must("--quick-gen-key", "Module Signer <modsign@example.invalid>", "rsa2048", "sign", "never")
	g.Must("--quick-gen-key", "DSA Module Signer <dsa@example.invalid>", "dsa1024", "sign", "never")
	payload := bytes.Repeat([]byte("kernel module "), 1000)
	pp := g.File("payload", payload)
	for _, c := range []struct {
		uid, digest string
		algo        byte
		hash        crypto.Hash
	}{
		{"modsign@example.invalid", "SHA1", AlgoRSA, crypto.SHA1},
		{"modsign@example.invalid", "SHA256", AlgoRSA, crypto.SHA256},
		{"modsign@example.invalid", "SHA512", AlgoRSA, crypto.SHA512},
		{"dsa@example.invalid", "SHA1", AlgoDSA, crypto.SHA1},
	} {
		t.Run(c.uid+"/"+c.digest, func(t *testing.T) {
			g.Must("--yes", "-u", c.uid, "--digest-algo", c.digest, "--detach-sign", "-o", pp+".sig", pp)
			raw := g.Read("payload.sig")
			el := readRing(t, g.Must("--export", c.uid))
			s, n, err := ParseSig(raw)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(raw) || s.Version != 4 || s.Class != 0 || s.PubKeyAlgo != c.algo || s.IssuerCount != 1 || !s.HasKeyID || s.KeyID != el[0].PrimaryKey.KeyId {
				t.Fatalf("parsed %+v (n=%d of %d), key id want %016X", s, n, len(raw), el[0].PrimaryKey.KeyId)
			}
			if h, _ := s.Hash(); h != c.hash {
				t.Errorf("hash %v, want %v", h, c.hash)
			}
			if raw[0] != 0x89 && raw[0] != 0x88 {
				t.Errorf("ctb %02x", raw[0])
			}
			m, err := s.Marshal()
			if err != nil || !bytes.Equal(m, raw) {
				t.Fatalf("Marshal differs from gpg's bytes: %v", err)
			}
			pub := el[0].PrimaryKey.PublicKey
			if err := VerifyDetached(s, bytes.NewReader(payload), pub); err != nil {
				t.Fatalf("gpg's signature does not verify: %v", err)
			}
			if err := VerifyDetached(s, bytes.NewReader(payload[1:]), pub); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("changed payload: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestGPGExportedSecretKey: a secret key exported by gpg (binary and armored, unprotected)
// loads with keys.Parse, signs a payload gpg verifies with that same key, and rebuilding the
// OpenPGP key from the bare private key and the original creation time gives the same
// fingerprint.
func TestGPGExportedSecretKey(t *testing.T) {
	g := newGPG(t)
	for _, kt := range []struct{ uid, algo string }{
		{"RSA Signer <rsa@example.invalid>", "rsa2048"},
		{"DSA Signer <dsa@example.invalid>", "dsa1024"},
	} {
		g.Must("--quick-gen-key", kt.uid, kt.algo, "sign", "never")
		for _, armor := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/armor=%v", kt.algo, armor), func(t *testing.T) {
				args := []string{"--export-secret-keys", kt.uid}
				if armor {
					args = append([]string{"--armor"}, args...)
				}
				m, err := keys.Parse(g.Must(args...))
				if err != nil {
					t.Fatal(err)
				}
				if m.PGP == nil || m.UserID != kt.uid {
					t.Fatalf("imported material: PGP %v, uid %q", m.PGP != nil, m.UserID)
				}
				payload := []byte("payload " + kt.algo)
				sig, err := SignDetached(bytes.NewReader(payload), m, crypto.SHA256, m.CreationTime())
				if err != nil {
					t.Fatal(err)
				}
				if ok, out := g.verify(sig, payload); !ok {
					t.Fatalf("gpg does not verify a signature by its own exported key:\n%s", out)
				}
				s, _, err := ParseSig(sig)
				if err != nil || s.KeyID != m.PGP.PrimaryKey.KeyId {
					t.Fatalf("issuer %016X, want %016X (%v)", s.KeyID, m.PGP.PrimaryKey.KeyId, err)
				}
				re := &keys.Material{Signer: m.Signer, DSA: m.DSA, Created: m.Created, UserID: m.UserID}
				e, err := re.OpenPGP()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(e.PrimaryKey.Fingerprint, m.PGP.PrimaryKey.Fingerprint) {
					t.Fatalf("rebuilt fingerprint %X, gpg's %X", e.PrimaryKey.Fingerprint, m.PGP.PrimaryKey.Fingerprint)
				}
			})
		}
	}
}

// TestGPGExportedSubkeyAndProtected: `gpg --export-secret-subkeys` (primary secret replaced by
// a GnuPG stub) signs with the signing subkey and names it as issuer; a passphrase-protected
// export loads with KBUILD_SIGN_PIN. gpg verifies both.
func TestGPGExportedSubkeyAndProtected(t *testing.T) {
	g := newGPG(t)
	g.Must("--quick-gen-key", "Sub Signer <sub@example.invalid>", "rsa2048", "cert", "never")
	el := readRing(t, g.Must("--export", "sub@example.invalid"))
	fpr := fmt.Sprintf("%X", el[0].PrimaryKey.Fingerprint)
	g.Must("--quick-add-key", fpr, "rsa2048", "sign", "never")
	m, err := keys.Parse(g.Must("--export-secret-subkeys", fpr))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.PGP.Subkeys) != 1 {
		t.Fatalf("%d subkeys", len(m.PGP.Subkeys))
	}
	sig, err := SignDetached(bytes.NewReader([]byte("p")), m, crypto.SHA256, m.PGP.Subkeys[0].PublicKey.CreationTime)
	if err != nil {
		t.Fatal(err)
	}
	if ok, out := g.verify(sig, []byte("p")); !ok {
		t.Fatalf("gpg does not verify the subkey signature:\n%s", out)
	}
	s, _, _ := ParseSig(sig)
	if s.KeyID == m.PGP.PrimaryKey.KeyId || len(m.PGP.Subkeys) != 1 || s.KeyID != m.PGP.Subkeys[0].PublicKey.KeyId {
		t.Fatalf("issuer %016X is not the signing subkey", s.KeyID)
	}

	c := exec.Command(g.Bin, "--batch", "--pinentry-mode", "loopback", "--passphrase", "s3cret", "--quick-gen-key", "Pin Signer <pin@example.invalid>", "rsa2048", "sign", "never")
	c.Env = append(os.Environ(), "GNUPGHOME="+g.Dir)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c = exec.Command(g.Bin, "--batch", "--pinentry-mode", "loopback", "--passphrase", "s3cret", "--export-secret-keys", "pin@example.invalid")
	c.Env = append(os.Environ(), "GNUPGHOME="+g.Dir)
	sec, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(keys.PINEnv, "")
	os.Unsetenv(keys.PINEnv)
	if _, err := keys.Parse(sec); !errors.Is(err, keys.ErrPassphrase) {
		t.Fatalf("no PIN: %v", err)
	}
	t.Setenv(keys.PINEnv, "s3cret")
	pm, err := keys.Parse(sec)
	if err != nil {
		t.Fatal(err)
	}
	sig, err = SignDetached(bytes.NewReader([]byte("q")), pm, crypto.SHA256, pm.CreationTime())
	if err != nil {
		t.Fatal(err)
	}
	if ok, out := g.verify(sig, []byte("q")); !ok {
		t.Fatalf("gpg does not verify the protected key's signature:\n%s", out)
	}
}
