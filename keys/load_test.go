package keys

import (
	"bytes"
	"fmt"
	//lint:ignore SA1019 the RHEL eras verify only DSA; these tests load DSA keys
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/internal/peers"
)

func keyPath(name string) string { return filepath.Join(testKeys, name) }

func mustLoad(t *testing.T, name string) *Material {
	t.Helper()
	m, err := LoadFile(keyPath(name))
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", name, err)
	}
	return m
}

// TestLoadFileForms loads every committed private-key form and checks the key type, that the
// forms of one key give the same key, and whether a certificate came with it.
func TestLoadFileForms(t *testing.T) {
	t.Setenv(PINEnv, "kmodsig")
	rsaRef := mustLoad(t, "rsa2048.key").Signer.(*rsa.PrivateKey)
	ecRef := mustLoad(t, "ecdsa-p256.key").Signer.(*ecdsa.PrivateKey)
	dsaRef := mustLoad(t, "dsa1024.key").DSA
	cases := []struct {
		file     string
		kind     string // rsa2048, rsa4096, p256, p384, dsa
		sameAs   any
		withCert bool
	}{
		{"rsa2048.key", "rsa2048", rsaRef, false},           // PEM PKCS#8
		{"rsa2048.pkcs1.key", "rsa2048", rsaRef, false},     // PEM PKCS#1
		{"rsa2048.key.der", "rsa2048", rsaRef, false},       // DER PKCS#8
		{"rsa2048.enc.key", "rsa2048", rsaRef, false},       // encrypted PKCS#8, KBUILD_SIGN_PIN
		{"rsa2048.enc.pkcs1.key", "rsa2048", rsaRef, false}, // legacy encrypted PEM, KBUILD_SIGN_PIN
		{"rsa2048.pem", "rsa2048", rsaRef, true},            // key + certificate
		{"rsa4096.key", "rsa4096", nil, false},
		{"rsa4096.pem", "rsa4096", nil, true},
		{"ecdsa-p256.key", "p256", ecRef, false},
		{"ecdsa-p256.sec1.key", "p256", ecRef, false}, // SEC 1
		{"ecdsa-p256.pem", "p256", ecRef, true},
		{"ecdsa-p384.pem", "p384", nil, true},
		{"untrusted-rsa2048.pem", "rsa2048", nil, true},
		{"expired-rsa2048.pem", "rsa2048", nil, true},
		{"dsa1024.key", "dsa", dsaRef, false},      // PKCS#8 DSA
		{"dsa1024.trad.key", "dsa", dsaRef, false}, // OpenSSL traditional DSA
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			m := mustLoad(t, c.file)
			if m.Source != keyPath(c.file) {
				t.Fatalf("Source = %q", m.Source)
			}
			switch c.kind {
			case "rsa2048", "rsa4096":
				k, ok := m.Signer.(*rsa.PrivateKey)
				if !ok || (c.kind == "rsa2048") != (k.N.BitLen() == 2048) {
					t.Fatalf("got %T", m.Signer)
				}
			case "p256", "p384":
				k, ok := m.Signer.(*ecdsa.PrivateKey)
				want := elliptic.P256()
				if c.kind == "p384" {
					want = elliptic.P384()
				}
				if !ok || k.Curve != want {
					t.Fatalf("got %T", m.Signer)
				}
			case "dsa":
				// testdata/keys/README.md says N=160, but OpenSSL 3 made N=224 (see
				// TestDSAAgainstOpenSSL, which checks every number against openssl).
				if m.DSA == nil || m.Signer != nil || m.DSA.P.BitLen() != 1024 || (m.DSA.Q.BitLen() != 160 && m.DSA.Q.BitLen() != 224) {
					t.Fatalf("got DSA %v, Signer %T", m.DSA != nil, m.Signer)
				}
			}
			if c.sameAs != nil {
				var same bool
				switch ref := c.sameAs.(type) {
				case *dsa.PrivateKey:
					same = SamePublic(&ref.PublicKey, m.Public()) && ref.X.Cmp(m.DSA.X) == 0
				case *rsa.PrivateKey:
					same = ref.Equal(m.Signer)
				case *ecdsa.PrivateKey:
					same = ref.Equal(m.Signer)
				}
				if !same {
					t.Fatal("not the same key as the reference form")
				}
			}
			if (m.Cert != nil) != c.withCert {
				t.Fatalf("certificate loaded = %v, want %v", m.Cert != nil, c.withCert)
			}
			if m.Cert != nil && !SamePublic(m.Cert.PublicKey, m.Public()) {
				t.Fatal("certificate does not carry the key")
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, parts ...string) string {
		var b []byte
		for _, p := range parts {
			d, err := os.ReadFile(keyPath(p))
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, d...)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not a key at all\n"), 0o600)

	for _, name := range []string{"rsa2048.enc.key", "rsa2048.enc.pkcs1.key"} {
		t.Run(name+" without KBUILD_SIGN_PIN", func(t *testing.T) {
			t.Setenv(PINEnv, "")
			os.Unsetenv(PINEnv)
			_, err := LoadFile(keyPath(name))
			if !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), "set KBUILD_SIGN_PIN") {
				t.Fatalf("err = %v, want ErrPassphrase saying to set KBUILD_SIGN_PIN", err)
			}
		})
		t.Run(name+" with a wrong KBUILD_SIGN_PIN", func(t *testing.T) {
			t.Setenv(PINEnv, "wrong")
			_, err := LoadFile(keyPath(name))
			if !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), "KBUILD_SIGN_PIN does not decrypt it") {
				t.Fatalf("err = %v, want ErrPassphrase saying KBUILD_SIGN_PIN does not decrypt it", err)
			}
		})
	}
	// The error says what the file held instead of a private key.
	for _, c := range []struct {
		name string
		path string
		want error
		says string
	}{
		{"key with another key's certificate", write("mismatch.pem", "rsa2048.key", "untrusted-rsa2048.crt"), ErrMismatch, ""},
		{"ECDSA key with an RSA certificate", write("mismatch2.pem", "ecdsa-p256.key", "rsa2048.crt"), ErrMismatch, ""},
		{"certificate only", keyPath("rsa2048.crt"), ErrNoKey, "no private key, only PEM CERTIFICATE"},
		{"DER certificate only", keyPath("rsa2048.der"), ErrNoKey, "no private key, only a DER certificate"},
		{"public key only", keyPath("rsa2048.pub.pem"), ErrNoKey, "no private key, only PEM PUBLIC KEY"},
		{"garbage", garbage, ErrNoKey, "not a PKCS#1, PKCS#8, SEC1 or DSA private key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadFile(c.path)
			if !errors.Is(err, c.want) || !strings.Contains(fmt.Sprint(err), c.says) {
				t.Fatalf("err = %v, want %v saying %q", err, c.want, c.says)
			}
		})
	}
	if _, err := LoadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestLoadCertificate: PEM and DER are sniffed; a PEM bundle gives its first certificate.
func TestLoadCertificate(t *testing.T) {
	pemCert, err := LoadCertificate(keyPath("rsa2048.crt"))
	if err != nil {
		t.Fatal(err)
	}
	derCert, err := LoadCertificate(keyPath("rsa2048.der"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pemCert.Raw, derCert.Raw) {
		t.Fatal("PEM and DER forms differ")
	}
	// testdata/keys/README.md: rsa2048's SKID.
	if got := hex.EncodeToString(derCert.SubjectKeyId); got != "38742bc095045252f606b61fa52aa929ebc6b04e" {
		t.Fatalf("SKID %s", got)
	}
	combined, err := LoadCertificate(keyPath("rsa2048.pem")) // key first, then the certificate
	if err != nil || !bytes.Equal(combined.Raw, derCert.Raw) {
		t.Fatalf("combined PEM: %v", err)
	}
	bundle, err := LoadCertificate(keyPath("trusted.crt"))
	if err != nil || SignerName(bundle) != "kmodsig trusted RSA-4096" {
		t.Fatalf("bundle: %v", err)
	}
	for _, bad := range []string{"rsa2048.key", "rsa2048.pub.pem"} {
		if _, err := LoadCertificate(keyPath(bad)); !errors.Is(err, ErrNoKey) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	if _, err := LoadCertificate(keyPath("rsa2048.key.der")); err == nil {
		t.Fatal("a DER private key parsed as a certificate")
	}
}

// opensslNumbers parses `openssl pkey -text -noout` output into its named numbers.
func opensslNumbers(t *testing.T, path string) map[string]*big.Int {
	t.Helper()
	out, err := exec.Command("openssl", "pkey", "-in", path, "-noout", "-text").Output()
	if err != nil {
		t.Fatalf("openssl pkey: %v", err)
	}
	nums := map[string]*big.Int{}
	name, hexs := "", ""
	flush := func() {
		if name != "" && hexs != "" {
			nums[name], _ = new(big.Int).SetString(hexs, 16)
		}
		name, hexs = "", ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "    ") {
			hexs += strings.NewReplacer(":", "", " ", "").Replace(line)
			continue
		}
		flush()
		if n, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(n, " ") {
			name = n
		}
	}
	flush()
	return nums
}

// TestDSAAgainstOpenSSL: both DSA forms load to exactly the numbers OpenSSL reads.
func TestDSAAgainstOpenSSL(t *testing.T) {
	peers.Require(t, "openssl")
	for _, f := range []string{"dsa1024.key", "dsa1024.trad.key"} {
		want := opensslNumbers(t, keyPath(f))
		k := mustLoad(t, f).DSA
		got := map[string]*big.Int{"priv": k.X, "pub": k.Y, "P": k.P, "Q": k.Q, "G": k.G}
		for n, v := range got {
			if want[n] == nil || want[n].Cmp(v) != 0 {
				t.Fatalf("%s: %s = %x, openssl says %x", f, n, v, want[n])
			}
		}
	}
}
