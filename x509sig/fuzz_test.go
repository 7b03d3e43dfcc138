package x509sig

import (
	"bytes"
	"crypto"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// FuzzParse feeds the x509 and pgp-trailer readers arbitrary modules, seeded from every
// module and ELF fixture in testdata, signed and unsigned, in both layouts and damaged. No
// reader may panic, and whatever Parse accepts without error must reassemble byte for byte
// from the parts it reported.
func FuzzParse(f *testing.F) {
	k := loadKey(f, "rsa2048")
	var seeds [][]byte
	for _, glob := range []string{"modules/*.ko", "elf/*.ko"} {
		paths, _ := filepath.Glob(filepath.Join(testdata, glob))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	if len(seeds) == 0 {
		f.Fatal("no testdata modules")
	}
	for _, b := range append([][]byte(nil), seeds...) {
		signed := sign(f, b, k, crypto.SHA256)
		pgp, _ := formats.AppendModSig(b, []byte("pgp"), []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{0x89, 0, 3, 1, 2, 3}, formats.ModSig{Algo: 1, Hash: 2})
		seeds = append(seeds, signed, toRC1(f, signed, len(b)), pgp, signed[len(signed)-400:])
	}
	seeds = append(seeds, []byte(formats.Marker), append([]byte{1, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 2}, formats.Marker...))
	for _, s := range seeds {
		f.Add(s)
	}
	ring := ringOf(f, "rsa2048")
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("fuzz.ko", b)
		for _, d := range []formats.Driver{Driver{}, PGPDriver{}} {
			detected := d.Detect(m)
			s, err := d.Parse(m)
			stripped, serr := d.Strip(m)
			for _, kernel := range Kernels() {
				v := d.Verify(m, ring, formats.Policy{Kernel: kernel})
				if v.Permissive == "" || v.Enforcing == "" || v.Outcome == "" {
					t.Fatalf("%s %s: incomplete verdict %+v", d.ID(), kernel, v)
				}
			}
			if err != nil {
				continue
			}
			if !detected {
				t.Fatalf("%s: Parse accepted what Detect refused", d.ID())
			}
			if serr != nil || int64(len(stripped)) != s.PayloadLen {
				t.Fatalf("%s: Strip %v, %d bytes, PayloadLen %d", d.ID(), serr, len(stripped), s.PayloadLen)
			}
			idType := uint8(formats.IDTypeX509)
			if d.ID() == PGPID {
				idType = formats.IDTypePGP
			}
			l, err := locate(m, d.ID(), idType)
			if err != nil {
				t.Fatal(err)
			}
			var re []byte
			if s.Variant == VariantRC1 {
				re = append(append([]byte(nil), stripped...), formats.Marker...)
				re = append(append(append(append(re, s.Signer...), s.KeyID...), s.Value...), l.block.Marshal()...)
			} else {
				re, err = formats.AppendModSig(stripped, []byte(s.Signer), s.KeyID, s.Value, l.block)
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(re, b) {
				t.Fatalf("%s: reassembled %d bytes differ from the %d parsed", d.ID(), len(re), len(b))
			}
		}
	})
}
