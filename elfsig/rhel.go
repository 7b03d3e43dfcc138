package elfsig

import (
	"bytes"
	"slices"
	//lint:ignore SA1019 the RHEL eras verify only DSA; Go's crypto/dsa is deprecated but correct for this historical use
	"crypto/dsa"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// This file holds what the rhel5 and rhel6 drivers share: the ELF note of rhel6, the kernel
// result tables of the Red Hat eras, and ksign, the OpenPGP subset the RHEL4/5/6 kernels
// verified (FORMATS.md rhel5 "Signature: ksign").

// Section names, note constants and format ids of the Red Hat eras.
const (
	RHEL5ID = "rhel5"
	RHEL6ID = "rhel6"

	// RHEL5Section is the PROGBITS section of RHEL4/5 (`objcopy --add-section`).
	RHEL5Section = ".module_sig"
	// RHEL6Section is the SHT_NOTE section of RHEL6 and Fedora 2012 (assembler note + ld -r).
	RHEL6Section = ".note.module.sig"
	// RHELNoteName and RHELNoteType identify the one note in RHEL6Section (modsign.h, 2009).
	RHELNoteName = "module.sig"
	RHELNoteType = 100
)

// Kernel models (formats.Policy.Kernel) of the Red Hat eras.
const (
	// KernelRHEL4 is RHEL4 (2.6.9): permissive unless `enforcemodulesig`, where every
	// failure loads the module; enforcing returns ksign's error.
	KernelRHEL4 = "rhel4"
	// KernelRHEL5 is RHEL5 (2.6.18): signature failures refuse the module even when not
	// enforcing; only unsigned modules load. The default of the rhel5 driver.
	KernelRHEL5 = "rhel5"
	// KernelRHEL6 is RHEL6 (2.6.32): ENOKEY / EKEYREJECTED codes; the default of the rhel6
	// `dsa` variant. It models the later RHEL6 updates that take the hash from the signature
	// packet (SHA-1, SHA-224/256/384/512), still DSA only.
	KernelRHEL6 = "rhel6"
	// KernelFedora2012 is the Howells modsign code Fedora carried in 2012 (`rsa` variant),
	// after the 2012-08-02 series: an unknown key loads when not enforcing. The default of
	// the rhel6 `rsa` variant.
	KernelFedora2012 = "fedora2012"
	// KernelFedora2012Early is the same code before the 2012-08-02 series and the short-MPI
	// fix: an unknown key is ENOKEY in both modes, a signature MPI shorter than the modulus
	// is EBADMSG.
	KernelFedora2012Early = "fedora2012-early"
)

// Kernels lists the kernel models rhel5's Verify knows (formats.KernelModeler).
func (RHEL5) Kernels() []string { return []string{KernelRHEL4, KernelRHEL5} }

// ModelsKernel reports whether name is one of Kernels (formats.KernelModeler).
func (d RHEL5) ModelsKernel(name string) bool { return slices.Contains(d.Kernels(), name) }

// Kernels lists the kernel models rhel6's Verify knows (formats.KernelModeler).
func (RHEL6) Kernels() []string {
	return []string{KernelRHEL6, KernelFedora2012, KernelFedora2012Early}
}

// ModelsKernel reports whether name is one of Kernels (formats.KernelModeler).
func (d RHEL6) ModelsKernel(name string) bool { return slices.Contains(d.Kernels(), name) }

// rhelClass is what a Red Hat era's check concluded, before the kernel's table turns it into
// result codes.
type rhelClass int

const (
	rcOK         rhelClass = iota
	rcUnsigned             // no signature section
	rcUnknownKey           // ksign: "module signed with unknown public key"
	rcBadSig               // DSA check failed
	rcNoSig                // ksign: "Couldn't find valid DSA signature in module" (ENOENT)
	rcBadMsg               // OpenPGP packets malformed (EBADMSG)
	rcFormat               // ELF, note or canonicalisation failure (ELIBBAD)
)

// rhelTables are FORMATS.md's result tables for the ksign kernels: {permissive, enforcing}.
// RHEL4 loads everything unless enforcing, where ksign's error (EPERM for a failed check)
// is returned; RHEL5 refuses failures in both modes; RHEL6 has its own codes. ENOENT and
// EBADMSG are what ksign returns for "no usable DSA signature" and a malformed packet, which
// module-verify-sig.c passes through (RHEL4 only when enforcing).
var rhelTables = map[string]map[rhelClass][2]formats.Errno{
	KernelRHEL4: {
		rcOK:         {formats.ErrnoOK, formats.ErrnoOK},
		rcUnsigned:   {formats.ErrnoOK, formats.ErrnoEPERM},
		rcUnknownKey: {formats.ErrnoOK, formats.ErrnoEPERM},
		rcBadSig:     {formats.ErrnoOK, formats.ErrnoEPERM},
		rcNoSig:      {formats.ErrnoOK, formats.ErrnoENOENT},
		rcBadMsg:     {formats.ErrnoOK, formats.ErrnoEBADMSG},
		rcFormat:     {formats.ErrnoOK, formats.ErrnoELIBBAD},
	},
	KernelRHEL5: {
		rcOK:         {formats.ErrnoOK, formats.ErrnoOK},
		rcUnsigned:   {formats.ErrnoOK, formats.ErrnoEPERM},
		rcUnknownKey: {formats.ErrnoEPERM, formats.ErrnoEPERM},
		rcBadSig:     {formats.ErrnoEPERM, formats.ErrnoEPERM},
		rcNoSig:      {formats.ErrnoENOENT, formats.ErrnoENOENT},
		rcBadMsg:     {formats.ErrnoEBADMSG, formats.ErrnoEBADMSG},
		rcFormat:     {formats.ErrnoELIBBAD, formats.ErrnoELIBBAD},
	},
	KernelRHEL6: {
		rcOK:         {formats.ErrnoOK, formats.ErrnoOK},
		rcUnsigned:   {formats.ErrnoOK, formats.ErrnoEKEYREJECTED},
		rcUnknownKey: {formats.ErrnoENOKEY, formats.ErrnoENOKEY},
		rcBadSig:     {formats.ErrnoEKEYREJECTED, formats.ErrnoEKEYREJECTED},
		rcNoSig:      {formats.ErrnoENOENT, formats.ErrnoENOENT},
		rcBadMsg:     {formats.ErrnoEBADMSG, formats.ErrnoEBADMSG},
		rcFormat:     {formats.ErrnoELIBBAD, formats.ErrnoELIBBAD},
	},
}

// rhelOutcome maps a class to the verdict outcome.
var rhelOutcome = map[rhelClass]formats.Outcome{
	rcOK:         formats.OK,
	rcUnsigned:   formats.Unsigned,
	rcUnknownKey: formats.UnknownKey,
	rcBadSig:     formats.BadSignature,
	rcNoSig:      formats.Unsupported,
	rcBadMsg:     formats.Corrupt,
	rcFormat:     formats.Corrupt,
}

// rhelVerdict fills v from the kernel's table.
func rhelVerdict(v formats.Verdict, kernel string, c rhelClass, err error, reason string, args ...any) formats.Verdict {
	codes := rhelTables[kernel][c]
	v.Kernel = kernel
	v.Outcome = rhelOutcome[c]
	v.Permissive, v.Enforcing = codes[0], codes[1]
	v.Err = err
	v.Reason = fmt.Sprintf(reason, args...)
	return v
}

// AppendSigNote appends the rhel6 note carrying sig to dst, laid out as the era's
// modsign-note.sh assembler file made it (`.long 11, L, 100`, `.asciz "module.sig"`,
// `.balign 4`, `.incbin`, `.balign 4`): n_namesz = 11, n_descsz = len(sig), n_type = 100 as
// u32 in the module's byte order bo, the name with its NUL padded to 12 bytes, the signature,
// and zero padding to a 4-byte boundary (inferred from the note macro's alignment).
func AppendSigNote(dst []byte, bo binary.ByteOrder, sig []byte) []byte {
	var h [12]byte
	bo.PutUint32(h[0:], uint32(len(RHELNoteName)+1))
	bo.PutUint32(h[4:], uint32(len(sig)))
	bo.PutUint32(h[8:], RHELNoteType)
	dst = append(dst, h[:]...)
	dst = append(dst, RHELNoteName+"\x00\x00"...)
	dst = append(dst, sig...)
	for i := len(sig); i%4 != 0; i++ {
		dst = append(dst, 0)
	}
	return dst
}

// ParseSigNote parses the rhel6 note in b (the contents of RHEL6Section) with byte order bo
// and returns the descriptor: the signature bytes. The RHEL6 kernel rejects the note
// (ELIBBAD, "Module format error") when n_namesz is not 11, n_type is not 100 or the name is
// not "module.sig". It never checked n_descsz against the section size; kmodsig treats a
// descriptor running past the section as malformed too (ELIBBAD) rather than read beyond it,
// and requires the whole 24-byte note head (the kernel required 20). Errors are
// *formats.FormatError values with offsets relative to b (Path and Format left for the
// caller: see [rebaseNote]).
func ParseSigNote(bo binary.ByteOrder, b []byte) ([]byte, error) {
	nerr := func(off int, msg string, args ...any) error {
		return &formats.FormatError{Format: RHEL6ID, Off: int64(off), Msg: fmt.Sprintf(msg, args...)}
	}
	if len(b) < 12 {
		return nil, nerr(0, "note header needs 12 bytes, section has %d", len(b))
	}
	namesz, descsz, typ := bo.Uint32(b[0:]), bo.Uint32(b[4:]), bo.Uint32(b[8:])
	if namesz != uint32(len(RHELNoteName)+1) {
		return nil, nerr(0, "note n_namesz %d, want %d", namesz, len(RHELNoteName)+1)
	}
	if typ != RHELNoteType {
		return nil, nerr(8, "note n_type %d, want %d", typ, RHELNoteType)
	}
	const descOff = 12 + 12 // header + name padded to 4
	if len(b) < descOff {
		return nil, nerr(12, "note name truncated")
	}
	if string(b[12:12+namesz]) != RHELNoteName+"\x00" {
		return nil, nerr(12, "note name %q, want %q", b[12:12+namesz-1], RHELNoteName)
	}
	if uint64(descsz) > uint64(len(b)-descOff) {
		return nil, nerr(4, "note n_descsz %d exceeds the %d bytes that remain in the section", descsz, len(b)-descOff)
	}
	if descsz > formats.MaxSignatureSize {
		return nil, &formats.FormatError{Format: RHEL6ID, Off: 4, Msg: fmt.Sprintf("note n_descsz %d", descsz), Err: formats.ErrTooLarge}
	}
	return b[descOff : descOff+int(descsz)], nil
}

// rebaseNote places a note or packet error at file offset base of module m.
func rebaseNote(err error, m formats.Module, format string, base int64) error {
	var fe *formats.FormatError
	if errors.As(err, &fe) {
		c := *fe
		c.Path, c.Format = m.Name, format
		if c.Off >= 0 {
			c.Off += base
		}
		return &c
	}
	return err
}

// ksignHashes are the digests a kernel model accepts in a DSA signature packet.
func ksignHashes(kernel string) map[byte]bool {
	if kernel == KernelRHEL6 {
		return map[byte]bool{2: true, 8: true, 9: true, 10: true, 11: true} // SHA-1, SHA-256/384/512, SHA-224
	}
	return map[byte]bool{2: true} // SHA-1
}

// ksignResult is what ksign concluded about a signature blob over a payload.
type ksignResult struct {
	class  rhelClass
	sig    *gpgsig.Sig // the signature ksign used (nil for rcNoSig, rcBadMsg)
	key    *keys.PGPKey
	err    error
	reason string
}

// ksignSelect walks the packets of blob the way ksign_parse_packets does and returns the
// signature ksign would use: the first signature packet of version 2, 3 or 4, public-key
// algorithm 17 (DSA), a hash the kernel accepts, and class 0x00. Other packets are skipped;
// signatures of other versions, algorithms, hashes or classes are ignored. A framing or
// signature-packet error anywhere is EBADMSG (ksign aborts the walk); no usable signature is
// ENOENT. ignored collects why each skipped signature was ignored, for the verdict.
func ksignSelect(blob []byte, hashes map[byte]bool) (sig *gpgsig.Sig, ignored []string, err error) {
	for off := 0; off < len(blob); {
		p, n, err := gpgsig.ReadPacket(blob[off:])
		if err != nil {
			return nil, ignored, rebaseNote(err, formats.Module{}, "openpgp", int64(off))
		}
		if p.Tag == gpgsig.TagSignature {
			s, _, err := gpgsig.ParseSig(blob[off : off+n])
			switch {
			case errors.Is(err, gpgsig.ErrUnsupportedVersion):
				ignored = append(ignored, "a signature packet of an unknown version")
			case err != nil:
				return nil, ignored, rebaseNote(err, formats.Module{}, "openpgp", int64(off))
			case s.PubKeyAlgo != gpgsig.AlgoDSA:
				ignored = append(ignored, fmt.Sprintf("a %s signature (\"ignoring non-DSA signature\")", gpgsig.AlgoName(s.PubKeyAlgo)))
			case !hashes[s.HashAlgo]:
				ignored = append(ignored, fmt.Sprintf("a DSA signature with %s (\"ignoring non-SHA1 signature\")", gpgsig.HashName(s.HashAlgo)))
			case s.Class != gpgsig.ClassBinary:
				ignored = append(ignored, fmt.Sprintf("a signature of class 0x%02x", s.Class))
			case sig == nil:
				sig = s
			}
		}
		off += n
	}
	return sig, ignored, nil
}

// ksignSuffix returns what ksign hashes after the payload: RFC 4880's trailer, except that
// a v4 signature with an empty hashed area gets no `be16 0` length (ksign only writes the
// hashed data when there is some); gpg never writes such a signature.
func ksignSuffix(s *gpgsig.Sig) []byte {
	if s.Version == 4 && len(s.Hashed) == 0 {
		return []byte{4, s.Class, s.PubKeyAlgo, s.HashAlgo, 4, 0xff, 0, 0, 0, 6}
	}
	return s.HashSuffix()
}

// ksignVerify models ksign_verify_signature over payload: select the signature
// ([ksignSelect]), look its key id up among the ring's DSA keys (the kernel kept only DSA
// key packets), digest payload ‖ [ksignSuffix], and check (r, s).
func ksignVerify(blob, payload []byte, ring *keys.Ring, hashes map[byte]bool) ksignResult {
	s, ignored, err := ksignSelect(blob, hashes)
	if err != nil {
		return ksignResult{class: rcBadMsg, err: err, reason: fmt.Sprintf("signature packets are malformed: %v", err)}
	}
	if s == nil {
		why := "the section holds no signature packet"
		if len(ignored) > 0 {
			why = "ksign ignored " + strings.Join(ignored, ", ")
		}
		return ksignResult{class: rcNoSig, reason: "no valid DSA signature in module: " + why + "; the RHEL kernels verify only DSA (OpenPGP algorithm 17) signatures of class 0x00"}
	}
	r := ksignResult{sig: s}
	id := fmt.Sprintf("%016X", s.KeyID)
	k := ring.PGPKeyByID(s.KeyID)
	if k != nil {
		if _, ok := k.Public.(*dsa.PublicKey); !ok {
			k = nil // ksign's key ring holds DSA keys only
		}
	}
	if k == nil || !s.HasKeyID {
		r.class = rcUnknownKey
		if !s.HasKeyID {
			r.reason = "signature has no Issuer subpacket, so ksign looks for key 0000000000000000"
		} else {
			r.reason = fmt.Sprintf("signed with key 0x%s, which is not a DSA key in the keyring", id)
		}
		return r
	}
	r.key = k
	h, err := s.Hash()
	if err != nil {
		r.class, r.err = rcNoSig, err
		r.reason = fmt.Sprintf("hash %s not available", gpgsig.HashName(s.HashAlgo))
		return r
	}
	d, err := gpgsig.DigestSuffix(h, bytes.NewReader(payload), ksignSuffix(s))
	if err != nil {
		r.class, r.err, r.reason = rcNoSig, err, err.Error()
		return r
	}
	if err := gpgsig.VerifyDigest(s, d, k.Public, gpgsig.VerifyOptions{}); err != nil {
		r.class, r.err = rcBadSig, err
		r.reason = fmt.Sprintf("bad DSA signature by key 0x%s: the module was changed after signing or signed by another key", id)
		return r
	}
	r.class = rcOK
	r.reason = fmt.Sprintf("good DSA signature by key 0x%s", id)
	return r
}

// rhelSignature fills the modinfo-style fields of a parsed signature blob.
func rhelSignature(sig *formats.Signature, blob []byte) error {
	var s *gpgsig.Sig
	for off := 0; off < len(blob); {
		p, n, err := gpgsig.ReadPacket(blob[off:])
		if err != nil {
			return rebaseNote(err, formats.Module{}, "openpgp", int64(off))
		}
		if p.Tag == gpgsig.TagSignature {
			if s, _, err = gpgsig.ParseSig(blob[off : off+n]); err != nil {
				return rebaseNote(err, formats.Module{}, "openpgp", int64(off))
			}
			break
		}
		off += n
	}
	if s == nil {
		return &formats.FormatError{Format: "openpgp", Off: 0, Msg: "no signature packet", Err: gpgsig.ErrNotSignature}
	}
	sig.SigID = "PGP"
	if s.HasKeyID {
		sig.KeyID = binary.BigEndian.AppendUint64(nil, s.KeyID)
	}
	sig.HashAlgo = gpgsig.HashName(s.HashAlgo)
	sig.PublicKey = gpgsig.AlgoName(s.PubKeyAlgo)
	sig.Time = s.Created
	for _, mp := range s.MPIs {
		sig.Value = append(sig.Value, mp.Bytes...)
	}
	if s.PubKeyAlgo != gpgsig.AlgoDSA && sig.Format == RHEL5ID {
		sig.Notes = append(sig.Notes, "the RHEL4/5 kernels verify only DSA signatures: this one would be ignored (ENOENT)")
	}
	return nil
}

// firstSigAlgo returns the public-key algorithm of the first signature packet in blob, or 0.
func firstSigAlgo(blob []byte) byte {
	for off := 0; off < len(blob); {
		p, n, err := gpgsig.ReadPacket(blob[off:])
		if err != nil {
			return 0
		}
		if p.Tag == gpgsig.TagSignature {
			if s, _, err := gpgsig.ParseSig(blob[off : off+n]); err == nil {
				return s.PubKeyAlgo
			}
			return 0
		}
		off += n
	}
	return 0
}

// rhelSignKey checks that k can sign for an era that verifies keyType ("dsa" or "rsa") and
// explains the refusal otherwise; with o.Force the signature is written anyway, with a
// warning.
func rhelSignKey(format, era, keyType string, k *keys.Material, o formats.SignOptions) error {
	have := "none"
	switch {
	case k.DSA != nil:
		have = "dsa"
	case k.Signer != nil:
		have = fmt.Sprintf("%T", k.Signer.Public())
		if _, ok := k.Signer.Public().(*rsa.PublicKey); ok {
			have = "rsa"
		}
	}
	if have == keyType {
		return nil
	}
	msg := fmt.Sprintf("%s: %s verified only %s keys, this is a %s key", format, era, strings.ToUpper(keyType), have)
	switch {
	case keyType == "dsa" && have == "rsa":
		msg += "; use a DSA key (kmodsig keys generate --type dsa1024)"
		if format == RHEL6ID {
			msg += ", or --variant rsa for the Fedora 2012 (Howells) kernels, which verified RSA"
		}
	case keyType == "rsa" && have == "dsa":
		msg += "; the Howells code had no DSA (ENOPKG): use an RSA key, or the default dsa variant for RHEL6"
	}
	if o.Force && (have == "dsa" || have == "rsa") {
		o.Warnf("%s (forced: the era's kernel would not verify it)", msg)
		return nil
	}
	return fmt.Errorf("%w: %s", formats.ErrKeyType, msg)
}

// CanonicalStream returns the stream the signature of a rhel5 or rhel6 module (format
// RHEL5ID or RHEL6ID) covers: [Canonical] with [CanonRHEL5] or [CanonRHEL6], leaving out the
// module's signature section, if it has one, by index. With [SignatureBlob] it is the debug
// dump for checking a signature by hand (ORACLES.md §5):
//
//	kmodsig writes sig.bin (SignatureBlob) and stream.bin (CanonicalStream)
//	gpg --verify sig.bin stream.bin
func CanonicalStream(m formats.Module, format string) ([]byte, error) {
	var idx int
	var err error
	p := CanonRHEL5
	switch format {
	case RHEL5ID:
		_, idx, err = rhel5Find(m)
	case RHEL6ID:
		p = CanonRHEL6
		_, idx, err = rhel6Find(m)
	default:
		return nil, fmt.Errorf("%w: %q has no canonical stream (rhel5 or rhel6)", formats.ErrUnknownFormat, format)
	}
	if err != nil {
		return nil, err
	}
	p.Skip = idx
	return Canonical(m, p)
}

// SignatureBlob returns the OpenPGP signature packets of a rhel5 module (the `.module_sig`
// contents) or a rhel6 module (the note's descriptor), as `gpg --verify` takes them.
func SignatureBlob(m formats.Module, format string) ([]byte, error) {
	switch format {
	case RHEL5ID:
		f, idx, err := rhel5Find(m)
		if err != nil {
			return nil, err
		}
		if idx == 0 {
			return nil, &formats.FormatError{Path: m.Name, Format: RHEL5ID, Off: -1, Msg: "no .module_sig section", Err: formats.ErrNotSigned}
		}
		return f.data(idx)
	case RHEL6ID:
		f, idx, err := rhel6Find(m)
		if err != nil {
			return nil, err
		}
		if idx == 0 {
			return nil, &formats.FormatError{Path: m.Name, Format: RHEL6ID, Off: -1, Msg: "no .note.module.sig section", Err: formats.ErrNotSigned}
		}
		return rhel6Note(m, f, idx)
	}
	return nil, fmt.Errorf("%w: %q (rhel5 or rhel6)", formats.ErrUnknownFormat, format)
}
