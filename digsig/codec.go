package digsig

import (
	"crypto"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/kmodsig/kmodsig/formats"
)

// Header sizes and field values of the digsig signature forms.
const (
	// HeaderV1Size is the size of the packed v1 signature_hdr.
	HeaderV1Size = 16
	// HeaderV2Size is the size of the packed v2 header without the IMA type byte: version,
	// hash_algo, be32 keyid, be16 sig_size. (The kernel's struct signature_v2_hdr of 3.18+
	// starts with the xattr type byte and so is 9 bytes; evmctl's has no type byte.)
	HeaderV2Size = 8
	// MinV1Size is the smallest v1 signature the kernel looks at: header and MPI bit count.
	MinV1Size = HeaderV1Size + 2
	// MaxMPIBits is the kernel's MAX_EXTERN_MPI_BITS: a longer MPI is refused (EINVAL).
	MaxMPIBits = 16384

	// AlgoRSA is the only v1 public-key algorithm (PUBKEY_ALGO_RSA).
	AlgoRSA = 0
	// HashV1SHA1 and HashV1SHA256 are the v1 header's hash values (DIGSIG_HASH_*).
	HashV1SHA1   = 0
	HashV1SHA256 = 1

	// XattrDigsig is the IMA xattr type byte of a digital signature (EVM_IMA_XATTR_DIGSIG).
	XattrDigsig = 0x03
)

// Signature is one digsig signature as stored after the IMA type byte: version 1 (the
// 2012 scheme, RSA with a hand-made hash), version 2 (asymmetric keys, standard
// signatures) or version 3 (parsed only). Parse then Marshal gives back the input bytes.
type Signature struct {
	// Version is 1, 2 or 3.
	Version uint8
	// Time is the v1 timestamp exactly as stored: the signer's time() in its host byte
	// order (little-endian on x86). It is hashed, never interpreted.
	Time [4]byte
	// Algo is the v1 public-key algorithm; 0 (RSA) is the only one the kernel accepts.
	Algo uint8
	// Hash is the v1 hash field (0 SHA-1, 1 SHA-256; the kernel ignores it) or the v2/v3
	// hash_algo in the kernel's numbering.
	Hash uint8
	// KeyID is 8 bytes for v1 (SHA1(public-key blob)[12:20]) and 4 bytes for v2/v3 (the
	// last 4 bytes of the signer certificate's SKID).
	KeyID []byte
	// NMPI is the v1 MPI count field (1; not checked by the kernel).
	NMPI uint8
	// Bits is the v1 MPI bit count as stored (evmctl writes 8 × the modulus length).
	Bits uint16
	// Value is the signature: the v1 MPI magnitude (ceil(Bits/8) bytes, leading zeros
	// kept), or the v2/v3 signature bytes (RSA PKCS#1 v1.5 block or DER ECDSA).
	Value []byte
}

// Parse decodes a digsig signature (without the IMA 03 type byte). Every length is checked
// against the input; the MPI or signature must fill the input exactly. Errors are
// *formats.FormatError with Format "digsig" and an offset into b.
func Parse(b []byte) (*Signature, error) {
	if len(b) < 1 {
		return nil, perr(0, "empty signature")
	}
	s := &Signature{Version: b[0]}
	switch s.Version {
	case 1:
		if len(b) < MinV1Size {
			return nil, perr(0, "v1 signature of %d bytes is shorter than the %d-byte minimum", len(b), MinV1Size)
		}
		copy(s.Time[:], b[1:5])
		s.Algo, s.Hash = b[5], b[6]
		s.KeyID = append([]byte(nil), b[7:15]...)
		s.NMPI = b[15]
		s.Bits = binary.BigEndian.Uint16(b[16:18])
		if s.Bits > MaxMPIBits {
			return nil, perr(16, "MPI of %d bits exceeds the kernel's %d-bit limit", s.Bits, MaxMPIBits)
		}
		n := (int(s.Bits) + 7) / 8
		if n != len(b)-MinV1Size {
			return nil, perr(16, "MPI of %d bits needs %d bytes, %d follow", s.Bits, n, len(b)-MinV1Size)
		}
		s.Value = append([]byte(nil), b[MinV1Size:]...)
	case 2, 3:
		if len(b) < HeaderV2Size {
			return nil, perr(0, "v%d signature of %d bytes is shorter than its %d-byte header", s.Version, len(b), HeaderV2Size)
		}
		s.Hash = b[1]
		s.KeyID = append([]byte(nil), b[2:6]...)
		size := int(binary.BigEndian.Uint16(b[6:8]))
		if size != len(b)-HeaderV2Size {
			// The kernel: siglen - sizeof(hdr) != sig_size -> EBADMSG.
			return nil, perr(6, "sig_size %d does not match the %d bytes after the header", size, len(b)-HeaderV2Size)
		}
		s.Value = append([]byte(nil), b[HeaderV2Size:]...)
	default:
		return nil, perr(0, "unknown digsig version %d", s.Version)
	}
	return s, nil
}

// Header returns the header bytes: the 16 bytes v1 hashes into its signature, or the
// 8-byte v2/v3 header.
func (s *Signature) Header() []byte {
	if s.Version == 1 {
		h := make([]byte, HeaderV1Size)
		h[0] = 1
		copy(h[1:5], s.Time[:])
		h[5], h[6] = s.Algo, s.Hash
		copy(h[7:15], s.KeyID)
		h[15] = s.NMPI
		return h
	}
	h := make([]byte, HeaderV2Size)
	h[0], h[1] = s.Version, s.Hash
	copy(h[2:6], s.KeyID)
	binary.BigEndian.PutUint16(h[6:8], uint16(len(s.Value)))
	return h
}

// Marshal encodes the signature (without the IMA type byte).
func (s *Signature) Marshal() []byte {
	out := s.Header()
	if s.Version == 1 {
		out = binary.BigEndian.AppendUint16(out, s.Bits)
		return append(out, s.Value...)
	}
	return append(out, s.Value...)
}

// Timestamp returns the v1 timestamp read little-endian, as an x86 signer wrote it.
func (s *Signature) Timestamp() time.Time {
	return time.Unix(int64(binary.LittleEndian.Uint32(s.Time[:])), 0).UTC()
}

// KeyDescription returns the key description the kernel looks the signer up by: for v1
// the user key named sprintf("%llX", be64(keyid)) (upper-case hex, leading zeros
// dropped), for v2/v3 the asymmetric key id "id:%08x".
func (s *Signature) KeyDescription() string {
	if s.Version == 1 && len(s.KeyID) == 8 {
		return V1Description(s.KeyID)
	}
	if len(s.KeyID) == 4 {
		return fmt.Sprintf("id:%08x", binary.BigEndian.Uint32(s.KeyID))
	}
	return fmt.Sprintf("%X", s.KeyID)
}

// KeyIDString is the key id as Verdict.KeyID carries it: the v1 description ("%llX") or
// the v2 key id as 8 lower-case hex digits.
func (s *Signature) KeyIDString() string {
	if s.Version == 1 {
		return s.KeyDescription()
	}
	return fmt.Sprintf("%x", s.KeyID)
}

// HashName names the digest the header claims: "sha1"/"sha256" for v1, the kernel
// hash_algo name for v2/v3.
func (s *Signature) HashName() string {
	if s.Version == 1 {
		switch s.Hash {
		case HashV1SHA1:
			return "sha1"
		case HashV1SHA256:
			return "sha256"
		}
		return fmt.Sprintf("v1-hash(%d)", s.Hash)
	}
	return KernelHashName(s.Hash)
}

// V1Description formats an 8-byte v1 key id the way lib/digsig.c names the user key.
func V1Description(keyID []byte) string {
	return fmt.Sprintf("%X", binary.BigEndian.Uint64(keyID))
}

// kernelHashes is the kernel's enum hash_algo (include/uapi/linux/hash_info.h).
var kernelHashes = []struct {
	name string
	h    crypto.Hash
}{
	{"md4", crypto.MD4}, {"md5", crypto.MD5}, {"sha1", crypto.SHA1}, {"rmd160", crypto.RIPEMD160},
	{"sha256", crypto.SHA256}, {"sha384", crypto.SHA384}, {"sha512", crypto.SHA512}, {"sha224", crypto.SHA224},
	{"rmd128", 0}, {"rmd256", 0}, {"rmd320", 0}, {"wp256", 0}, {"wp384", 0}, {"wp512", 0},
	{"tgr128", 0}, {"tgr160", 0}, {"tgr192", 0}, {"sm3-256", 0}, {"streebog256", 0}, {"streebog512", 0},
	{"sha3-256", crypto.SHA3_256}, {"sha3-384", crypto.SHA3_384}, {"sha3-512", crypto.SHA3_512},
}

// KernelHashName names a kernel hash_algo value.
func KernelHashName(v uint8) string {
	if int(v) < len(kernelHashes) {
		return kernelHashes[v].name
	}
	return fmt.Sprintf("hash_algo(%d)", v)
}

// KernelHash maps a kernel hash_algo value to a Go hash; ok is false for values Go does
// not implement or the kernel does not define.
func KernelHash(v uint8) (crypto.Hash, bool) {
	if int(v) >= len(kernelHashes) || kernelHashes[v].h == 0 || !kernelHashes[v].h.Available() {
		return 0, false
	}
	return kernelHashes[v].h, true
}

// KernelHashAlgo returns the kernel hash_algo value of h.
func KernelHashAlgo(h crypto.Hash) (uint8, bool) {
	for i, k := range kernelHashes {
		if k.h != 0 && k.h == h {
			return uint8(i), true
		}
	}
	return 0, false
}

// perr returns a codec error at off within the signature.
func perr(off int, msg string, args ...any) *formats.FormatError {
	return &formats.FormatError{Format: "digsig", Off: int64(off), Msg: fmt.Sprintf(msg, args...)}
}
