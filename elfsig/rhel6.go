package elfsig

import (
	"bytes"
	"crypto"
	"debug/elf"
	"errors"
	"fmt"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// RHEL6 is the `rhel6` driver: the `.note.module.sig` ELF note of RHEL6 (variant `dsa`, the
// default) and of the Howells modsign series Fedora carried from March to September 2012
// (variant `rsa`).
//
// Container: a section `.note.module.sig`, SHT_NOTE, flags A, holding one note: n_namesz 11,
// n_descsz L, n_type 100 (u32 in the module's byte order), the name "module.sig" NUL-padded
// to 12 bytes, the `gpg -b` output (L bytes), zero padding to 4 ([AppendSigNote],
// [ParseSigNote]). The era's modsign-note.sh assembled such a note and merged it with
// `ld -r`; [RHEL6.Sign] appends the same bytes as a section through [Add] (alignment 4).
//
// Payload: the sorted canonical stream, [Canonical] with [CanonRHEL6]: ALLOC sections and
// the relocation sections targeting them, walked in sorted-name order, `.bss`-like NOBITS
// sections as header fields only; the note section is left out by index. The Howells
// kernel's variant of the stream ([CanonHowells2012]) equals it on every module a real build
// makes; it rejects relocations against symbols in non-ALLOC sections (ELIBBAD).
//
// The variant is the public-key algorithm of the first signature packet: 17 (DSA) → `dsa`,
// 1/2/3 (RSA) → `rsa` (inferred, FORMATS.md "Telling dsa from rsa").
//
//   - `dsa`: ksign exactly as in rhel5 (see [RHEL5]): DSA only, class 0x00, v2/v3/v4,
//     compiled-in DSA keys; SHA-1, and in later RHEL6 updates the signature's own hash
//     (SHA-224/256/384/512). RSA keys are refused by [RHEL6.Sign] unless SignOptions.Variant
//     is "rsa". Kernel model [KernelRHEL6]: unsigned OK / EKEYREJECTED, unknown key ENOKEY,
//     bad signature EKEYREJECTED, no DSA signature ENOENT, malformed note or ELF ELIBBAD,
//     malformed packets EBADMSG (inferred), valid OK.
//   - `rsa`: the Howells OpenPGP rules shared with gpg2012 (v4 RSA, exactly one Issuer
//     subpacket, classes 0x00/0x02, MD5 to SHA-512, DSA → ENOPKG, v3 never verifies, the
//     short-MPI fix). Kernel models [KernelFedora2012] (default: unknown key loads when not
//     enforcing) and [KernelFedora2012Early].
//
// DSA signing uses Go's crypto/dsa, deprecated for new designs but what this historical
// format needs; DSA signatures are randomised.
type RHEL6 struct{}

func init() { formats.Register(RHEL6{}) }

// ID returns "rhel6".
func (RHEL6) ID() string { return RHEL6ID }

// Info describes the format.
func (RHEL6) Info() formats.Info {
	return formats.Info{
		ID:        RHEL6ID,
		Era:       "RHEL 6 (2010, DSA); Fedora 2012 Howells modsign (RSA)",
		Container: "ELF note .note.module.sig (name module.sig, type 100): gpg -b output over the sorted canonical stream",
		KeyTypes:  []string{"dsa", "rsa"},
		Hashes:    []string{"sha1", "sha224", "sha256", "sha384", "sha512"},
		Variants:  []string{"dsa", "rsa"},
		Order:     40,
	}
}

// rhel6Find returns the parsed file and the index of the signature note: the last SHT_NOTE
// section named .note.module.sig, as the RHEL6 kernel's search loop leaves it (0: none).
func rhel6Find(m formats.Module) (*cnFile, int, error) {
	f, err := cnOpen(m, RHEL6ID)
	if err != nil {
		return nil, 0, err
	}
	idx := 0
	for i := 1; i < len(f.secs); i++ {
		if f.secs[i].typ == cnSHTNote && string(f.secs[i].name) == RHEL6Section {
			idx = i
		}
	}
	return f, idx, nil
}

// rhel6Note reads and parses the note of section idx; errors carry file offsets.
func rhel6Note(m formats.Module, f *cnFile, idx int) ([]byte, error) {
	b, err := f.data(idx)
	if err != nil {
		return nil, err
	}
	desc, err := ParseSigNote(f.bo, b)
	if err != nil {
		return nil, rebaseNote(err, m, RHEL6ID, int64(f.secs[idx].off))
	}
	return desc, nil
}

// rhel6Variant names the variant of a signature blob.
func rhel6Variant(blob []byte) string {
	switch firstSigAlgo(blob) {
	case gpgsig.AlgoRSA, gpgsig.AlgoRSAEncrypt, gpgsig.AlgoRSASign:
		return "rsa"
	}
	return "dsa"
}

// Detect reports whether m is an ELF file with a SHT_NOTE `.note.module.sig` section
// (FORMATS.md Detection step 4); a malformed note is still claimed so that Parse and Verify
// report it. It reads the headers only.
func (RHEL6) Detect(m formats.Module) bool {
	if !mayHaveSection(m, RHEL6Section) {
		return false
	}
	_, idx, err := rhel6Find(m)
	return err == nil && idx != 0
}

// Parse reports the signature's claims (key id, hash, algorithm, variant) and where the
// note lies. PayloadLen is the module size without the note section's bytes.
func (RHEL6) Parse(m formats.Module) (*formats.Signature, error) {
	f, idx, err := rhel6Find(m)
	if err != nil {
		return nil, err
	}
	if idx == 0 {
		return nil, &formats.FormatError{Path: m.Name, Format: RHEL6ID, Off: -1, Msg: "no .note.module.sig section", Err: formats.ErrNotSigned}
	}
	desc, err := rhel6Note(m, f, idx)
	if err != nil {
		return nil, err
	}
	s := &f.secs[idx]
	sig := &formats.Signature{
		Format:     RHEL6ID,
		Variant:    rhel6Variant(desc),
		Era:        RHEL6{}.Info().Era,
		PayloadLen: m.Size - int64(s.size),
		Offset:     int64(s.off),
		Length:     int64(s.size),
	}
	if err := rhelSignature(sig, desc); err != nil {
		return nil, rebaseNote(err, m, RHEL6ID, int64(s.off)+24)
	}
	return sig, nil
}

// Strip removes the .note.module.sig section. A module signed by kmodsig comes back byte
// for byte. A module signed by the era's `ld -r` pipeline cannot be restored exactly (ld -r
// rewrites the whole object and gives the note a section symbol); Strip then drops that
// section symbol and rebuilds the module as `objcopy --remove-section` would (same section
// contents and canonical stream, symbols renumbered the same way) and returns it without
// error.
func (RHEL6) Strip(m formats.Module) ([]byte, error) {
	b, err := rhelRemove(m, RHEL6Section, cnSHTNote)
	if errors.Is(err, ErrNotExact) {
		return b, nil
	}
	return b, err
}

// rhel6SignHashes are the digests each variant may be signed with (MD5 only forced, rsa).
var rhel6SignHashes = map[string]map[crypto.Hash]bool{
	"dsa": {crypto.SHA1: true, crypto.SHA224: true, crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true},
	"rsa": {crypto.MD5: true, crypto.SHA1: true, crypto.SHA224: true, crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true},
}

// rhel6SignVariant is the variant Sign and ExportKey make for SignOptions.Variant v: "dsa"
// (the default) or "rsa"; any other name is formats.ErrVariant.
func rhel6SignVariant(v string) (string, error) {
	switch v {
	case "", "dsa":
		return "dsa", nil
	case "rsa":
		return "rsa", nil
	}
	return "", fmt.Errorf("%s: %w %q (dsa or rsa)", RHEL6ID, formats.ErrVariant, v)
}

// Sign signs an unsigned module: the sorted canonical stream ([CanonRHEL6]) signed with
// [gpgsig.SignDetached] (v4, class 0x00, one unhashed Issuer, as gpg -b wrote it) goes into
// a note ([AppendSigNote]) in a new `.note.module.sig` section (SHT_NOTE, flags A,
// alignment 4). o.Variant "" or "dsa" needs a DSA key, "rsa" an RSA key
// ([formats.ErrKeyType] otherwise, unless o.Force). The hash is o.Hash, default SHA-1; for
// dsa anything but SHA-1 only verifies on later RHEL6 updates (warned); for rsa MD5 needs
// o.Force. The signature time is o.Time, else k's creation time.
func (RHEL6) Sign(unsigned []byte, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	variant, err := rhel6SignVariant(o.Variant)
	if err != nil {
		return nil, err
	}
	h := o.Hash
	if h == 0 {
		h = crypto.SHA1
	}
	if !rhel6SignHashes[variant][h] {
		return nil, fmt.Errorf("%s: %w: %s (use sha1, sha224, sha256, sha384 or sha512)", RHEL6ID, formats.ErrHash, formats.HashName(h))
	}
	switch {
	case h == crypto.MD5 && !o.Force:
		return nil, fmt.Errorf("%s: %w: md5 is broken; the Howells kernel accepted it, pass --force to write it anyway", RHEL6ID, formats.ErrHash)
	case h == crypto.MD5:
		o.Warnf("%s: signing with MD5, which is broken (forced)", RHEL6ID)
	case variant == "dsa" && h != crypto.SHA1:
		o.Warnf("%s: %s DSA signatures verify only on later RHEL6 updates; RHEL 6.0 ksign ignores them (ENOENT)", RHEL6ID, formats.HashName(h))
	}
	if variant == "dsa" {
		if err := rhelSignKey(RHEL6ID, "the RHEL6 kernels", "dsa", k, o); err != nil {
			return nil, err
		}
	} else if err := rhelSignKey(RHEL6ID, "the Fedora 2012 (Howells) kernels", "rsa", k, o); err != nil {
		return nil, err
	}
	m := formats.NewModule("", unsigned)
	f, idx, err := rhel6Find(m)
	if err != nil {
		return nil, err
	}
	if idx != 0 {
		return nil, fmt.Errorf("%s: module already has a %s section (strip it first)", RHEL6ID, RHEL6Section)
	}
	sig, err := rhelSign(m, CanonRHEL6, k, h, o)
	if err != nil {
		return nil, err
	}
	note := AppendSigNote(nil, f.bo, sig)
	return Add(m, NewSection{Name: RHEL6Section, Type: elf.SHT_NOTE, Flags: elf.SHF_ALLOC, Addralign: 4, Data: note})
}

// Verify models the kernel p.Kernel: "" picks [KernelRHEL6] for a DSA signature and
// [KernelFedora2012] for an RSA one; [KernelRHEL6] applies ksign (an RSA signature is then
// ignored: ENOENT), [KernelFedora2012] and [KernelFedora2012Early] the Howells rules (a DSA
// signature is ENOPKG). The verdict names the key id looked for (16 hex digits).
func (RHEL6) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	v := formats.Verdict{Format: RHEL6ID}
	kernel := p.Kernel
	switch kernel {
	case "", KernelRHEL6, KernelFedora2012, KernelFedora2012Early:
	default:
		v.Outcome, v.Kernel = formats.Unsupported, kernel
		v.Reason = fmt.Sprintf("unknown kernel model %q for rhel6 (know %s, %s, %s)", kernel, KernelRHEL6, KernelFedora2012, KernelFedora2012Early)
		return v
	}
	// The result tables: RHEL6's for ksign, the Howells one otherwise.
	table := kernel
	if table == "" {
		table = KernelRHEL6
	}
	fail := func(c rhelClass, err error, reason string, args ...any) formats.Verdict {
		if table == KernelRHEL6 {
			return rhelVerdict(v, KernelRHEL6, c, err, reason, args...)
		}
		return howellsVerdict(v, table, c, err, fmt.Sprintf(reason, args...))
	}
	f, idx, err := rhel6Find(m)
	if err != nil {
		return fail(rcFormat, err, "module is not a valid ELF object: %v", err)
	}
	if idx == 0 {
		return fail(rcUnsigned, nil, "module carries no .note.module.sig note")
	}
	desc, err := rhel6Note(m, f, idx)
	if err != nil {
		return fail(rcFormat, err, "module format error: %v", err)
	}
	v.Variant = rhel6Variant(desc)
	if kernel == "" {
		kernel = KernelRHEL6
		if v.Variant == "rsa" {
			kernel = KernelFedora2012
		}
		table = kernel
	}
	base := int64(f.secs[idx].off) + 24
	if kernel == KernelRHEL6 {
		cp := CanonRHEL6
		cp.Skip = idx
		stream, err := Canonical(m, cp)
		if err != nil {
			return fail(rcFormat, err, "canonical stream: %v", err)
		}
		r := ksignVerify(desc, stream, ring, ksignHashes(kernel))
		v = rhelKsignVerdict(v, kernel, r, m, base)
		if r.class == rcOK && r.sig.HashAlgo != 2 {
			v.Notes = append(v.Notes, "a non-SHA-1 DSA signature: RHEL 6.0 ksign ignores it (ENOENT); later RHEL6 updates verify it")
		}
		return v
	}
	cp := CanonHowells2012
	cp.Skip = idx
	stream, err := Canonical(m, cp)
	if err != nil {
		return fail(rcFormat, err, "canonical stream (Howells rules): %v", err)
	}
	v = howellsVerify(v, kernel, desc, stream, ring, m, base)
	// The 2012-08-16 kernel's RELA path zeroed st_shndx of reserved indices (inferred).
	cp.RelaZeroShndx = true
	if z, err := Canonical(m, cp); err == nil && !bytes.Equal(z, stream) {
		v.Notes = append(v.Notes, "RELA relocations against SHN_ABS/SHN_COMMON symbols: the 2012-08-16 Howells kernel recorded st_shndx 0 for them and would compute another digest (inferred)")
	}
	return v
}

// howellsVerdict fills v with the Howells result table for the classes shared with ksign.
func howellsVerdict(v formats.Verdict, kernel string, c rhelClass, err error, reason string) formats.Verdict {
	v.Kernel, v.Err, v.Reason = kernel, err, reason
	v.Outcome = rhelOutcome[c]
	switch c {
	case rcOK:
		v.Permissive, v.Enforcing = formats.ErrnoOK, formats.ErrnoOK
	case rcUnsigned:
		v.Permissive, v.Enforcing = formats.ErrnoOK, formats.ErrnoEKEYREJECTED
	case rcUnknownKey:
		v.Permissive, v.Enforcing = formats.ErrnoOK, formats.ErrnoENOKEY
		if kernel == KernelFedora2012Early {
			v.Permissive = formats.ErrnoENOKEY
		} else {
			v.Notes = append(v.Notes, "before the 2012-08-02 series (\"MODSIGN: Allow modules to be signed with an unknown key\") a permissive kernel returned ENOKEY here")
		}
	case rcBadSig:
		v.Permissive, v.Enforcing = formats.ErrnoEKEYREJECTED, formats.ErrnoEKEYREJECTED
	case rcBadMsg:
		v.Permissive, v.Enforcing = formats.ErrnoEBADMSG, formats.ErrnoEBADMSG
	case rcFormat:
		v.Permissive, v.Enforcing = formats.ErrnoELIBBAD, formats.ErrnoELIBBAD
	case rcNoSig:
		v.Permissive, v.Enforcing = formats.ErrnoENOPKG, formats.ErrnoENOPKG
	}
	return v
}

// howellsVerify applies the Howells 2012 OpenPGP rules (FORMATS.md rhel6 variant rsa, the
// same as gpg2012) to the note's signature over the canonical stream.
func howellsVerify(v formats.Verdict, kernel string, blob, stream []byte, ring *keys.Ring, m formats.Module, base int64) formats.Verdict {
	v.Kernel = kernel
	s, _, err := gpgsig.ParseSig(blob)
	if err != nil {
		err = rebaseNote(err, m, RHEL6ID, base)
		v.Outcome, v.Permissive, v.Enforcing, v.Err = formats.Corrupt, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, err
		v.Reason = fmt.Sprintf("signature packet is corrupt: %v", err)
		return v
	}
	v = gpgsig.HowellsVerify(v, s, bytes.NewReader(stream), ring, kernel == KernelFedora2012Early)
	if s.PubKeyAlgo == gpgsig.AlgoDSA {
		v.Reason += fmt.Sprintf(" (RHEL6 kernels verify DSA: policy %s)", KernelRHEL6)
	}
	return v
}

// ExportKey writes k's OpenPGP public key as a binary keyring (`gpg --export` form): for the
// default dsa variant the DSA keyring RHEL6 compiled in (kernel.pub; other keys refused
// unless o.Force), for o.Variant "rsa" the modsign.pub of the Howells build (RSA keys).
func (RHEL6) ExportKey(k *keys.Material, o formats.SignOptions) ([]byte, string, error) {
	name := "kernel.pub"
	variant, err := rhel6SignVariant(o.Variant)
	if err != nil {
		return nil, "", err
	}
	if variant == "rsa" {
		if err := rhelSignKey(RHEL6ID, "the Fedora 2012 (Howells) kernels", "rsa", k, o); err != nil {
			return nil, "", err
		}
		name = "modsign.pub"
	} else if err := rhelSignKey(RHEL6ID, "the RHEL6 kernels", "dsa", k, o); err != nil {
		return nil, "", err
	}
	b, err := gpgsig.PublicKeyring(k, o)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: %v", RHEL6ID, formats.ErrKeyType, err)
	}
	return b, name, nil
}
