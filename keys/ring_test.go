package keys

import (
	"bytes"
	//lint:ignore SA1019 the RHEL eras verify only DSA; these tests load DSA keys
	"crypto/dsa"
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

func TestRingLookups(t *testing.T) {
	r, err := LoadRing(keyPath("trusted.crt"), keyPath("rsa2048.der"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Certs) != 4 || len(r.Sources) != 2 {
		t.Fatalf("%d certificates from %v", len(r.Certs), r.Sources)
	}
	rsa4096, err := LoadCertificate(keyPath("rsa4096.der"))
	if err != nil {
		t.Fatal(err)
	}
	untrusted, _ := LoadCertificate(keyPath("untrusted-rsa2048.der"))

	// testdata/keys/README.md values, typed in, not computed.
	serial, _ := new(big.Int).SetString("575d2b947f5d3ce86c3a606ff48a5a01cff72caa", 16)
	skid, _ := hex.DecodeString("3388c8eb2cf25cbea671b80b725c7297f6b31bb6")
	if c := r.ByIssuerSerial(rsa4096.RawIssuer, serial); c == nil || !bytes.Equal(c.Raw, rsa4096.Raw) {
		t.Fatal("ByIssuerSerial did not find rsa4096")
	}
	if c := r.ByIssuerSerial(rsa4096.RawIssuer, new(big.Int).Add(serial, big.NewInt(1))); c != nil {
		t.Fatal("ByIssuerSerial matched a wrong serial")
	}
	if c := r.ByIssuerSerial(untrusted.RawIssuer, serial); c != nil {
		t.Fatal("ByIssuerSerial matched a wrong issuer")
	}
	if c := r.BySKID(skid); c == nil || !bytes.Equal(c.Raw, rsa4096.Raw) {
		t.Fatal("BySKID did not find rsa4096")
	}
	if c := r.BySKID(untrusted.SubjectKeyId); c != nil {
		t.Fatal("BySKID found a certificate that is not in the ring")
	}
	if c := r.BySKID(nil); c != nil {
		t.Fatal("BySKID(nil) matched")
	}
	desc := "kmodsig trusted RSA-4096: 3388c8eb2cf25cbea671b80b725c7297f6b31bb6"
	if c := r.ByDescription(desc); c == nil || !bytes.Equal(c.Raw, rsa4096.Raw) {
		t.Fatal("ByDescription did not find rsa4096")
	}
	for _, bad := range []string{strings.ToUpper(desc), "kmodsig trusted RSA-4096: 3388c8eb", "kmodsig test: kmodsig trusted RSA-4096: 3388c8eb2cf25cbea671b80b725c7297f6b31bb6", ""} {
		if c := r.ByDescription(bad); c != nil {
			t.Fatalf("ByDescription(%q) matched", bad)
		}
	}
	if c := r.ByDescription("kmodsig trusted RSA-2048: 38742bc095045252f606b61fa52aa929ebc6b04e"); c == nil {
		t.Fatal("ByDescription did not find the DER-loaded rsa2048")
	}
	var nilRing *Ring
	if nilRing.BySKID(skid) != nil || nilRing.ByDescription(desc) != nil || nilRing.ByIssuerSerial(rsa4096.RawIssuer, serial) != nil || nilRing.PublicKeys() != nil {
		t.Fatal("nil ring matched")
	}
	if n := len(r.PublicKeys()); n != 4 {
		t.Fatalf("PublicKeys: %d", n)
	}
	// Adding the same certificate again does not duplicate it.
	if err := r.AddFile(keyPath("rsa4096.crt")); err != nil || len(r.Certs) != 4 {
		t.Fatalf("re-adding rsa4096: %v, %d certificates", err, len(r.Certs))
	}
}

func TestRingForms(t *testing.T) {
	dir := t.TempDir()
	rsaKey := mustLoad(t, "rsa2048.key").Signer.(*rsa.PrivateKey)
	blob := filepath.Join(dir, "rsa2048.digsig")
	os.WriteFile(blob, DigsigBlob(&rsaKey.PublicKey), 0o644)
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("hello\n"), 0o644)
	// A kernel tree's certs/x509_certificate_list: DER certificates back to back (openssl's
	// DER output of the committed certificates, catenated as the kernel's build does).
	var list []byte
	for _, f := range []string{"rsa2048.der", "rsa4096.der", "ecdsa-p256.der"} {
		b, err := os.ReadFile(keyPath(f))
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, b...)
	}
	certList := filepath.Join(dir, "x509_certificate_list")
	os.WriteFile(certList, list, 0o644)
	rsaKeyC := filepath.Join(dir, "rsa_key.c")
	os.WriteFile(rsaKeyC, RSAKeyC(&rsaKey.PublicKey), 0o644)
	cases := []struct {
		file         string
		certs, bare  int
		rsaPublicKey bool // the bare key is rsa2048's
	}{
		{keyPath("rsa2048.pub.pem"), 0, 1, true}, // PUBLIC KEY
		{blob, 0, 1, true},                       // digsig v1 blob
		{keyPath("dsa1024.pub.pem"), 0, 1, false},
		{keyPath("rsa2048.crt"), 1, 0, false},
		{keyPath("rsa2048.pem"), 1, 0, false}, // key + certificate: the certificate is trusted
		{keyPath("rsa2048.key"), 0, 1, true},  // bare private key: its public half
		{keyPath("ecdsa-p384.der"), 1, 0, false},
		{certList, 3, 0, false},
		{rsaKeyC, 0, 1, true},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			r, err := LoadRing(c.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Certs) != c.certs || len(r.Keys) != c.bare {
				t.Fatalf("%d certificates, %d bare keys; want %d, %d", len(r.Certs), len(r.Keys), c.certs, c.bare)
			}
			if c.rsaPublicKey && !SamePublic(&rsaKey.PublicKey, r.Keys[0]) {
				t.Fatalf("bare key %T is not rsa2048's", r.Keys[0])
			}
			if filepath.Base(c.file) == "dsa1024.pub.pem" {
				if _, ok := r.Keys[0].(*dsa.PublicKey); !ok {
					t.Fatalf("DSA public key loaded as %T", r.Keys[0])
				}
			}
		})
	}
	if _, err := LoadRing(garbage); !errors.Is(err, ErrNoKey) {
		t.Fatalf("garbage: %v", err)
	}
	// The digsig blob really is what evmctl derives from the key: checked in package digsig;
	// here, that the round trip through the blob keeps the key.
	k, err := ParseDigsigBlob(DigsigBlob(&rsaKey.PublicKey))
	if err != nil || !k.Equal(&rsaKey.PublicKey) {
		t.Fatalf("digsig blob round trip: %v", err)
	}
}

// TestDerivedCertificate: Material.Certificate is byte-reproducible for RSA and carries the
// SKID OpenSSL computes for it.
func TestDerivedCertificate(t *testing.T) {
	signer := mustLoad(t, "rsa2048.key").Signer
	a, err := (&Material{Signer: signer}).Certificate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&Material{Signer: signer}).Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Raw, b.Raw) {
		t.Fatal("two derivations differ")
	}
	if !bytes.Equal(a.SubjectKeyId, a.AuthorityKeyId) || len(a.SubjectKeyId) != 20 {
		t.Fatalf("SKID %x, AKID %x", a.SubjectKeyId, a.AuthorityKeyId)
	}
	// The committed certificate for the same key was made by OpenSSL's subjectKeyIdentifier=hash.
	committed, _ := LoadCertificate(keyPath("rsa2048.der"))
	if !bytes.Equal(a.SubjectKeyId, committed.SubjectKeyId) {
		t.Fatalf("derived SKID %x, OpenSSL's %x", a.SubjectKeyId, committed.SubjectKeyId)
	}
	if SignerName(a) != DefaultUserID {
		t.Fatalf("derived signer name %q", SignerName(a))
	}
	// Another user id and creation time give another, equally reproducible, certificate.
	c, _ := (&Material{Signer: signer, UserID: "other"}).Certificate()
	if bytes.Equal(c.Raw, a.Raw) || !bytes.Equal(c.SubjectKeyId, a.SubjectKeyId) {
		t.Fatal("user id did not change the certificate, or changed the SKID")
	}
	// A given certificate is returned as is.
	m := mustLoad(t, "rsa2048.pem")
	if got, _ := m.Certificate(); !bytes.Equal(got.Raw, committed.Raw) {
		t.Fatal("Certificate replaced the given certificate")
	}

	peers.Require(t, "openssl")
	der := filepath.Join(t.TempDir(), "derived.der")
	os.WriteFile(der, a.Raw, 0o644)
	out, err := exec.Command("openssl", "x509", "-inform", "DER", "-in", der, "-noout", "-ext", "subjectKeyIdentifier").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, out)
	}
	want := strings.ToUpper(strings.Join(splitHex(hex.EncodeToString(a.SubjectKeyId)), ":"))
	if !strings.Contains(string(out), want) {
		t.Fatalf("openssl shows\n%s\nwant SKID %s", out, want)
	}
	out, err = exec.Command("openssl", "x509", "-inform", "DER", "-in", der, "-noout", "-text").Output()
	if err != nil || !strings.Contains(string(out), "CA:FALSE") || !strings.Contains(string(out), "Digital Signature") {
		t.Fatalf("openssl -text: %v\n%s", err, out)
	}
	if out, err := exec.Command("openssl", "verify", "-no-CApath", "-partial_chain", "-CAfile", pemOf(t, a.Raw), pemOf(t, a.Raw)).CombinedOutput(); err != nil {
		t.Fatalf("openssl verify of the self-signed derived certificate: %v\n%s", err, out)
	}
}

func splitHex(s string) []string {
	var out []string
	for i := 0; i+2 <= len(s); i += 2 {
		out = append(out, s[i:i+2])
	}
	return out
}

func pemOf(t *testing.T, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.pem")
	out, err := exec.Command("openssl", "x509", "-inform", "DER", "-outform", "PEM").Output()
	_ = out
	_ = err
	cmd := exec.Command("openssl", "x509", "-inform", "DER", "-outform", "PEM", "-out", p)
	cmd.Stdin = bytes.NewReader(der)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl x509 -outform PEM: %v\n%s", err, out)
	}
	return p
}
