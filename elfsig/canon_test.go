package elfsig

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// canonFixtures are the unsigned modules whose canonical streams are golden files. The
// golden files testdata/elf/canon-NAME.rhel5 and canon-NAME.rhel6 are made by an
// independent route: testdata/elf/canon.py, a stdlib-only Python 3 script written from
// FORMATS.md (not from this package), run as
//
//	python3 testdata/elf/canon.py --golden testdata/elf testdata/elf/*.ko testdata/modules/hello.ko
//
// They are never regenerated from the Go code. They also equal, byte for byte, the output of
// the era's own mod-extract for RHEL5 and RHEL6 (TestCanonicalModExtract, run by hand since
// that tool is GPL kernel-tree code). TestCanonicalHandComputed pins fields of
// i386.ko computed by hand from `readelf -SW -r -s`, so a shared misreading of FORMATS.md by
// both implementations would still be caught on the points it checks.
var canonFixtures = []struct{ name, path string }{
	{"x86_64", "../testdata/elf/x86_64.ko"},   // ELF64 LE, RELA
	{"i386", "../testdata/elf/i386.ko"},       // ELF32 LE, REL
	{"ppc32be", "../testdata/elf/ppc32be.ko"}, // ELF32 BE, RELA
	{"s390x", "../testdata/elf/s390x.ko"},     // ELF64 BE, RELA
	{"hello", "../testdata/modules/hello.ko"}, // real kbuild module, x86-64
}

func cnReadFixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

func TestCanonicalGolden(t *testing.T) {
	for _, fx := range canonFixtures {
		for _, p := range []CanonParams{CanonRHEL5, CanonRHEL6, CanonHowells2012} {
			golden := p.Format
			name := fx.name + "/" + golden
			if p.StrictSymbols {
				name += "-howells"
			}
			t.Run(name, func(t *testing.T) {
				mod := cnReadFixture(t, fx.path)
				want := cnReadFixture(t, filepath.Join("../testdata/elf", "canon-"+fx.name+"."+golden))
				got, err := Canonical(formats.NewModule(fx.path, mod), p)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					i := 0
					for i < len(got) && i < len(want) && got[i] == want[i] {
						i++
					}
					t.Fatalf("canonical stream differs from golden at byte %d (got %d bytes, golden %d)", i, len(got), len(want))
				}
			})
		}
	}
}

// TestCanonicalHandComputed checks fields of i386.ko's streams computed by hand from
// readelf (ELF32 LE, REL):
//
//	[ 1] .text   PROGBITS off 0x40 size 0xc0 flags AX (6) align 16
//	[ 2] .rel.text REL size 0x68 flags I (0x40) align 4, info 1
//	[ 4] .bss    NOBITS size 0x80 flags WA (3) align 32
//	ALLOC sections sorted: .bss .data .data.rel.local .gnu.linkonce.this_module .init.text
//	  .modinfo .rodata .rodata.str1.1 .text → rhel5 canonmap: .bss=1, .rodata.str1.1=8, .text=9
//	rhel6 adds the four .rel.* sections: .bss=1, .rodata.str1.1=12, .text=13
//	.rel.text entry 0: offset 6, info 0x0a01 → symbol 10 fixture_buf (value 0, size 128,
//	  GLOBAL OBJECT = 0x11, section 4 = .bss), R_386_32 (1)
//	entry 1: offset 0x10, symbol 3 (section symbol of .rodata.str1.1, LOCAL SECTION = 0x03)
//	entry 3: offset 0x1a, info 0x0b02 → symbol 11 printk (UND, GLOBAL NOTYPE = 0x10), R_386_PC32
func TestCanonicalHandComputed(t *testing.T) {
	mod := cnReadFixture(t, "../testdata/elf/i386.ko")
	m := formats.NewModule("i386.ko", mod)
	le := binary.LittleEndian
	u32 := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = le.AppendUint32(b, x)
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// record: r_offset, st_value, st_size (u32), st_shndx (u16), r_type, st_info, st_other (u8)
	rec := func(off, val, size uint32, shndx uint16, typ, info byte) []byte {
		return cat(u32(off, val, size), le.AppendUint16(nil, shndx), []byte{typ, info, 0})
	}

	r5, err := Canonical(m, CanonRHEL5)
	if err != nil {
		t.Fatal(err)
	}
	text := cat([]byte(".text"), u32(1, 6, 0xc0, 16), mod[0x40:0x40+0xc0])
	relHdr5 := cat([]byte(".rel.text"), u32(9, 0x40, 0x68, 4), u32(9))
	want5 := cat(text, relHdr5,
		rec(6, 0, 128, 1, 1, 0x11),
		rec(0x10, 0, 0, 8, 1, 0x03),
		rec(0x15, 0, 0, 8, 1, 0x03),
		rec(0x1a, 0, 0, 0, 2, 0x10), []byte("printk\x00"))
	if !bytes.HasPrefix(r5, want5) {
		t.Errorf("rhel5 stream starts\n%s\nwant\n%s", hex.Dump(r5[:min(len(r5), len(want5))]), hex.Dump(want5))
	}

	r6, err := Canonical(m, CanonRHEL6)
	if err != nil {
		t.Fatal(err)
	}
	bss := cat([]byte(".bss"), u32(8, 3, 0x80, 32))
	if !bytes.HasPrefix(r6, bss) {
		t.Errorf("rhel6 stream does not start with the .bss header: % x", r6[:20])
	}
	relHdr6 := cat([]byte(".rel.text"), u32(9, 0x40, 0x68, 4), u32(13))
	want6 := cat(relHdr6,
		rec(6, 0, 128, 1, 1, 0x11),
		rec(0x10, 0, 0, 12, 1, 0x03))
	if !bytes.Contains(r6, want6) {
		t.Errorf("rhel6 stream lacks the hand-computed .rel.text block start % x", want6)
	}
	// The sorted walk ends with .text, the last name in byte order.
	if !bytes.HasSuffix(r6, text) {
		t.Errorf("rhel6 stream does not end with .text")
	}
}

// TestCanonicalSkip checks that the signature section is left out by index: adding an
// ALLOC section and skipping it gives the stream of the unsigned module, and not skipping
// it changes the stream (the "signing the signed module" quirk).
func TestCanonicalSkip(t *testing.T) {
	for _, fx := range canonFixtures {
		mod := cnReadFixture(t, fx.path)
		signed, err := Add(formats.NewModule(fx.name, mod), NewSection{Name: ".module_sig", Type: cnSHTProgbits, Flags: cnSHFWrite | cnSHFAlloc, Addralign: 1, Data: []byte("\x88\x01x")})
		if err != nil {
			t.Fatal(err)
		}
		sm := formats.NewModule(fx.name, signed)
		f, err := cnOpen(sm, "rhel5")
		if err != nil {
			t.Fatal(err)
		}
		idx := f.find(".module_sig", cnSHTProgbits)
		for _, p := range []CanonParams{CanonRHEL5, CanonRHEL6} {
			want, _ := Canonical(formats.NewModule(fx.name, mod), p)
			p.Skip = idx
			got, err := Canonical(sm, p)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s %s: skipping section %d does not give the unsigned stream (err %v)", fx.name, p.Format, idx, err)
			}
			p.Skip = 0
			if got, _ := Canonical(sm, p); bytes.Equal(got, want) {
				t.Errorf("%s %s: the ALLOC signature section is not in the unskipped stream", fx.name, p.Format)
			}
		}
	}
}

// TestCanonicalMalformed checks that damaged modules give a *formats.FormatError with an
// offset, never a panic.
func TestCanonicalMalformed(t *testing.T) {
	mod := cnReadFixture(t, "../testdata/elf/i386.ko")
	le := binary.LittleEndian
	shoff := le.Uint32(mod[32:])
	sh := func(i int) int { return int(shoff) + i*40 }
	tests := []struct {
		name  string
		patch func(b []byte)
	}{
		{"truncated", func(b []byte) {}},
		{"bad magic", func(b []byte) { b[1] = 'X' }},
		{"bad class", func(b []byte) { b[4] = 9 }},
		{"shentsize", func(b []byte) { le.PutUint16(b[46:], 39) }},
		{"shnum beyond file", func(b []byte) { le.PutUint16(b[48:], 900) }},
		{"shstrndx", func(b []byte) { le.PutUint16(b[50:], 200) }},
		{"section beyond EOF", func(b []byte) { le.PutUint32(b[sh(1)+20:], 0x100000) }},
		{"rel sh_info", func(b []byte) { le.PutUint32(b[sh(2)+28:], 77) }},
		{"symbol index", func(b []byte) { le.PutUint32(b[0x3d8+4:], 0xff01) }},
		{"name offset", func(b []byte) { le.PutUint32(b[sh(3):], 0xffff) }},
		{"no symtab", func(b []byte) { le.PutUint32(b[sh(16)+4:], 1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(mod)
			tc.patch(b)
			if tc.name == "truncated" {
				b = b[:40]
			}
			for _, p := range []CanonParams{CanonRHEL5, CanonRHEL6} {
				_, err := Canonical(formats.NewModule("x.ko", b), p)
				var fe *formats.FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("%s: got %v, want *formats.FormatError", p.Format, err)
				}
				if fe.Format != p.Format || fe.Path != "x.ko" {
					t.Errorf("%s: error %q names format %q path %q", p.Format, err, fe.Format, fe.Path)
				}
			}
		})
	}
}

// TestCanonicalStrictSymbols checks the Howells rule: a relocation against a symbol in a
// non-ALLOC section is rejected, while mod-extract (unlisted = 0) accepts it.
func TestCanonicalStrictSymbols(t *testing.T) {
	mod := bytes.Clone(cnReadFixture(t, "../testdata/elf/i386.ko"))
	le := binary.LittleEndian
	// symbol 10 (fixture_buf, used by .rel.text entry 0) moved into section 14 (.comment).
	symtab := 0x220
	le.PutUint16(mod[symtab+10*16+14:], 14)
	m := formats.NewModule("x.ko", mod)
	if _, err := Canonical(m, CanonRHEL6); err != nil {
		t.Fatalf("mod-extract rules: %v", err)
	}
	if _, err := Canonical(m, CanonHowells2012); err == nil {
		t.Fatal("Howells rules accepted a relocation against a non-ALLOC section")
	}
	r6, _ := Canonical(m, CanonRHEL6)
	// canonmap of the unlisted .comment is 0 (calloc in mod-extract).
	if !bytes.Contains(r6, []byte{6, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 1, 0x11, 0}) {
		t.Error("unlisted section not mapped to 0")
	}
}

// TestCanonicalRelaZeroShndx checks the 2012-08-16 Howells RELA quirk parameter on x86_64.ko,
// whose RELA relocations include SHN_ABS-free section symbols: the stream only changes where
// a symbol's st_shndx is a reserved index.
func TestCanonicalRelaZeroShndx(t *testing.T) {
	mod := bytes.Clone(cnReadFixture(t, "../testdata/elf/x86_64.ko"))
	m := formats.NewModule("x.ko", mod)
	p := CanonRHEL6
	a, _ := Canonical(m, p)
	p.RelaZeroShndx = true
	b, _ := Canonical(m, p)
	if !bytes.Equal(a, b) {
		t.Fatal("RelaZeroShndx changed a stream without reserved st_shndx values")
	}
	// Make symbol 10 (fixture_buf, GLOBAL, section .bss) absolute: SHN_ABS 0xfff1.
	le := binary.LittleEndian
	le.PutUint16(mod[0x218+10*24+6:], 0xfff1)
	a, _ = Canonical(m, CanonRHEL6)
	b, _ = Canonical(m, p)
	if bytes.Equal(a, b) || !bytes.Contains(a, []byte{0xf1, 0xff}) {
		t.Fatal("RelaZeroShndx did not zero the SHN_ABS record")
	}
}

func FuzzCanonical(f *testing.F) {
	for _, fx := range canonFixtures {
		b, err := os.ReadFile(fx.path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("fuzz.ko", b)
		for _, p := range []CanonParams{CanonRHEL5, CanonRHEL6, CanonHowells2012} {
			out, err := Canonical(m, p)
			if err != nil {
				var fe *formats.FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("%s: error %v is not a *formats.FormatError", p.Format, err)
				}
				continue
			}
			if len(out) > MaxCanonicalRatio*len(b)+64<<10 {
				t.Fatalf("%s: stream of %d bytes from %d input bytes", p.Format, len(out), len(b))
			}
		}
	})
}

// TestCanonicalModExtract compares Canonical with the era's own canonicaliser, mod-extract,
// when its binaries are given (it is GPL kernel-tree code, so kmodsig neither ships nor
// builds it). To run it:
//
//	git -C kernel-centos5 show b0b3f658aa7d3a422f99311a23ac6ca528cdea72:scripts/modsign/mod-extract.c > me5.c
//	git -C fastsocket show 1be5e41162d58e4fb2880bfed8e0a288bc8720de:kernel/scripts/mod/mod-extract.c > me6.c
//	gcc -o mod-extract5 me5.c && gcc -o mod-extract6 me6.c
//	KMODSIG_MOD_EXTRACT_RHEL5=$PWD/mod-extract5 KMODSIG_MOD_EXTRACT_RHEL6=$PWD/mod-extract6 go test ./elfsig -run ModExtract
//
// (spacex/kernel-centos5 and fastos/fastsocket on GitHub.) Observed on 2026-11-23 with gcc 12
// on Debian 12: both binaries give output byte-identical to the golden files of all five
// fixtures, x86_64, i386, ppc32be, s390x and hello.
func TestCanonicalModExtract(t *testing.T) {
	ran := false
	for _, v := range []struct {
		env string
		p   CanonParams
	}{{"KMODSIG_MOD_EXTRACT_RHEL5", CanonRHEL5}, {"KMODSIG_MOD_EXTRACT_RHEL6", CanonRHEL6}} {
		bin := os.Getenv(v.env)
		if bin == "" {
			continue
		}
		ran = true
		for _, fx := range canonFixtures {
			out := filepath.Join(t.TempDir(), "stream")
			abs, _ := filepath.Abs(fx.path)
			if b, err := exec.Command(bin, abs, out).CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v\n%s", bin, fx.path, err, b)
			}
			want, _ := os.ReadFile(out)
			got, err := Canonical(formats.NewModule(fx.path, cnReadFixture(t, fx.path)), v.p)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s %s: Canonical differs from mod-extract (%v)", v.p.Format, fx.name, err)
			}
		}
	}
	if !ran {
		t.Skip("set KMODSIG_MOD_EXTRACT_RHEL5 / _RHEL6 to compiled mod-extract binaries (see the comment)")
	}
}
