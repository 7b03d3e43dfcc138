package elfsig

import (
	"bytes"
	"crypto"
	"debug/elf"
	"errors"
	"fmt"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// RHEL5 is the `rhel5` driver: Red Hat's RHEL4 (2.6.9) and RHEL5 (2.6.18) module signatures,
// written by David Howells in 2004, "derived from GregKH's RSA module signer".
//
// Container: a `.module_sig` section, SHT_PROGBITS, holding the output of `gpg -b` (binary
// detached OpenPGP signature packets). The era's modsign.sh added it with
// `objcopy --add-section .module_sig=foo.ko.sig` and `objcopy --set-section-flags
// .module_sig=alloc`, which gives flags WA on x86-64; [RHEL5.Sign] writes the same header
// (PROGBITS, WA, alignment 1) through [Add].
//
// Payload: the mod-extract canonical stream, [Canonical] with [CanonRHEL5] (ALLOC sections
// by header order, relocation sections of already-emitted sections with each record joined
// to its symbol, sections renumbered by sorted name), computed with the signature section
// left out by index, so that objcopy's renumbering does not matter.
//
// Signature: ksign, an OpenPGP subset. The first signature packet of version 2, 3 or 4
// with public-key algorithm 17 (DSA), hash 2 (SHA-1) and class 0x00 is used, other
// signatures are ignored; its key id (v3 field, v4 Issuer subpacket) is looked up among the
// DSA public keys compiled into the kernel (`gpg --export | bin2c`; [RHEL5.ExportKey] writes
// that keyring); the digest is SHA-1(stream ‖ OpenPGP trailer). RSA keys are refused by
// [RHEL5.Sign] (the kernel would ignore their signatures: ENOENT) unless forced. DSA uses Go's
// crypto/dsa, deprecated for new designs but exactly what this historical format needs; DSA
// signatures are randomised, so re-signing never gives the same bytes.
//
// Verdicts model RHEL5 (default, [KernelRHEL5]) or RHEL4 ([KernelRHEL4]), per FORMATS.md:
//
//	state                      RHEL4 permissive/enforcing   RHEL5 permissive/enforcing
//	unsigned                   OK / EPERM                   OK / EPERM
//	unknown key                OK / EPERM                   EPERM / EPERM
//	bad signature              OK / EPERM                   EPERM / EPERM
//	no DSA/SHA-1 signature     OK / ENOENT                  ENOENT / ENOENT
//	malformed packets          OK / EBADMSG                 EBADMSG / EBADMSG
//	ELF or stream error        OK / ELIBBAD                 ELIBBAD / ELIBBAD
//	valid                      OK / OK                      OK / OK
//
// Quirk: the RHEL4/5 kernels reuse an uncleared array as the "emitted" flags, so for a
// relocation section whose target is not ALLOC (debug relocations of an unstripped module)
// the kernel may digest what mod-extract skipped; kmodsig follows mod-extract and
// [RHEL5.Parse] notes such modules as at risk. The early Fedora form RH-0 (undotted
// `module_sig` with a DSA signature) is not handled here.
type RHEL5 struct{}

func init() { formats.Register(RHEL5{}) }

// ID returns "rhel5".
func (RHEL5) ID() string { return RHEL5ID }

// Info describes the format.
func (RHEL5) Info() formats.Info {
	return formats.Info{
		ID:        RHEL5ID,
		Era:       "Red Hat Enterprise Linux 4 and 5 (2004-2007)",
		Container: "ELF section .module_sig (PROGBITS, WA): gpg -b output over the mod-extract canonical stream",
		KeyTypes:  []string{"dsa"},
		Hashes:    []string{"sha1"},
		Order:     41,
	}
}

// rhel5Find returns the parsed file and the index of the signature section: the last
// PROGBITS section named .module_sig, as module_verify_signature's loop leaves it (0: none).
func rhel5Find(m formats.Module) (*cnFile, int, error) {
	f, err := cnOpen(m, RHEL5ID)
	if err != nil {
		return nil, 0, err
	}
	idx := 0
	for i := 1; i < len(f.secs); i++ {
		if f.secs[i].typ == cnSHTProgbits && string(f.secs[i].name) == RHEL5Section {
			idx = i
		}
	}
	return f, idx, nil
}

// Detect reports whether m is an ELF file with a PROGBITS `.module_sig` section (FORMATS.md
// Detection step 4). It reads the headers only.
func (RHEL5) Detect(m formats.Module) bool {
	if !mayHaveSection(m, RHEL5Section) {
		return false
	}
	_, idx, err := rhel5Find(m)
	return err == nil && idx != 0
}

// Parse reports the signature's claims: key id (sig_key), hash, algorithm, where the section
// lies. PayloadLen is the module size without the section's bytes.
func (RHEL5) Parse(m formats.Module) (*formats.Signature, error) {
	f, idx, err := rhel5Find(m)
	if err != nil {
		return nil, err
	}
	if idx == 0 {
		return nil, &formats.FormatError{Path: m.Name, Format: RHEL5ID, Off: -1, Msg: "no .module_sig section", Err: formats.ErrNotSigned}
	}
	s := &f.secs[idx]
	blob, err := f.data(idx)
	if err != nil {
		return nil, err
	}
	sig := &formats.Signature{
		Format:     RHEL5ID,
		Era:        RHEL5{}.Info().Era,
		PayloadLen: m.Size - int64(s.size),
		Offset:     int64(s.off),
		Length:     int64(s.size),
	}
	if err := rhelSignature(sig, blob); err != nil {
		return nil, rebaseNote(err, m, RHEL5ID, int64(s.off))
	}
	if s.flags&cnSHFAlloc == 0 {
		sig.Notes = append(sig.Notes, "the .module_sig section is not ALLOC (the era's build set it with objcopy --set-section-flags .module_sig=alloc)")
	}
	if n := rhel5AtRisk(f, idx); n != "" {
		sig.Notes = append(sig.Notes, n)
	}
	return sig, nil
}

// rhel5AtRisk explains the uncleared-flags quirk when it can apply: a relocation section
// whose target is not ALLOC (debug relocations of an unstripped module).
func rhel5AtRisk(f *cnFile, idx int) string {
	for i := 1; i < len(f.secs); i++ {
		r := &f.secs[i]
		if i != idx && r.isRel() && uint64(r.info) < uint64(len(f.secs)) && !f.secs[r.info].alloc() && int(r.info) != idx {
			return fmt.Sprintf("unstripped module: relocation section %s targets the non-ALLOC %s; the RHEL4/5 kernels never cleared their emitted flags and may digest it although mod-extract did not (at risk)", r.name, f.secs[r.info].name)
		}
	}
	return ""
}

// Strip removes the .module_sig section. For a module signed by kmodsig ([Add]) the result
// is the unsigned input byte for byte. For a module signed by the era's objcopy pipeline,
// which re-lays out the whole file, exact restoration is impossible from the signed file:
// Strip then rebuilds the module the way `objcopy --remove-section .module_sig` renumbers
// sections (same section contents and the same canonical stream as objcopy's output, a
// different file layout) and returns it without error; `objcopy --remove-section` itself
// gives back the original bytes there because it re-lays out the file the same way again.
func (RHEL5) Strip(m formats.Module) ([]byte, error) {
	b, err := Remove(m, RHEL5Section)
	if errors.Is(err, ErrNotExact) {
		return b, nil
	}
	return b, err
}

// Sign signs an unsigned module: the canonical stream ([CanonRHEL5]) is signed with
// [gpgsig.SignDetached] (v4, class 0x00, old-format packet as gpg -b wrote it, key id of k's
// OpenPGP key) and stored in a new `.module_sig` section (PROGBITS, WA, alignment 1).
// The hash is SHA-1 (o.Hash must be 0 or SHA-1 unless o.Force: ksign ignored other hashes).
// k must be a DSA key ([formats.ErrKeyType] otherwise, unless o.Force). The signature time
// is o.Time, else k's creation time.
func (RHEL5) Sign(unsigned []byte, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	h := o.Hash
	if h == 0 {
		h = crypto.SHA1
	}
	if h != crypto.SHA1 {
		if !o.Force {
			return nil, fmt.Errorf("%s: %w: %s; the RHEL4/5 kernels verified only SHA-1 (ksign ignores other signatures: ENOENT)", RHEL5ID, formats.ErrHash, formats.HashName(h))
		}
		o.Warnf("%s: signing with %s (forced): the RHEL4/5 kernels ignore it (ENOENT)", RHEL5ID, formats.HashName(h))
	}
	if err := rhelSignKey(RHEL5ID, "the RHEL4/5 kernels", "dsa", k, o); err != nil {
		return nil, err
	}
	m := formats.NewModule("", unsigned)
	_, idx, err := rhel5Find(m)
	if err != nil {
		return nil, err
	}
	if idx != 0 {
		return nil, fmt.Errorf("%s: module already has a %s section (strip it first)", RHEL5ID, RHEL5Section)
	}
	sig, err := rhelSign(m, CanonRHEL5, k, h, o)
	if err != nil {
		return nil, err
	}
	return Add(m, NewSection{Name: RHEL5Section, Type: elf.SHT_PROGBITS, Flags: elf.SHF_WRITE | elf.SHF_ALLOC, Addralign: 1, Data: sig})
}

// rhelSign signs the canonical stream of m under p with k.
func rhelSign(m formats.Module, p CanonParams, k *keys.Material, h crypto.Hash, o formats.SignOptions) ([]byte, error) {
	stream, err := Canonical(m, p)
	if err != nil {
		return nil, err
	}
	t := o.Time
	if t.IsZero() {
		t = k.CreationTime()
	}
	sig, err := gpgsig.SignDetachedOpts(bytes.NewReader(stream), k, h, t, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Format, err)
	}
	return sig, nil
}

// Verify models the RHEL5 kernel (p.Kernel "" or [KernelRHEL5]) or the RHEL4 kernel
// ([KernelRHEL4]); see the table in the type's doc. The verdict names the key id looked for
// (16 hex digits).
func (RHEL5) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	kernel := p.Kernel
	if kernel == "" {
		kernel = KernelRHEL5
	}
	v := formats.Verdict{Format: RHEL5ID}
	if kernel != KernelRHEL4 && kernel != KernelRHEL5 {
		v.Outcome, v.Kernel = formats.Unsupported, kernel
		v.Reason = fmt.Sprintf("unknown kernel model %q for rhel5 (know %s, %s)", kernel, KernelRHEL4, KernelRHEL5)
		return v
	}
	f, idx, err := rhel5Find(m)
	if err != nil {
		return rhelVerdict(v, kernel, rcFormat, err, "module is not a valid ELF object: %v", err)
	}
	if idx == 0 {
		return rhelVerdict(v, kernel, rcUnsigned, nil, "module carries no .module_sig section")
	}
	blob, err := f.data(idx)
	if err != nil {
		return rhelVerdict(v, kernel, rcFormat, err, "signature section: %v", err)
	}
	cp := CanonRHEL5
	cp.Skip = idx
	stream, err := Canonical(m, cp)
	if err != nil {
		return rhelVerdict(v, kernel, rcFormat, err, "canonical stream: %v", err)
	}
	r := ksignVerify(blob, stream, ring, ksignHashes(kernel))
	v = rhelKsignVerdict(v, kernel, r, m, int64(f.secs[idx].off))
	if n := rhel5AtRisk(f, idx); n != "" {
		v.Notes = append(v.Notes, n)
	}
	return v
}

// rhelKsignVerdict turns a ksign result into the kernel's verdict.
func rhelKsignVerdict(v formats.Verdict, kernel string, r ksignResult, m formats.Module, base int64) formats.Verdict {
	if r.sig != nil {
		if r.sig.HasKeyID {
			v.KeyID = fmt.Sprintf("%016X", r.sig.KeyID)
		}
		v.Hash = gpgsig.HashName(r.sig.HashAlgo)
	}
	if r.key != nil {
		v.Signer = r.key.Name
		if r.key.Derived {
			v.Notes = append(v.Notes, fmt.Sprintf("key matched by the OpenPGP key id derived from a bare key (creation time %s)", keys.DefaultCreated.Format(time.RFC3339)))
		}
	}
	err := r.err
	if r.class == rcBadMsg {
		err = rebaseNote(err, m, v.Format, base)
	}
	return rhelVerdict(v, kernel, r.class, err, "%s", r.reason)
}

// ExportKey writes k's OpenPGP public key as a binary keyring (`gpg --export` form): what
// the RHEL build turned into crypto/signature/key.h with bin2c (its KEYFLAGS name it
// kernel.pub). The kernel keeps only DSA key packets, so other keys are refused
// ([formats.ErrKeyType]) unless o.Force.
func (RHEL5) ExportKey(k *keys.Material, o formats.SignOptions) ([]byte, string, error) {
	if err := rhelSignKey(RHEL5ID, "the RHEL4/5 kernels", "dsa", k, o); err != nil {
		return nil, "", err
	}
	b, err := gpgsig.PublicKeyring(k, o)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: %v", RHEL5ID, formats.ErrKeyType, err)
	}
	return b, "kernel.pub", nil
}
