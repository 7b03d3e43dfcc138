//go:build cgo && pkcs11

package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/internal/peers"
)

// softHSM makes a SoftHSM2 token "modsign" (user PIN 1234) in a temporary directory and
// imports the committed RSA-2048 key as "modkey" (id 01) and ECDSA P-256 as "eckey" (id 02),
// as ORACLES.md §9 does.
func softHSM(t *testing.T) string {
	t.Helper()
	util := peers.Require(t, "softhsm2-util")
	lib := "/usr/lib/softhsm/libsofthsm2.so"
	if _, err := os.Stat(lib); err != nil {
		if peers.Required() {
			t.Fatalf("%s missing (Debian package softhsm2) but KMODSIG_REQUIRE_PEERS=1", lib)
		}
		t.Skipf("%s missing: install Debian package softhsm2", lib)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(util, args...).CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util %v: %v\n%s", args, err, out)
		}
	}
	run("--init-token", "--free", "--label", "modsign", "--pin", "1234", "--so-pin", "5678")
	for _, k := range []struct{ file, label, id string }{{"rsa2048.key", "modkey", "01"}, {"ecdsa-p256.key", "eckey", "02"}} {
		// The committed .key files are PKCS#8 already, what softhsm2-util --import wants.
		run("--import", filepath.Join("..", "testdata", "keys", k.file), "--token", "modsign", "--label", k.label, "--id", k.id, "--pin", "1234")
	}
	return lib
}

func TestPKCS11Load(t *testing.T) {
	lib := softHSM(t)
	t.Setenv(PKCS11ModuleEnv, lib)
	fileRSA, err := LoadFile("../testdata/keys/rsa2048.key")
	if err != nil {
		t.Fatal(err)
	}
	fileEC, err := LoadFile("../testdata/keys/ecdsa-p256.key")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("kmodsig"))

	// Failures first: PKCS#11 login state is per process and token, so once a correct PIN
	// has logged in, a later wrong one is no longer checked by the module.
	for _, uri := range []string{
		"pkcs11:token=modsign;object=modkey;pin-value=0000", // before any successful login
		"pkcs11:token=modsign;object=nosuchkey;pin-value=1234",
		"pkcs11:token=nosuchtoken;object=modkey;pin-value=1234",
		"pkcs11:object=modkey;pin-value=1234", // no token selector
	} {
		if _, err := LoadFile(uri); err == nil {
			t.Errorf("%s: accepted", uri)
		} else if got := err.Error(); containsPIN(got) {
			t.Errorf("%s: error shows the PIN: %s", uri, got)
		}
	}
	// No PIN at all: the key is there but invisible without a login, and the error says so.
	if pin, ok := os.LookupEnv(PINEnv); ok {
		os.Unsetenv(PINEnv)
		defer os.Setenv(PINEnv, pin)
	}
	if _, err := LoadFile("pkcs11:token=modsign;object=modkey"); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "give the PIN") {
		t.Errorf("no PIN: %v, want ErrNoKey saying to give the PIN", err)
	}
	m, err := LoadFile("pkcs11:token=modsign;object=modkey;type=private;pin-value=1234")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !SamePublic(m.Public(), fileRSA.Public()) {
		t.Fatal("token RSA key differs from the file key")
	}
	if m.Source != "pkcs11:token=modsign;object=modkey;type=private;pin-value=***" {
		t.Errorf("Source = %q: PIN not redacted", m.Source)
	}
	// RSA PKCS#1 v1.5 is deterministic: the token and the file give the same bytes.
	a, err := m.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fileRSA.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("token RSA signature differs from the file key's")
	}

	// ECDSA by id, PIN from KBUILD_SIGN_PIN and module from module-path.
	t.Setenv(PINEnv, "1234")
	ec, err := LoadFile("pkcs11:token=modsign;id=%02?module-path=" + lib)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	pub, ok := ec.Public().(*ecdsa.PublicKey)
	if !ok || !SamePublic(pub, fileEC.Public()) {
		t.Fatalf("token ECDSA key %T differs from the file key", ec.Public())
	}
	sig, err := ec.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("token ECDSA signature does not verify")
	}
	if _, ok := m.Public().(*rsa.PublicKey); !ok {
		t.Fatal("RSA key lost its type")
	}

	if _, err := LoadFile("pkcs11:token=modsign"); !errors.Is(err, ErrPKCS11URI) {
		t.Errorf("URI without object or id: %v", err)
	}
}

// TestPKCS11Close checks that keys loaded from one token share one session, that closing
// one leaves the other able to sign, that closing the last logs out (the session is gone and
// a new load logs in again), and that a second Close does nothing.
func TestPKCS11Close(t *testing.T) {
	lib := softHSM(t)
	t.Setenv(PKCS11ModuleEnv, lib)
	open := func() int {
		p11mu.Lock()
		defer p11mu.Unlock()
		return len(p11ctxs)
	}
	if n := open(); n != 0 {
		t.Fatalf("%d token sessions open before the test: an earlier test did not close its keys", n)
	}
	const uri = "pkcs11:token=modsign;object=modkey;type=private;pin-value=1234"
	digest := sha256.Sum256([]byte("kmodsig"))
	sign := func(m *Material) {
		t.Helper()
		if _, err := m.Signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			t.Fatalf("signing: %v", err)
		}
	}
	a, err := LoadFile(uri)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadFile(uri)
	if err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 1 {
		t.Fatalf("two keys from one token hold %d sessions, want 1", n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := open(); n != 1 {
		t.Fatalf("closing one of two keys left %d sessions, want 1", n)
	}
	sign(b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 0 {
		t.Fatalf("closing the last key left %d sessions open", n)
	}
	c, err := LoadFile(uri)
	if err != nil {
		t.Fatalf("loading after the session closed: %v", err)
	}
	sign(c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile("pkcs11:token=modsign;object=nosuchkey;pin-value=1234"); err == nil {
		t.Fatal("missing key accepted")
	}
	if n := open(); n != 0 {
		t.Fatalf("a failed load left %d sessions open", n)
	}
}

func containsPIN(s string) bool {
	for _, p := range []string{"1234", "0000"} {
		for i := 0; i+len(p) <= len(s); i++ {
			if s[i:i+len(p)] == p {
				return true
			}
		}
	}
	return false
}
