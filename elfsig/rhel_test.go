package elfsig

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// rhKey loads a committed test key.
func rhKey(t testing.TB, name string) *keys.Material {
	t.Helper()
	k, err := keys.LoadFile("../testdata/keys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rhRing trusts k's public forms (its OpenPGP key once derived).
func rhRing(t testing.TB, k *keys.Material) *keys.Ring {
	t.Helper()
	if _, err := k.OpenPGP(); err != nil {
		t.Fatal(err)
	}
	r := &keys.Ring{}
	r.AddMaterial(k)
	return r
}

func TestSigNote(t *testing.T) {
	sig := []byte{0x88, 0x03, 0xaa, 0xbb, 0xcc}
	// Hand-computed: namesz 11, descsz 5, type 100, "module.sig\0\0", sig, 3 zero bytes.
	wantLE := []byte{11, 0, 0, 0, 5, 0, 0, 0, 100, 0, 0, 0, 'm', 'o', 'd', 'u', 'l', 'e', '.', 's', 'i', 'g', 0, 0, 0x88, 0x03, 0xaa, 0xbb, 0xcc, 0, 0, 0}
	wantBE := []byte{0, 0, 0, 11, 0, 0, 0, 5, 0, 0, 0, 100, 'm', 'o', 'd', 'u', 'l', 'e', '.', 's', 'i', 'g', 0, 0, 0x88, 0x03, 0xaa, 0xbb, 0xcc, 0, 0, 0}
	for _, tc := range []struct {
		bo   binary.ByteOrder
		want []byte
	}{{binary.LittleEndian, wantLE}, {binary.BigEndian, wantBE}} {
		got := AppendSigNote(nil, tc.bo, sig)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%v: note\n% x\nwant\n% x", tc.bo, got, tc.want)
		}
		desc, err := ParseSigNote(tc.bo, got)
		if err != nil || !bytes.Equal(desc, sig) {
			t.Errorf("%v: parse: % x, %v", tc.bo, desc, err)
		}
	}
	for n := 0; n < 9; n++ {
		if l := len(AppendSigNote(nil, binary.LittleEndian, make([]byte, n))); l%4 != 0 || l < 24+n || l > 24+n+3 {
			t.Errorf("desc of %d bytes: note of %d bytes", n, l)
		}
	}
	bad := []struct {
		name  string
		patch func(b []byte) []byte
	}{
		{"short header", func(b []byte) []byte { return b[:10] }},
		{"namesz", func(b []byte) []byte { b[0] = 10; return b }},
		{"type", func(b []byte) []byte { b[8] = 99; return b }},
		{"name", func(b []byte) []byte { b[12] = 'M'; return b }},
		{"name truncated", func(b []byte) []byte { return b[:20] }},
		{"descsz", func(b []byte) []byte { b[4] = 9; return b }},
	}
	for _, tc := range bad {
		b := tc.patch(bytes.Clone(wantLE))
		_, err := ParseSigNote(binary.LittleEndian, b)
		var fe *formats.FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: got %v, want a *formats.FormatError", tc.name, err)
		}
	}
}

func FuzzParseSigNote(f *testing.F) {
	f.Add(AppendSigNote(nil, binary.LittleEndian, []byte{0x88, 1, 2}))
	f.Add(AppendSigNote(nil, binary.BigEndian, bytes.Repeat([]byte{7}, 70)))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			desc, err := ParseSigNote(bo, b)
			if err != nil {
				var fe *formats.FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *formats.FormatError", err)
				}
				continue
			}
			// Accepted notes round-trip through the writer.
			again, err := ParseSigNote(bo, AppendSigNote(nil, bo, desc))
			if err != nil || !bytes.Equal(again, desc) {
				t.Fatalf("round trip: %v", err)
			}
			// Header, name and descriptor re-encode to the parsed bytes (the name's padding
			// byte is not checked, as the kernel did not check it).
			enc := AppendSigNote(nil, bo, desc)
			if !bytes.Equal(b[:23], enc[:23]) || !bytes.Equal(b[24:24+len(desc)], enc[24:24+len(desc)]) {
				t.Fatal("re-encoded note differs from the parsed bytes")
			}
		}
	})
}

// rhSigned signs every fixture with every variant; the table drives the round-trip tests.
var rhVariants = []struct {
	name    string
	driver  formats.Driver
	variant string
	key     string
}{
	{"rhel5", RHEL5{}, "", "dsa1024.key"},
	{"rhel6-dsa", RHEL6{}, "", "dsa1024.key"},
	{"rhel6-rsa", RHEL6{}, "rsa", "rsa2048.key"},
}

// TestRHELRoundTrip signs each ELF kind with each variant: kmodsig verifies its output, the
// driver and only it detects it, Parse reports the key id, and Strip gives back the unsigned
// input byte for byte.
func TestRHELRoundTrip(t *testing.T) {
	for _, fx := range canonFixtures {
		unsigned := cnReadFixture(t, fx.path)
		for _, vr := range rhVariants {
			t.Run(fx.name+"/"+vr.name, func(t *testing.T) {
				k := rhKey(t, vr.key)
				signed, err := vr.driver.Sign(unsigned, k, formats.SignOptions{Variant: vr.variant})
				if err != nil {
					t.Fatal(err)
				}
				m := formats.NewModule(fx.name, signed)
				if d := formats.Detect(m); d == nil || d.ID() != vr.driver.ID() {
					t.Fatalf("detected as %v, want %s", d, vr.driver.ID())
				}
				if formats.Detect(formats.NewModule(fx.name, unsigned)) != nil {
					t.Fatal("unsigned fixture detected as signed")
				}
				v := vr.driver.Verify(m, rhRing(t, k), formats.Policy{})
				if v.Outcome != formats.OK || v.Permissive != formats.ErrnoOK || v.Enforcing != formats.ErrnoOK {
					t.Fatalf("verify: %v", v)
				}
				id, _ := gpgsig.SigningKeyID(k)
				sig, err := vr.driver.Parse(m)
				if err != nil {
					t.Fatal(err)
				}
				if binary.BigEndian.Uint64(sig.KeyID) != id || sig.HashAlgo != "sha1" || sig.SigID != "PGP" {
					t.Errorf("parse: %+v", sig)
				}
				if vr.driver.ID() == RHEL6ID && sig.Variant != map[string]string{"": "dsa", "rsa": "rsa"}[vr.variant] {
					t.Errorf("variant %q", sig.Variant)
				}
				stripped, err := vr.driver.Strip(m)
				if err != nil || !bytes.Equal(stripped, unsigned) {
					t.Fatalf("strip does not give back the input (err %v)", err)
				}
			})
		}
	}
}

// TestRHELSignRefusals checks the key-type rules: the RHEL kernels verify only DSA, the
// Howells variant only RSA.
func TestRHELSignRefusals(t *testing.T) {
	unsigned := cnReadFixture(t, "../testdata/elf/x86_64.ko")
	rsaKey, dsaKey, ecKey := rhKey(t, "rsa2048.key"), rhKey(t, "dsa1024.key"), rhKey(t, "ecdsa-p256.key")
	tests := []struct {
		name   string
		d      formats.Driver
		k      *keys.Material
		o      formats.SignOptions
		wantIs error
	}{
		{"rhel5 rsa", RHEL5{}, rsaKey, formats.SignOptions{}, formats.ErrKeyType},
		{"rhel5 ecdsa", RHEL5{}, ecKey, formats.SignOptions{}, formats.ErrKeyType},
		{"rhel5 sha256", RHEL5{}, dsaKey, formats.SignOptions{Hash: crypto.SHA256}, formats.ErrHash},
		{"rhel6 rsa", RHEL6{}, rsaKey, formats.SignOptions{}, formats.ErrKeyType},
		{"rhel6 dsa variant rsa", RHEL6{}, dsaKey, formats.SignOptions{Variant: "rsa"}, formats.ErrKeyType},
		{"rhel6 rsa md5", RHEL6{}, rsaKey, formats.SignOptions{Variant: "rsa", Hash: crypto.MD5}, formats.ErrHash},
		{"rhel6 ecdsa forced", RHEL6{}, ecKey, formats.SignOptions{Force: true}, formats.ErrKeyType},
	}
	for _, tc := range tests {
		_, err := tc.d.Sign(unsigned, tc.k, tc.o)
		if !errors.Is(err, tc.wantIs) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.wantIs)
		}
	}
	// Exports follow the same rule.
	if _, _, err := (RHEL5{}).ExportKey(rsaKey, formats.SignOptions{}); !errors.Is(err, formats.ErrKeyType) {
		t.Errorf("rhel5 export of an RSA key: %v", err)
	}
	if _, name, err := (RHEL6{}).ExportKey(rsaKey, formats.SignOptions{Variant: "rsa"}); err != nil || name != "modsign.pub" {
		t.Errorf("rhel6 rsa export: %q %v", name, err)
	}
	b, name, err := (RHEL5{}).ExportKey(dsaKey, formats.SignOptions{})
	if err != nil || name != "kernel.pub" {
		t.Fatalf("rhel5 export: %q %v", name, err)
	}
	// The export is a binary keyring whose DSA key has the id signatures name.
	r := &keys.Ring{}
	if err := r.Add(b); err != nil {
		t.Fatal(err)
	}
	id, _ := gpgsig.SigningKeyID(dsaKey)
	if r.PGPKeyByID(id) == nil {
		t.Fatal("exported keyring lacks the signing key")
	}
	// Forced RSA into rhel5 warns and signs.
	var warned string
	if _, err := (RHEL5{}).Sign(unsigned, rsaKey, formats.SignOptions{Force: true, Warn: func(s string) { warned = s }}); err != nil || warned == "" {
		t.Errorf("forced rsa: %v, warning %q", err, warned)
	}
}

// rhDamage describes how a verdict test case is made from a valid signed module.
type rhCase struct {
	name   string
	make   func(t *testing.T) (formats.Module, *keys.Ring)
	policy string
	want   formats.Outcome
	perm   formats.Errno
	enf    formats.Errno
}

// TestRHELVerdicts checks the result codes per release (FORMATS.md rhel5 and rhel6 tables).
func TestRHELVerdicts(t *testing.T) {
	unsigned := cnReadFixture(t, "../testdata/elf/i386.ko")
	dsaKey, rsaKey, other := rhKey(t, "dsa1024.key"), rhKey(t, "rsa2048.key"), rhKey(t, "untrusted-rsa2048.key")
	sign := func(t *testing.T, d formats.Driver, k *keys.Material, o formats.SignOptions) []byte {
		t.Helper()
		b, err := d.Sign(unsigned, k, o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	trusted := func(t *testing.T) *keys.Ring {
		r := rhRing(t, dsaKey)
		r.AddMaterial(rsaKey)
		return r
	}
	mod := func(b []byte) formats.Module { return formats.NewModule("i386.ko", b) }
	valid5 := func(t *testing.T) []byte { return sign(t, RHEL5{}, dsaKey, formats.SignOptions{}) }
	valid6 := func(t *testing.T) []byte { return sign(t, RHEL6{}, dsaKey, formats.SignOptions{}) }
	valid6rsa := func(t *testing.T) []byte { return sign(t, RHEL6{}, rsaKey, formats.SignOptions{Variant: "rsa"}) }
	// tamper flips a byte of .text (file offset 0x50), which the canonical stream covers.
	tamper := func(b []byte) []byte { b = bytes.Clone(b); b[0x50] ^= 1; return b }
	// sigByte corrupts the first byte of the signature packet.
	sigByte := func(d formats.Driver, b []byte, val byte) []byte {
		b = bytes.Clone(b)
		s, err := d.Parse(mod(b))
		if err != nil {
			panic(err)
		}
		off := s.Offset
		if d.ID() == RHEL6ID {
			off += 24
		}
		b[off] = val
		return b
	}
	// badRel points .rel.text's first relocation at a symbol beyond the table (stream error).
	badRel := func(b []byte) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[0x3d8+4:], 0xff01)
		return b
	}
	// badNote changes the note type to 99.
	badNote := func(b []byte) []byte {
		b = bytes.Clone(b)
		s, _ := RHEL6{}.Parse(mod(b))
		b[s.Offset+8] = 99
		return b
	}
	keyring := func(b func(t *testing.T) []byte, r func(t *testing.T) *keys.Ring) func(t *testing.T) (formats.Module, *keys.Ring) {
		return func(t *testing.T) (formats.Module, *keys.Ring) { return mod(b(t)), r(t) }
	}
	untrusted := func(t *testing.T) *keys.Ring { return rhRing(t, other) }
	fixed := func(b []byte) func(t *testing.T) []byte { return func(*testing.T) []byte { return b } }

	var cases []rhCase
	for _, kernel := range []string{KernelRHEL4, KernelRHEL5} {
		codes := rhelTables[kernel]
		c := func(name string, mk func(t *testing.T) (formats.Module, *keys.Ring), want formats.Outcome, cl rhelClass) {
			cases = append(cases, rhCase{"rhel5/" + kernel + "/" + name, mk, kernel, want, codes[cl][0], codes[cl][1]})
		}
		c("unsigned", keyring(fixed(unsigned), trusted), formats.Unsigned, rcUnsigned)
		c("valid", keyring(valid5, trusted), formats.OK, rcOK)
		c("unknown key", keyring(valid5, untrusted), formats.UnknownKey, rcUnknownKey)
		c("bad signature", keyring(func(t *testing.T) []byte { return tamper(valid5(t)) }, trusted), formats.BadSignature, rcBadSig)
		c("rsa signature", keyring(func(t *testing.T) []byte {
			return sign(t, RHEL5{}, rsaKey, formats.SignOptions{Force: true})
		}, trusted), formats.Unsupported, rcNoSig)
		c("sha256 signature", keyring(func(t *testing.T) []byte {
			return sign(t, RHEL5{}, dsaKey, formats.SignOptions{Force: true, Hash: crypto.SHA256})
		}, trusted), formats.Unsupported, rcNoSig)
		c("malformed packet", keyring(func(t *testing.T) []byte { return sigByte(RHEL5{}, valid5(t), 0x00) }, trusted), formats.Corrupt, rcBadMsg)
		c("stream error", keyring(func(t *testing.T) []byte { return badRel(valid5(t)) }, trusted), formats.Corrupt, rcFormat)
	}
	// The RHEL4/5 tables of FORMATS.md, spelled out once so the map above is checked too.
	spot := map[string][2]formats.Errno{
		"rhel5/rhel4/unsigned":      {formats.ErrnoOK, formats.ErrnoEPERM},
		"rhel5/rhel4/bad signature": {formats.ErrnoOK, formats.ErrnoEPERM},
		"rhel5/rhel4/stream error":  {formats.ErrnoOK, formats.ErrnoELIBBAD},
		"rhel5/rhel5/unknown key":   {formats.ErrnoEPERM, formats.ErrnoEPERM},
		"rhel5/rhel5/bad signature": {formats.ErrnoEPERM, formats.ErrnoEPERM},
		"rhel5/rhel5/stream error":  {formats.ErrnoELIBBAD, formats.ErrnoELIBBAD},
		"rhel5/rhel5/unsigned":      {formats.ErrnoOK, formats.ErrnoEPERM},
		"rhel6/rhel6/unsigned":      {formats.ErrnoOK, formats.ErrnoEKEYREJECTED},
		"rhel6/rhel6/unknown key":   {formats.ErrnoENOKEY, formats.ErrnoENOKEY},
		"rhel6/rhel6/bad signature": {formats.ErrnoEKEYREJECTED, formats.ErrnoEKEYREJECTED},
		"rhel6/rhel6/rsa signature": {formats.ErrnoENOENT, formats.ErrnoENOENT},
		"rhel6/rhel6/bad note":      {formats.ErrnoELIBBAD, formats.ErrnoELIBBAD},
	}
	r6 := func(name string, mk func(t *testing.T) (formats.Module, *keys.Ring), kernel string, want formats.Outcome, perm, enf formats.Errno) {
		cases = append(cases, rhCase{"rhel6/" + kernel + "/" + name, mk, kernel, want, perm, enf})
	}
	E := struct{ OK, EKR, ENOKEY, ENOENT, EBADMSG, ELIBBAD, ENOPKG formats.Errno }{
		formats.ErrnoOK, formats.ErrnoEKEYREJECTED, formats.ErrnoENOKEY, formats.ErrnoENOENT, formats.ErrnoEBADMSG, formats.ErrnoELIBBAD, formats.ErrnoENOPKG}
	r6("unsigned", keyring(fixed(unsigned), trusted), KernelRHEL6, formats.Unsigned, E.OK, E.EKR)
	r6("valid", keyring(valid6, trusted), KernelRHEL6, formats.OK, E.OK, E.OK)
	r6("valid default policy", keyring(valid6, trusted), "", formats.OK, E.OK, E.OK)
	r6("unknown key", keyring(valid6, untrusted), KernelRHEL6, formats.UnknownKey, E.ENOKEY, E.ENOKEY)
	r6("bad signature", keyring(func(t *testing.T) []byte { return tamper(valid6(t)) }, trusted), KernelRHEL6, formats.BadSignature, E.EKR, E.EKR)
	r6("rsa signature", keyring(valid6rsa, trusted), KernelRHEL6, formats.Unsupported, E.ENOENT, E.ENOENT)
	r6("malformed packet", keyring(func(t *testing.T) []byte { return sigByte(RHEL6{}, valid6(t), 0x00) }, trusted), KernelRHEL6, formats.Corrupt, E.EBADMSG, E.EBADMSG)
	r6("bad note", keyring(func(t *testing.T) []byte { return badNote(valid6(t)) }, trusted), KernelRHEL6, formats.Corrupt, E.ELIBBAD, E.ELIBBAD)
	r6("stream error", keyring(func(t *testing.T) []byte { return badRel(valid6(t)) }, trusted), KernelRHEL6, formats.Corrupt, E.ELIBBAD, E.ELIBBAD)
	r6("sha256 dsa", keyring(func(t *testing.T) []byte {
		return sign(t, RHEL6{}, dsaKey, formats.SignOptions{Hash: crypto.SHA256})
	}, trusted), KernelRHEL6, formats.OK, E.OK, E.OK)
	// Fedora 2012 (Howells) rules for the rsa variant.
	for _, kernel := range []string{KernelFedora2012, KernelFedora2012Early} {
		unknownPerm := E.OK
		if kernel == KernelFedora2012Early {
			unknownPerm = E.ENOKEY
		}
		r6("unsigned", keyring(fixed(unsigned), trusted), kernel, formats.Unsigned, E.OK, E.EKR)
		r6("valid", keyring(valid6rsa, trusted), kernel, formats.OK, E.OK, E.OK)
		r6("unknown key", keyring(valid6rsa, untrusted), kernel, formats.UnknownKey, unknownPerm, E.ENOKEY)
		r6("bad signature", keyring(func(t *testing.T) []byte { return tamper(valid6rsa(t)) }, trusted), kernel, formats.BadSignature, E.EKR, E.EKR)
		r6("dsa signature", keyring(valid6, trusted), kernel, formats.Unsupported, E.ENOPKG, E.ENOPKG)
		r6("malformed packet", keyring(func(t *testing.T) []byte { return sigByte(RHEL6{}, valid6rsa(t), 0x00) }, trusted), kernel, formats.Corrupt, E.EBADMSG, E.EBADMSG)
		r6("bad note", keyring(func(t *testing.T) []byte { return badNote(valid6rsa(t)) }, trusted), kernel, formats.Corrupt, E.ELIBBAD, E.ELIBBAD)
	}
	r6("valid default policy rsa", keyring(valid6rsa, trusted), "", formats.OK, E.OK, E.OK)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ring := tc.make(t)
			var d formats.Driver = RHEL5{}
			if tc.name[:5] == "rhel6" {
				d = RHEL6{}
			}
			v := d.Verify(m, ring, formats.Policy{Kernel: tc.policy})
			if v.Outcome != tc.want || v.Permissive != tc.perm || v.Enforcing != tc.enf {
				t.Fatalf("got %s %s/%s (%s), want %s %s/%s", v.Outcome, v.Permissive, v.Enforcing, v.Reason, tc.want, tc.perm, tc.enf)
			}
			if w, ok := spot[tc.name]; ok && (w[0] != v.Permissive || w[1] != v.Enforcing) {
				t.Fatalf("FORMATS.md table: want %s/%s", w[0], w[1])
			}
			if (tc.want == formats.OK || tc.want == formats.UnknownKey || tc.want == formats.BadSignature) && v.KeyID == "" {
				t.Errorf("verdict names no key id: %v", v)
			}
		})
	}
}

// TestRHELUnknownPolicy checks that an unknown kernel model is reported, not guessed.
func TestRHELUnknownPolicy(t *testing.T) {
	m := formats.NewModule("x", cnReadFixture(t, "../testdata/elf/i386.ko"))
	for _, d := range []formats.Driver{RHEL5{}, RHEL6{}} {
		if v := d.Verify(m, nil, formats.Policy{Kernel: "linux-6.1"}); v.Outcome != formats.Unsupported {
			t.Errorf("%s: %v", d.ID(), v)
		}
	}
}

// rhWithSig puts blob into unsigned as the signature container of format id.
func rhWithSig(t testing.TB, unsigned []byte, id string, blob []byte) []byte {
	t.Helper()
	m := formats.NewModule("m", unsigned)
	var out []byte
	var err error
	if id == RHEL5ID {
		out, err = Add(m, NewSection{Name: RHEL5Section, Type: cnSHTProgbits, Flags: cnSHFWrite | cnSHFAlloc, Addralign: 1, Data: blob})
	} else {
		bo := binary.ByteOrder(binary.LittleEndian)
		if unsigned[5] == 2 {
			bo = binary.BigEndian
		}
		out, err = Add(m, NewSection{Name: RHEL6Section, Type: cnSHTNote, Flags: cnSHFAlloc, Addralign: 4, Data: AppendSigNote(nil, bo, blob)})
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rhHandSig signs stream with a hand-shaped signature packet: version ver (3 or 4), and for
// v4 an empty hashed area when emptyHashed (suffix is what gets hashed after the stream).
func rhHandSig(t testing.TB, k *keys.Material, stream []byte, ver byte, emptyHashed bool, suffix func(*gpgsig.Sig) []byte) []byte {
	t.Helper()
	s, err := gpgsig.NewSig(k, crypto.SHA1, k.CreationTime())
	if err != nil {
		t.Fatal(err)
	}
	if ver == 3 {
		s.Version, s.Hashed, s.Unhashed = 3, nil, nil
	}
	if emptyHashed {
		s.Hashed = nil
	}
	d, err := gpgsig.DigestSuffix(crypto.SHA1, bytes.NewReader(stream), suffix(s))
	if err != nil {
		t.Fatal(err)
	}
	if err := gpgsig.SignDigest(s, k, d); err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRHELQuirks covers the OpenPGP details the era's parsers had: ksign accepts v3
// signatures (RHEL4/5/6), the Howells code never verifies them (hashing the v3 trailer one
// byte early); ksign hashes a v4 signature with an empty hashed area without the two length
// bytes; rhel5 flags unstripped modules with relocations of non-ALLOC sections.
func TestRHELQuirks(t *testing.T) {
	unsigned := cnReadFixture(t, "../testdata/elf/i386.ko")
	dsaKey, rsaKey := rhKey(t, "dsa1024.key"), rhKey(t, "rsa2048.key")
	ring := rhRing(t, dsaKey)
	ring.AddMaterial(rsaKey)
	std := func(s *gpgsig.Sig) []byte { return s.HashSuffix() }
	s5 := mustCanon(t, unsigned, CanonRHEL5)
	s6 := mustCanon(t, unsigned, CanonRHEL6)
	check := func(name string, d formats.Driver, b []byte, kernel string, want formats.Outcome, perm formats.Errno) {
		t.Helper()
		v := d.Verify(formats.NewModule(name, b), ring, formats.Policy{Kernel: kernel})
		if v.Outcome != want || v.Permissive != perm {
			t.Errorf("%s: %v, want %s %s", name, v, want, perm)
		}
	}
	// v3 DSA: good for ksign.
	check("rhel5 v3", RHEL5{}, rhWithSig(t, unsigned, RHEL5ID, rhHandSig(t, dsaKey, s5, 3, false, std)), KernelRHEL5, formats.OK, formats.ErrnoOK)
	check("rhel6 v3", RHEL6{}, rhWithSig(t, unsigned, RHEL6ID, rhHandSig(t, dsaKey, s6, 3, false, std)), KernelRHEL6, formats.OK, formats.ErrnoOK)
	// v3 RSA: a correct signature the Howells kernel still rejects.
	check("fedora v3", RHEL6{}, rhWithSig(t, unsigned, RHEL6ID, rhHandSig(t, rsaKey, s6, 3, false, std)), KernelFedora2012, formats.BadSignature, formats.ErrnoEKEYREJECTED)
	// Empty hashed area: ksign's suffix verifies, RFC 4880's does not.
	check("rhel5 empty hashed (ksign suffix)", RHEL5{}, rhWithSig(t, unsigned, RHEL5ID, rhHandSig(t, dsaKey, s5, 4, true, ksignSuffix)), KernelRHEL5, formats.OK, formats.ErrnoOK)
	check("rhel5 empty hashed (RFC suffix)", RHEL5{}, rhWithSig(t, unsigned, RHEL5ID, rhHandSig(t, dsaKey, s5, 4, true, std)), KernelRHEL5, formats.BadSignature, formats.ErrnoEPERM)
	// Class 0x01 (text) signatures are ignored by ksign: ENOENT.
	textSig := func() []byte {
		s, _ := gpgsig.NewSig(dsaKey, crypto.SHA1, dsaKey.CreationTime())
		s.Class = gpgsig.ClassText
		d, _ := gpgsig.Digest(s, bytes.NewReader(s5))
		if err := gpgsig.SignDigest(s, dsaKey, d); err != nil {
			t.Fatal(err)
		}
		b, _ := s.Marshal()
		return b
	}()
	check("rhel5 class 1", RHEL5{}, rhWithSig(t, unsigned, RHEL5ID, textSig), KernelRHEL5, formats.Unsupported, formats.ErrnoENOENT)
	// A second, ignored RSA signature before the DSA one does not hide it.
	rsaFirst := append(rhHandSig(t, rsaKey, s5, 4, false, std), rhHandSig(t, dsaKey, s5, 4, false, std)...)
	check("rhel5 rsa then dsa", RHEL5{}, rhWithSig(t, unsigned, RHEL5ID, rsaFirst), KernelRHEL5, formats.OK, formats.ErrnoOK)

	// Debug relocations: point .rel.text (section 2) at the non-ALLOC .comment (14).
	dbg := bytes.Clone(unsigned)
	shoff := binary.LittleEndian.Uint32(dbg[32:])
	binary.LittleEndian.PutUint32(dbg[shoff+2*40+28:], 14)
	signed, err := (RHEL5{}).Sign(dbg, dsaKey, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := (RHEL5{}).Parse(formats.NewModule("dbg", signed))
	if err != nil {
		t.Fatal(err)
	}
	if len(sig.Notes) == 0 {
		t.Error("no at-risk note for a relocation section targeting a non-ALLOC section")
	}
	if v := (RHEL5{}).Verify(formats.NewModule("dbg", signed), ring, formats.Policy{}); v.Outcome != formats.OK || len(v.Notes) == 0 {
		t.Errorf("debug relocations: %v %q", v, v.Notes)
	}

	// An SHN_ABS symbol used by a RELA relocation (x86_64.ko symbol 10, used by .rela.text
	// entry 0) is noted for the rsa variant: the 2012-08-16 kernel hashed it differently.
	abs := bytes.Clone(cnReadFixture(t, "../testdata/elf/x86_64.ko"))
	binary.LittleEndian.PutUint16(abs[0x218+10*24+6:], 0xfff1)
	for _, b := range [][]byte{cnReadFixture(t, "../testdata/elf/x86_64.ko"), abs} {
		signed, err := (RHEL6{}).Sign(b, rsaKey, formats.SignOptions{Variant: "rsa"})
		if err != nil {
			t.Fatal(err)
		}
		v := (RHEL6{}).Verify(formats.NewModule("abs", signed), ring, formats.Policy{})
		noted := strings.Contains(strings.Join(v.Notes, "\n"), "SHN_ABS")
		if v.Outcome != formats.OK || noted != bytes.Equal(b, abs) {
			t.Errorf("SHN_ABS note: %v %q", v, v.Notes)
		}
	}
}

// FuzzRHEL runs every entry point of both drivers on mutated signed modules: no panic,
// Parse fails only with a *formats.FormatError, and a verdict always carries result codes.
func FuzzRHEL(f *testing.F) {
	dsaKey, rsaKey := rhKey(f, "dsa1024.key"), rhKey(f, "rsa2048.key")
	for _, fx := range canonFixtures[:4] {
		unsigned := cnReadFixture(f, fx.path)
		for _, vr := range rhVariants {
			k := dsaKey
			if vr.variant == "rsa" {
				k = rsaKey
			}
			b, err := vr.driver.Sign(unsigned, k, formats.SignOptions{Variant: vr.variant})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	ring := rhRing(f, dsaKey)
	ring.AddMaterial(rsaKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("fuzz.ko", b)
		for _, d := range []formats.Driver{RHEL5{}, RHEL6{}} {
			d.Detect(m)
			if _, err := d.Parse(m); err != nil {
				var fe *formats.FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("%s parse: %v is not a *formats.FormatError", d.ID(), err)
				}
			}
			v := d.Verify(m, ring, formats.Policy{})
			if v.Permissive == "" || v.Enforcing == "" || v.Outcome == "" {
				t.Fatalf("%s: verdict without codes: %v", d.ID(), v)
			}
			d.Strip(m)
		}
	})
}
