package gpgsig

import (
	"bytes"
	"crypto"
	"errors"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// FuzzGPG2012: the trailer reader never panics; errors are FormatErrors; Strip returns a
// prefix of the input; Verify always names an outcome and both kernel results.
func FuzzGPG2012(f *testing.F) {
	k := loadKey(f, "rsa2048.key")
	if _, err := k.OpenPGP(); err != nil {
		f.Fatal(err)
	}
	ring := &keys.Ring{}
	ring.AddMaterial(k)
	payload := []byte("\x7fELF tiny payload for the fuzzer")
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		signed, err := Driver{}.Sign(payload, k, formats.SignOptions{Hash: h})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
	}
	seedSigs(f) // bare packets: not modules, but good mutation material
	f.Add([]byte("1    " + formats.Magic30))
	f.Add(append([]byte{0x88, 0x01, 0x04}, []byte("3    "+formats.Magic30)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("fuzz.ko", b)
		d := Driver{}
		detected := d.Detect(m)
		_, perr := d.Parse(m)
		if perr != nil {
			var fe *formats.FormatError
			if !errors.As(perr, &fe) {
				t.Fatalf("Parse error is not a FormatError: %v", perr)
			}
		}
		if s, err := d.Strip(m); err == nil {
			if !bytes.HasPrefix(b, s) || len(s) >= len(b) {
				t.Fatalf("Strip returned %d bytes of %d, not a proper prefix", len(s), len(b))
			}
		} else if detected && perr == nil {
			t.Fatalf("Detect and Parse accept it but Strip failed: %v", err)
		}
		for _, kernel := range []string{KernelHowells, KernelHowellsEarly} {
			v := d.Verify(m, ring, formats.Policy{Kernel: kernel})
			if v.Outcome == "" || v.Permissive == "" || v.Enforcing == "" || v.Reason == "" {
				t.Fatalf("incomplete verdict %+v", v)
			}
			if detected && v.Outcome == formats.Unsigned {
				t.Fatal("detected but unsigned")
			}
		}
	})
}
