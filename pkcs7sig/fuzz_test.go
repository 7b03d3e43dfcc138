package pkcs7sig

import (
	"bytes"
	"crypto"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// seedModules signs hello.ko with every committed key, several hashes and both signer forms
// (our Sign is byte-identical to sign-file for RSA, TestSignMatchesSignFile), plus a double
// signature.
func seedModules(f *testing.F) [][]byte {
	f.Helper()
	unsigned := hello(f)
	var out [][]byte
	// Few and cheap: every fuzz worker runs this setup under coverage instrumentation.
	for _, key := range []string{"rsa2048", "ecdsa-p256"} {
		m := material(f, key)
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA384} {
			for _, skid := range []bool{false, true} {
				b, err := Driver{}.Sign(unsigned, m, formats.SignOptions{Hash: h, KeyID: skid})
				if err != nil {
					f.Fatal(err)
				}
				out = append(out, b)
			}
		}
	}
	twice, err := Driver{}.Sign(out[0], material(f, "rsa2048"), formats.SignOptions{})
	if err != nil {
		f.Fatal(err)
	}
	return append(out, twice, unsigned)
}

// FuzzParseCMS: ParseCMS never panics, and a DER blob it accepts re-marshals byte for byte
// (for sign-file's profile and for everything else the kernel grammar admits).
func FuzzParseCMS(f *testing.F) {
	for _, mod := range seedModules(f) {
		if !bytes.HasSuffix(mod, []byte(formats.Marker)) {
			continue
		}
		_, cms := split(f, mod)
		f.Add(cms)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := ParseCMS(b)
		if err != nil {
			return
		}
		out, err := sd.Marshal()
		if err != nil {
			t.Fatalf("Marshal after a successful parse: %v", err)
		}
		if !sd.BER && !bytes.Equal(out, b) {
			t.Fatalf("round trip differs\nin  % x\nout % x", b, out)
		}
		if sd.BER {
			// The normalised form is DER and must itself round-trip.
			sd2, err := ParseCMS(out)
			if err != nil {
				t.Fatalf("normalised form does not parse: %v", err)
			}
			if out2, _ := sd2.Marshal(); sd2.BER || !bytes.Equal(out2, out) {
				t.Fatalf("normalised form does not round-trip")
			}
		}
		for i := range sd.SignerInfos {
			si := &sd.SignerInfos[i]
			_ = si.IssuerName()
			_ = si.Describe()
		}
	})
}

// FuzzDriver runs every driver entry point over arbitrary module bytes: no panics, errors
// are *formats.FormatError with format pkcs7, and what Parse accepts Strip carves.
func FuzzDriver(f *testing.F) {
	for _, mod := range seedModules(f) {
		f.Add(mod)
	}
	trusted := ring(f, "rsa2048", "ecdsa-p256")
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("f.ko", b)
		d := Driver{}
		_ = d.Detect(m)
		sig, err := d.Parse(m)
		if err != nil {
			if fe, ok := err.(*formats.FormatError); !ok || fe.Format != Format {
				t.Fatalf("Parse error %T %v", err, err)
			}
		}
		stripped, serr := d.Strip(m)
		if err == nil {
			if serr != nil || int64(len(stripped)) != sig.PayloadLen || !bytes.Equal(stripped, b[:sig.PayloadLen]) {
				t.Fatalf("Parse accepted but Strip: %v", serr)
			}
		}
		v := d.Verify(m, trusted, formats.Policy{})
		if v.Permissive == "" || v.Enforcing == "" || v.Outcome == "" {
			t.Fatalf("incomplete verdict %+v", v)
		}
	})
}

// FuzzBER: the BER normaliser never panics and its output is DER that normalises to itself.
func FuzzBER(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00})
	f.Add([]byte{0x30, 0x81, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := berToDER(b)
		if err != nil {
			return
		}
		again, err := berToDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v", err)
		}
	})
}
