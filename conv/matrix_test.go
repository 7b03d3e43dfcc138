package conv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/elfsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

// matrixCell is one format (and variant) with the key it is written with.
type matrixCell struct {
	id, variant string
	key         *keys.Material
	keyName     string
}

func (c matrixCell) String() string {
	if c.variant != "" {
		return c.id + "/" + c.variant
	}
	return c.id
}

// initTextOff is a byte inside hello.ko's .init.text (readelf -SW: offset 0xa0, size 0x5c).
const initTextOff = 0xa0 + 0x10

// readOnlyFormats are formats kmodsig reads but never writes.
var readOnlyFormats = map[string]bool{"pgp-trailer": true}

// matrixCells lists every writable format of formats.All() with the RSA key, or the DSA key
// where the format refuses RSA (rhel5; rhel6's default dsa variant), plus rhel6's rsa variant.
func matrixCells(t *testing.T, unsigned []byte) []matrixCell {
	rsaKey := loadKey(t, "rsa2048.pem")
	dsaKey := loadKey(t, "dsa1024.key")
	var cells []matrixCell
	for _, d := range formats.All() {
		_, rerr := d.Sign(unsigned, rsaKey, formats.SignOptions{})
		if rerr == nil {
			cells = append(cells, matrixCell{id: d.ID(), key: rsaKey, keyName: "rsa2048"})
		} else if _, derr := d.Sign(unsigned, dsaKey, formats.SignOptions{}); derr == nil {
			t.Logf("%s refuses RSA (%v): converting to it with dsa1024", d.ID(), rerr)
			cells = append(cells, matrixCell{id: d.ID(), key: dsaKey, keyName: "dsa1024"})
		} else if readOnlyFormats[d.ID()] {
			t.Logf("%s is read-only (%v): not in the matrix", d.ID(), rerr)
		} else {
			t.Errorf("%s signs with neither RSA (%v) nor DSA (%v)", d.ID(), rerr, derr)
		}
		if d.ID() == "rhel6" {
			cells = append(cells, matrixCell{id: "rhel6", variant: "rsa", key: rsaKey, keyName: "rsa2048"})
		}
	}
	return cells
}

// TestConvertMatrix converts hello.ko between every ordered pair of writable formats (and
// from unsigned) through Convert, and checks every result with kmodsig and with the target
// format's independent peer (ORACLES.md): openssl cms, openssl dgst, gpg --verify, evmctl.
func TestConvertMatrix(t *testing.T) {
	tools := map[string]string{}
	for _, tool := range []string{"openssl", "gpg", "evmctl", "objcopy", "readelf"} {
		tools[tool] = peers.Require(t, tool)
	}
	unsigned := helloKO(t)
	cells := matrixCells(t, unsigned)
	dir := t.TempDir()
	o := newOracle(t, dir, tools, cells)

	sources := append([]matrixCell{{id: "none"}}, cells...)
	results := map[string]map[string]string{}
	for _, src := range sources {
		results[src.String()] = map[string]string{}
		srcMod := unsigned
		if src.id != "none" {
			res, err := Sign("hello.ko", unsigned, src.id, src.key, formats.SignOptions{Variant: src.variant})
			if err != nil {
				t.Errorf("source %s: %v", src, err)
				continue
			}
			srcMod = res.Signed
		}
		for _, dst := range cells {
			name := src.String() + "→" + dst.String()
			ok := t.Run(strings.ReplaceAll(name, "/", "-"), func(t *testing.T) {
				cdir := filepath.Join(dir, strings.NewReplacer("/", "-", "→", "_").Replace(name))
				in := filepath.Join(cdir, "in.ko")
				out := filepath.Join(cdir, "out.ko")
				writeFile(t, in, srcMod)
				rep := Convert(context.Background(), []Input{{Path: in, Rel: "in.ko"}},
					Options{To: dst.id, Key: dst.key, Sign: formats.SignOptions{Variant: dst.variant}, Output: out, Jobs: 1})
				if rep.Err() != nil || rep.Converted != 1 {
					t.Fatalf("Convert: %+v", rep.Files)
				}
				if got := rep.Files[0].SourceFormat; got != src.id {
					t.Errorf("source format %q, want %q", got, src.id)
				}
				b := readFile(t, out)
				checkKmodsig(t, b, dst, unsigned)
				if err := o.check(t, cdir, out, b, dst); err != nil {
					t.Fatal(err)
				}
				if src.id != "none" {
					return
				}
				// The peer is a negative oracle too: one flipped byte of .init.text (covered
				// by every format's payload) must make it refuse.
				bad := bytes.Clone(b)
				bad[initTextOff] ^= 0x01
				badPath := filepath.Join(cdir, "tampered.ko")
				writeFile(t, badPath, bad)
				if err := o.check(t, cdir, badPath, bad, dst); err == nil {
					t.Errorf("peer accepted %s with a flipped .init.text byte", dst)
				}
				if v := Verify(formats.NewModule("tampered.ko", bad), SelfRing(dst.key), formats.Policy{}, ""); v.Outcome == formats.OK {
					t.Errorf("kmodsig accepted %s with a flipped .init.text byte", dst)
				}
			})
			results[src.String()][dst.String()] = map[bool]string{true: "ok", false: "FAIL"}[ok]
		}
	}
	var tab strings.Builder
	fmt.Fprintf(&tab, "conversion matrix (rows: source, columns: target; ok = kmodsig and the target's peer accept it; from none, both also refuse a flipped byte)\n%-12s", "")
	for _, dst := range cells {
		fmt.Fprintf(&tab, " %-10s", dst)
	}
	for _, src := range sources {
		fmt.Fprintf(&tab, "\n%-12s", src)
		for _, dst := range cells {
			v := results[src.String()][dst.String()]
			if v == "" {
				v = "-"
			}
			fmt.Fprintf(&tab, " %-10s", v)
		}
	}
	for _, dst := range cells {
		fmt.Fprintf(&tab, "\n  %s: key %s, peer %s", dst, dst.keyName, peerName[dst.id])
	}
	t.Log(tab.String())
}

// checkKmodsig checks a converted module with kmodsig itself: one layer, in the target format,
// verifying with the key; stripping it gives back the original unsigned module.
func checkKmodsig(t *testing.T, b []byte, dst matrixCell, unsigned []byte) {
	t.Helper()
	m := formats.NewModule("out.ko", b)
	ls := Layers(m)
	if len(ls) != 1 || ls[0].Driver.ID() != dst.id || ls[0].Err != nil {
		var ids []string
		for _, l := range ls {
			ids = append(ids, l.Driver.ID())
		}
		t.Fatalf("layers %v, want exactly one %s", ids, dst.id)
	}
	if v := Verify(m, SelfRing(dst.key), formats.Policy{}, ""); v.Outcome != formats.OK {
		t.Errorf("kmodsig verify: %s: %s", v.Outcome, v.Reason)
	}
	stripped, removed, err := StripAll(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || !bytes.Equal(stripped, unsigned) {
		t.Errorf("strip removed %v and gave %d bytes; want the original %d", removed, len(stripped), len(unsigned))
	}
}

var peerName = map[string]string{
	"pkcs7":      "openssl cms -verify",
	"x509":       "openssl dgst -verify (carved RSA)",
	"gpg2012":    "gpg --verify (carved trailer)",
	"digsig2012": "evmctl ima_verify --rsa (re-wrapped)",
	"rhel5":      "gpg --verify over the canonical stream (objcopy-removed section)",
	"rhel6":      "gpg --verify over the sorted canonical stream (objcopy-removed note)",
	"gkh2004":    "gpg --verify (objcopy-dumped module_sig) over the text/data stream at readelf offsets",
}

// oracle holds what the peers need: a gpg home with every OpenPGP key, PEM keys and certs.
type oracle struct {
	tools   map[string]string
	gnupg   string
	pub     map[*keys.Material]string
	cert    map[*keys.Material]string
	counter int
}

func newOracle(t *testing.T, dir string, tools map[string]string, cells []matrixCell) *oracle {
	o := &oracle{tools: tools, gnupg: filepath.Join(dir, "gnupg"), pub: map[*keys.Material]string{}, cert: map[*keys.Material]string{}}
	if err := os.MkdirAll(o.gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer(t, "gpgconf", "--homedir", o.gnupg, "--kill", "all") })
	for i, c := range cells {
		if _, done := o.pub[c.key]; done {
			continue
		}
		ring, err := c.key.OpenPGPPublicKeyring()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("key%d.gpg", i))
		writeFile(t, f, ring)
		mustPeer(t, tools["gpg"], "--homedir", o.gnupg, "--batch", "--import", f)
		o.pub[c.key] = ""
		if c.key.Signer != nil {
			o.pub[c.key] = filepath.Join(dir, fmt.Sprintf("key%d.pub.pem", i))
			pubPEM(t, c.key, o.pub[c.key])
			o.cert[c.key] = filepath.Join(dir, fmt.Sprintf("key%d.crt", i))
			certPEM(t, c.key, o.cert[c.key])
		}
	}
	return o
}

// check verifies b (written at path) with the independent peer of dst's format and returns
// the peer's refusal as an error. Every split is done here by hand from ORACLES.md, not by
// kmodsig.
func (o *oracle) check(t *testing.T, dir, path string, b []byte, dst matrixCell) error {
	t.Helper()
	f := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, data)
		return p
	}
	sz := len(b)
	switch dst.id {
	case "pkcs7": // ORACLES.md §2.4, §2.5
		if string(b[sz-28:]) != "~Module signature appended~\n" || b[sz-38] != 2 {
			t.Fatal("no PKCS#7 trailer")
		}
		l := int(binary.BigEndian.Uint32(b[sz-32:]))
		payload := f("payload.bin", b[:sz-40-l])
		sig := f("sig.p7s", b[sz-40-l:sz-40])
		return want(peer(t, o.tools["openssl"], "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", payload,
			"-certfile", o.cert[dst.key], "-noverify", "-out", os.DevNull))("openssl cms", "Verification successful")
	case "x509": // FORMATS.md x509 layout: payload ‖ signer ‖ key_id ‖ be16 k ‖ sig ‖ 12-byte block ‖ MARKER
		if string(b[sz-28:]) != "~Module signature appended~\n" || b[sz-38] != 1 {
			t.Fatal("no x509 trailer")
		}
		hash := map[byte]string{2: "sha1", 7: "sha224", 4: "sha256", 5: "sha384", 6: "sha512"}[b[sz-39]]
		signerLen, keyIDLen := int(b[sz-37]), int(b[sz-36])
		l := int(binary.BigEndian.Uint32(b[sz-32:]))
		raw := b[sz-40-l : sz-40]
		if int(binary.BigEndian.Uint16(raw)) != l-2 || hash == "" {
			t.Fatalf("x509 block: hash byte %d, be16 %d, sig_len %d", b[sz-39], binary.BigEndian.Uint16(raw), l)
		}
		payload := f("payload.bin", b[:sz-40-l-signerLen-keyIDLen])
		sig := f("raw.sig", raw[2:])
		return want(peer(t, o.tools["openssl"], "dgst", "-"+hash, "-verify", o.pub[dst.key], "-signature", sig, payload))("openssl dgst", "Verified OK")
	case "gpg2012": // FORMATS.md gpg2012: payload ‖ sig ‖ %-5s length ‖ MAGIC30
		if string(b[sz-30:]) != "This Is A Crypto Signed Module" {
			t.Fatal("no MAGIC30")
		}
		l, err := strconv.Atoi(strings.TrimRight(string(b[sz-35:sz-30]), " T"))
		if err != nil {
			t.Fatal(err)
		}
		return o.gpgVerify(t, f("sig.bin", b[sz-35-l:sz-35]), f("payload.bin", b[:sz-35-l]))
	case "digsig2012": // ORACLES.md §4: re-wrap as an IMA .sig and let evmctl check it
		if string(b[sz-30:]) != "This Is A Crypto Signed Module" {
			t.Fatal("no MAGIC30")
		}
		s := int(binary.BigEndian.Uint16(b[sz-32:]))
		payload := f("payload", b[:sz-32-s])
		f("payload.sig", append([]byte{3}, b[sz-32-s:sz-32]...))
		return want(peer(t, o.tools["evmctl"], "ima_verify", "--rsa", "-a", "sha1", "--sigfile", "--key", o.pub[dst.key], payload))("evmctl", "verification is OK")
	case "rhel5", "rhel6":
		sec, params := ".module_sig", elfsig.CanonRHEL5
		if dst.id == "rhel6" {
			sec, params = ".note.module.sig", elfsig.CanonRHEL6
		}
		sig := o.dumpSection(t, dir, path, sec)
		if dst.id == "rhel6" { // ELF note: namesz, descsz, type, "module.sig\0" padded to 12
			if len(sig) < 24 || string(sig[12:22]) != "module.sig" || binary.LittleEndian.Uint32(sig[8:]) != 100 {
				t.Fatalf("note %x", sig[:min(len(sig), 24)])
			}
			n := int(binary.LittleEndian.Uint32(sig[4:]))
			sig = sig[24 : 24+n]
		}
		// The stream is computed by kmodsig (the canonicaliser has no Debian peer, its golden
		// files pin it) but over the module objcopy gives without the signature section.
		stripped := filepath.Join(dir, "objcopy-stripped.ko")
		mustPeer(t, o.tools["objcopy"], "--remove-section", sec, path, stripped)
		stream, err := elfsig.Canonical(formats.NewModule(stripped, readFile(t, stripped)), params)
		if err != nil {
			t.Fatal(err)
		}
		return o.gpgVerify(t, f("sig.bin", sig), f("stream.bin", stream))
	case "gkh2004":
		// FORMATS.md gkh2004 kernel rule: in section-table order, every section whose name
		// contains "text" or "data" but not ".rel.", sh_size bytes at sh_offset, as readelf
		// lists them. (objcopy cannot dump the .rela.* sections the rule includes: BFD keeps
		// relocations out of its section list.) The signature section is dumped by objcopy.
		sig := o.dumpSection(t, dir, path, "module_sig")
		var stream []byte
		for _, s := range o.sections(t, path) {
			if (strings.Contains(s.name, "text") || strings.Contains(s.name, "data")) && !strings.Contains(s.name, ".rel.") {
				if s.off+s.size > int64(len(b)) {
					t.Fatalf("section %s beyond the file", s.name)
				}
				stream = append(stream, b[s.off:s.off+s.size]...)
			}
		}
		return o.gpgVerify(t, f("sig.bin", sig), f("stream.bin", stream))
	}
	t.Fatalf("no peer for %s", dst.id)
	return nil
}

// want turns a peer's output and exit status into an error unless it exited 0 saying ok.
func want(out string, rc int) func(tool, ok string) error {
	return func(tool, ok string) error {
		if rc != 0 || !strings.Contains(out, ok) {
			return fmt.Errorf("%s: exit %d: %s", tool, rc, strings.TrimSpace(out))
		}
		return nil
	}
}

// gpgVerify runs gpg --verify and wants GOODSIG and VALIDSIG.
func (o *oracle) gpgVerify(t *testing.T, sig, data string) error {
	t.Helper()
	out, rc := peer(t, o.tools["gpg"], "--homedir", o.gnupg, "--batch", "--status-fd", "1", "--verify", sig, data)
	if rc != 0 || !strings.Contains(out, "[GNUPG:] GOODSIG") || !strings.Contains(out, "[GNUPG:] VALIDSIG") {
		return fmt.Errorf("gpg --verify: exit %d\n%s", rc, out)
	}
	return nil
}

// dumpSection returns the bytes of a section as objcopy dumps them.
func (o *oracle) dumpSection(t *testing.T, dir, path, name string) []byte {
	t.Helper()
	o.counter++
	dump := filepath.Join(dir, fmt.Sprintf("section%d.bin", o.counter))
	mustPeer(t, o.tools["objcopy"], "--dump-section", name+"="+dump, path, filepath.Join(dir, "objcopy-scratch.ko"))
	return readFile(t, dump)
}

type elfSection struct {
	name      string
	off, size int64
}

var readelfLine = regexp.MustCompile(`^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)`)

// sections lists the section headers in table order as readelf -SW prints them.
func (o *oracle) sections(t *testing.T, path string) []elfSection {
	t.Helper()
	var out []elfSection
	for _, line := range strings.Split(mustPeer(t, o.tools["readelf"], "-SW", path), "\n") {
		m := readelfLine.FindStringSubmatch(line)
		if m == nil || m[1] == "0" {
			continue
		}
		off, err := strconv.ParseInt(m[4], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		size, err := strconv.ParseInt(m[5], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, elfSection{name: m[2], off: off, size: size})
	}
	if len(out) == 0 {
		t.Fatal(errors.New("readelf listed no sections"))
	}
	return out
}
