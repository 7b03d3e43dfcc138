package pkcs7sig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

// TestModinfoEdgeCases: modinfo's signer and sig_key rules on certificates unlike the kernel's
// own: an issuer without CN (signer = the last attribute's value), a serial whose top bit is
// set (DER keeps a leading 00; sig_key prints the minimal magnitude), a one-byte serial.
func TestModinfoEdgeCases(t *testing.T) {
	peers.Require(t, "openssl")
	unsigned := hello(t)
	for _, tc := range []struct {
		name, subj, serial string
		signer, sigKey     string
	}{
		{"no CN", "/O=kmodsig org/OU=unit two", "0x80aa", "unit two", "80:AA"},
		{"CN first", "/CN=first cn/O=kmodsig org/OU=unit", "0x01", "first cn", "01"},
		{"two CNs", "/CN=one/CN=two", "0x7f00", "one", "7F:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key, crt := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")
			peers.Run(t, "openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-keyout", key, "-out", crt,
				"-subj", tc.subj, "-set_serial", tc.serial, "-days", "10", "-sha256")
			der := filepath.Join(dir, "c.der")
			peers.Run(t, "openssl", "x509", "-in", crt, "-outform", "DER", "-out", der)
			sf := peers.Require(t, peers.SignFile)
			in, out := filepath.Join(dir, "in.ko"), filepath.Join(dir, "out.ko")
			os.WriteFile(in, unsigned, 0o644)
			peers.Run(t, sf, "sha256", key, der, in, out)
			ref, _ := os.ReadFile(out)

			m, err := keys.LoadFile(key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := keys.LoadCertificate(crt)
			if err != nil {
				t.Fatal(err)
			}
			m.Cert = c
			got, err := Driver{}.Sign(unsigned, m, formats.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(ref) {
				t.Errorf("Sign differs from sign-file")
			}
			sig, err := Driver{}.Parse(formats.NewModule("m.ko", got))
			if err != nil {
				t.Fatal(err)
			}
			mi := modinfoSig(t, ref)
			if mi["signer"] != tc.signer || mi["sig_key"] != tc.sigKey {
				t.Fatalf("modinfo itself: %q %q (test expectation wrong?)", mi["signer"], mi["sig_key"])
			}
			if sig.Signer != mi["signer"] || colonHex(sig.KeyID, true) != mi["sig_key"] {
				t.Errorf("Parse: signer %q sig_key %s; modinfo %q %s", sig.Signer, colonHex(sig.KeyID, true), mi["signer"], mi["sig_key"])
			}
		})
	}
}
