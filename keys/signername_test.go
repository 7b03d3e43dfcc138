package keys

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/internal/peers"
)

const testKeys = "../testdata/keys"

// atv is one attribute of a subject: its OID, ASN.1 string tag and raw value bytes.
type atv struct {
	oid   asn1.ObjectIdentifier
	tag   int
	value string
}

func cn(v string) atv    { return atv{oidCN, asn1.TagUTF8String, v} }
func org(v string) atv   { return atv{oidO, asn1.TagUTF8String, v} }
func email(v string) atv { return atv{oidEmail, asn1.TagIA5String, v} }

// rawSubject encodes a Name with one RDN per group, in the order given (Go's pkix.Name would
// reorder and deduplicate).
func rawSubject(t testing.TB, groups ...[]atv) []byte {
	t.Helper()
	var seq pkix.RDNSequence
	for _, g := range groups {
		var set []pkix.AttributeTypeAndValue
		for _, a := range g {
			set = append(set, pkix.AttributeTypeAndValue{Type: a.oid, Value: asn1.RawValue{Tag: a.tag, Class: asn1.ClassUniversal, Bytes: []byte(a.value)}})
		}
		seq = append(seq, set)
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func one(as ...atv) [][]atv {
	var gs [][]atv
	for _, a := range as {
		gs = append(gs, []atv{a})
	}
	return gs
}

var testSKID = []byte{0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}

// certWithSubject makes a self-signed certificate with the given raw subject, signed by the
// committed rsa2048 key, with a fixed SKID.
func certWithSubject(t testing.TB, subject []byte) *x509.Certificate {
	t.Helper()
	k, err := LoadFile(filepath.Join(testKeys, "rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), RawSubject: subject, RawIssuer: subject,
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2120, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
		SubjectKeyId: testSKID, AuthorityKeyId: testSKID,
	}
	// RawIssuer is ignored for a self-signed template; the parent's RawSubject is used.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Signer.Public(), k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.RawSubject, subject) {
		t.Fatal("CreateCertificate did not keep the raw subject")
	}
	return c
}

var signerNameCases = []struct {
	name    string
	subject [][]atv
	want    string
}{
	{"CN starts with O", one(org("Magrathea"), cn("Magrathea Glacier key")), "Magrathea Glacier key"},
	{"CN equals O", one(org("Magrathea"), cn("Magrathea")), "Magrathea"},
	{"first 7 bytes equal", one(org("kmodsig test"), cn("kmodsig trusted RSA-2048")), "kmodsig trusted RSA-2048"},
	{"first 7 bytes equal, CN before O", one(cn("kmodsig trusted RSA-2048"), org("kmodsig test")), "kmodsig trusted RSA-2048"},
	{"first 6 bytes equal only", one(org("kmodsiX test"), cn("kmodsig trusted")), "kmodsiX test: kmodsig trusted"},
	{"O shorter than 7, not a prefix", one(org("Acme"), cn("Acmf signing key")), "Acme: Acmf signing key"},
	{"CN shorter than 7, O longer", one(org("kmodsig test"), cn("kmodsi")), "kmodsig test: kmodsi"},
	{"O and CN distinct", one(org("Red Hat"), cn("Fedora kernel signing key")), "Red Hat: Fedora kernel signing key"},
	{"O only", one(org("Only Org")), "Only Org"},
	{"CN only", one(cn("Only CN")), "Only CN"},
	{"email only", one(email("keys@example.org")), "keys@example.org"},
	{"CN and email: CN", one(email("keys@example.org"), cn("Build key")), "Build key"},
	{"O and email: O", one(org("Build Org"), email("keys@example.org")), "Build Org"},
	{"none (C and OU only)", one(atv{asn1.ObjectIdentifier{2, 5, 4, 6}, asn1.TagPrintableString, "DE"}, atv{asn1.ObjectIdentifier{2, 5, 4, 11}, asn1.TagUTF8String, "Unit"}), ""},
	{"repeated CN: last wins", one(org("Org"), cn("first"), cn("second")), "Org: second"},
	{"repeated O: last wins", one(org("Alpha"), org("Beta"), cn("Beta key")), "Beta key"},
	{"CN and O in one multi-valued RDN", [][]atv{{org("Red Hat"), cn("Fedora")}}, "Red Hat: Fedora"},
	{"raw UTF-8 bytes", one(org("Müller GmbH"), cn("Müller GmbH Modulschlüssel")), "Müller GmbH Modulschlüssel"},
	{"PrintableString values", one(atv{oidO, asn1.TagPrintableString, "Printable Org"}, atv{oidCN, asn1.TagPrintableString, "Other CN"}), "Printable Org: Other CN"},
}

// TestSignerName checks every branch of the kernel's x509_fabricate_name rule on
// certificates made here with explicit subjects, and asks the running kernel for its own
// derivation when it lets us add asymmetric keys (keyctl padd, then the key's description).
func TestSignerName(t *testing.T) {
	keyctl := ""
	if _, err := exec.LookPath("keyctl"); err == nil {
		keyctl = "keyctl"
	}
	for _, c := range signerNameCases {
		t.Run(c.name, func(t *testing.T) {
			cert := certWithSubject(t, rawSubject(t, c.subject...))
			if got := SignerName(cert); got != c.want {
				t.Fatalf("SignerName = %q, want %q", got, c.want)
			}
			if got, want := Description(cert), c.want+": "+hex.EncodeToString(testSKID); got != want {
				t.Fatalf("Description = %q, want %q", got, want)
			}
			if keyctl == "" {
				return
			}
			desc, ok := kernelDescription(t, cert.Raw)
			if !ok {
				return
			}
			if desc != Description(cert) {
				t.Fatalf("the kernel describes the key as %q, we derive %q", desc, Description(cert))
			}
		})
	}
}

// kernelDescription adds cert to the user keyring and returns the kernel's description;
// ok is false (and the test logs why) when the host kernel refuses.
func kernelDescription(t *testing.T, der []byte) (string, bool) {
	t.Helper()
	cmd := exec.Command("keyctl", "padd", "asymmetric", "", "@u")
	cmd.Stdin = bytes.NewReader(der)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("host kernel refuses asymmetric keys, no kernel cross-check: %v %s", err, bytes.TrimSpace(out))
		return "", false
	}
	id := strings.TrimSpace(string(out))
	defer exec.Command("keyctl", "unlink", id, "@u").Run()
	out, err = exec.Command("keyctl", "rdescribe", id).Output()
	if err != nil {
		t.Fatalf("keyctl rdescribe %s: %v", id, err)
	}
	parts := strings.SplitN(strings.TrimRight(string(out), "\n"), ";", 5)
	if len(parts) != 5 {
		t.Fatalf("keyctl rdescribe: %q", out)
	}
	return parts[4], true
}

// TestSignerNameCommittedCerts: the committed certificates' descriptions as the kernel shows
// them, and as testdata/keys/README.md tabulates them.
func TestSignerNameCommittedCerts(t *testing.T) {
	want := map[string]string{
		"rsa2048":           "kmodsig trusted RSA-2048",
		"rsa4096":           "kmodsig trusted RSA-4096",
		"ecdsa-p256":        "kmodsig trusted ECDSA P-256",
		"ecdsa-p384":        "kmodsig trusted ECDSA P-384",
		"untrusted-rsa2048": "kmodsig untrusted RSA-2048",
		"expired-rsa2048":   "kmodsig expired RSA-2048",
	}
	for name, signer := range want {
		c, err := LoadCertificate(filepath.Join(testKeys, name+".der"))
		if err != nil {
			t.Fatal(err)
		}
		if got := SignerName(c); got != signer {
			t.Fatalf("%s: SignerName = %q, want %q", name, got, signer)
		}
		if _, err := exec.LookPath("keyctl"); err != nil || strings.HasPrefix(name, "ecdsa") {
			continue // host kernels without ECDSA refuse those certificates
		}
		der, _ := os.ReadFile(filepath.Join(testKeys, name+".der"))
		if desc, ok := kernelDescription(t, der); ok && desc != Description(c) {
			t.Fatalf("%s: kernel %q, ours %q", name, desc, Description(c))
		}
	}
}

// TestDescriptionLeadingZeroSKID: a SKID starting with a zero byte keeps it in the
// description, in 3.7 (every byte through %02x) and, as the host kernel shows, today (the
// 3.18-era description code dropped one leading zero; the running kernel does not).
func TestDescriptionLeadingZeroSKID(t *testing.T) {
	skid := append([]byte{0}, testSKID[1:]...)
	k, err := LoadFile(filepath.Join(testKeys, "rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	subject := rawSubject(t, one(cn("zero skid"))...)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), RawSubject: subject,
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2120, 1, 1, 0, 0, 0, 0, time.UTC),
		SubjectKeyId: skid, AuthorityKeyId: skid}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Signer.Public(), k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	if got, want := Description(c), "zero skid: 00"+hex.EncodeToString(testSKID[1:]); got != want {
		t.Fatalf("Description = %q, want %q", got, want)
	}
	peers.Require(t, "keyctl")
	desc, ok := kernelDescription(t, der)
	if !ok {
		t.Skip("host kernel refuses asymmetric keys")
	}
	if desc != Description(c) {
		t.Fatalf("host kernel describes it as %q, we derive %q", desc, Description(c))
	}
}
