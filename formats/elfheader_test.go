package formats

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestELFHeaderRefusal: the committed test objects of four architectures (32 and 64 bits,
// both byte orders) pass, and each header check refuses what it should, each case made by
// changing one field of a real object, its byte order and offsets taken from debug/elf.
func TestELFHeaderRefusal(t *testing.T) {
	for _, name := range []string{"x86_64.ko", "i386.ko", "ppc32be.ko", "s390x.ko"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "elf", name))
		if err != nil {
			t.Fatal(err)
		}
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		bo := ef.ByteOrder
		is64 := ef.Class == elf.ELFCLASS64
		field := func(off32, off64 int) int {
			if is64 {
				return off64
			}
			return off32
		}
		shoff := field(32, 40)
		shentsize, shnum := field(46, 58), field(48, 60)
		put16 := func(off int, v uint16) func([]byte) []byte {
			return func(c []byte) []byte { bo.PutUint16(c[off:], v); return c }
		}
		putShoff := func(v uint64) func([]byte) []byte {
			return func(c []byte) []byte {
				if is64 {
					bo.PutUint64(c[shoff:], v)
				} else {
					bo.PutUint32(c[shoff:], uint32(v))
				}
				return c
			}
		}
		size, far := uint64(len(b)), uint64(1<<40)
		if !is64 {
			far = 0xfffffff0
		}
		for _, tc := range []struct {
			what string
			edit func([]byte) []byte
			n    int64 // the bytes the kernel sees; 0: all
			want string
		}{
			{"as built", nil, 0, ""},
			{"magic", func(c []byte) []byte { c[1] = 'X'; return c }, 0, "not an ELF file"},
			{"class", func(c []byte) []byte { c[4] = 3; return c }, 0, "ELF class 3"},
			{"data encoding", func(c []byte) []byte { c[5] = 0; return c }, 0, "ELF data encoding 0"},
			{"ET_EXEC", put16(16, uint16(elf.ET_EXEC)), 0, "ELF type 2, not a relocatable object"},
			{"ET_DYN", put16(16, uint16(elf.ET_DYN)), 0, "ELF type 3"},
			{"section entry size", put16(shentsize, 32), 0, "section header entries of 32 bytes"},
			{"section table past the end", putShoff(size), 0, "beyond the module's"},
			{"section table far past the end", putShoff(far), 0, "beyond the module's"},
			{"too many sections", put16(shnum, 0xffff), 0, "beyond the module's"},
			{"payload cut before the section table", nil, int64(len(b) - 1), "beyond the module's"},
			{"shorter than a header", nil, 40, "shorter than an ELF header"},
			{"empty", nil, -1, "not an ELF file"},
		} {
			c := append([]byte(nil), b...)
			if tc.edit != nil {
				c = tc.edit(c)
			}
			n := int64(len(c))
			switch {
			case tc.n > 0:
				n = tc.n
			case tc.n < 0:
				c, n = nil, 0
			}
			got := ELFHeaderRefusal(NewModule(name, c), n)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("%s, %s: %q, want %q", name, tc.what, got, tc.want)
			}
		}
	}
}

// FuzzELFHeaderRefusal: never panics, whatever the bytes and the length the kernel is said to
// see, and passes nothing without the ELF magic. Seeds: the committed test objects.
func FuzzELFHeaderRefusal(f *testing.F) {
	objs, _ := filepath.Glob("../testdata/elf/*.ko")
	mods, _ := filepath.Glob("../testdata/modules/*.ko")
	for _, p := range append(objs, mods...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, int64(len(b)))
		f.Add(b[:min(len(b), 64)], int64(64))
	}
	f.Fuzz(func(t *testing.T, b []byte, n int64) {
		got := ELFHeaderRefusal(NewModule("f", b), n)
		if got == "" && !bytes.HasPrefix(b, []byte("\x7fELF")) {
			t.Fatalf("passed %d bytes without the ELF magic", len(b))
		}
		if got == "" && len(b) >= 64 {
			// what passes has its section table inside the bytes seen
			var shoff uint64
			var shnum, shent uint16
			var bo binary.ByteOrder = binary.LittleEndian
			if b[5] == 2 {
				bo = binary.BigEndian
			}
			if b[4] == 2 {
				shoff, shent, shnum = bo.Uint64(b[40:]), bo.Uint16(b[58:]), bo.Uint16(b[60:])
			} else {
				shoff, shent, shnum = uint64(bo.Uint32(b[32:])), bo.Uint16(b[46:]), bo.Uint16(b[48:])
			}
			if seen := uint64(min(n, int64(len(b)))); shoff+uint64(shnum)*uint64(shent) > seen {
				t.Fatalf("passed a section table (%d × %d at %d) beyond %d bytes", shnum, shent, shoff, seen)
			}
		}
	})
}
