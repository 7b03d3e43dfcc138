package gpgsig

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kmodsig/kmodsig/formats"
)

// Packet tags used by the module-signing eras (RFC 4880 §4.3).
const (
	TagPKESK     = 1  // public-key encrypted session key (gkh2004 "encrypted")
	TagSignature = 2  // signature
	TagSecretKey = 5  // secret key
	TagPublicKey = 6  // public key
	TagUserID    = 13 // user id
	TagSubkey    = 14 // public subkey
)

// codecFormat is the Format of the *formats.FormatError values the codec returns; drivers
// rebase them onto the module with [Rebase].
const codecFormat = "openpgp"

// Sentinel errors of the codec. Parse errors are *formats.FormatError values whose Err is one
// of these, so callers branch with errors.Is.
var (
	// ErrMalformed reports bytes that are not a well-formed OpenPGP packet (EBADMSG in the
	// kernels that parsed OpenPGP).
	ErrMalformed = errors.New("malformed OpenPGP packet")
	// ErrNotSignature reports a well-formed packet that is not a signature (tag 2).
	ErrNotSignature = errors.New("not an OpenPGP signature packet")
	// ErrUnsupportedVersion reports a signature packet version other than 2, 3 or 4.
	ErrUnsupportedVersion = errors.New("unsupported OpenPGP signature version")
	// ErrUnsupportedAlgo reports a public-key algorithm the codec cannot check (not RSA or DSA),
	// or a key that does not match the signature's algorithm.
	ErrUnsupportedAlgo = errors.New("unsupported OpenPGP public-key algorithm")
	// ErrUnsupportedHash reports an OpenPGP hash id with no Go implementation here.
	ErrUnsupportedHash = errors.New("unsupported OpenPGP hash algorithm")
	// ErrBadEncoding reports an RSA signature whose recovered block is not a valid
	// EMSA-PKCS1-v1_5 encoding for the hash (bad padding, wrong DigestInfo, signature not
	// below the modulus, or, under the early Howells rule, an MPI shorter than the modulus).
	// The Howells kernels returned EBADMSG for it.
	ErrBadEncoding = errors.New("RSA signature encoding is invalid")
	// ErrBadSignature reports a signature that does not match the digest (EKEYREJECTED).
	ErrBadSignature = errors.New("signature does not match")
)

// Packet is one OpenPGP packet as found in a byte slice.
type Packet struct {
	Tag byte
	// NewFormat is true for a new-format header (first byte 0xc0|tag).
	NewFormat bool
	// LenBytes is the size of the length field: 1, 2 or 4 (old format), 1, 2 or 5 (new format).
	LenBytes int
	// HeaderLen is 1 + LenBytes.
	HeaderLen int
	// Body aliases the input.
	Body []byte
}

func perr(off int, cause error, msg string, args ...any) error {
	return &formats.FormatError{Format: codecFormat, Off: int64(off), Msg: fmt.Sprintf(msg, args...), Err: cause}
}

// ReadPacket parses the packet at the start of b and returns it and the number of bytes it
// occupies. Old-format headers with 1-, 2- and 4-byte lengths and new-format headers with
// 1-, 2- and 5-byte lengths are accepted; indeterminate (old type 3) and partial (new)
// lengths are refused, since no signer of any era wrote them for keys or signatures. The
// body length is checked against what remains in b. Errors are *formats.FormatError with
// offsets relative to b.
func ReadPacket(b []byte) (Packet, int, error) {
	var p Packet
	if len(b) == 0 {
		return p, 0, perr(0, ErrMalformed, "no packet: empty input")
	}
	ctb := b[0]
	if ctb&0x80 == 0 {
		return p, 0, perr(0, ErrMalformed, "byte 0x%02x is not an OpenPGP packet header", ctb)
	}
	var n uint64
	if ctb&0x40 == 0 {
		p.Tag = (ctb >> 2) & 0x0f
		switch ctb & 3 {
		case 0:
			p.LenBytes = 1
		case 1:
			p.LenBytes = 2
		case 2:
			p.LenBytes = 4
		default:
			return p, 0, perr(0, ErrMalformed, "old-format packet with indeterminate length")
		}
		if len(b) < 1+p.LenBytes {
			return p, 0, perr(1, ErrMalformed, "packet header truncated")
		}
		for _, c := range b[1 : 1+p.LenBytes] {
			n = n<<8 | uint64(c)
		}
	} else {
		p.NewFormat = true
		p.Tag = ctb & 0x3f
		if len(b) < 2 {
			return p, 0, perr(1, ErrMalformed, "packet header truncated")
		}
		switch o := b[1]; {
		case o < 192:
			p.LenBytes, n = 1, uint64(o)
		case o < 224:
			if len(b) < 3 {
				return p, 0, perr(1, ErrMalformed, "packet header truncated")
			}
			p.LenBytes, n = 2, (uint64(o)-192)<<8+uint64(b[2])+192
		case o == 255:
			if len(b) < 6 {
				return p, 0, perr(1, ErrMalformed, "packet header truncated")
			}
			p.LenBytes, n = 5, uint64(binary.BigEndian.Uint32(b[2:6]))
		default:
			return p, 0, perr(1, ErrMalformed, "partial body length not supported")
		}
	}
	p.HeaderLen = 1 + p.LenBytes
	if n > uint64(len(b)-p.HeaderLen) {
		return p, 0, perr(1, ErrMalformed, "packet body length %d exceeds the %d bytes that remain", n, len(b)-p.HeaderLen)
	}
	p.Body = b[p.HeaderLen : p.HeaderLen+int(n)]
	return p, p.HeaderLen + int(n), nil
}

// AppendHeader appends a packet header for tag and a body of n bytes. lenBytes selects the
// length field as in [Packet]; 0 picks what GnuPG writes: old format with the shortest
// length field (1 byte below 256, else 2, else 4), or for tags above 15 (which the old
// format cannot express) the shortest new-format field.
func AppendHeader(dst []byte, tag byte, newFormat bool, lenBytes int, n int) ([]byte, error) {
	if n < 0 || uint64(n) > 0xffffffff {
		return nil, fmt.Errorf("openpgp: packet body of %d bytes", n)
	}
	if tag > 15 {
		newFormat = true
	}
	if lenBytes == 0 {
		switch {
		case newFormat && n < 192:
			lenBytes = 1
		case newFormat && n < 8384:
			lenBytes = 2
		case newFormat:
			lenBytes = 5
		case n < 256:
			lenBytes = 1
		case n < 65536:
			lenBytes = 2
		default:
			lenBytes = 4
		}
	}
	if !newFormat {
		var lt byte
		switch {
		case lenBytes == 1 && n < 256:
			lt = 0
		case lenBytes == 2 && n < 65536:
			lt = 1
		case lenBytes == 4:
			lt = 2
		default:
			return nil, fmt.Errorf("openpgp: old-format %d-byte length cannot hold %d", lenBytes, n)
		}
		dst = append(dst, 0x80|tag<<2|lt)
		for i := lenBytes - 1; i >= 0; i-- {
			dst = append(dst, byte(n>>(8*i)))
		}
		return dst, nil
	}
	dst = append(dst, 0xc0|tag)
	switch {
	case lenBytes == 1 && n < 192:
		return append(dst, byte(n)), nil
	case lenBytes == 2 && n >= 192 && n < 8384:
		m := n - 192
		return append(dst, byte(192+m>>8), byte(m)), nil
	case lenBytes == 5:
		return binary.BigEndian.AppendUint32(append(dst, 0xff), uint32(n)), nil
	}
	return nil, fmt.Errorf("openpgp: new-format %d-byte length cannot hold %d", lenBytes, n)
}

// OldFormat re-frames a packet stream (for example go-crypto's Entity.Serialize output,
// which uses new-format headers) with the old-format headers GnuPG writes for tags below 16,
// so an exported keyring looks like `gpg --export` of the era (0x99 public key, 0xb4 user
// id, 0x89 signature).
func OldFormat(b []byte) ([]byte, error) {
	var out []byte
	for off := 0; off < len(b); {
		p, n, err := ReadPacket(b[off:])
		if err != nil {
			return nil, Rebase(err, formats.Module{}, codecFormat, int64(off))
		}
		out, err = AppendHeader(out, p.Tag, false, 0, len(p.Body))
		if err != nil {
			return nil, err
		}
		out = append(out, p.Body...)
		off += n
	}
	return out, nil
}

// Rebase turns a codec error into one about module m: a *formats.FormatError keeps its
// message and cause, gets m's name and the format id, and its offset moves by base (the
// offset of the parsed bytes in the module). Other errors are wrapped unchanged.
func Rebase(err error, m formats.Module, format string, base int64) error {
	var fe *formats.FormatError
	if !errors.As(err, &fe) {
		return &formats.FormatError{Path: m.Name, Format: format, Off: base, Msg: "openpgp", Err: err}
	}
	off := fe.Off
	if off >= 0 {
		off += base
	}
	msg := fe.Msg
	if fe.Format == codecFormat && format != codecFormat {
		msg = "openpgp: " + msg
	}
	return &formats.FormatError{Path: m.Name, Format: format, Off: off, Msg: msg, Err: fe.Err}
}

var modNone = formats.Module{}
