package pkcs7sig

import (
	"bytes"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestRoundTripPeers: every CMS shape openssl makes (the §8.5 deviations, PKCS#7 v1 from
// smime, two signers) parses and re-marshals byte for byte.
func TestRoundTripPeers(t *testing.T) {
	unsigned := hello(t)
	for _, tc := range []struct {
		name, cmd string
		args      []string
	}{
		{"noattr nocerts", "cms", []string{"-noattr", "-nocerts"}},
		{"keyid", "cms", []string{"-noattr", "-nocerts", "-keyid"}},
		{"signed attributes", "cms", []string{"-nocerts"}},
		{"certificate", "cms", []string{"-noattr"}},
		{"attached", "cms", []string{"-noattr", "-nocerts", "-nodetach"}},
		{"pss", "cms", []string{"-noattr", "-nocerts", "-keyopt", "rsa_padding_mode:pss"}},
		{"smime", "smime", []string{"-noattr", "-nocerts"}},
		{"smime with certificate and attributes", "smime", nil},
		{"two signers", "cms", []string{"-noattr", "-signer", keyPath("ecdsa-p384", "crt"), "-inkey", keyPath("ecdsa-p384", "key")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cms := opensslSign(t, tc.cmd, unsigned, "rsa2048", "sha256", tc.args...)
			sd := mustParse(t, cms)
			if sd.BER {
				t.Fatal("openssl DER output reported as BER")
			}
			out, err := sd.Marshal()
			if err != nil || !bytes.Equal(out, cms) {
				t.Fatalf("round trip: err %v\nin  % x\nout % x", err, cms, out)
			}
		})
	}
}

// TestDeterministicECDSA: with SignOptions.Deterministic, ECDSA signing is reproducible, and
// the signature still verifies with openssl.
func TestDeterministicECDSA(t *testing.T) {
	unsigned := hello(t)
	k := material(t, "ecdsa-p384")
	o := formats.SignOptions{Hash: hashByName["sha384"], Deterministic: true}
	a, err := Driver{}.Sign(unsigned, k, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Driver{}.Sign(unsigned, k, o)
	if !bytes.Equal(a, b) {
		t.Error("deterministic ECDSA differs between runs")
	}
	payload, cms := split(t, a)
	opensslVerify(t, cms, payload, "ecdsa-p384")
}

// TestCRLs: a CRL list parses and round-trips; an empty one is accepted, a real-looking CRL
// is EBADMSG (the kernel reads CRL entries as certificates).
func TestCRLs(t *testing.T) {
	unsigned := hello(t)
	good := signFile(t, unsigned, "sha256", "rsa2048", false)
	_, cms := split(t, good)
	crl := []byte{0x30, 0x0e, 0x30, 0x03, 0x02, 0x01, 0x01, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x03, 0x01, 0x00}
	for _, tc := range []struct {
		name    string
		crls    [][]byte
		outcome formats.Outcome
	}{
		{"empty CRL set", nil, formats.OK},
		{"one CRL", [][]byte{crl}, formats.Corrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sd := mustParse(t, cms)
			sd.CRLs, sd.HasCRLs = tc.crls, true
			b, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			sd2 := mustParse(t, b)
			if !sd2.HasCRLs || len(sd2.CRLs) != len(tc.crls) {
				t.Fatalf("CRLs not parsed: %+v", sd2.CRLs)
			}
			if out, _ := sd2.Marshal(); !bytes.Equal(out, b) {
				t.Fatal("round trip differs")
			}
			v := Driver{}.Verify(formats.NewModule("c.ko", attach(unsigned, b, formats.ModSig{IDType: 2})), ring(t, "rsa2048"), formats.Policy{})
			if v.Outcome != tc.outcome {
				t.Errorf("Verify: %v", v)
			}
		})
	}
}
