package keys

import (
	"bytes"
	"strings"
	"testing"
)

// TestGenerateValidity: a validity ending after 9999-12-31 is refused with a sentence, not
// x509's "cannot represent time as GeneralizedTime".
func TestGenerateValidity(t *testing.T) {
	_, err := Generate(GenerateOptions{Type: "ecdsa-p256", CommonName: "k", Days: 3000000})
	if err == nil || !strings.Contains(err.Error(), "after 9999-12-31") {
		t.Fatalf("Generate with 3,000,000 days: %v", err)
	}
	if _, err := Generate(GenerateOptions{Type: "ecdsa-p256", CommonName: "k", Days: 2800000}); err != nil {
		t.Fatalf("Generate with 2,800,000 days (to about 9690): %v", err)
	}
}

// TestGenkeyExtensions: the certificates kmodsig derives and generates carry exactly the
// extensions openssl wrote from the kernel's x509.genkey into the committed certificates
// (testdata/keys/gen.sh): same order, criticality and bytes (the SKID, a hash of the key, is
// the same for the same key).
func TestGenkeyExtensions(t *testing.T) {
	for _, name := range []string{"rsa2048", "rsa4096", "ecdsa-p256", "ecdsa-p384"} {
		openssl, err := LoadCertificate(keyPath(name + ".crt"))
		if err != nil {
			t.Fatal(err)
		}
		derived, err := mustLoad(t, name+".key").Certificate()
		if err != nil {
			t.Fatal(err)
		}
		if len(derived.Extensions) != len(openssl.Extensions) {
			t.Fatalf("%s: %d extensions, openssl's has %d", name, len(derived.Extensions), len(openssl.Extensions))
		}
		for i, want := range openssl.Extensions {
			got := derived.Extensions[i]
			if !got.Id.Equal(want.Id) || got.Critical != want.Critical || !bytes.Equal(got.Value, want.Value) {
				t.Errorf("%s: extension %d is %v critical=%v %x; openssl's is %v critical=%v %x", name, i, got.Id, got.Critical, got.Value, want.Id, want.Critical, want.Value)
			}
		}
	}
}

// TestGenerateExtensions: keys generate writes the same extensions as the derived ones.
func TestGenerateExtensions(t *testing.T) {
	pemData, err := Generate(GenerateOptions{Type: "ecdsa-p256", CommonName: "k", Days: 10})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(pemData)
	if err != nil || m.Cert == nil {
		t.Fatalf("generated PEM: %v", err)
	}
	want := genkeyExtensions(m.Cert.SubjectKeyId)
	if len(m.Cert.Extensions) != len(want) {
		t.Fatalf("%d extensions, want %d", len(m.Cert.Extensions), len(want))
	}
	for i, e := range m.Cert.Extensions {
		if !e.Id.Equal(want[i].Id) || e.Critical != want[i].Critical || !bytes.Equal(e.Value, want[i].Value) {
			t.Errorf("extension %d: %v %v %x, want %v %v %x", i, e.Id, e.Critical, e.Value, want[i].Id, want[i].Critical, want[i].Value)
		}
	}
}
