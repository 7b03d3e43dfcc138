package digsig

import (
	"bytes"
	"crypto"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// fuzzSeeds returns the committed evmctl signatures (without the 03 byte) and hand-made ones.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, v := range evmctlVectors {
		seeds = append(seeds, readFile(t, filepath.Join("testdata", v.file))[1:])
	}
	for _, h := range []string{v1Sample, "02 04 17f21b4a 0003 aabbcc", "03 14 deadbeef 0001 00", "01 00000000 05 00 0000000000000000 01 0000"} {
		seeds = append(seeds, mustHex(t, h))
	}
	return seeds
}

func fuzzRing(t testing.TB) *keys.Ring {
	r := &keys.Ring{}
	for _, name := range []string{"rsa2048", "ecdsa-p256"} {
		if m, err := keys.LoadFile(filepath.Join("..", "testdata", "keys", name+".pem")); err == nil {
			r.AddMaterial(m)
		}
	}
	return r
}

// FuzzParse: the codec never panics, accepted input round-trips byte for byte, and
// verifying whatever parsed never panics.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	ring := fuzzRing(f)
	digests := map[crypto.Hash][]byte{}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		digests[h] = make([]byte, h.Size())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			if _, ok := err.(*formats.FormatError); !ok {
				t.Fatalf("error %T is not a *formats.FormatError", err)
			}
			return
		}
		if out := s.Marshal(); !bytes.Equal(out, b) {
			t.Fatalf("Marshal = %x, input %x", out, b)
		}
		_ = s.KeyDescription()
		_ = s.HashName()
		v := s.Verify(digests, ring)
		if v.Outcome == formats.OK {
			t.Fatalf("random signature verified: %s", v)
		}
		if _, err := ParseImaXattr(append([]byte{3}, b...)); err != nil {
			t.Fatalf("ParseImaXattr rejects what Parse accepts: %v", err)
		}
	})
}

// FuzzTrailer: the driver never panics on a module tail; what Parse accepts strips and
// re-appends to the same bytes.
func FuzzTrailer(f *testing.F) {
	ko := helloKO(f)
	payload := ko[:64]
	for _, s := range fuzzSeeds(f) {
		m, err := AppendTrailer(payload, s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m)
	}
	f.Add(append(append([]byte("xx"), "287  "...), formats.Magic30...))
	f.Add([]byte(formats.Magic30))
	ring := fuzzRing(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("fuzz.ko", b)
		d := Driver{}
		detected := d.Detect(m)
		sig, err := d.Parse(m)
		v := d.Verify(m, ring, formats.Policy{})
		if err != nil {
			if _, ok := err.(*formats.FormatError); !ok {
				t.Fatalf("Parse error %T is not a *formats.FormatError", err)
			}
			if v.Outcome == formats.OK {
				t.Fatal("unparseable module verified")
			}
			return
		}
		if !detected {
			// Parse is more lenient than Detect only for gpg-looking binary lengths.
			if l := formats.ReadMagic30Length(m); l.BE16>>8 < 0x20 {
				t.Fatalf("Parse accepts what Detect does not claim")
			}
		}
		stripped, err := d.Strip(m)
		if err != nil || int64(len(stripped)) != sig.PayloadLen {
			t.Fatalf("Strip: %v", err)
		}
		raw := b[sig.Offset : sig.Offset+sig.Length-trailerSize]
		again, err := AppendTrailer(stripped, raw)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-append differs: %v", err)
		}
	})
}
