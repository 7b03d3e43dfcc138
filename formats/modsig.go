package formats

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Marker is the 28-byte string that ends a module with an appended `module_signature`
// trailer (x509, pkcs7; id_type 0 "PGP" in out-of-tree patches).
const Marker = "~Module signature appended~\n"

// ModSigBlockSize is the size of struct module_signature.
const ModSigBlockSize = 12

// The id_type values of struct module_signature.
const (
	IDTypePGP   = 0
	IDTypeX509  = 1
	IDTypePKCS7 = 2
)

// ModSig is struct module_signature, the 12-byte block before Marker:
// algo, hash, id_type, signer_len, key_id_len, 3 pad bytes, be32 sig_len.
type ModSig struct {
	Algo      uint8
	Hash      uint8
	IDType    uint8
	SignerLen uint8
	KeyIDLen  uint8
	Pad       [3]byte
	SigLen    uint32
}

// Marshal encodes the block.
func (b ModSig) Marshal() []byte {
	out := []byte{b.Algo, b.Hash, b.IDType, b.SignerLen, b.KeyIDLen, b.Pad[0], b.Pad[1], b.Pad[2], 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[8:], b.SigLen)
	return out
}

// DecodeModSig decodes the 12 bytes of struct module_signature (the inverse of Marshal).
// raw must hold at least ModSigBlockSize bytes.
func DecodeModSig(raw []byte) ModSig {
	return ModSig{Algo: raw[0], Hash: raw[1], IDType: raw[2], SignerLen: raw[3], KeyIDLen: raw[4],
		Pad: [3]byte{raw[5], raw[6], raw[7]}, SigLen: binary.BigEndian.Uint32(raw[8:12])}
}

// ModSigTrailer is a parsed module_signature trailer: the block and where each part lies.
// Layout, from the end: Marker (28), block (12), sig (SigLen), key_id (KeyIDLen),
// signer (SignerLen), and the payload before them.
type ModSigTrailer struct {
	Block     ModSig
	BlockOff  int64 // offset of the 12-byte block (size - 40)
	SigOff    int64 // offset of the signature (SigLen bytes)
	KeyIDOff  int64
	SignerOff int64
	// PayloadLen is the number of bytes signed: everything before signer.
	PayloadLen int64
	Signer     []byte
	KeyID      []byte
}

// HasMarker reports whether the module ends with Marker.
func HasMarker(m Module) bool {
	t := m.Tail(int64(len(Marker)))
	return t != nil && string(t) == Marker
}

// ParseModSig parses the trailer at the end of m. format names the caller for errors. Every
// length is checked against what remains, the way extract-module-sig.pl and the kernel carve
// from the end: sig_len, then key_id_len, then signer_len. The kernel's own limit on sig_len
// (EBADMSG when sig_len >= size-40) is applied too. The signature bytes are not read: use
// m.ReadAt(format, t.SigOff, int64(t.Block.SigLen)).
func ParseModSig(m Module, format string) (*ModSigTrailer, error) {
	const tl = ModSigBlockSize + int64(len(Marker))
	if m.Size < int64(len(Marker)) || !HasMarker(m) {
		return nil, &FormatError{Path: m.Name, Format: format, Off: -1, Msg: "no module signature marker at end of file", Err: ErrNotSigned}
	}
	if m.Size < tl {
		return nil, Errorf(m, format, 0, "file of %d bytes too short for the 12-byte module_signature block", m.Size)
	}
	raw, err := m.ReadAt(format, m.Size-tl, ModSigBlockSize)
	if err != nil {
		return nil, err
	}
	t := &ModSigTrailer{BlockOff: m.Size - tl}
	t.Block = DecodeModSig(raw)
	remain := t.BlockOff
	if int64(t.Block.SigLen) >= remain || t.Block.SigLen == 0 {
		return nil, Errorf(m, format, t.BlockOff+8, "sig_len %d %s", t.Block.SigLen, SigLenMisfit(int64(t.Block.SigLen), remain))
	}
	if t.Block.SigLen > MaxSignatureSize {
		return nil, &FormatError{Path: m.Name, Format: format, Off: t.BlockOff + 8, Msg: fmt.Sprintf("sig_len %d above the %d-byte limit", t.Block.SigLen, MaxSignatureSize), Err: ErrTooLarge}
	}
	t.SigOff = remain - int64(t.Block.SigLen)
	ids := int64(t.Block.SignerLen) + int64(t.Block.KeyIDLen)
	if ids > t.SigOff {
		return nil, Errorf(m, format, t.BlockOff+3, "signer_len %d + key_id_len %d do not fit in the %d bytes before the signature",
			t.Block.SignerLen, t.Block.KeyIDLen, t.SigOff)
	}
	t.KeyIDOff = t.SigOff - int64(t.Block.KeyIDLen)
	t.SignerOff = t.KeyIDOff - int64(t.Block.SignerLen)
	t.PayloadLen = t.SignerOff
	if ids > 0 {
		b, err := m.ReadAt(format, t.SignerOff, ids)
		if err != nil {
			return nil, err
		}
		t.Signer, t.KeyID = b[:t.Block.SignerLen], b[t.Block.SignerLen:]
	}
	return t, nil
}

// SigLenMisfit says why a module_signature's sig_len is refused, given the bytes before the
// trailer (remain): the kernel (mod_check_sig) wants sig_len < remain, so a signature that
// takes every byte, leaving no module, is refused too.
func SigLenMisfit(sigLen, remain int64) string {
	switch {
	case sigLen == 0:
		return "is zero"
	case sigLen == remain:
		return fmt.Sprintf("takes all %d bytes before the trailer, leaving no module", remain)
	}
	return fmt.Sprintf("does not fit in the %d bytes before the trailer", remain)
}

// AppendModSig returns payload ‖ signer ‖ keyID ‖ sig ‖ block ‖ Marker, with the block's
// SignerLen, KeyIDLen and SigLen filled in from the slices. The result is a new slice.
func AppendModSig(payload, signer, keyID, sig []byte, b ModSig) ([]byte, error) {
	return appendModSig(payload, false, signer, keyID, sig, b)
}

// AppendModSig is AppendModSig for a driver's Sign: with o.InPlace it has append's semantics,
// putting the trailer into payload's spare capacity when it fits (no copy of the module).
func (o SignOptions) AppendModSig(payload, signer, keyID, sig []byte, b ModSig) ([]byte, error) {
	return appendModSig(payload, o.InPlace, signer, keyID, sig, b)
}

func appendModSig(payload []byte, inPlace bool, signer, keyID, sig []byte, b ModSig) ([]byte, error) {
	if len(signer) > 255 || len(keyID) > 255 {
		return nil, fmt.Errorf("signer (%d bytes) or key id (%d bytes) longer than 255", len(signer), len(keyID))
	}
	if len(sig) > MaxSignatureSize {
		return nil, ErrTooLarge
	}
	b.SignerLen, b.KeyIDLen, b.SigLen = uint8(len(signer)), uint8(len(keyID)), uint32(len(sig))
	out := payload
	if !inPlace {
		out = make([]byte, 0, len(payload)+len(signer)+len(keyID)+len(sig)+ModSigBlockSize+len(Marker))
		out = append(out, payload...)
	}
	out = append(out, signer...)
	out = append(out, keyID...)
	out = append(out, sig...)
	out = append(out, b.Marshal()...)
	return append(out, Marker...), nil
}

// MarkerBeyondELF returns the offset of the first Marker that lies after the end of the ELF
// image in b (after every section's data and the section header table), or -1. It supports
// FORMATS.md Detection step 3 (Rusty's 2012 hook and the 3.7-rc1 layout).
func MarkerBeyondELF(b []byte, elfEnd int64) int64 {
	if elfEnd < 0 || elfEnd > int64(len(b)) {
		return -1
	}
	i := bytes.Index(b[elfEnd:], []byte(Marker))
	if i < 0 {
		return -1
	}
	return elfEnd + int64(i)
}
