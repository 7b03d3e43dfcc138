package elfsig

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

// These tests check the rhel5 and rhel6 drivers against independent tools (ORACLES.md §5,
// §6): GnuPG for the OpenPGP layer, binutils (objcopy, readelf, as, ld) for the containers.
// The canonical stream itself has no Debian peer; it is pinned by the golden files of
// canon_test.go, which come from the independent testdata/elf/canon.py.

// rhGPG is a throwaway GNUPGHOME.
type rhGPG struct{ *peers.GPGHome }

func rhNewGPG(t testing.TB) *rhGPG {
	t.Helper()
	return &rhGPG{peers.NewGPGHome(t)}
}

// verify runs `gpg --verify sig data` and requires GOODSIG and VALIDSIG.
func (g *rhGPG) verify(sig, data []byte) string {
	g.T.Helper()
	dir := g.T.TempDir()
	sp, dp := filepath.Join(dir, "sig.bin"), filepath.Join(dir, "stream.bin")
	os.WriteFile(sp, sig, 0o644)
	os.WriteFile(dp, data, 0o644)
	out := g.Must("--status-fd", "1", "--verify", sp, dp)
	if !bytes.Contains(out, []byte("[GNUPG:] GOODSIG")) || !bytes.Contains(out, []byte("[GNUPG:] VALIDSIG")) {
		g.T.Fatalf("gpg --verify did not report a good signature:\n%s", out)
	}
	return string(out)
}

// rhTools are the binutils of each fixture's architecture (host tools cannot change
// endianness).
var rhTools = map[string]struct{ objcopy, as, ld string }{
	"x86_64":  {"objcopy", "as", "ld"},
	"hello":   {"objcopy", "as", "ld"},
	"i386":    {"i686-linux-gnu-objcopy", "i686-linux-gnu-as", "i686-linux-gnu-ld"},
	"ppc32be": {"powerpc-linux-gnu-objcopy", "powerpc-linux-gnu-as", "powerpc-linux-gnu-ld"},
	"s390x":   {"s390x-linux-gnu-objcopy", "s390x-linux-gnu-as", "s390x-linux-gnu-ld"},
}

// rhRun runs a tool and fails the test with its output on error.
func rhRun(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	c := exec.Command(name, args...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// rhDump extracts a section's bytes with objcopy (always with an output file: without one
// objcopy rewrites its input).
func rhDump(t testing.TB, objcopy, dir string, module []byte, section string) []byte {
	t.Helper()
	in := filepath.Join(dir, "dump-in.ko")
	os.WriteFile(in, module, 0o644)
	rhRun(t, dir, objcopy, "-O", "binary", "--only-section="+section, in, filepath.Join(dir, "dump.bin"))
	b, err := os.ReadFile(filepath.Join(dir, "dump.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rhNoteDesc takes the descriptor out of note bytes the way ORACLES.md §5 says: skip 24
// bytes, take n_descsz (u32 at offset 4 in the module's byte order, from EI_DATA).
func rhNoteDesc(t testing.TB, module, note []byte) []byte {
	t.Helper()
	var bo binary.ByteOrder = binary.LittleEndian
	if module[5] == 2 {
		bo = binary.BigEndian
	}
	n := bo.Uint32(note[4:])
	if int(n) > len(note)-24 {
		t.Fatalf("n_descsz %d beyond note of %d bytes", n, len(note))
	}
	return note[24 : 24+n]
}

// TestRHELOurOutputWithTools signs every ELF kind with every variant, then checks with the
// peers: readelf lists the section with the era's type and flags (and `readelf -n` the
// note), objcopy extracts the signature, and `gpg --verify` accepts it over the canonical
// stream kmodsig emits for the unsigned module, with the key kmodsig exported.
func TestRHELOurOutputWithTools(t *testing.T) {
	g := rhNewGPG(t)
	peers.Require(t, "readelf")
	// The DSA key comes from gpg (DSA-1024 with a 160-bit subgroup, what the era used; gpg
	// refuses SHA-1 with the 224-bit subgroup of testdata/keys/dsa1024.key), imported into
	// kmodsig from `gpg --export-secret-keys`; the RSA key is kmodsig's, exported to gpg.
	dsaKey := rhGPGDSAKey(t, g)
	rsaKey := rhKey(t, "rsa2048.key")
	pub, _, err := (RHEL6{}).ExportKey(rsaKey, formats.SignOptions{Variant: "rsa"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "modsign.pub")
	os.WriteFile(p, pub, 0o644)
	g.Must("--import", p)
	for _, fx := range canonFixtures {
		tools := rhTools[fx.name]
		unsigned := cnReadFixture(t, fx.path)
		for _, vr := range rhVariants {
			t.Run(fx.name+"/"+vr.name, func(t *testing.T) {
				peers.Require(t, tools.objcopy)
				dir := t.TempDir()
				k := dsaKey
				if vr.variant == "rsa" {
					k = rsaKey
				}
				signed, err := vr.driver.Sign(unsigned, k, formats.SignOptions{Variant: vr.variant})
				if err != nil {
					t.Fatal(err)
				}
				sp := filepath.Join(dir, "signed.ko")
				os.WriteFile(sp, signed, 0o644)
				sections := string(rhRun(t, dir, "readelf", "-SW", sp))
				var sig []byte
				canon := CanonRHEL5
				if vr.driver.ID() == RHEL5ID {
					if !rhHasSection(sections, RHEL5Section, "PROGBITS", "WA") {
						t.Fatalf("readelf does not show .module_sig PROGBITS WA:\n%s", sections)
					}
					sig = rhDump(t, tools.objcopy, dir, signed, RHEL5Section)
				} else {
					canon = CanonRHEL6
					if !rhHasSection(sections, RHEL6Section, "NOTE", "A") {
						t.Fatalf("readelf does not show .note.module.sig NOTE A:\n%s", sections)
					}
					notes := string(rhRun(t, dir, "readelf", "-nW", sp))
					if !strings.Contains(notes, "module.sig") || !strings.Contains(notes, "0x00000064") {
						t.Fatalf("readelf -n does not show the module.sig note of type 0x64:\n%s", notes)
					}
					sig = rhNoteDesc(t, signed, rhDump(t, tools.objcopy, dir, signed, RHEL6Section))
				}
				stream, err := Canonical(formats.NewModule(fx.name, unsigned), canon)
				if err != nil {
					t.Fatal(err)
				}
				g.verify(sig, stream)
				// The stream of the signed module, skipping the section, is the same.
				v := vr.driver.Verify(formats.NewModule(fx.name, signed), rhRing(t, k), formats.Policy{})
				if v.Outcome != formats.OK {
					t.Fatalf("kmodsig: %v", v)
				}
				// Negative oracle: gpg rejects the stream of another module.
				bad := bytes.Clone(stream)
				bad[len(bad)/2] ^= 1
				os.WriteFile(filepath.Join(dir, "s"), sig, 0o644)
				os.WriteFile(filepath.Join(dir, "d"), bad, 0o644)
				if out, err := g.Run("--status-fd", "1", "--verify", filepath.Join(dir, "s"), filepath.Join(dir, "d")); err == nil || !bytes.Contains(out, []byte("BADSIG")) {
					t.Fatalf("gpg accepted a changed stream:\n%s", out)
				}
			})
		}
	}
}

// rhSameSections compares two ELF files section by section: names, types, flags, sizes,
// link/info and contents must agree (file offsets may differ). The section-name table is
// exempt from size and contents: the surgery leaves the removed name as unreferenced bytes
// where objcopy rebuilds the table.
func rhSameSections(t testing.TB, a, b []byte) {
	t.Helper()
	fa, err1 := cnOpen(formats.NewModule("a", a), "x")
	fb, err2 := cnOpen(formats.NewModule("b", b), "x")
	if err1 != nil || err2 != nil {
		t.Fatalf("%v %v", err1, err2)
	}
	if len(fa.secs) != len(fb.secs) {
		t.Fatalf("%d sections, objcopy has %d", len(fa.secs), len(fb.secs))
	}
	for i := 1; i < len(fa.secs); i++ {
		x, y := fa.secs[i], fb.secs[i]
		if string(x.name) == ".shstrtab" {
			x.size = y.size
		}
		if string(x.name) != string(y.name) || x.typ != y.typ || x.flags != y.flags || x.size != y.size || x.link != y.link || x.info != y.info || x.addralign != y.addralign {
			t.Fatalf("section %d: %s %d %x %d %d %d, objcopy: %s %d %x %d %d %d", i, x.name, x.typ, x.flags, x.size, x.link, x.info, y.name, y.typ, y.flags, y.size, y.link, y.info)
		}
		dx, _ := fa.data(i)
		dy, _ := fb.data(i)
		if !bytes.Equal(dx, dy) && string(x.name) != ".shstrtab" {
			t.Fatalf("section %d %s: contents differ from objcopy --remove-section's", i, x.name)
		}
	}
}

// mustCanon returns the canonical stream of b under p.
func mustCanon(t testing.TB, b []byte, p CanonParams) []byte {
	t.Helper()
	s, err := Canonical(formats.NewModule("m", b), p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rhGPGDSAKey makes a DSA-1024 key in gpg and imports its secret key into kmodsig; the
// keyring kmodsig exports for it must hold the key gpg has (same key id).
func rhGPGDSAKey(t *testing.T, g *rhGPG) *keys.Material {
	t.Helper()
	g.Must("--quick-gen-key", "RHEL Module Signer <rhel@example.invalid>", "dsa1024", "sign", "never")
	k, err := keys.Parse(g.Must("--export-secret-keys"))
	if err != nil {
		t.Fatalf("import gpg secret key: %v", err)
	}
	if k.DSA == nil {
		t.Fatalf("imported key is not DSA")
	}
	exp, _, err := (RHEL5{}).ExportKey(k, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &keys.Ring{}
	if err := r.Add(exp); err != nil {
		t.Fatal(err)
	}
	gr := &keys.Ring{}
	if err := gr.Add(g.Must("--export")); err != nil {
		t.Fatal(err)
	}
	if len(r.PGP) != 1 || len(gr.PGP) != 1 || r.PGP[0].PrimaryKey.KeyId != gr.PGP[0].PrimaryKey.KeyId {
		t.Fatal("kmodsig's export of the imported key does not carry gpg's key id")
	}
	return k
}

// rhHasSection reports whether readelf -SW output lists name with type and exactly flags.
func rhHasSection(readelf, name, typ, flags string) bool {
	for _, line := range strings.Split(readelf, "\n") {
		i := strings.Index(line, "]")
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+1:])
		if len(f) >= 2 && f[0] == name && f[1] == typ {
			// Name Type Address Off Size ES Flg Lk Inf Al: Flg is absent when empty.
			return len(f) == 10 && f[6] == flags
		}
	}
	return false
}

// TestRHEL5EraPipeline builds signed modules the way RHEL4/5's modsign.sh did, with real
// tools only: GnuPG makes a DSA-1024 key and `gpg -b` signs the canonical stream, then
// `objcopy --add-section .module_sig=SIG` and `objcopy --set-section-flags
// .module_sig=alloc` put it in. kmodsig must verify the result with the key gpg exports,
// and its strip must agree with `objcopy --remove-section`. It also signs with the secret
// key exported from gpg (import path) and gpg verifies that.
func TestRHEL5EraPipeline(t *testing.T) {
	g := rhNewGPG(t)
	imported := rhGPGDSAKey(t, g)
	ring := &keys.Ring{}
	if err := ring.Add(g.Must("--export")); err != nil {
		t.Fatal(err)
	}
	for _, fx := range canonFixtures {
		tools := rhTools[fx.name]
		t.Run(fx.name, func(t *testing.T) {
			peers.Require(t, tools.objcopy)
			dir := t.TempDir()
			unsigned := cnReadFixture(t, fx.path)
			stream, err := Canonical(formats.NewModule(fx.name, unsigned), CanonRHEL5)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "foo.ko.out"), stream, 0o644)
			os.WriteFile(filepath.Join(dir, "foo.ko"), unsigned, 0o644)
			g.Must("--no-greeting", "-b", "-o", filepath.Join(dir, "foo.ko.sig"), filepath.Join(dir, "foo.ko.out"))
			rhRun(t, dir, tools.objcopy, "--add-section", ".module_sig=foo.ko.sig", "foo.ko", "foo.ko.signed")
			rhRun(t, dir, tools.objcopy, "--set-section-flags", ".module_sig=alloc", "foo.ko.signed")
			signed, _ := os.ReadFile(filepath.Join(dir, "foo.ko.signed"))
			m := formats.NewModule(fx.name, signed)
			if !(RHEL5{}).Detect(m) {
				t.Fatal("era-signed module not detected")
			}
			for _, kernel := range []string{KernelRHEL4, KernelRHEL5} {
				if v := (RHEL5{}).Verify(m, ring, formats.Policy{Kernel: kernel}); v.Outcome != formats.OK {
					t.Fatalf("%s: %v", kernel, v)
				}
			}
			if v := (RHEL5{}).Verify(m, &keys.Ring{}, formats.Policy{}); v.Outcome != formats.UnknownKey || v.Permissive != formats.ErrnoEPERM {
				t.Fatalf("empty ring: %v", v)
			}
			// Strip: objcopy --remove-section gives back the original bytes (ORACLES.md §6);
			// kmodsig rebuilds (the objcopy layout cannot be undone in place) with the same
			// section contents and canonical stream.
			rhRun(t, dir, tools.objcopy, "--remove-section", ".module_sig", "foo.ko.signed", "foo.ko.removed")
			removed, _ := os.ReadFile(filepath.Join(dir, "foo.ko.removed"))
			stripped, err := (RHEL5{}).Strip(m)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(removed, unsigned) && bytes.Equal(stripped, unsigned) {
				t.Logf("strip gives back the original bytes")
			} else if !bytes.Equal(stripped, unsigned) {
				t.Logf("strip of an objcopy-signed module is a rebuild (documented): %d bytes, original %d, objcopy --remove-section equal to original: %v", len(stripped), len(unsigned), bytes.Equal(removed, unsigned))
			}
			for _, p := range []CanonParams{CanonRHEL5, CanonRHEL6} {
				want, _ := Canonical(formats.NewModule("unsigned", unsigned), p)
				a, err1 := Canonical(formats.NewModule("stripped", stripped), p)
				b, err2 := Canonical(formats.NewModule("removed", removed), p)
				if err1 != nil || err2 != nil || !bytes.Equal(a, want) || !bytes.Equal(b, want) {
					t.Fatalf("%s stream of the stripped module or of objcopy --remove-section's differs from the unsigned module's (%v, %v)", p.Format, err1, err2)
				}
			}
			rhSameSections(t, stripped, removed)
			if formats.Detect(formats.NewModule("stripped", stripped)) != nil {
				t.Fatal("stripped module still detected as signed")
			}
			// A key imported from gpg signs with kmodsig; gpg verifies that signature.
			ours, err := (RHEL5{}).Sign(unsigned, imported, formats.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sig := rhDump(t, tools.objcopy, dir, ours, RHEL5Section)
			g.verify(sig, stream)
			if v := (RHEL5{}).Verify(formats.NewModule("ours", ours), ring, formats.Policy{}); v.Outcome != formats.OK {
				t.Fatalf("imported key: %v", v)
			}
		})
	}
}

// TestRHEL6EraPipeline builds the RHEL6 note the way modsign-note.sh did: gpg -b over the
// canonical stream, an assembler file with the note macro and .incbin of the signature,
// `as`, then `ld -r -o signed.ko unsigned.ko note.o`. kmodsig must verify the result (so
// ld -r preserved the canonical stream), and the note ld produced must be byte-identical to
// the note kmodsig writes for the same signature.
func TestRHEL6EraPipeline(t *testing.T) {
	g := rhNewGPG(t)
	g.Must("--quick-gen-key", "RHEL6 Module Signer <rhel6@example.invalid>", "dsa1024", "sign", "never")
	ring := &keys.Ring{}
	if err := ring.Add(g.Must("--export")); err != nil {
		t.Fatal(err)
	}
	for _, fx := range canonFixtures {
		tools := rhTools[fx.name]
		t.Run(fx.name, func(t *testing.T) {
			peers.Require(t, tools.as)
			peers.Require(t, tools.ld)
			dir := t.TempDir()
			// kbuild's modules are `ld -r` output; the gcc -c fixtures are not, and ld -r sorts
			// relocation entries by offset, which changes the canonical stream (observed on
			// x86_64.ko). So the unsigned module is first linked the way kbuild links a .ko.
			os.WriteFile(filepath.Join(dir, "foo.o"), cnReadFixture(t, fx.path), 0o644)
			rhRun(t, dir, tools.ld, "-r", "-o", "foo.ko.unsigned", "foo.o")
			unsigned, _ := os.ReadFile(filepath.Join(dir, "foo.ko.unsigned"))
			if s0, _ := Canonical(formats.NewModule("o", cnReadFixture(t, fx.path)), CanonRHEL6); !bytes.Equal(s0, mustCanon(t, unsigned, CanonRHEL6)) {
				t.Logf("ld -r changed the canonical stream of %s (relocations reordered)", fx.name)
			}
			stream := mustCanon(t, unsigned, CanonRHEL6)
			os.WriteFile(filepath.Join(dir, "foo.ko.digest"), stream, 0o644)
			g.Must("--no-greeting", "-b", "-o", filepath.Join(dir, "foo.ko.sig"), filepath.Join(dir, "foo.ko.digest"))
			sig, _ := os.ReadFile(filepath.Join(dir, "foo.ko.sig"))
			asm := fmt.Sprintf(".section .note.module.sig,\"a\"\n.balign 4\n.long 11, %d, 100\n.asciz \"module.sig\"\n.balign 4\n.incbin \"foo.ko.sig\"\n.balign 4\n.section .note.GNU-stack,\"\",%%progbits\n", len(sig))
			os.WriteFile(filepath.Join(dir, "foo.ko.note.S"), []byte(asm), 0o644)
			rhRun(t, dir, tools.as, "-o", "foo.ko.note.o", "foo.ko.note.S")
			rhRun(t, dir, tools.ld, "-r", "-o", "foo.ko", "foo.ko.unsigned", "foo.ko.note.o")
			signed, _ := os.ReadFile(filepath.Join(dir, "foo.ko"))
			m := formats.NewModule(fx.name, signed)
			if d := formats.Detect(m); d == nil || d.ID() != RHEL6ID {
				t.Fatalf("ld -r output detected as %v", d)
			}
			if v := (RHEL6{}).Verify(m, ring, formats.Policy{}); v.Outcome != formats.OK || v.Variant != "dsa" {
				t.Fatalf("verify: %v", v)
			}
			var bo binary.ByteOrder = binary.LittleEndian
			if unsigned[5] == 2 {
				bo = binary.BigEndian
			}
			ldNote := rhDump(t, tools.objcopy, dir, signed, RHEL6Section)
			if ours := AppendSigNote(nil, bo, sig); !bytes.Equal(ldNote, ours) {
				t.Fatalf("note from as+ld -r\n% x\ndiffers from kmodsig's\n% x", ldNote, ours)
			}
			// Strip cannot undo ld -r exactly (ld -r also gave the note a section symbol). The
			// rebuilt module must equal what `objcopy --remove-section` makes of the signed
			// module in every section's contents and header fields, and have the unsigned
			// stream.
			stripped, err := (RHEL6{}).Strip(m)
			if err != nil {
				t.Fatalf("strip: %v", err)
			}
			if a, err := Canonical(formats.NewModule("s", stripped), CanonRHEL6); err != nil || !bytes.Equal(a, stream) {
				t.Fatalf("stripped stream differs (%v)", err)
			}
			rhRun(t, dir, tools.objcopy, "--remove-section", RHEL6Section, "foo.ko", "foo.ko.removed")
			removed, _ := os.ReadFile(filepath.Join(dir, "foo.ko.removed"))
			rhSameSections(t, stripped, removed)
		})
	}
}

// TestRHELDebugDump checks the by-hand route: SignatureBlob and CanonicalStream of a signed
// module are what gpg --verify accepts, for both formats.
func TestRHELDebugDump(t *testing.T) {
	g := rhNewGPG(t)
	k := rhGPGDSAKey(t, g)
	unsigned := cnReadFixture(t, "../testdata/elf/s390x.ko")
	for _, d := range []formats.Driver{RHEL5{}, RHEL6{}} {
		signed, err := d.Sign(unsigned, k, formats.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m := formats.NewModule("s390x.ko", signed)
		sig, err1 := SignatureBlob(m, d.ID())
		stream, err2 := CanonicalStream(m, d.ID())
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		g.verify(sig, stream)
	}
	if _, err := CanonicalStream(formats.NewModule("x", unsigned), "pkcs7"); !errors.Is(err, formats.ErrUnknownFormat) {
		t.Errorf("pkcs7: %v", err)
	}
}

// TestRHELExportToGPG checks `keys export --format rhel5` against gpg: the keyring kmodsig
// writes for the committed DSA key imports into gpg as a DSA key (algorithm 17) with the key
// id kmodsig signs with, and a rhel6 signature by that key (SHA-224: the key's subgroup is
// 224 bits, so gpg wants at least that) verifies with gpg over the canonical stream.
func TestRHELExportToGPG(t *testing.T) {
	g := rhNewGPG(t)
	k := rhKey(t, "dsa1024.key")
	pub, name, err := (RHEL5{}).ExportKey(k, formats.SignOptions{})
	if err != nil || name != "kernel.pub" {
		t.Fatal(name, err)
	}
	p := filepath.Join(t.TempDir(), name)
	os.WriteFile(p, pub, 0o644)
	g.Must("--import", p)
	id, _ := gpgsig.SigningKeyID(k)
	cols := string(g.Must("--with-colons", "--list-keys"))
	if !strings.Contains(cols, fmt.Sprintf(":%d:17:%016X:", k.DSA.P.BitLen(), id)) {
		t.Fatalf("gpg does not list DSA key %016X:\n%s", id, cols)
	}
	unsigned := cnReadFixture(t, "../testdata/elf/ppc32be.ko")
	signed, err := (RHEL6{}).Sign(unsigned, k, formats.SignOptions{Hash: crypto.SHA224})
	if err != nil {
		t.Fatal(err)
	}
	m := formats.NewModule("ppc32be.ko", signed)
	sig, _ := SignatureBlob(m, RHEL6ID)
	stream, _ := CanonicalStream(m, RHEL6ID)
	g.verify(sig, stream)
}
