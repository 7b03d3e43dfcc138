package formats

import (
	"encoding/binary"
)

// Magic30 ends modules of the two 2012 appended formats that share it, gpg2012 and
// digsig2012. They differ in the bytes before it: five ASCII characters `%-5s` (gpg2012) or a
// binary be16 (digsig2012).
const Magic30 = "This Is A Crypto Signed Module"

// HasMagic30 reports whether m ends with Magic30.
func HasMagic30(m Module) bool {
	t := m.Tail(int64(len(Magic30)))
	return t != nil && string(t) == Magic30
}

// Magic30Length is the length field found before Magic30, read both ways.
type Magic30Length struct {
	// ASCII is the gpg2012 reading: the decimal number in the 5 bytes at -35, and whether
	// those bytes have the `%-5s` shape (1-5 digits, then spaces; a 5-digit value runs into
	// the magic). ASCIIOK is false when they do not.
	ASCII   int64
	ASCIIOK bool
	// BE16 is the digsig2012 reading: the be16 at -32.
	BE16 int64
	// Off35 and Off32 are the offsets of the two length fields.
	Off35, Off32 int64
}

// ReadMagic30Length reads the length field before Magic30. It returns nil when m does not
// end with Magic30 or is too short.
func ReadMagic30Length(m Module) *Magic30Length {
	const ml = int64(len(Magic30))
	if m.Size < ml+5 || !HasMagic30(m) {
		if m.Size >= ml+2 && HasMagic30(m) {
			raw := m.Tail(ml + 2)
			return &Magic30Length{BE16: int64(binary.BigEndian.Uint16(raw[:2])), Off32: m.Size - ml - 2, Off35: -1}
		}
		return nil
	}
	raw := m.Tail(ml + 5)
	l := &Magic30Length{Off35: m.Size - ml - 5, Off32: m.Size - ml - 2}
	l.BE16 = int64(binary.BigEndian.Uint16(raw[3:5]))
	f := raw[:5]
	n, i := int64(0), 0
	for i < 5 && f[i] >= '0' && f[i] <= '9' {
		n = n*10 + int64(f[i]-'0')
		i++
	}
	ok := i > 0
	for j := i; j < 5; j++ {
		if f[j] != ' ' {
			ok = false
		}
	}
	l.ASCII, l.ASCIIOK = n, ok
	return l
}

// AppendMagic30 returns payload ‖ sig ‖ lengthField ‖ Magic30.
func AppendMagic30(payload, sig, lengthField []byte) []byte {
	out := make([]byte, 0, len(payload)+len(sig)+len(lengthField)+len(Magic30))
	out = append(out, payload...)
	out = append(out, sig...)
	out = append(out, lengthField...)
	return append(out, Magic30...)
}
