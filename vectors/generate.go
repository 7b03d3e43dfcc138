package vectors

import (
	"bytes"
	"crypto"
	"crypto/dsa" //lint:ignore SA1019 the RHEL eras verify only DSA
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kmodsig/kmodsig/elfsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// Formats lists the format ids the generator writes, in manifest order (oldest era first).
var Formats = []string{"gkh2004", "rhel5", "rhel6", "gpg2012", "digsig2012", "x509", "pkcs7"}

// Options select what Generate writes.
type Options struct {
	// Formats restricts the set to these format ids; empty means all of Formats.
	Formats []string
}

// Set is a generated vector set: every file by its slash-separated path relative to the
// set's directory (artifacts, public keys, ManifestFile and SchemaFile).
type Set struct {
	Manifest *Manifest
	Files    map[string][]byte
}

// Paths returns the set's file paths, sorted.
func (s *Set) Paths() []string {
	ps := make([]string, 0, len(s.Files))
	for p := range s.Files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Write writes every file of s below dir, creating directories. It removes nothing, so
// write into an empty directory to get exactly the set.
func (s *Set) Write(dir string) error {
	for _, p := range s.Paths() {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, s.Files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Inputs names the files Generate reads from its fs.FS (a testdata directory).
var Inputs = []string{
	"keys/rsa2048.pem", "keys/rsa4096.pem", "keys/ecdsa-p256.pem", "keys/ecdsa-p384.pem",
	"keys/untrusted-rsa2048.pem", "keys/expired-rsa2048.pem", "keys/dsa1024.key",
	"modules/hello.ko", "elf/i386.ko", "elf/x86_64.ko", "elf/ppc32be.ko", "elf/s390x.ko",
}

// SigningTime is the fixed signature time of every vector whose format records one: the
// keys' fixed OpenPGP creation time.
var SigningTime = keys.DefaultCreated

// Generate builds the vector set from the committed keys and modules in in (a directory
// laid out like testdata: keys/, modules/, elf/; see Inputs). It is deterministic: the
// same inputs always give the same bytes (RSA PKCS#1 v1.5 is deterministic; ECDSA and DSA
// nonces come from RFC 6979 through formats.SignOptions.Deterministic; times are fixed).
func Generate(in fs.FS, o Options) (set *Set, err error) {
	g := &gen{in: in, keys: map[string]*keys.Material{}, files: map[string][]byte{}, only: map[string]bool{}}
	for _, f := range o.Formats {
		if !contains(Formats, f) {
			return nil, fmt.Errorf("vectors: %w: %q (have %s)", formats.ErrUnknownFormat, f, strings.Join(Formats, ", "))
		}
		g.only[f] = true
	}
	defer func() {
		if r := recover(); r != nil {
			ge, ok := r.(genError)
			if !ok {
				panic(r)
			}
			set, err = nil, ge.err
		}
	}()
	g.man = &Manifest{
		Algorithm: Algorithm,
		Schema:    SchemaFile,
		Header: []string{
			"Deterministic module-signature vectors for every kmodsig format, made by `kmodsig vectors` from testdata/keys and testdata/modules (hello.ko, x86-64) and testdata/elf (i386, x86_64, ppc32be, s390x fixtures).",
			"Each test names one artifact, the verdict kmodsig models (outcome) and what the era's kernel returns when loading it, permissive and enforcing, per FORMATS.md; the group's kernel is the formats.Policy.Kernel model.",
			"Verify a test with: kmodsig verify --kernel KERNEL --keyring FILE... ARTIFACT (an unsigned artifact is judged by the group's era: conv.Verify with the group's format).",
			"Signature times are " + SigningTime.Format(time.RFC3339) + "; ECDSA and DSA nonces are RFC 6979; the gkh2004 encrypted variant's session key and padding are derived from the recipient and the plaintext.",
		},
		Notes: map[string]string{},
	}
	for _, f := range Formats {
		if len(g.only) > 0 && !g.only[f] {
			continue
		}
		switch f {
		case "gkh2004":
			g.gkh2004()
		case "rhel5":
			g.rhel5()
		case "rhel6":
			g.rhel6()
		case "gpg2012":
			g.gpg2012()
		case "digsig2012":
			g.digsig2012()
		case "x509":
			g.x509()
		case "pkcs7":
			g.pkcs7()
		}
	}
	// Groups added after the first set was published go last, whatever their format, so
	// that the tcIds of the earlier tests stay.
	if len(g.only) == 0 || g.only["pkcs7"] {
		g.pkcs7NotELF()
	}
	n := 0
	for _, gr := range g.man.TestGroups {
		for _, t := range gr.Tests {
			n++
			t.TcID = n
			for _, fl := range t.Flags {
				if _, ok := flagNotes[fl]; !ok {
					return nil, fmt.Errorf("vectors: flag %q has no note", fl)
				}
				g.man.Notes[fl] = flagNotes[fl]
			}
		}
	}
	g.man.NumberOfTests = n
	mb, err := g.man.Marshal()
	if err != nil {
		return nil, err
	}
	g.put(ManifestFile, mb)
	g.put(SchemaFile, Schema)
	return &Set{Manifest: g.man, Files: g.files}, nil
}

// genError carries a generation failure out of the builders (recovered in Generate).
type genError struct{ err error }

type gen struct {
	in    fs.FS
	keys  map[string]*keys.Material
	files map[string][]byte
	man   *Manifest
	only  map[string]bool
}

func (g *gen) fail(format string, args ...any) {
	panic(genError{fmt.Errorf("vectors: "+format, args...)})
}

func (g *gen) check(err error, what string) {
	if err != nil {
		g.fail("%s: %w", what, err)
	}
}

// read returns an input file.
func (g *gen) read(name string) []byte {
	b, err := fs.ReadFile(g.in, name)
	g.check(err, "input")
	return b
}

// key loads a committed key by name ("rsa2048", "dsa1024", ...). Each call returns a fresh
// Material so that derived forms cached in one group never leak into another.
func (g *gen) key(name string) *keys.Material {
	file := "keys/" + name + ".pem"
	if name == "dsa1024" {
		file = "keys/dsa1024.key"
	}
	m, err := keys.Parse(g.read(file))
	g.check(err, "key "+name)
	m.Source = name
	return m
}

// module returns a committed unsigned module: "hello" (testdata/modules/hello.ko) or an
// ELF fixture ("i386", "x86_64", "ppc32be", "s390x").
func (g *gen) module(name string) []byte {
	if name == "hello" {
		return g.read("modules/hello.ko")
	}
	return g.read("elf/" + name + ".ko")
}

// put stores a file; the same path must always get the same bytes.
func (g *gen) put(p string, b []byte) string {
	if have, ok := g.files[p]; ok && !bytes.Equal(have, b) {
		g.fail("%s written twice with different contents", p)
	}
	g.files[p] = b
	return p
}

// sign signs unsigned in format id with k, deterministically, at SigningTime unless o says
// otherwise or the format (or variant) carries no time.
func (g *gen) sign(id string, unsigned []byte, k *keys.Material, o formats.SignOptions) []byte {
	d, err := formats.Lookup(id)
	g.check(err, id)
	o.Deterministic = true
	defaulted := o.Time.IsZero()
	if defaulted {
		o.Time = SigningTime
	}
	b, err := d.Sign(unsigned, k, o)
	if defaulted && errors.Is(err, formats.ErrUntimed) {
		o.Time = time.Time{}
		b, err = d.Sign(unsigned, k, o)
	}
	g.check(err, fmt.Sprintf("sign %s with %s", id, k.Source))
	return b
}

// group appends a test group.
func (g *gen) group(format, kernel string, key Key, comment string) *Group {
	gr := &Group{Format: format, Kernel: kernel, Key: key, Comment: comment}
	g.man.TestGroups = append(g.man.TestGroups, gr)
	return gr
}

// add stores data as file and appends the test to gr.
func (gr *Group) add(g *gen, file string, data []byte, t Test) {
	t.File = g.put(file, data)
	if t.Flags == nil {
		t.Flags = []string{}
	}
	if t.Result == "" {
		switch {
		case t.Outcome == string(formats.OK) && t.Permissive == "OK" && t.Enforcing == "OK":
			t.Result = Valid
		default:
			t.Result = Invalid
		}
	}
	gr.Tests = append(gr.Tests, &t)
}

// expect fills the verdict fields of a test.
func expect(comment string, outcome formats.Outcome, permissive, enforcing formats.Errno, flags ...string) Test {
	return Test{Comment: comment, Outcome: string(outcome), Permissive: string(permissive), Enforcing: string(enforcing), Flags: flags}
}

// with returns t with an oracle.
func (t Test) with(o Oracle) Test { t.Oracle = o; return t }

// hashed returns t with its hash name.
func (t Test) hashed(h crypto.Hash) Test { t.Hash = formats.HashName(h); return t }

// as returns t with an explicit result.
func (t Test) as(result string) Test { t.Result = result; return t }

// keyInfo describes a committed key.
func keyInfo(name string, k *keys.Material) Key {
	ki := Key{Name: name}
	switch p := k.Public().(type) {
	case *rsa.PublicKey:
		ki.Type, ki.Bits = "RSA", p.N.BitLen()
	case *ecdsa.PublicKey:
		ki.Type, ki.Bits = "ECDSA", p.Curve.Params().BitSize
	case *dsa.PublicKey:
		ki.Type, ki.Bits = "DSA", p.P.BitLen()
	}
	return ki
}

// certForm writes k's DER certificate as keys/NAME.der and returns the group key (key id:
// the certificate's SKID in hex).
func (g *gen) certForm(name string, k *keys.Material) Key {
	c, err := k.Certificate()
	g.check(err, "certificate "+name)
	ki := keyInfo(name, k)
	ki.KeyID = hex.EncodeToString(c.SubjectKeyId)
	p := g.put("keys/"+name+".der", c.Raw)
	ki.Keyring = []string{p}
	ki.Export = p
	return ki
}

// pgpForm writes k's OpenPGP public keyring (modsign.pub) as keys/NAME.gpg.
func (g *gen) pgpForm(name string, k *keys.Material) Key {
	b, err := gpgsig.PublicKeyring(k, formats.SignOptions{Deterministic: true})
	g.check(err, "OpenPGP key "+name)
	id, err := gpgsig.SigningKeyID(k)
	g.check(err, "OpenPGP key id "+name)
	ki := keyInfo(name, k)
	ki.KeyID = fmt.Sprintf("%016X", id)
	ki.Keyring = []string{g.put("keys/"+name+".gpg", b)}
	if k.DSA != nil {
		// The RHEL kernels compiled in exactly this keyring (the rhel5 and rhel6 drivers'
		// ExportKey gives the same bytes with Deterministic).
		ki.Export = ki.Keyring[0]
	}
	return ki
}

// export writes the driver's ExportKey form of k under keys/FORMAT/.
func (g *gen) export(ki *Key, id string, k *keys.Material) {
	d, err := formats.Lookup(id)
	g.check(err, id)
	ke, ok := d.(formats.KeyExporter)
	if !ok {
		return
	}
	b, name, err := ke.ExportKey(k, formats.SignOptions{Deterministic: true})
	g.check(err, "export "+id)
	ki.Export = g.put("keys/"+id+"/"+ki.Name+"-"+name, b)
}

// flipModinfo returns a copy of b with the first letter of the "description=" value in
// .modinfo changed in case: a one-byte payload change that keeps the module well formed.
func (g *gen) flipModinfo(b []byte) []byte {
	const key = "description="
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		g.fail("no %q in module", key)
	}
	return flip(b, i+len(key), 0x20)
}

// flip returns a copy of b with byte off xored with x.
func flip(b []byte, off int, x byte) []byte {
	c := append([]byte(nil), b...)
	c[off] ^= x
	return c
}

// section returns the named section of an ELF module.
func (g *gen) section(b []byte, name string) *elfsig.Section {
	f, err := elfsig.NewFile(formats.NewModule(name, b))
	g.check(err, "ELF")
	s := f.Section(name)
	if s == nil {
		g.fail("no section %s", name)
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// vpath joins a format directory and a file name.
func vpath(format, name string) string { return path.Join(format, name) }
