package x509sig

import (
	"bytes"
	"crypto"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// toRC1 rearranges a released-layout x509 module into the 3.7-rc1 layout
// payload ‖ MARKER ‖ signer ‖ key_id ‖ sig ‖ block.
func toRC1(t testing.TB, signed []byte, payloadLen int) []byte {
	t.Helper()
	n := len(signed)
	block := signed[n-40 : n-28]
	out := append([]byte(nil), signed[:payloadLen]...)
	out = append(out, formats.Marker...)
	out = append(out, signed[payloadLen:n-40]...)
	return append(out, block...)
}

func TestRC1(t *testing.T) {
	unsigned := hello(t)
	signed := sign(t, unsigned, loadKey(t, "rsa2048"), crypto.SHA256)
	ring := ringOf(t, "rsa2048")
	rc1 := toRC1(t, signed, len(unsigned))
	m := mod(rc1)
	if !(Driver{}).Detect(m) {
		t.Fatal("rc1 layout not detected")
	}
	if (PGPDriver{}).Detect(m) {
		t.Fatal("pgp-trailer claims rc1")
	}
	s, err := Driver{}.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Driver{}.Parse(mod(signed))
	if s.Variant != VariantRC1 || s.Signer != want.Signer || !bytes.Equal(s.KeyID, want.KeyID) || !bytes.Equal(s.Value, want.Value) ||
		s.PayloadLen != int64(len(unsigned)) || s.Offset != int64(len(unsigned)) || s.Length != int64(len(rc1)-len(unsigned)) {
		t.Fatalf("Parse = %+v", s)
	}
	if st, err := (Driver{}).Strip(m); err != nil || !bytes.Equal(st, unsigned) {
		t.Fatalf("Strip: %v", err)
	}
	tampered := edit(rc1, func(b []byte) []byte { b[1000] ^= 0x80; return b })
	for _, c := range []struct {
		name      string
		b         []byte
		kernel    string
		outcome   formats.Outcome
		perm, enf formats.Errno
	}{
		{"default model", rc1, "", formats.OK, "OK", "OK"},
		{"rc1 kernel", rc1, Kernel37RC1, formats.OK, "OK", "OK"},
		{"rc1 kernel, tampered", tampered, Kernel37RC1, formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED"},
		{"released 3.7 sees it unsigned", rc1, Kernel37, formats.OK, "OK", "ENOKEY"},
		{"6.1 sees it unsigned", rc1, Kernel61, formats.Unsigned, "OK", "EKEYREJECTED"},
		{"rc1 kernel, unknown key", rc1, Kernel37RC1, formats.UnknownKey, "OK", "ENOKEY"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ring
			if c.outcome == formats.UnknownKey {
				r = ringOf(t, "rsa4096")
			}
			v := Driver{}.Verify(mod(c.b), r, formats.Policy{Kernel: c.kernel})
			if v.Outcome != c.outcome || v.Permissive != c.perm || v.Enforcing != c.enf {
				t.Fatalf("Verify = %s / %s / %s, want %s / %s / %s: %s", v.Outcome, v.Permissive, v.Enforcing, c.outcome, c.perm, c.enf, v.Reason)
			}
			if c.kernel != Kernel61 && v.Variant != VariantRC1 {
				t.Fatalf("variant %q", v.Variant)
			}
			if c.kernel == Kernel37 && !strings.Contains(strings.Join(v.Notes, "\n"), "treats this rc1-layout module as unsigned") {
				t.Fatalf("notes %q", v.Notes)
			}
		})
	}
}

// TestRC1MarkerInsideELF: a marker string inside the ELF image (here written over .modinfo)
// with a forged block whose lengths add up exactly must not be taken for an rc1 signature;
// the same construction past the end of the image is.
func TestRC1MarkerInsideELF(t *testing.T) {
	unsigned := hello(t)
	f, err := elf.NewFile(bytes.NewReader(unsigned))
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".modinfo")
	if sec == nil || sec.Size < 28 {
		t.Fatal("hello.ko has no .modinfo")
	}
	forge := func(b []byte, p int) []byte {
		copy(b[p:], formats.Marker)
		blk := formats.ModSig{Algo: 1, Hash: 4, IDType: 1, SigLen: uint32(len(b) - p - 28)}
		return append(b, blk.Marshal()...)
	}
	inside := forge(append([]byte(nil), unsigned...), int(sec.Offset))
	if end, err := elfImageEnd(mod(inside[:sec.Offset])); err == nil && end <= int64(sec.Offset) {
		t.Fatalf("test construction: ELF end %d not beyond the marker at %d", end, sec.Offset)
	}
	if (Driver{}).Detect(mod(inside)) {
		t.Fatal("a marker inside .modinfo was taken for an rc1 signature")
	}
	if _, err := (Driver{}).Parse(mod(inside)); err == nil {
		t.Fatal("Parse accepted a marker inside the ELF image")
	}
	// The same forged block with the marker past the ELF image is claimed.
	past := append(append([]byte(nil), unsigned...), bytes.Repeat([]byte{0xaa}, 40)...)
	past = forge(past, len(unsigned))
	if !(Driver{}).Detect(mod(past)) {
		t.Fatal("marker after the ELF image with exact lengths not detected")
	}
	// Lengths that do not add up exactly are not rc1.
	off := edit(past, func(b []byte) []byte {
		n := len(b)
		binary.BigEndian.PutUint32(b[n-4:], binary.BigEndian.Uint32(b[n-4:])-1)
		return b
	})
	if (Driver{}).Detect(mod(off)) {
		t.Fatal("rc1 detected with lengths one byte short")
	}
	// Not ELF at all: never rc1.
	junk := append(bytes.Repeat([]byte{0}, 100), past[len(unsigned):]...)
	if (Driver{}).Detect(mod(junk)) {
		t.Fatal("rc1 detected in a non-ELF file")
	}
}

func TestELFImageEnd(t *testing.T) {
	for _, name := range []string{"modules/hello.ko", "elf/x86_64.ko", "elf/i386.ko", "elf/ppc32be.ko", "elf/s390x.ko"} {
		b := readFile(t, name)
		end, err := elfImageEnd(mod(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// An unsigned ET_REL file produced by the toolchain ends with its section header
		// table, so the image is the whole file.
		if end != int64(len(b)) {
			t.Fatalf("%s: ELF end %d, file size %d", name, end, len(b))
		}
	}
}

// TestRC1AcrossELFKinds: the rc1 layout is recognised on 32- and 64-bit, little- and
// big-endian modules, and verifies with the rc1 model.
func TestRC1AcrossELFKinds(t *testing.T) {
	k := loadKey(t, "rsa2048")
	ring := ringOf(t, "rsa2048")
	for _, name := range []string{"elf/x86_64.ko", "elf/i386.ko", "elf/ppc32be.ko", "elf/s390x.ko"} {
		unsigned := readFile(t, name)
		rc1 := toRC1(t, sign(t, unsigned, k, crypto.SHA1), len(unsigned))
		if !(Driver{}).Detect(mod(rc1)) {
			t.Fatalf("%s: rc1 not detected", name)
		}
		if v := (Driver{}).Verify(mod(rc1), ring, formats.Policy{}); v.Outcome != formats.OK || v.Kernel != Kernel37RC1 || v.Enforcing != formats.ErrnoOK {
			t.Fatalf("%s: %v", name, v)
		}
		if st, err := (Driver{}).Strip(mod(rc1)); err != nil || !bytes.Equal(st, unsigned) {
			t.Fatalf("%s: Strip %v", name, err)
		}
	}
}
