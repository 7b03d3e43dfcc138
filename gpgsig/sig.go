package gpgsig

import (
	"crypto"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"
)

// OpenPGP public-key algorithm ids (RFC 4880 §9.1).
const (
	AlgoRSA        = 1
	AlgoRSAEncrypt = 2
	AlgoRSASign    = 3
	AlgoDSA        = 17
)

// Signature classes used by module signing (RFC 4880 §5.2.1).
const (
	ClassBinary = 0x00 // signature of a binary document: what `gpg -b` writes
	ClassText   = 0x01
	ClassStand  = 0x02 // standalone; the Howells parser accepted it next to 0x00
)

// Subpacket types that matter here (RFC 4880 §5.2.3.1).
const (
	SubCreationTime      = 2
	SubKeyExpiration     = 9
	SubIssuer            = 16
	SubIssuerFingerprint = 33
)

// MPI is an OpenPGP multiprecision integer as stored: the declared bit count and the
// magnitude bytes ((Bits+7)/8 of them, big-endian). Both are kept verbatim so that a parsed
// packet marshals back byte for byte, even when the bit count is not exact.
type MPI struct {
	Bits  uint16
	Bytes []byte
}

// NewMPI returns the canonical MPI of x: no leading zero bytes, exact bit count.
func NewMPI(x *big.Int) MPI {
	return MPI{Bits: uint16(x.BitLen()), Bytes: x.Bytes()}
}

// MPIFromBytes returns the canonical MPI of a big-endian magnitude (leading zeros dropped).
func MPIFromBytes(b []byte) MPI { return NewMPI(new(big.Int).SetBytes(b)) }

// Int returns the MPI's value.
func (m MPI) Int() *big.Int { return new(big.Int).SetBytes(m.Bytes) }

// Subpacket is one v4 signature subpacket.
type Subpacket struct {
	Type     byte // without the critical bit
	Critical bool
	Data     []byte
	// Off is the offset of the subpacket's length field within its area.
	Off int
}

// Sig is an OpenPGP signature packet (tag 2), version 2, 3 or 4, as [ParseSig] found it or
// as it will be marshalled. Nothing in it is verified.
//
// Version 2 and 3 body: ver ‖ 05 ‖ class ‖ be32 time ‖ keyid(8) ‖ pk ‖ hash ‖ left16 ‖ MPIs.
// Version 4 body: ver ‖ class ‖ pk ‖ hash ‖ be16 n ‖ hashed(n) ‖ be16 m ‖ unhashed(m) ‖
// left16 ‖ MPIs.
type Sig struct {
	Version    byte
	Class      byte
	PubKeyAlgo byte
	HashAlgo   byte // OpenPGP hash id (see [HashID])
	// Created is the v2/v3 time field, or the v4 hashed Signature Creation Time subpacket
	// (zero if absent).
	Created time.Time
	// KeyID is the signer's key id: the v2/v3 field, or the first v4 Issuer subpacket
	// (hashed area first, then unhashed). HasKeyID says whether there was one.
	KeyID    uint64
	HasKeyID bool
	// IssuerCount is the number of Issuer (16) subpackets across both v4 areas (1 for v2/v3).
	// The Howells kernels required exactly one.
	IssuerCount int
	// Hashed and Unhashed are the raw v4 subpacket areas. After ParseSig they alias the input
	// with their capacity capped, so appending to them copies.
	Hashed, Unhashed []byte
	// Left16 is the first two bytes of the digest as the signer recorded them.
	Left16 [2]byte
	// MPIs are the signature values: one for RSA (s), two for DSA (r, s).
	MPIs []MPI

	// NewFormat and LenBytes describe the packet header (see [Packet]); Marshal reuses them.
	// LenBytes 0 means GnuPG's choice (see [AppendHeader]).
	NewFormat bool
	LenBytes  int
	// HeaderLen is the parsed header's length; Raw is the whole parsed packet (header
	// included), aliasing the input of ParseSig.
	HeaderLen int
	Raw       []byte
}

// ParseSig parses the signature packet at the start of b and returns it and the number of
// bytes it occupies. It accepts v2, v3 and v4 signatures in old- and new-format packets and
// checks every length against what remains. v4 subpacket areas are walked and must be well
// formed; the Creation Time and Issuer subpackets are decoded. Errors are
// *formats.FormatError values (offsets relative to b) wrapping [ErrMalformed],
// [ErrNotSignature] or [ErrUnsupportedVersion]; use [Rebase] to place them in a module.
func ParseSig(b []byte) (*Sig, int, error) {
	p, n, err := ReadPacket(b)
	if err != nil {
		return nil, 0, err
	}
	if p.Tag != TagSignature {
		return nil, 0, perr(0, ErrNotSignature, "packet tag %d", p.Tag)
	}
	s := &Sig{NewFormat: p.NewFormat, LenBytes: p.LenBytes, HeaderLen: p.HeaderLen, Raw: b[:n:n]}
	body, h := p.Body, p.HeaderLen
	if len(body) < 1 {
		return nil, 0, perr(h, ErrMalformed, "empty signature packet")
	}
	s.Version = body[0]
	var off int
	switch s.Version {
	case 2, 3:
		if len(body) < 19 {
			return nil, 0, perr(h, ErrMalformed, "v%d signature body of %d bytes, need 19", s.Version, len(body))
		}
		if body[1] != 5 {
			return nil, 0, perr(h+1, ErrMalformed, "v%d hashed-material length %d, must be 5", s.Version, body[1])
		}
		s.Class = body[2]
		s.Created = time.Unix(int64(binary.BigEndian.Uint32(body[3:7])), 0).UTC()
		s.KeyID, s.HasKeyID, s.IssuerCount = binary.BigEndian.Uint64(body[7:15]), true, 1
		s.PubKeyAlgo, s.HashAlgo = body[15], body[16]
		copy(s.Left16[:], body[17:19])
		off = 19
	case 4:
		if len(body) < 6 {
			return nil, 0, perr(h, ErrMalformed, "v4 signature body of %d bytes, need 6", len(body))
		}
		s.Class, s.PubKeyAlgo, s.HashAlgo = body[1], body[2], body[3]
		off = 4
		for i := 0; i < 2; i++ {
			if len(body)-off < 2 {
				return nil, 0, perr(h+off, ErrMalformed, "subpacket area length truncated")
			}
			l := int(binary.BigEndian.Uint16(body[off:]))
			off += 2
			if l > len(body)-off {
				return nil, 0, perr(h+off-2, ErrMalformed, "subpacket area of %d bytes exceeds the %d that remain", l, len(body)-off)
			}
			area := body[off : off+l : off+l]
			sps, err := ParseSubpackets(area)
			if err != nil {
				return nil, 0, Rebase(err, modNone, codecFormat, int64(h+off))
			}
			for _, sp := range sps {
				switch {
				case sp.Type == SubIssuer:
					if len(sp.Data) != 8 {
						return nil, 0, perr(h+off+sp.Off, ErrMalformed, "issuer subpacket of %d bytes, must be 8", len(sp.Data))
					}
					s.IssuerCount++
					if !s.HasKeyID {
						s.KeyID, s.HasKeyID = binary.BigEndian.Uint64(sp.Data), true
					}
				case sp.Type == SubCreationTime && i == 0 && s.Created.IsZero():
					if len(sp.Data) != 4 {
						return nil, 0, perr(h+off+sp.Off, ErrMalformed, "creation time subpacket of %d bytes, must be 4", len(sp.Data))
					}
					s.Created = time.Unix(int64(binary.BigEndian.Uint32(sp.Data)), 0).UTC()
				}
			}
			if i == 0 {
				s.Hashed = area
			} else {
				s.Unhashed = area
			}
			off += l
		}
		if len(body)-off < 2 {
			return nil, 0, perr(h+off, ErrMalformed, "left-16 bits truncated")
		}
		copy(s.Left16[:], body[off:off+2])
		off += 2
	default:
		return nil, 0, perr(h, ErrUnsupportedVersion, "signature version %d", s.Version)
	}
	for off < len(body) {
		if len(body)-off < 2 {
			return nil, 0, perr(h+off, ErrMalformed, "MPI length truncated")
		}
		bits := binary.BigEndian.Uint16(body[off:])
		l := (int(bits) + 7) / 8
		if l > len(body)-off-2 {
			return nil, 0, perr(h+off, ErrMalformed, "MPI of %d bits exceeds the %d bytes that remain", bits, len(body)-off-2)
		}
		s.MPIs = append(s.MPIs, MPI{Bits: bits, Bytes: body[off+2 : off+2+l : off+2+l]})
		off += 2 + l
	}
	if len(s.MPIs) == 0 {
		return nil, 0, perr(h+off, ErrMalformed, "signature has no MPI")
	}
	return s, n, nil
}

// ParseSubpackets splits a v4 subpacket area (RFC 4880 §5.2.3.1: 1-, 2- or 5-byte length
// including the type byte, then type and data). Errors have offsets relative to area.
func ParseSubpackets(area []byte) ([]Subpacket, error) {
	var out []Subpacket
	for off := 0; off < len(area); {
		start := off
		o := area[off]
		var l int
		switch {
		case o < 192:
			l, off = int(o), off+1
		case o < 255:
			if len(area)-off < 2 {
				return nil, perr(start, ErrMalformed, "subpacket length truncated")
			}
			l, off = (int(o)-192)<<8+int(area[off+1])+192, off+2
		default:
			if len(area)-off < 5 {
				return nil, perr(start, ErrMalformed, "subpacket length truncated")
			}
			v := binary.BigEndian.Uint32(area[off+1:])
			if v > uint32(len(area)) {
				return nil, perr(start, ErrMalformed, "subpacket of %d bytes exceeds its area", v)
			}
			l, off = int(v), off+5
		}
		if l == 0 {
			return nil, perr(start, ErrMalformed, "subpacket with no type byte")
		}
		if l > len(area)-off {
			return nil, perr(start, ErrMalformed, "subpacket of %d bytes exceeds the %d that remain", l, len(area)-off)
		}
		out = append(out, Subpacket{Type: area[off] & 0x7f, Critical: area[off]&0x80 != 0, Data: area[off+1 : off+l], Off: start})
		off += l
	}
	return out, nil
}

// AppendSubpacket appends a subpacket (shortest length form) to an area.
func AppendSubpacket(area []byte, typ byte, data []byte) []byte {
	n := len(data) + 1
	switch {
	case n < 192:
		area = append(area, byte(n))
	case n < 8384:
		m := n - 192
		area = append(area, byte(192+m>>8), byte(m))
	default:
		area = binary.BigEndian.AppendUint32(append(area, 0xff), uint32(n))
	}
	area = append(area, typ)
	return append(area, data...)
}

// Subpackets returns the parsed hashed and unhashed areas of a v4 signature.
func (s *Sig) Subpackets() (hashed, unhashed []Subpacket, err error) {
	if hashed, err = ParseSubpackets(s.Hashed); err != nil {
		return nil, nil, err
	}
	unhashed, err = ParseSubpackets(s.Unhashed)
	return hashed, unhashed, err
}

// body encodes the packet body from the fields.
func (s *Sig) body() ([]byte, error) {
	var b []byte
	switch s.Version {
	case 2, 3:
		t := s.Created.Unix()
		if t < 0 || t > 0xffffffff {
			return nil, fmt.Errorf("openpgp: creation time %v out of range", s.Created)
		}
		b = append(b, s.Version, 5, s.Class)
		b = binary.BigEndian.AppendUint32(b, uint32(t))
		b = binary.BigEndian.AppendUint64(b, s.KeyID)
		b = append(b, s.PubKeyAlgo, s.HashAlgo)
	case 4:
		if len(s.Hashed) > 0xffff || len(s.Unhashed) > 0xffff {
			return nil, fmt.Errorf("openpgp: subpacket area too large")
		}
		b = append(b, 4, s.Class, s.PubKeyAlgo, s.HashAlgo)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s.Hashed)))
		b = append(b, s.Hashed...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s.Unhashed)))
		b = append(b, s.Unhashed...)
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnsupportedVersion, s.Version)
	}
	b = append(b, s.Left16[:]...)
	for _, m := range s.MPIs {
		if len(m.Bytes) != (int(m.Bits)+7)/8 {
			return nil, fmt.Errorf("openpgp: MPI of %d bits with %d bytes", m.Bits, len(m.Bytes))
		}
		b = binary.BigEndian.AppendUint16(b, m.Bits)
		b = append(b, m.Bytes...)
	}
	return b, nil
}

// Marshal encodes the packet, header included, with the header form recorded in the Sig
// (NewFormat, LenBytes). A Sig returned by ParseSig marshals back to exactly its Raw bytes.
// v2/v3 marshal the Created and KeyID fields; v4 marshals the raw subpacket areas (Created
// and KeyID are not consulted).
func (s *Sig) Marshal() ([]byte, error) {
	body, err := s.body()
	if err != nil {
		return nil, err
	}
	out, err := AppendHeader(nil, TagSignature, s.NewFormat, s.LenBytes, len(body))
	if err != nil {
		return nil, err
	}
	return append(out, body...), nil
}

// HashSuffix returns the bytes hashed after the payload (RFC 4880 §5.2.4): for v4,
// `04 ‖ class ‖ pk ‖ hash ‖ be16 len(hashed) ‖ hashed ‖ 04 ff ‖ be32(6 + len(hashed))`;
// for v2/v3, `class ‖ be32 time`.
func (s *Sig) HashSuffix() []byte {
	if s.Version == 4 {
		b := []byte{4, s.Class, s.PubKeyAlgo, s.HashAlgo}
		b = binary.BigEndian.AppendUint16(b, uint16(len(s.Hashed)))
		b = append(b, s.Hashed...)
		b = append(b, 0x04, 0xff)
		return binary.BigEndian.AppendUint32(b, uint32(6+len(s.Hashed)))
	}
	return binary.BigEndian.AppendUint32([]byte{s.Class}, uint32(s.Created.Unix()))
}

// HowellsV3Suffix returns the five bytes the 2011–2012 Howells kernels hashed after the
// payload for a v3 signature: starting one byte too early in the body (`05 ‖ class ‖
// time[0..2]`), which is why v3 signatures never verified there (FORMATS.md rhel6 quirks).
func (s *Sig) HowellsV3Suffix() []byte {
	t := binary.BigEndian.AppendUint32(nil, uint32(s.Created.Unix()))
	return []byte{5, s.Class, t[0], t[1], t[2]}
}

var hashIDs = []struct {
	id byte
	h  crypto.Hash
}{
	{1, crypto.MD5},
	{2, crypto.SHA1},
	{3, crypto.RIPEMD160},
	{8, crypto.SHA256},
	{9, crypto.SHA384},
	{10, crypto.SHA512},
	{11, crypto.SHA224},
}

// HashByID maps an OpenPGP hash id to a crypto.Hash: 1 MD5, 2 SHA-1, 3 RIPEMD-160,
// 8 SHA-256, 9 SHA-384, 10 SHA-512, 11 SHA-224. Others wrap [ErrUnsupportedHash].
func HashByID(id byte) (crypto.Hash, error) {
	for _, x := range hashIDs {
		if x.id == id {
			return x.h, nil
		}
	}
	return 0, fmt.Errorf("%w: id %d", ErrUnsupportedHash, id)
}

// HashID maps a crypto.Hash to its OpenPGP hash id (see [HashByID]).
func HashID(h crypto.Hash) (byte, error) {
	for _, x := range hashIDs {
		if x.h == h {
			return x.id, nil
		}
	}
	return 0, fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
}

// Hash returns the signature's hash function, wrapping [ErrUnsupportedHash] when the id is
// unknown or its implementation is not linked in.
func (s *Sig) Hash() (crypto.Hash, error) {
	h, err := HashByID(s.HashAlgo)
	if err != nil {
		return 0, err
	}
	if !h.Available() {
		return 0, fmt.Errorf("%w: %v not available", ErrUnsupportedHash, h)
	}
	return h, nil
}
