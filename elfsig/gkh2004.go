package elfsig

import (
	"crypto"
	"slices"
	//lint:ignore SA1019 RH-0 signatures in a module_sig section are DSA
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// GKHID is the format id of Greg Kroah-Hartman's 2004 ELF-section signatures.
const GKHID = "gkh2004"

// GKHSection is the name of the signature section: exactly "module_sig", no leading dot.
const GKHSection = "module_sig"

// Variants of gkh2004 (formats.SignOptions.Variant and formats.Signature.Variant).
const (
	// GKHDetached is the default: the section holds `gpg -b` output, one binary OpenPGP
	// signature packet over the stream; what the last gregkh tree produced.
	GKHDetached = "detached"
	// GKHEncrypted is the Linux Journal article's scheme: the section holds an OpenPGP
	// message encrypted to the key, whose plaintext is the 40 hex digits of SHA1(stream) and
	// a newline. Only the private key can check it.
	GKHEncrypted = "encrypted"
	// GKHRSA is a reconstruction: a raw RSA signature MPI (be16 bits ‖ magnitude) of the
	// SHA-1 DigestInfo, what the tree's verification primitives would have checked.
	GKHRSA = "rsa"
	// GKHLibbfd, appended to a variant with "+" ("detached+libbfd", or alone, meaning
	// "detached+libbfd"), makes Sign hash the libbfd signer's selection ([GKHLibbfdRule])
	// instead of the kernel's, as the tree's userspace signer did.
	GKHLibbfd = "libbfd"
)

// Kernel models of gkh2004 verification (formats.Policy.Kernel).
const (
	// GKHKernelTree is the default: the last gregkh tree with its check implemented (unsigned
	// modules load, any failure is EPERM) in the permissive column, and the article's kernel
	// (always enforcing: unsigned modules are EPERM too) in the enforcing column.
	GKHKernelTree = "gkh2004-tree"
	// GKHKernelArticle models the Linux Journal article's kernel in both columns: every
	// module without a good signature is EPERM.
	GKHKernelArticle = "gkh2004-article"
	// GKHKernelStub models the tree exactly as published: rsa_check_sig was a stub returning
	// 0, so every module loads whatever its signature.
	GKHKernelStub = "gkh2004-stub"
)

// Kernels lists the kernel models Verify knows (formats.KernelModeler).
func (GKH2004) Kernels() []string { return []string{GKHKernelTree, GKHKernelArticle, GKHKernelStub} }

// ModelsKernel reports whether name is one of Kernels (formats.KernelModeler).
func (d GKH2004) ModelsKernel(name string) bool { return slices.Contains(d.Kernels(), name) }

// GKHMaxMPIBits is the largest MPI the era's mpi_read_from_buffer accepted.
const GKHMaxMPIBits = 16384

// GKH2004 is the gkh2004 driver: Greg Kroah-Hartman's `module_sig` ELF section (2003–2004,
// never merged).
//
// # Container
//
// A section named exactly module_sig (SHT_PROGBITS, no flags, alignment 1, as
// `objcopy --add-section` made it); the kernel takes the first such section. Sign appends it
// with [Add] and Strip removes it with [Remove] (byte-exact for kmodsig's own output; an
// objcopy-signed module is rebuilt, see Remove).
//
// # Payload
//
// SHA-1 over the "text/data section stream". kmodsig signs and verifies the kernel's rule
// ([GKHKernelRule]); the "+libbfd" variant suffix signs the userspace signer's rule
// ([GKHLibbfdRule]), and Verify tries both and explains in Notes where they disagree (on
// every RELA module, because ".rela.text" does not contain ".rel.").
//
// # Variants
//
//   - detached (default): `gpg -b` output, a v4 OpenPGP signature (SHA-1 unless
//     SignOptions.Hash says otherwise) written by gpgsig the way GnuPG writes it. No kernel
//     could have verified this (it hands only the final SHA-1 to rsa_check_sig, while OpenPGP
//     hashes a trailer after the payload) [inferred]; kmodsig verifies it as OpenPGP.
//   - encrypted: the article's `gpg -e -r KEY` of the hex digest line; written as a public-key
//     encrypted session key packet (tag 1, old-format header, RSA) followed by a
//     symmetrically encrypted integrity-protected packet (tag 18, AES-128) holding one literal
//     data packet "module.sha1" (no compression). Random session key, so not deterministic
//     unless SignOptions.Deterministic (for vectors).
//     Verify needs a private key (keys.Ring.Secrets, or a secret key in an OpenPGP keyring):
//     without one the verdict is unsupported ("encrypted form; private key needed"). Any RFC
//     4880 message is read (compression, tag 9 without MDC, CAST5, ...).
//   - rsa: a reconstruction [REC]: be16 bit count ‖ s, s = EM^d mod n, EM the PKCS#1 v1.5
//     SHA-1 encoding; deterministic. Labelled as a reconstruction in Parse's Notes.
//
// # Keys and verdicts
//
// One RSA key compiled in as n and e (see [GKH2004.ExportKey]); no key ids, so Verify tries
// every RSA key of the ring (the detached form's Issuer key id first). There is no ENOKEY in
// this era. Verdicts per FORMATS.md "Kernel result codes", by policy: [GKHKernelTree]
// (default), [GKHKernelArticle], [GKHKernelStub]. A module_sig section holding a DSA
// signature is the early Fedora RH-0 form: Verify also tries the RH-0 stream for it.
type GKH2004 struct{}

func init() { formats.Register(GKH2004{}) }

// ID returns "gkh2004".
func (GKH2004) ID() string { return GKHID }

// Info describes the format.
func (GKH2004) Info() formats.Info {
	return formats.Info{
		ID:        GKHID,
		Era:       "Kroah-Hartman, Linux Journal #117 (January 2004), never merged",
		Container: "ELF section module_sig",
		KeyTypes:  []string{"rsa"},
		Hashes:    []string{"sha1"},
		Variants:  []string{GKHDetached, GKHEncrypted, GKHRSA},
		Order:     42,
	}
}

// gkhFound is the located signature section.
type gkhFound struct {
	f       *File
	s       *Section
	data    []byte
	variant string
	sig     *gpgsig.Sig // detached
	mpi     []byte      // rsa: magnitude
	notes   []string
}

// gkhLocate finds and classifies the module_sig section (FORMATS.md Detection step 4).
// A missing section wraps formats.ErrNotSigned.
func gkhLocate(m formats.Module) (*gkhFound, error) {
	f, err := NewFile(m)
	if err != nil {
		return nil, err
	}
	if f.Type != elf.ET_REL {
		return nil, &formats.FormatError{Path: m.Name, Format: GKHID, Off: 16, Msg: fmt.Sprintf("ELF type %v", f.Type), Err: ErrNotRel}
	}
	s := f.Section(GKHSection)
	if s == nil {
		return nil, &formats.FormatError{Path: m.Name, Format: GKHID, Off: -1, Msg: "no module_sig section", Err: formats.ErrNotSigned}
	}
	g := &gkhFound{f: f, s: s}
	for _, t := range f.Sections[s.Index+1:] {
		if t.Name == GKHSection {
			g.notes = append(g.notes, fmt.Sprintf("a second module_sig section (index %d) is ignored, as the kernel ignored it", t.Index))
		}
	}
	if s.Size > formats.MaxSignatureSize {
		return nil, &formats.FormatError{Path: m.Name, Format: GKHID, Off: int64(s.Offset), Msg: fmt.Sprintf("module_sig of %d bytes", s.Size), Err: formats.ErrTooLarge}
	}
	if s.Type == elf.SHT_NOBITS {
		return nil, &formats.FormatError{Path: m.Name, Format: GKHID, Off: s.HeaderOff, Msg: "module_sig is NOBITS: it has no contents"}
	}
	if g.data, err = f.ReadSection(s); err != nil {
		return nil, err
	}
	off := int64(s.Offset)
	if len(g.data) == 0 {
		return g, &formats.FormatError{Path: m.Name, Format: GKHID, Off: off, Msg: "empty module_sig section"}
	}
	switch g.data[0] {
	case 0x88, 0x89, 0x8a, 0xc2:
		g.variant = GKHDetached
		sig, n, err := gpgsig.ParseSig(g.data)
		if err != nil {
			return g, gpgsig.Rebase(err, m, GKHID, off)
		}
		if n != len(g.data) {
			g.notes = append(g.notes, fmt.Sprintf("%d bytes after the signature packet are ignored", len(g.data)-n))
		}
		g.sig = sig
	case 0x84, 0x85, 0xc1:
		g.variant = GKHEncrypted
		if _, _, err := gpgsig.ReadPacket(g.data); err != nil {
			return g, gpgsig.Rebase(err, m, GKHID, off)
		}
	default:
		g.variant = GKHRSA
		if len(g.data) < 2 {
			return g, &formats.FormatError{Path: m.Name, Format: GKHID, Off: off, Msg: "module_sig too short for an MPI"}
		}
		bits := int(g.data[0])<<8 | int(g.data[1])
		if bits == 0 || bits > GKHMaxMPIBits || 2+(bits+7)/8 != len(g.data) {
			return g, &formats.FormatError{Path: m.Name, Format: GKHID, Off: off,
				Msg: fmt.Sprintf("module_sig is neither an OpenPGP signature or message nor one MPI (%d bits declared, %d bytes)", bits, len(g.data))}
		}
		g.mpi = g.data[2:]
	}
	return g, nil
}

// Detect reports whether m is an ELF relocatable object with a module_sig section. A
// damaged section is claimed too, so Parse and Verify can report it as corrupt.
func (GKH2004) Detect(m formats.Module) bool {
	if !mayHaveSection(m, GKHSection) {
		return false
	}
	_, err := gkhLocate(m)
	return err == nil || !errors.Is(err, formats.ErrNotSigned) && !errors.Is(err, ErrNotRel) && gkhHasSection(m)
}

func gkhHasSection(m formats.Module) bool {
	f, err := NewFile(m)
	return err == nil && f.Section(GKHSection) != nil
}

// Parse reports the variant, the key id (detached: the Issuer; encrypted: the recipient), the
// hash and where the section lies. Notes tell the era's quirks that apply to this module.
func (GKH2004) Parse(m formats.Module) (*formats.Signature, error) {
	g, err := gkhLocate(m)
	if err != nil {
		return nil, err
	}
	sig := &formats.Signature{
		Format:     GKHID,
		Variant:    g.variant,
		Era:        GKH2004{}.Info().Era,
		HashAlgo:   "sha1",
		PayloadLen: g.payloadLen(),
		Offset:     int64(g.s.Offset),
		Length:     int64(g.s.Size),
		PublicKey:  "rsa",
		Notes:      append([]string(nil), g.notes...),
	}
	switch g.variant {
	case GKHDetached:
		sig.SigID = "PGP"
		if g.sig.HasKeyID {
			sig.KeyID = gkhKeyIDBytes(g.sig.KeyID)
		}
		sig.Time = g.sig.Created
		if h, err := g.sig.Hash(); err == nil {
			sig.HashAlgo = formats.HashName(h)
		}
		if g.sig.PubKeyAlgo == gpgsig.AlgoDSA {
			sig.PublicKey = "dsa"
			sig.Notes = append(sig.Notes, "DSA signature in module_sig: the early Fedora (RH-0) form; the gkh2004 kernel had only RSA")
		}
		for _, mp := range g.sig.MPIs {
			sig.Value = append(sig.Value, mp.Bytes...)
		}
	case GKHEncrypted:
		sig.SigID = "PGP encrypted"
		if id, ok := gkhRecipient(g.data); ok {
			sig.KeyID = gkhKeyIDBytes(id)
		}
		sig.Value = g.data
		sig.Notes = append(sig.Notes, "encrypted form (the article's scheme): only the private key can check it")
	case GKHRSA:
		sig.SigID = "RSA"
		sig.Value = g.mpi
		sig.Notes = append(sig.Notes, "rsa variant: a reconstruction (no historical artefact exists in this exact form)")
	}
	if !g.appended() {
		sig.Notes = append(sig.Notes, "module_sig was not appended by kmodsig (objcopy re-lays the file out): strip rebuilds the module instead of restoring its exact bytes")
	}
	sig.Notes = append(sig.Notes, g.f.GKHDisagreement()...)
	return sig, nil
}

// appended reports whether the section lies where [Add] puts it (last section, last name),
// so that Strip can restore the original bytes.
func (g *gkhFound) appended() bool {
	f := g.f
	if g.s.Index != len(f.Sections)-1 || f.ShStrNdx == 0 {
		return false
	}
	ss := f.Sections[f.ShStrNdx]
	return uint64(g.s.NameOff)+uint64(len(g.s.Name))+1 == ss.Size && ss.Offset <= uint64(f.m.Size)
}

// payloadLen is the size of the module without the section: exact for kmodsig's layout
// (the name table copy starts at the original end of file), else the size less the data.
func (g *gkhFound) payloadLen() int64 {
	if g.appended() {
		return int64(g.f.Sections[g.f.ShStrNdx].Offset)
	}
	return g.f.m.Size - int64(g.s.Size)
}

func gkhKeyIDBytes(id uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(id)
		id >>= 8
	}
	return b
}

// Strip removes the module_sig section. For a module kmodsig signed the result is the
// unsigned input byte for byte. For one signed by `objcopy --add-section` (the era's own
// pipeline), which re-laid the file out, the original bytes cannot be recovered: the module is
// rebuilt without the section (see [Remove]; section contents and both streams equal
// `objcopy --remove-section`'s output) and no error is returned. Parse says in its Notes
// which case applies; call [Remove] directly to get [ErrNotExact].
func (GKH2004) Strip(m formats.Module) ([]byte, error) {
	b, err := Remove(m, GKHSection)
	if errors.Is(err, ErrNotExact) {
		return b, nil
	}
	return b, err
}

// gkhVariant splits SignOptions.Variant into the variant and the rule it hashes.
func gkhVariant(v string) (variant string, rule GKHRule, err error) {
	variant, rule = GKHDetached, GKHKernelRule
	for i, part := range strings.Split(v, "+") {
		switch {
		case part == "" && i == 0 && v == "":
		case part == GKHLibbfd:
			rule = GKHLibbfdRule
		case i == 0 && (part == GKHDetached || part == GKHEncrypted || part == GKHRSA):
			variant = part
		default:
			return "", 0, fmt.Errorf("gkh2004: %w %q (want detached, encrypted or rsa, optionally +libbfd)", formats.ErrVariant, v)
		}
	}
	return variant, rule, nil
}

// Sign appends a module_sig section to unsigned (an ELF relocatable object without one).
// o.Variant picks the variant (default detached) and, with a "+libbfd" suffix, the libbfd
// signer's section selection instead of the kernel's. The key must be RSA (the era's kernel
// knew only RSA); a DSA key is refused with formats.ErrKeyType unless o.Force, which writes a
// detached DSA signature (the RH-0 form). The detached signature is v4, SHA-1 unless o.Hash,
// made at o.Time or the key's creation time, so RSA output is byte-reproducible; rsa is
// deterministic and SHA-1 only; encrypted needs only the public key and is randomised. The
// rsa and encrypted variants carry no time: o.Time is refused with formats.ErrUntimed.
func (GKH2004) Sign(unsigned []byte, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	variant, rule, err := gkhVariant(o.Variant)
	if err != nil {
		return nil, err
	}
	m := formats.NewModule("", unsigned)
	f, err := NewFile(m)
	if err != nil {
		return nil, err
	}
	if f.Type != elf.ET_REL {
		return nil, &formats.FormatError{Format: GKHID, Off: 16, Msg: fmt.Sprintf("ELF type %v", f.Type), Err: ErrNotRel}
	}
	if f.Section(GKHSection) != nil {
		return nil, fmt.Errorf("gkh2004: module already has a module_sig section (strip it first)")
	}
	if !o.Time.IsZero() && variant != GKHDetached {
		return nil, fmt.Errorf("gkh2004: %w in the %s variant (only detached carries one, its OpenPGP creation time)", formats.ErrUntimed, variant)
	}
	h := o.Hash
	if h == 0 {
		h = crypto.SHA1
	}
	if h != crypto.SHA1 && variant != GKHDetached {
		return nil, fmt.Errorf("gkh2004: %w: the %s variant carries a SHA-1 digest only", formats.ErrHash, variant)
	}
	pub := k.Public()
	switch pub.(type) {
	case *rsa.PublicKey:
	case *dsa.PublicKey:
		if variant != GKHDetached || !o.Force {
			return nil, fmt.Errorf("gkh2004: %w: the era's kernel verified only RSA (a detached DSA signature, the RH-0 form, needs --force)", formats.ErrKeyType)
		}
		o.Warnf("gkh2004: signing with a DSA key (forced): the RH-0 form, not verifiable by the gkh2004 kernel")
	default:
		return nil, fmt.Errorf("gkh2004: %w: %s (the era's kernel verified only RSA)", formats.ErrKeyType, keys.TypeName(pub))
	}
	if h != crypto.SHA1 {
		o.Warnf("gkh2004: %s digest: the era used SHA-1 only", formats.HashName(h))
	}
	stream, _, err := f.GKHStream(rule)
	if err != nil {
		return nil, err
	}
	var data []byte
	switch variant {
	case GKHDetached:
		t := o.Time
		if t.IsZero() {
			t = k.CreationTime()
		}
		if data, err = gpgsig.SignDetachedOpts(stream, k, h, t, o); err != nil {
			return nil, fmt.Errorf("gkh2004: %w", err)
		}
	case GKHRSA:
		d, err := formats.Digest(crypto.SHA1, stream)
		if err != nil {
			return nil, err
		}
		if k.Signer == nil {
			return nil, fmt.Errorf("gkh2004: %w: no RSA private key", formats.ErrKeyType)
		}
		s, err := k.Signer.Sign(rand.Reader, d, crypto.SHA1)
		if err != nil {
			return nil, fmt.Errorf("gkh2004: RSA sign: %w", err)
		}
		x := new(big.Int).SetBytes(s)
		if x.BitLen() > GKHMaxMPIBits {
			return nil, fmt.Errorf("gkh2004: %w: RSA signature over %d bits", formats.ErrKeyType, GKHMaxMPIBits)
		}
		data = keys.AppendMPI(nil, x)
	case GKHEncrypted:
		d, err := formats.Digest(crypto.SHA1, stream)
		if err != nil {
			return nil, err
		}
		if data, err = gkhEncrypt(k, []byte(hex.EncodeToString(d)+"\n"), o); err != nil {
			return nil, fmt.Errorf("gkh2004: %w", err)
		}
	}
	return f.add(unsigned, NewSection{Name: GKHSection, Type: elf.SHT_PROGBITS, Addralign: 1, Data: data})
}

// ExportKey writes what the era's kernel compiled in to trust k: security/rsa/rsa_key.c as
// the tree's extract_pkey printed it, the OpenPGP MPIs of n and e as C byte arrays
// (keys.RSAKeyC; a keyring reads it back). extract_pkey refused an n of more than 512 bytes
// (4096 bits); such keys are refused unless o.Force.
func (GKH2004) ExportKey(k *keys.Material, o formats.SignOptions) ([]byte, string, error) {
	if _, _, err := gkhVariant(o.Variant); err != nil { // every variant trusts the same key
		return nil, "", err
	}
	pub, ok := k.Public().(*rsa.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("gkh2004: %w: the era's kernel used one RSA key", formats.ErrKeyType)
	}
	if (pub.N.BitLen()+7)/8 > 512 {
		if !o.Force {
			return nil, "", fmt.Errorf("gkh2004: %w: extract_pkey refused an n over 4096 bits", formats.ErrKeyType)
		}
		o.Warnf("gkh2004: RSA key over 4096 bits: the era's extract_pkey refused it (forced)")
	}
	return keys.RSAKeyC(pub), "rsa_key.c", nil
}

// gkhErrnos maps an outcome to the permissive and enforcing results under policy kernel
// (FORMATS.md gkh2004, Kernel result codes).
func gkhErrnos(kernel string, o formats.Outcome) (perm, enf formats.Errno) {
	if kernel == GKHKernelStub {
		return formats.ErrnoOK, formats.ErrnoOK
	}
	switch o {
	case formats.OK:
		return formats.ErrnoOK, formats.ErrnoOK
	case formats.Unsigned:
		if kernel == GKHKernelArticle {
			return formats.ErrnoEPERM, formats.ErrnoEPERM
		}
		return formats.ErrnoOK, formats.ErrnoEPERM
	}
	return formats.ErrnoEPERM, formats.ErrnoEPERM
}

// Verify checks the module_sig section and models the era's kernel (p.Kernel:
// [GKHKernelTree] by default, [GKHKernelArticle], [GKHKernelStub]). Outcomes:
//
//   - no module_sig section: unsigned (tree: OK / EPERM; article: EPERM / EPERM);
//   - ELF or section malformed, signature unparsable: corrupt (EPERM);
//   - no RSA key in the ring (detached, rsa): unknown-key (EPERM; the era had one
//     compiled-in key and no ENOKEY);
//   - encrypted without a usable private key: unsupported ("encrypted form; private key
//     needed"), EPERM;
//   - signature valid over the kernel-rule stream: ok;
//   - valid only over the libbfd signer's stream: ok with the quirk in Notes, but the
//     kernel (which hashes its own rule) returns EPERM, and the reason says so;
//   - DSA detached signature valid over the RH-0 stream: ok (the early Fedora form);
//   - otherwise bad-signature (EPERM).
//
// Notes list where the kernel and libbfd rules disagree on this module.
func (GKH2004) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	kernel := p.Kernel
	v := formats.Verdict{Format: GKHID, Kernel: kernel, Hash: "sha1"}
	switch kernel {
	case "":
		v.Kernel = GKHKernelTree
	case GKHKernelTree, GKHKernelArticle, GKHKernelStub:
	default:
		v.Notes = append(v.Notes, fmt.Sprintf("kernel model %q unknown to gkh2004: using %s", kernel, GKHKernelTree))
		v.Kernel = GKHKernelTree
	}
	set := func(o formats.Outcome, err error, reason string, args ...any) formats.Verdict {
		v.Outcome, v.Err = o, err
		v.Permissive, v.Enforcing = gkhErrnos(v.Kernel, o)
		v.Reason = fmt.Sprintf(reason, args...)
		if v.Kernel == GKHKernelStub && o != formats.OK && o != formats.Unsigned {
			v.Notes = append(v.Notes, "the published tree's rsa_check_sig was a stub returning 0: it loads anyway")
		}
		return v
	}
	g, err := gkhLocate(m)
	if g != nil {
		v.Variant = g.variant
		v.Notes = append(v.Notes, g.notes...)
		v.Notes = append(v.Notes, g.f.GKHDisagreement()...)
	}
	if err != nil {
		if errors.Is(err, formats.ErrNotSigned) {
			return set(formats.Unsigned, nil, "module has no module_sig section")
		}
		return set(formats.Corrupt, err, "module_sig cannot be read: %v", err)
	}
	digests := map[GKHRule][]byte{}
	digest := func(r GKHRule, h crypto.Hash) ([]byte, error) {
		if d, ok := digests[r]; ok && h == crypto.SHA1 {
			return d, nil
		}
		d, err := g.f.GKHDigest(r, h)
		if err == nil && h == crypto.SHA1 {
			digests[r] = d
		}
		return d, err
	}
	// matched turns the rule that verified into the verdict.
	matched := func(r GKHRule, who string) formats.Verdict {
		switch r {
		case GKHKernelRule:
			return set(formats.OK, nil, "good %s signature by %s", g.variant, who)
		case GKHRH0Rule:
			v.Notes = append(v.Notes, "verified over the RH-0 stream (text/data sections without .rel. and .rela.): the early Fedora Core form")
			return set(formats.OK, nil, "good RH-0 signature by %s", who)
		}
		v.Notes = append(v.Notes, "signed over the libbfd stream (kernel rule would reject)")
		out := set(formats.OK, nil, "good %s signature by %s over the libbfd signer's stream; the kernel hashes its own section selection and would reject it", g.variant, who)
		if out.Kernel != GKHKernelStub {
			out.Permissive, out.Enforcing = formats.ErrnoEPERM, formats.ErrnoEPERM
		}
		return out
	}
	switch g.variant {
	case GKHEncrypted:
		return gkhVerifyEncrypted(g, ring, digest, set, matched, &v)
	case GKHRSA:
		rsaKeys := gkhRSAKeys(ring, 0, false)
		if len(rsaKeys) == 0 {
			return set(formats.UnknownKey, nil, "no RSA public key in the keyring (the era compiled exactly one key in)")
		}
		for _, r := range []GKHRule{GKHKernelRule, GKHLibbfdRule} {
			d, err := digest(r, crypto.SHA1)
			if err != nil {
				return set(formats.Corrupt, err, "cannot hash the %s-rule stream: %v", r, err)
			}
			for _, k := range rsaKeys {
				if gkhVerifyMPI(k.pub, d, g.mpi) == nil {
					v.Signer, v.KeyID = k.name, k.id
					return matched(r, k.label())
				}
			}
		}
		return set(formats.BadSignature, gpgsig.ErrBadSignature, "rsa signature matches none of the %d RSA keys over either stream: the module was changed after signing or signed by another key", len(rsaKeys))
	}
	// Detached.
	s := g.sig
	if s.HasKeyID {
		v.KeyID = fmt.Sprintf("%016X", s.KeyID)
	}
	h, err := s.Hash()
	if err != nil {
		return set(formats.Unsupported, err, "signature hash %d not available", s.HashAlgo)
	}
	v.Hash = formats.HashName(h)
	rules := []GKHRule{GKHKernelRule, GKHLibbfdRule}
	dsaSig := s.PubKeyAlgo == gpgsig.AlgoDSA
	if dsaSig {
		rules = append(rules, GKHRH0Rule)
	}
	cands := gkhRSAKeys(ring, s.KeyID, dsaSig)
	if len(cands) == 0 {
		return set(formats.UnknownKey, nil, "signed with key 0x%s; the keyring has no %s key", v.KeyID, map[bool]string{false: "RSA", true: "DSA"}[dsaSig])
	}
	var lastErr error
	for _, r := range rules {
		rd, _, err := g.f.GKHStream(r)
		if err != nil {
			return set(formats.Corrupt, err, "cannot read the %s-rule stream: %v", r, err)
		}
		d, err := gpgsig.Digest(s, rd)
		if err != nil {
			return set(formats.Unsupported, err, "cannot hash: %v", err)
		}
		for _, k := range cands {
			err := gpgsig.VerifyDigest(s, d, k.pub, gpgsig.VerifyOptions{})
			if err == nil {
				v.Signer = k.name
				if k.id != "" {
					v.KeyID = k.id
				}
				return matched(r, k.label())
			}
			if !errors.Is(err, gpgsig.ErrUnsupportedAlgo) {
				lastErr = err
			}
		}
	}
	if lastErr == nil {
		return set(formats.UnknownKey, nil, "signed with key 0x%s; no key in the keyring can check a public-key algorithm %d signature", v.KeyID, s.PubKeyAlgo)
	}
	return set(formats.BadSignature, lastErr, "bad signature (issuer 0x%s): no key in the keyring verifies it over the kernel or libbfd stream; the module was changed after signing or signed by another key", v.KeyID)
}

// gkhKey is a candidate verification key.
type gkhKey struct {
	pub  crypto.PublicKey
	id   string // OpenPGP key id when known
	name string
}

func (k gkhKey) label() string {
	switch {
	case k.name != "" && k.id != "":
		return fmt.Sprintf("%s (0x%s)", k.name, k.id)
	case k.id != "":
		return "key 0x" + k.id
	case k.name != "":
		return k.name
	}
	return "the RSA key in the keyring"
}

// gkhRSAKeys lists the ring's RSA keys (or DSA keys when dsaKeys), the one whose OpenPGP key
// id is id first: the era had one compiled-in key and no lookup, so every key is a candidate.
func gkhRSAKeys(ring *keys.Ring, id uint64, dsaKeys bool) []gkhKey {
	var out []gkhKey
	if ring == nil {
		return nil
	}
	want := func(pub crypto.PublicKey) bool {
		switch pub.(type) {
		case *rsa.PublicKey:
			return !dsaKeys
		case *dsa.PublicKey:
			return dsaKeys
		}
		return false
	}
	if id != 0 {
		if k := ring.PGPKeyByID(id); k != nil && want(k.Public) {
			out = append(out, gkhKey{pub: k.Public, id: fmt.Sprintf("%016X", id), name: k.Name})
		}
	}
	add := func(k gkhKey) {
		if !want(k.pub) {
			return
		}
		for _, have := range out {
			if keys.SamePublic(have.pub, k.pub) {
				return
			}
		}
		out = append(out, k)
	}
	for _, e := range ring.PGP {
		name := ""
		if pi := e.PrimaryIdentity(); pi != nil {
			name = pi.Name
		}
		add(gkhKey{pub: e.PrimaryKey.PublicKey, id: fmt.Sprintf("%016X", e.PrimaryKey.KeyId), name: name})
		for _, sk := range e.Subkeys {
			add(gkhKey{pub: sk.PublicKey.PublicKey, id: fmt.Sprintf("%016X", sk.PublicKey.KeyId), name: name})
		}
	}
	for _, c := range ring.Certs {
		add(gkhKey{pub: c.PublicKey, name: keys.SignerName(c)})
	}
	for _, pub := range ring.PublicKeys() {
		k := gkhKey{pub: pub}
		if kid, ok := keys.OpenPGPKeyID(pub, keys.DefaultCreated); ok {
			k.id = fmt.Sprintf("%016X", kid)
		}
		add(k)
	}
	return out
}

// gkhVerifyMPI checks the rsa variant: s^e mod n, left-padded to the modulus length, must be
// the PKCS#1 v1.5 encoding of the SHA-1 digest d.
func gkhVerifyMPI(pub crypto.PublicKey, d, mpi []byte) error {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return gpgsig.ErrUnsupportedAlgo
	}
	kb := (k.N.BitLen() + 7) / 8
	if len(mpi) > kb {
		return gpgsig.ErrBadEncoding
	}
	s := make([]byte, kb)
	copy(s[kb-len(mpi):], mpi)
	return rsa.VerifyPKCS1v15(k, crypto.SHA1, d, s)
}
