package pkcs7sig

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
	"go.mozilla.org/pkcs7"
)

// TestSignMatchesSignFile is the byte-identity proof of ORACLES.md §2.2: for RSA-2048 and
// RSA-4096, every sign-file hash, issuer+serial and SKID, our Sign equals sign-file's output
// on the same module with the same key and certificate; openssl cms, certtool, modinfo and
// go.mozilla.org/pkcs7 then check the result independently.
func TestSignMatchesSignFile(t *testing.T) {
	unsigned := hello(t)
	for _, key := range []string{"rsa2048", "rsa4096"} {
		m := material(t, key)
		r := ring(t, key)
		for _, hash := range []string{"sha1", "sha224", "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"} {
			for _, skid := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/skid=%v", key, hash, skid)
				t.Run(name, func(t *testing.T) {
					ref := signFile(t, unsigned, hash, key, skid)
					got, err := Driver{}.Sign(unsigned, m, formats.SignOptions{Hash: hashByName[hash], KeyID: skid})
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, ref) {
						_, a := split(t, got)
						_, b := split(t, ref)
						t.Fatalf("differs from sign-file: ours %d bytes, sign-file %d bytes\nours % x\nref  % x", len(got), len(ref), a, b)
					}
					payload, cms := split(t, got)
					if !bytes.Equal(payload, unsigned) {
						t.Fatal("payload is not the unsigned module")
					}
					opensslVerify(t, cms, payload, key)
					certtoolVerify(t, cms, payload, key)

					mod := formats.NewModule("m.ko", got)
					sig, err := Driver{}.Parse(mod)
					if err != nil {
						t.Fatal(err)
					}
					mi := modinfoSig(t, got)
					if skid || strings.HasPrefix(hash, "sha3-") {
						// kmod 30 prints no signature lines for a SKID signer, nor for a
						// SHA-3 digest it cannot name [OBS].
						if len(mi) != 0 {
							t.Errorf("modinfo printed %v; kmod 30 prints nothing here", mi)
						}
					}
					if skid {
						if sig.Signer != "" || !bytes.Equal(sig.KeyID, m.Cert.SubjectKeyId) {
							t.Errorf("Parse: signer %q key %x, want empty signer and SKID %x", sig.Signer, sig.KeyID, m.Cert.SubjectKeyId)
						}
					} else if !strings.HasPrefix(hash, "sha3-") {
						want := map[string]string{
							"sig_id": sig.SigID, "signer": sig.Signer, "sig_key": colonHex(sig.KeyID, true),
							"sig_hashalgo": sig.HashAlgo, "signature": colonHex(sig.Value, true),
						}
						for k, w := range want {
							if mi[k] != w {
								t.Errorf("%s: modinfo %q, Parse %q", k, mi[k], w)
							}
						}
						mozillaCheck(t, cms, payload, m.Cert, hash)
					}
					pol := formats.Policy{}
					if strings.HasPrefix(hash, "sha3-") {
						// SHA-3 arrived in 6.7; 6.1 does not know the digest OID.
						if v := (Driver{}).Verify(mod, r, pol); v.Outcome != formats.Unsupported || v.Enforcing != formats.ErrnoEKEYREJECTED {
							t.Errorf("Verify linux-6.1: %v, want unsupported", v)
						}
						pol.Kernel = "linux-6.7"
					}
					v := Driver{}.Verify(mod, r, pol)
					if v.Outcome != formats.OK || v.Permissive != formats.ErrnoOK || v.Enforcing != formats.ErrnoOK {
						t.Errorf("Verify: %v", v)
					}
				})
			}
		}
	}
}

// mozillaCheck parses the CMS with go.mozilla.org/pkcs7 (an independent parser) and compares
// the fields; for the hashes that library and crypto/x509 accept it also verifies.
func mozillaCheck(t *testing.T, cms, payload []byte, cert *x509.Certificate, hash string) {
	t.Helper()
	p7, err := pkcs7.Parse(cms)
	if err != nil {
		t.Fatalf("go.mozilla.org/pkcs7: %v", err)
	}
	if len(p7.Signers) != 1 || len(p7.Certificates) != 0 || p7.Content != nil {
		t.Fatalf("go.mozilla.org/pkcs7: %d signers, %d certs, content %v", len(p7.Signers), len(p7.Certificates), p7.Content != nil)
	}
	s := p7.Signers[0]
	if !bytes.Equal(s.IssuerAndSerialNumber.IssuerName.FullBytes, cert.RawIssuer) || s.IssuerAndSerialNumber.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("go.mozilla.org/pkcs7: issuer/serial differ from the certificate")
	}
	if len(s.AuthenticatedAttributes) != 0 {
		t.Errorf("go.mozilla.org/pkcs7: signed attributes present")
	}
	if d := digestByOID(s.DigestAlgorithm.Algorithm); d == nil || d.name != hash {
		t.Errorf("go.mozilla.org/pkcs7: digest %v, want %s", s.DigestAlgorithm.Algorithm, hash)
	}
	if !s.DigestEncryptionAlgorithm.Algorithm.Equal(oidRSAEncryption) {
		t.Errorf("go.mozilla.org/pkcs7: signature algorithm %v", s.DigestEncryptionAlgorithm.Algorithm)
	}
	if hash == "sha256" || hash == "sha384" || hash == "sha512" {
		p7.Content = payload
		p7.Certificates = []*x509.Certificate{cert}
		if err := p7.Verify(); err != nil {
			t.Errorf("go.mozilla.org/pkcs7 Verify: %v", err)
		}
		p7.Content = append([]byte{'x'}, payload...)
		if err := p7.Verify(); err == nil {
			t.Errorf("go.mozilla.org/pkcs7 Verify accepted a modified payload")
		}
	}
}

// TestECDSAOpenSSLVerifies: ECDSA signatures are randomised, so they are checked by openssl
// and certtool, and their structure (everything but the signature value) against sign-file's.
func TestECDSAOpenSSLVerifies(t *testing.T) {
	unsigned := hello(t)
	for _, tc := range []struct{ key, hash string }{
		{"ecdsa-p256", "sha256"}, {"ecdsa-p256", "sha512"}, {"ecdsa-p384", "sha384"}, {"ecdsa-p384", "sha256"}, {"ecdsa-p256", "sha1"},
	} {
		for _, skid := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%s/skid=%v", tc.key, tc.hash, skid), func(t *testing.T) {
				m := material(t, tc.key)
				got, err := Driver{}.Sign(unsigned, m, formats.SignOptions{Hash: hashByName[tc.hash], KeyID: skid})
				if err != nil {
					t.Fatal(err)
				}
				payload, cms := split(t, got)
				opensslVerify(t, cms, payload, tc.key)
				certtoolVerify(t, cms, payload, tc.key)
				ref := signFile(t, unsigned, tc.hash, tc.key, skid)
				_, refCMS := split(t, ref)
				a, b := mustParse(t, cms), mustParse(t, refCMS)
				a.SignerInfos[0].Signature, b.SignerInfos[0].Signature = nil, nil
				ma, _ := a.Marshal()
				mb, _ := b.Marshal()
				if !bytes.Equal(ma, mb) {
					t.Errorf("structure differs from sign-file's\nours % x\nref  % x", ma, mb)
				}
				v := Driver{}.Verify(formats.NewModule("m.ko", got), ring(t, tc.key), formats.Policy{})
				if v.Outcome != formats.OK {
					t.Errorf("Verify: %v", v)
				}
				// sign-file's own ECDSA output verifies with our Verify.
				if v := (Driver{}).Verify(formats.NewModule("ref.ko", ref), ring(t, tc.key), formats.Policy{}); v.Outcome != formats.OK {
					t.Errorf("Verify(sign-file output): %v", v)
				}
			})
		}
	}
}

func mustParse(t testing.TB, cms []byte) *SignedData {
	t.Helper()
	sd, err := ParseCMS(cms)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func TestSignRefuses(t *testing.T) {
	unsigned := hello(t)
	dsa, err := keys.LoadFile(keyPath("dsa1024", "key"))
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		k    *keys.Material
		o    formats.SignOptions
		want error
	}{
		{"dsa", dsa, formats.SignOptions{}, formats.ErrKeyType},
		{"ed25519", &keys.Material{Signer: edKey}, formats.SignOptions{}, formats.ErrKeyType},
		{"md5", material(t, "rsa2048"), formats.SignOptions{Hash: crypto.MD5}, formats.ErrHash},
		{"rmd160", material(t, "rsa2048"), formats.SignOptions{Hash: crypto.RIPEMD160}, formats.ErrHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := (Driver{}).Sign(unsigned, tc.k, tc.o); !errors.Is(err, tc.want) {
				t.Errorf("Sign: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestECDSASHA3 signs with the id-ecdsa-with-sha3-* OIDs (Linux 6.7+). sign-file on OpenSSL 3.0
// cannot make these ("unsupported signature algorithm"), so openssl cms -verify and certtool
// are the oracles.
func TestECDSASHA3(t *testing.T) {
	unsigned := hello(t)
	for _, key := range []string{"ecdsa-p256", "ecdsa-p384"} {
		for _, hash := range []string{"sha3-256", "sha3-384", "sha3-512"} {
			t.Run(key+"/"+hash, func(t *testing.T) {
				got, err := Driver{}.Sign(unsigned, material(t, key), formats.SignOptions{Hash: hashByName[hash]})
				if err != nil {
					t.Fatal(err)
				}
				payload, cms := split(t, got)
				opensslVerify(t, cms, payload, key)
				sd := mustParse(t, cms)
				if want := ecdsaOID(hashByName[hash]); !sd.SignerInfos[0].SignatureAlgorithm.Algorithm.Equal(want) {
					t.Errorf("signatureAlgorithm %v, want %v", sd.SignerInfos[0].SignatureAlgorithm.Algorithm, want)
				}
				m := formats.NewModule("m.ko", got)
				if v := (Driver{}).Verify(m, ring(t, key), formats.Policy{Kernel: "linux-6.7"}); v.Outcome != formats.OK {
					t.Errorf("linux-6.7: %v", v)
				}
				if v := (Driver{}).Verify(m, ring(t, key), formats.Policy{Kernel: "linux-6.1"}); v.Outcome != formats.Unsupported {
					t.Errorf("linux-6.1: %v", v)
				}
			})
		}
	}
}
