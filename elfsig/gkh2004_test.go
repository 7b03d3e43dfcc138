package elfsig

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

// The ELF kinds a gkh2004 module can be (the four fixtures; hello.ko is a real kbuild module).
var gkhKinds = elfKinds

// gkhGPG is a throwaway GNUPGHOME (ORACLES.md §5).
type gkhGPG struct{ *peers.GPGHome }

func newGKHGPG(t testing.TB) *gkhGPG {
	t.Helper()
	return &gkhGPG{peers.NewGPGHome(t)}
}

// articleKey generates the article's key setup in gpg: an RSA sign-only primary key and an
// RSA encrypt-only subkey, and returns its fingerprint.
func (g *gkhGPG) articleKey() string {
	g.T.Helper()
	g.Must("--quick-gen-key", "Module Signer <modsign@example.invalid>", "rsa2048", "sign", "never")
	out := g.Must("--with-colons", "--list-keys")
	m := regexp.MustCompile(`(?m)^fpr:+([0-9A-F]{40}):`).FindStringSubmatch(string(out))
	if m == nil {
		g.T.Fatalf("no fingerprint in\n%s", out)
	}
	g.Must("--quick-add-key", m[1], "rsa2048", "encr", "never")
	return m[1]
}

// readelfSection is one row of `readelf -SW`.
type readelfSection struct {
	index        int
	name, typ    string
	offset, size int64
}

var readelfRow = regexp.MustCompile(`^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)\s`)

// readelfSections lists the sections of path as readelf prints them, in header order
// (index 0 left out): the independent view of the section table the oracle tests use.
func readelfSections(t *testing.T, k elfKind, path string) []readelfSection {
	t.Helper()
	out, se := run(t, tool(t, k, "readelf"), "-SW", path)
	if se != "" {
		t.Fatalf("readelf: %s", se)
	}
	var secs []readelfSection
	for _, line := range strings.Split(out, "\n") {
		m := readelfRow.FindStringSubmatch(line)
		if m == nil || m[1] == "0" {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		off, _ := strconv.ParseInt(m[4], 16, 64)
		size, _ := strconv.ParseInt(m[5], 16, 64)
		secs = append(secs, readelfSection{i, m[2], m[3], off, size})
	}
	if len(secs) == 0 {
		t.Fatalf("no sections parsed from\n%s", out)
	}
	return secs
}

// oracleStream builds a gkh2004 stream with binutils only, from the rules as FORMATS.md
// states them (not from kmodsig's code): rule "kernel" keeps names containing "text" or
// "data" and not ".rel.", every type, contents from `objcopy --dump-section` (for NOBITS,
// REL and RELA, which objcopy cannot dump, the file bytes at the offset readelf prints); rule "libbfd" keeps sections with contents, size > 0, not
// REL/RELA, names containing "text" or "data", contents from
// `objcopy -O binary --only-section` (the era's route; it works for ALLOC sections, which all
// libbfd-selected sections of a module are).
func oracleStream(t *testing.T, k elfKind, path, rule string) []byte {
	t.Helper()
	objcopy := tool(t, k, "objcopy")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out []byte
	for _, s := range readelfSections(t, k, path) {
		if s.name == "module_sig" || !strings.Contains(s.name, "text") && !strings.Contains(s.name, "data") {
			continue
		}
		switch rule {
		case "kernel":
			if strings.Contains(s.name, ".rel.") {
				continue
			}
			if s.typ == "NOBITS" || s.typ == "RELA" || s.typ == "REL" {
				// objcopy cannot dump these (libbfd folds relocation sections into their
				// targets; NOBITS has no contents): take the file bytes readelf locates.
				out = append(out, raw[s.offset:s.offset+s.size]...)
				continue
			}
			if s.size == 0 {
				continue
			}
			f := filepath.Join(dir, fmt.Sprintf("%d.bin", s.index))
			run(t, objcopy, "--dump-section", s.name+"="+f, path, filepath.Join(dir, "scratch"))
			b, _ := os.ReadFile(f)
			out = append(out, b...)
		case "libbfd":
			if s.typ == "NOBITS" || s.size == 0 || s.typ == "REL" || s.typ == "RELA" {
				continue
			}
			f := filepath.Join(dir, fmt.Sprintf("%d.bin", s.index))
			run(t, objcopy, "-O", "binary", "--only-section="+s.name, path, f)
			b, _ := os.ReadFile(f)
			if int64(len(b)) != s.size {
				t.Fatalf("objcopy -O binary --only-section=%s gave %d bytes, want %d", s.name, len(b), s.size)
			}
			out = append(out, b...)
		}
	}
	return out
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadKey(t testing.TB, name string) *keys.Material {
	t.Helper()
	k, err := keys.LoadFile("../testdata/keys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadRing(t testing.TB, names ...string) *keys.Ring {
	t.Helper()
	var ps []string
	for _, n := range names {
		ps = append(ps, "../testdata/keys/"+n)
	}
	r, err := keys.LoadRing(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGKHStreamsMatchBinutils: our kernel-rule and libbfd-rule streams equal the streams
// binutils extracts by the rules as written, on every ELF kind.
func TestGKHStreamsMatchBinutils(t *testing.T) {
	for _, k := range gkhKinds {
		t.Run(k.name, func(t *testing.T) {
			b := readFixture(t, k.path)
			f, err := NewFile(formats.NewModule(k.path, b))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []GKHRule{GKHKernelRule, GKHLibbfdRule} {
				rd, n, err := f.GKHStream(r)
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				got.ReadFrom(rd)
				want := oracleStream(t, k, k.path, r.String())
				if int64(got.Len()) != n || !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s rule: %d bytes, binutils %d", r, got.Len(), len(want))
				}
			}
			// The RELA kinds show the quirk: the kernel rule hashes .rela.text and friends.
			hasRela := false
			for _, s := range f.Sections {
				if s.Type == elf.SHT_RELA && (strings.Contains(s.Name, "text") || strings.Contains(s.Name, "data")) {
					hasRela = true
				}
			}
			quirk := false
			for _, s := range f.GKHSections(GKHKernelRule) {
				if s.Type == elf.SHT_RELA {
					quirk = true
				}
			}
			if hasRela != quirk {
				t.Errorf(".rela.*text/data present %v, hashed by the kernel rule %v", hasRela, quirk)
			}
			if d := f.GKHDisagreement(); len(d) == 0 {
				t.Errorf("no disagreement reported (every fixture has .data.rel.local)")
			}
		})
	}
}

// TestGKHEraPipeline runs the tree's own pipeline with real tools (binutils stream, gpg -b
// with a gpg-made key, objcopy --add-section module_sig=...) and checks that kmodsig reads and
// verifies the result. Over the libbfd stream (what the tree's signer hashed) the signature is
// good but the kernel rule rejects it; over the kernel-rule stream it is good outright.
func TestGKHEraPipeline(t *testing.T) {
	g := newGKHGPG(t)
	g.articleKey()
	ringData := g.Must("--export")
	ring := &keys.Ring{}
	if err := ring.Add(ringData); err != nil {
		t.Fatal(err)
	}
	for _, k := range gkhKinds {
		for _, rule := range []string{"libbfd", "kernel"} {
			t.Run(k.name+"/"+rule, func(t *testing.T) {
				objcopy := tool(t, k, "objcopy")
				in := readFixture(t, k.path)
				mod := writeTemp(t, "m.ko", in)
				out := g.File("m.ko.out", oracleStream(t, k, mod, rule))
				os.Remove(out + ".sig")
				g.Must("--no-greeting", "-sb", out)
				signed := filepath.Join(t.TempDir(), "m.ko.sign")
				run(t, objcopy, "--add-section", "module_sig="+out+".sig", mod, signed)
				sb := readFixture(t, signed)
				m := formats.NewModule(signed, sb)
				if d := formats.Detect(m); d == nil || d.ID() != GKHID {
					t.Fatalf("detected %v", d)
				}
				sig, err := GKH2004{}.Parse(m)
				if err != nil || sig.Variant != GKHDetached || sig.SigID != "PGP" {
					t.Fatalf("Parse: %+v, %v", sig, err)
				}
				v := GKH2004{}.Verify(m, ring, formats.Policy{})
				if v.Outcome != formats.OK {
					t.Fatalf("verdict %s %v", v, v.Notes)
				}
				libbfdOnly := strings.Contains(strings.Join(v.Notes, "\n"), "signed over the libbfd stream")
				if rule == "libbfd" {
					if !libbfdOnly || v.Permissive != formats.ErrnoEPERM || v.Enforcing != formats.ErrnoEPERM {
						t.Errorf("libbfd-signed: %s %v", v, v.Notes)
					}
				} else if libbfdOnly || v.Permissive != formats.ErrnoOK || v.Enforcing != formats.ErrnoOK {
					t.Errorf("kernel-rule-signed: %s %v", v, v.Notes)
				}
				// Strip: objcopy re-laid the file out, so the result is a rebuild whose
				// streams equal the unsigned module's.
				if !strings.Contains(strings.Join(sig.Notes, "\n"), "not appended by kmodsig") {
					t.Errorf("Parse notes: %v", sig.Notes)
				}
				if _, err := Remove(m, GKHSection); !errors.Is(err, ErrNotExact) {
					t.Fatalf("Remove: %v", err)
				}
				back, err := GKH2004{}.Strip(m)
				if err != nil {
					t.Fatalf("Strip: %v", err)
				}
				for _, r := range []GKHRule{GKHKernelRule, GKHLibbfdRule} {
					f0, _ := NewFile(formats.NewModule("", in))
					f1, err := NewFile(formats.NewModule("", back))
					if err != nil {
						t.Fatal(err)
					}
					d0, _ := f0.GKHDigest(r, crypto.SHA1)
					d1, _ := f1.GKHDigest(r, crypto.SHA1)
					if !bytes.Equal(d0, d1) {
						t.Errorf("%s stream changed by strip", r)
					}
				}
			})
		}
	}
}

// TestGKHOurOutputWithTools: what kmodsig writes passes readelf and ld -r, its section is
// what objcopy extracts, gpg --verify accepts it over the stream binutils extract, and strip
// gives back the input byte for byte, on all ELF kinds.
func TestGKHOurOutputWithTools(t *testing.T) {
	g := newGKHGPG(t)
	k := loadKey(t, "rsa2048.key")
	pub, err := k.OpenPGPPublicKeyring()
	if err != nil {
		t.Fatal(err)
	}
	g.Must("--import", g.File("pub.gpg", pub))
	for _, kind := range gkhKinds {
		for _, variant := range []string{"", "detached+libbfd", "rsa"} {
			t.Run(kind.name+"/"+variant, func(t *testing.T) {
				in := readFixture(t, kind.path)
				out, err := GKH2004{}.Sign(in, k, formats.SignOptions{Variant: variant})
				if err != nil {
					t.Fatal(err)
				}
				p := writeTemp(t, "signed.ko", out)
				checkWithBinutilsFile(t, kind, p)
				dir := t.TempDir()
				sigFile := filepath.Join(dir, "sig.bin")
				run(t, tool(t, kind, "objcopy"), "--dump-section", "module_sig="+sigFile, p, filepath.Join(dir, "scratch"))
				sig, _ := os.ReadFile(sigFile)
				rule := "kernel"
				if strings.HasSuffix(variant, "libbfd") {
					rule = "libbfd"
				}
				stream := oracleStream(t, kind, p, rule)
				if variant == "rsa" {
					checkRSAWithOpenSSL(t, sig, stream)
				} else {
					sp, pp := g.File("v.sig", sig), g.File("v.bin", stream)
					o, _ := g.Run("--status-fd", "1", "--verify", sp, pp)
					if !strings.Contains(string(o), "[GNUPG:] GOODSIG ") || !strings.Contains(string(o), "[GNUPG:] VALIDSIG ") {
						t.Errorf("gpg --verify:\n%s", o)
					}
					lp := g.Must("--list-packets", sp)
					if !strings.Contains(string(lp), "version 4") || !strings.Contains(string(lp), "digest algo 2") {
						t.Errorf("gpg --list-packets:\n%s", lp)
					}
					// Negative oracle: change one byte of .text; gpg and kmodsig both reject.
					f, _ := NewFile(formats.NewModule("", out))
					bad := bytes.Clone(out)
					bad[f.Section(".text").Offset+1] ^= 0x01
					bp := writeTemp(t, "bad.ko", bad)
					o, _ = g.Run("--status-fd", "1", "--verify", sp, g.File("bad.bin", oracleStream(t, kind, bp, rule)))
					if !strings.Contains(string(o), "[GNUPG:] BADSIG ") {
						t.Errorf("gpg accepted a changed .text:\n%s", o)
					}
					if v := (GKH2004{}).Verify(formats.NewModule(bp, bad), loadRing(t, "rsa2048.crt"), formats.Policy{}); v.Outcome != formats.BadSignature {
						t.Errorf("kmodsig on a changed .text: %s", v)
					}
				}
				back, err := GKH2004{}.Strip(formats.NewModule(p, out))
				if err != nil || !bytes.Equal(back, in) {
					t.Fatalf("strip after sign is not the input: %v", err)
				}
			})
		}
	}
}

// checkRSAWithOpenSSL checks the rsa variant with openssl: the MPI magnitude left-padded to the
// modulus length is a PKCS#1 v1.5 SHA-1 signature of the stream.
func checkRSAWithOpenSSL(t *testing.T, sec, stream []byte) {
	t.Helper()
	openssl := peers.Require(t, "openssl")
	bits := int(sec[0])<<8 | int(sec[1])
	if 2+(bits+7)/8 != len(sec) || sec[2] == 0 {
		t.Fatalf("not one exact MPI: %d bits, %d bytes", bits, len(sec))
	}
	kb := 256
	s := make([]byte, kb)
	copy(s[kb-len(sec[2:]):], sec[2:])
	sp, pp := writeTemp(t, "s.bin", s), writeTemp(t, "p.bin", stream)
	out, err := exec.Command(openssl, "dgst", "-sha1", "-verify", "../testdata/keys/rsa2048.pub.pem", "-signature", sp, pp).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Errorf("openssl dgst -verify: %v\n%s", err, out)
	}
}

// checkWithBinutilsFile runs readelf -a (no warnings) and ld -r on a file.
func checkWithBinutilsFile(t *testing.T, k elfKind, p string) {
	t.Helper()
	if _, se := run(t, tool(t, k, "readelf"), "-a", "-W", p); se != "" {
		t.Errorf("readelf -a: %s", se)
	}
	args := []string{"-r", "-o", filepath.Join(t.TempDir(), "relinked.o"), p}
	if _, se := run(t, tool(t, k, "ld"), args...); se != "" {
		t.Errorf("ld -r: %s", se)
	}
}

// TestGKHEncrypted: the article's scheme both ways. kmodsig's encrypted section decrypts with
// gpg to the hex SHA-1 of the stream binutils extract; the article's own pipeline (sha1sum,
// gpg -e -r, objcopy --add-section) verifies in kmodsig with the secret key and is
// unsupported without it.
func TestGKHEncrypted(t *testing.T) {
	g := newGKHGPG(t)
	fpr := g.articleKey()
	secret := g.Must("--export-secret-keys", fpr)
	public := g.Must("--export", fpr)
	k, err := keys.Parse(secret)
	if err != nil {
		t.Fatal(err)
	}
	secRing, pubRing := &keys.Ring{}, &keys.Ring{}
	if err := secRing.Add(secret); err != nil {
		t.Fatal(err)
	}
	if err := pubRing.Add(public); err != nil {
		t.Fatal(err)
	}
	for _, kind := range gkhKinds {
		t.Run(kind.name, func(t *testing.T) {
			in := readFixture(t, kind.path)
			out, err := GKH2004{}.Sign(in, k, formats.SignOptions{Variant: GKHEncrypted})
			if err != nil {
				t.Fatal(err)
			}
			p := writeTemp(t, "signed.ko", out)
			checkWithBinutilsFile(t, kind, p)
			dir := t.TempDir()
			sigFile := filepath.Join(dir, "sig.bin")
			run(t, tool(t, kind, "objcopy"), "--dump-section", "module_sig="+sigFile, p, filepath.Join(dir, "scratch"))
			plain := g.Must("--decrypt", sigFile)
			sum := sha1.Sum(oracleStream(t, kind, p, "kernel"))
			if string(plain) != hex.EncodeToString(sum[:])+"\n" {
				t.Errorf("gpg --decrypt gave %q", plain)
			}
			lp := string(g.Must("--list-packets", "--list-only", sigFile))
			if !strings.Contains(lp, ":pubkey enc packet:") || strings.Contains(lp, "compressed") {
				t.Errorf("structure:\n%s", lp)
			}
			m := formats.NewModule(p, out)
			if v := (GKH2004{}).Verify(m, secRing, formats.Policy{}); v.Outcome != formats.OK || v.Permissive != formats.ErrnoOK {
				t.Errorf("with secret key: %s %v", v, v.Notes)
			}
			if v := (GKH2004{}).Verify(m, pubRing, formats.Policy{}); v.Outcome != formats.Unsupported || v.Enforcing != formats.ErrnoEPERM || !strings.Contains(v.Reason, "private key needed") {
				t.Errorf("without secret key: %s", v)
			}

			// Deterministic mode (vectors): same bytes twice, still decrypted by gpg.
			d1, err := GKH2004{}.Sign(in, k, formats.SignOptions{Variant: GKHEncrypted, Deterministic: true})
			if err != nil {
				t.Fatal(err)
			}
			d2, _ := GKH2004{}.Sign(in, k, formats.SignOptions{Variant: GKHEncrypted, Deterministic: true})
			if !bytes.Equal(d1, d2) || bytes.Equal(d1, out) {
				t.Error("deterministic encryption is not reproducible")
			}
			dp := writeTemp(t, "det.ko", d1)
			detSig := filepath.Join(dir, "det.bin")
			run(t, tool(t, kind, "objcopy"), "--dump-section", "module_sig="+detSig, dp, filepath.Join(dir, "scratch2"))
			if plain := g.Must("--decrypt", detSig); string(plain) != hex.EncodeToString(sum[:])+"\n" {
				t.Errorf("gpg --decrypt (deterministic) gave %q", plain)
			}

			// The article's pipeline, over the libbfd signer's output (MODULE.out).
			mod := writeTemp(t, "m.ko", in)
			outFile := g.File("m.ko.out", oracleStream(t, kind, mod, "libbfd"))
			s := sha1.Sum(readFixture(t, outFile))
			sha := g.File("m.ko.sha1", []byte(hex.EncodeToString(s[:])+"\n"))
			crypt := g.File("m.ko.crypt", nil)
			os.Remove(crypt)
			g.Must("--no-greeting", "-e", "-o", crypt, "-r", fpr, sha)
			signed := filepath.Join(t.TempDir(), "m.signed.ko")
			run(t, tool(t, kind, "objcopy"), "--add-section", "module_sig="+crypt, mod, signed)
			am := formats.NewModule(signed, readFixture(t, signed))
			sig, err := GKH2004{}.Parse(am)
			if err != nil || sig.Variant != GKHEncrypted {
				t.Fatalf("Parse: %+v %v", sig, err)
			}
			v := GKH2004{}.Verify(am, secRing, formats.Policy{})
			if v.Outcome != formats.OK || !strings.Contains(strings.Join(v.Notes, "\n"), "libbfd stream") {
				t.Errorf("article pipeline: %s %v", v, v.Notes)
			}
			if v := (GKH2004{}).Verify(am, pubRing, formats.Policy{}); v.Outcome != formats.Unsupported {
				t.Errorf("article pipeline without secret: %s", v)
			}
		})
	}
}

// TestGKHVerdicts is the result-code table of FORMATS.md gkh2004 under the three policies.
func TestGKHVerdicts(t *testing.T) {
	in := readFixture(t, "../testdata/elf/x86_64.ko")
	k := loadKey(t, "rsa2048.key")
	sign := func(variant string) []byte {
		out, err := GKH2004{}.Sign(in, k, formats.SignOptions{Variant: variant})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	detached, rsaSig, enc := sign(""), sign("rsa"), sign("encrypted")
	f, _ := NewFile(formats.NewModule("", detached))
	text := f.Section(".text")
	tamperText := bytes.Clone(detached)
	tamperText[text.Offset+3] ^= 1
	sec := f.Section(GKHSection)
	tamperSig := bytes.Clone(detached)
	tamperSig[sec.Offset+sec.Size-5] ^= 1
	garbage := bytes.Clone(detached)
	copy(garbage[sec.Offset:], []byte{0x00, 0x01, 0x02})
	fr, _ := NewFile(formats.NewModule("", rsaSig))
	tamperRSA := bytes.Clone(rsaSig)
	tamperRSA[fr.Section(".data").Offset] ^= 0x80

	trusted := loadRing(t, "rsa2048.key")
	pubOnly := loadRing(t, "rsa2048.crt")
	other := loadRing(t, "untrusted-rsa2048.crt")
	empty := &keys.Ring{}
	type want struct {
		o         formats.Outcome
		perm, enf formats.Errno
	}
	tests := []struct {
		name   string
		mod    []byte
		ring   *keys.Ring
		tree   want // default policy
		art    want // gkh2004-article
		reason string
	}{
		{"unsigned", in, trusted, want{formats.Unsigned, "OK", "EPERM"}, want{formats.Unsigned, "EPERM", "EPERM"}, "no module_sig"},
		{"detached ok", detached, pubOnly, want{formats.OK, "OK", "OK"}, want{formats.OK, "OK", "OK"}, "good detached"},
		{"rsa ok", rsaSig, pubOnly, want{formats.OK, "OK", "OK"}, want{formats.OK, "OK", "OK"}, "good rsa"},
		{"encrypted ok", enc, trusted, want{formats.OK, "OK", "OK"}, want{formats.OK, "OK", "OK"}, "good encrypted"},
		{"encrypted no private key", enc, pubOnly, want{formats.Unsupported, "EPERM", "EPERM"}, want{formats.Unsupported, "EPERM", "EPERM"}, "private key needed"},
		{"tampered text", tamperText, pubOnly, want{formats.BadSignature, "EPERM", "EPERM"}, want{formats.BadSignature, "EPERM", "EPERM"}, "bad signature"},
		{"tampered rsa data", tamperRSA, pubOnly, want{formats.BadSignature, "EPERM", "EPERM"}, want{formats.BadSignature, "EPERM", "EPERM"}, "matches none"},
		{"tampered signature", tamperSig, pubOnly, want{formats.BadSignature, "EPERM", "EPERM"}, want{formats.BadSignature, "EPERM", "EPERM"}, "bad signature"},
		{"other key", detached, other, want{formats.BadSignature, "EPERM", "EPERM"}, want{formats.BadSignature, "EPERM", "EPERM"}, "bad signature"},
		{"empty keyring", detached, empty, want{formats.UnknownKey, "EPERM", "EPERM"}, want{formats.UnknownKey, "EPERM", "EPERM"}, "no RSA key"},
		{"corrupt section", garbage, pubOnly, want{formats.Corrupt, "EPERM", "EPERM"}, want{formats.Corrupt, "EPERM", "EPERM"}, "cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := formats.NewModule(tt.name, tt.mod)
			for _, pc := range []struct {
				policy string
				w      want
			}{{"", tt.tree}, {GKHKernelTree, tt.tree}, {GKHKernelArticle, tt.art}, {GKHKernelStub, want{tt.tree.o, "OK", "OK"}}} {
				v := GKH2004{}.Verify(m, tt.ring, formats.Policy{Kernel: pc.policy})
				if v.Outcome != pc.w.o || v.Permissive != pc.w.perm || v.Enforcing != pc.w.enf {
					t.Errorf("policy %q: %s, want %s %s/%s", pc.policy, v, pc.w.o, pc.w.perm, pc.w.enf)
				}
				if !strings.Contains(v.Reason, tt.reason) {
					t.Errorf("policy %q: reason %q lacks %q", pc.policy, v.Reason, tt.reason)
				}
			}
		})
	}
}

// TestGKHSignRefusals: key types and hashes the era could not use.
func TestGKHSignRefusals(t *testing.T) {
	in := readFixture(t, "../testdata/elf/i386.ko")
	ec := loadKey(t, "ecdsa-p256.key")
	if _, err := (GKH2004{}).Sign(in, ec, formats.SignOptions{}); !errors.Is(err, formats.ErrKeyType) {
		t.Errorf("ECDSA: %v", err)
	}
	dsaKey := loadKey(t, "dsa1024.key")
	if _, err := (GKH2004{}).Sign(in, dsaKey, formats.SignOptions{}); !errors.Is(err, formats.ErrKeyType) {
		t.Errorf("DSA: %v", err)
	}
	k := loadKey(t, "rsa2048.key")
	if _, err := (GKH2004{}).Sign(in, k, formats.SignOptions{Variant: "rsa", Hash: crypto.SHA256}); !errors.Is(err, formats.ErrHash) {
		t.Errorf("rsa+sha256: %v", err)
	}
	if _, err := (GKH2004{}).Sign(in, k, formats.SignOptions{Variant: "nope"}); err == nil {
		t.Error("unknown variant accepted")
	}
	signed, err := GKH2004{}.Sign(in, k, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (GKH2004{}).Sign(signed, k, formats.SignOptions{}); err == nil {
		t.Error("signed twice")
	}
	// A forced DSA detached signature is the RH-0 form: Verify finds it over the RH-0 stream.
	var warned string
	rh0, err := GKH2004{}.Sign(in, dsaKey, formats.SignOptions{Force: true, Warn: func(s string) { warned = s }})
	if err != nil || warned == "" {
		t.Fatalf("forced DSA: %v (warning %q)", err, warned)
	}
	v := GKH2004{}.Verify(formats.NewModule("rh0", rh0), loadRing(t, "dsa1024.key"), formats.Policy{})
	if v.Outcome != formats.OK {
		t.Errorf("DSA detached: %s %v", v, v.Notes)
	}
}

// TestGKHDeterministic: detached and rsa outputs are byte-reproducible; strip then sign gives
// back the signed bytes.
func TestGKHDeterministic(t *testing.T) {
	in := readFixture(t, "../testdata/elf/ppc32be.ko")
	k := loadKey(t, "rsa2048.key")
	for _, v := range []string{"detached", "rsa", "detached+libbfd"} {
		a, err := GKH2004{}.Sign(in, k, formats.SignOptions{Variant: v})
		if err != nil {
			t.Fatal(err)
		}
		stripped, err := GKH2004{}.Strip(formats.NewModule("", a))
		if err != nil {
			t.Fatal(err)
		}
		b, err := GKH2004{}.Sign(stripped, k, formats.SignOptions{Variant: v})
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: not reproducible (%v)", v, err)
		}
	}
}

// extractPkey reimplements the tree's extract_pkey reading from FORMATS.md (n and e as MPIs
// from offset 8 of a `gpg --export`), printing the same C text; independent of ExportKey.
func extractPkey(t *testing.T, export []byte) string {
	t.Helper()
	if export[0] != 0x98 {
		t.Fatalf("export starts 0x%02x, extract_pkey needs 98", export[0])
	}
	off := 8
	var b strings.Builder
	for i, name := range []string{"n", "e"} {
		bits := int(export[off])<<8 | int(export[off+1])
		mpi := export[off : off+2+(bits+7)/8]
		off += len(mpi)
		fmt.Fprintf(&b, "const char rsa_key_%s[] = {\n", name)
		for _, c := range mpi {
			fmt.Fprintf(&b, "0x%02x, ", c)
		}
		b.WriteString("};\n")
		if i == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "const int rsa_key_%s_size = %d;\n", name, len(mpi))
	}
	return b.String()
}

// TestGKHExportKey: ExportKey writes what extract_pkey printed for a gpg-made RSA-1024 key.
func TestGKHExportKey(t *testing.T) {
	g := newGKHGPG(t)
	g.Must("--quick-gen-key", "Small <small@example.invalid>", "rsa1024", "sign", "never")
	export := g.Must("--export")
	secret := g.Must("--export-secret-keys")
	k, err := keys.Parse(secret)
	if err != nil {
		t.Fatal(err)
	}
	got, name, err := GKH2004{}.ExportKey(k, formats.SignOptions{})
	if err != nil || name != "rsa_key.c" {
		t.Fatal(err, name)
	}
	if want := extractPkey(t, export); string(got) != want {
		t.Errorf("ExportKey:\n%s\nextract_pkey:\n%s", got, want)
	}
	// A keyring reads extract_pkey's text back as the key gpg made, and a module signed with
	// that key verifies against it.
	r := &keys.Ring{}
	if err := r.Add([]byte(extractPkey(t, export))); err != nil || len(r.Keys) != 1 || !keys.SamePublic(r.Keys[0], k.Public()) {
		t.Fatalf("rsa_key.c read back: %v, %d keys", err, len(r.Keys))
	}
	signed, err := GKH2004{}.Sign(readFixture(t, gkhKinds[0].path), k, formats.SignOptions{Variant: "rsa"})
	if err != nil {
		t.Fatal(err)
	}
	if v := (GKH2004{}).Verify(formats.NewModule("", signed), r, formats.Policy{}); v.Outcome != formats.OK {
		t.Errorf("verified against rsa_key.c: %s: %s", v.Outcome, v.Reason)
	}
	if _, _, err := (GKH2004{}).ExportKey(loadKey(t, "ecdsa-p256.key"), formats.SignOptions{}); !errors.Is(err, formats.ErrKeyType) {
		t.Errorf("ECDSA export: %v", err)
	}
}

// FuzzGKH2004: Detect, Parse, Verify and Strip never panic, seeded with signed modules of every
// variant on every ELF kind.
func FuzzGKH2004(f *testing.F) {
	k := loadKey(f, "rsa2048.key")
	for _, kind := range gkhKinds {
		in, err := os.ReadFile(kind.path)
		if err != nil {
			f.Fatal(err)
		}
		for _, v := range []string{"", "rsa", "encrypted"} {
			out, err := GKH2004{}.Sign(in, k, formats.SignOptions{Variant: v})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(out)
		}
	}
	ring := loadRing(f, "rsa2048.key")
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("fuzz", b)
		d := GKH2004{}
		if !d.Detect(m) {
			return
		}
		d.Parse(m)
		d.Verify(m, ring, formats.Policy{})
		d.Strip(m)
	})
}

// TestGKHMalformed: damaged module_sig sections give a *formats.FormatError naming the format
// and the offset of the section data, and a corrupt verdict.
func TestGKHMalformed(t *testing.T) {
	in := readFixture(t, "../testdata/elf/s390x.ko")
	tests := []struct {
		name string
		sec  NewSection
		msg  string
	}{
		{"empty", NewSection{Name: GKHSection, Type: elf.SHT_PROGBITS}, "empty"},
		{"short mpi", NewSection{Name: GKHSection, Type: elf.SHT_PROGBITS, Data: []byte{0x04, 0x00, 1, 2, 3}}, "neither"},
		{"mpi too big", NewSection{Name: GKHSection, Type: elf.SHT_PROGBITS, Data: append([]byte{0x40, 0x01}, bytes.Repeat([]byte{1}, 2049)...)}, "neither"},
		{"truncated signature packet", NewSection{Name: GKHSection, Type: elf.SHT_PROGBITS, Data: []byte{0x89, 0x01, 0x00, 4}}, "exceeds"},
		{"truncated session key packet", NewSection{Name: GKHSection, Type: elf.SHT_PROGBITS, Data: []byte{0x85, 0x01, 0x00, 3}}, "exceeds"},
		{"nobits", NewSection{Name: GKHSection, Type: elf.SHT_NOBITS}, "NOBITS"},
	}
	ring := loadRing(t, "rsa2048.crt")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Add(formats.NewModule("", in), tt.sec)
			if err != nil {
				t.Fatal(err)
			}
			m := formats.NewModule("bad.ko", b)
			if !(GKH2004{}).Detect(m) {
				t.Fatal("not detected")
			}
			_, err = GKH2004{}.Parse(m)
			var fe *formats.FormatError
			if !errors.As(err, &fe) || fe.Format != GKHID || fe.Path != "bad.ko" || !strings.Contains(fe.Error(), tt.msg) {
				t.Fatalf("Parse: %v", err)
			}
			f, _ := NewFile(m)
			s := f.Section(GKHSection)
			if fe.Off != int64(s.Offset) && fe.Off != s.HeaderOff && fe.Off != int64(s.Offset)+1 {
				t.Errorf("offset %d, section data at %d, header at %d", fe.Off, s.Offset, s.HeaderOff)
			}
			v := GKH2004{}.Verify(m, ring, formats.Policy{})
			if v.Outcome != formats.Corrupt || v.Permissive != formats.ErrnoEPERM {
				t.Errorf("verdict %s", v)
			}
			if back, err := (GKH2004{}).Strip(m); err != nil || !bytes.Equal(back, in) {
				t.Errorf("Strip: %v", err)
			}
		})
	}
}
