package digsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kmodsig/kmodsig/keys"
)

// testKey is key material plus the files the peers want: private key PEM, public key
// PEM, DER certificate.
type testKey struct {
	m                   *keys.Material
	priv, pub, certDER  string
	rsaPub              *rsa.PublicKey
	name                string
	fromTestdata, isRSA bool
}

var (
	genOnce sync.Map // name -> crypto.Signer generated when testdata lacks the key
)

// loadKey returns the committed testdata key NAME (testdata/keys/NAME.pem, key and
// certificate) or, while that is not there yet, a generated stand-in with a derived
// certificate; it writes the peers' files into a temporary directory.
func loadKey(t *testing.T, name string) *testKey {
	t.Helper()
	tk := &testKey{name: name}
	if m, err := keys.LoadFile(filepath.Join("..", "testdata", "keys", name+".pem")); err == nil && m.Signer != nil {
		tk.m, tk.fromTestdata = m, true
	} else {
		v, _ := genOnce.LoadOrStore(name, new(sync.Once))
		once := v.(*sync.Once)
		once.Do(func() {
			var s crypto.Signer
			var err error
			switch name {
			case "ecdsa-p256":
				s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			case "untrusted-rsa2048", "rsa2048":
				s, err = rsa.GenerateKey(rand.Reader, 2048)
			default:
				t.Fatalf("no generator for %s", name)
			}
			if err != nil {
				t.Fatal(err)
			}
			genOnce.Store(name+"/key", s)
		})
		s, _ := genOnce.Load(name + "/key")
		tk.m = &keys.Material{Signer: s.(crypto.Signer), Source: "generated " + name}
	}
	if _, err := tk.m.Certificate(); err != nil {
		t.Fatal(err)
	}
	tk.rsaPub, tk.isRSA = tk.m.Signer.Public().(*rsa.PublicKey)
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(tk.m.Signer)
	if err != nil {
		t.Fatal(err)
	}
	tk.priv = filepath.Join(dir, name+".key")
	writeFile(t, tk.priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	spki, err := x509.MarshalPKIXPublicKey(tk.m.Signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	tk.pub = filepath.Join(dir, name+".pub.pem")
	writeFile(t, tk.pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
	tk.certDER = filepath.Join(dir, name+".der")
	writeFile(t, tk.certDER, tk.m.Cert.Raw)
	return tk
}

// ring returns a keyring trusting only tk's certificate.
func (tk *testKey) ring() *keys.Ring {
	r := &keys.Ring{}
	r.AddCert(tk.m.Cert)
	return r
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// helloKO returns the committed unsigned x86-64 test module.
func helloKO(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "modules", "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs a peer and returns its combined output and exit status (-1 when it could not
// start).
func run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("%s: %v", name, err)
	}
	return string(out), 0
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pemCert returns tk's certificate as PEM.
func pemCert(tk *testKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tk.m.Cert.Raw})
}
