package gpgsig

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// PublicKeyring returns k's OpenPGP public keyring (keys.Material.OpenPGPPublicKeyring: the
// modsign.pub or kernel.pub the OpenPGP-era kernels compiled in). With o.Deterministic, the
// self-certification of a DSA key kmodsig derived, which go-crypto signs with a random nonce,
// is re-signed over the same hashed data with an RFC 6979 nonce (formats.SignDSA), so the same
// key always exports to the same bytes, as an RSA key does anyway. An imported key's
// signatures are left as gpg made them.
func PublicKeyring(k *keys.Material, o formats.SignOptions) ([]byte, error) {
	ring, err := k.OpenPGPPublicKeyring()
	if err != nil || !o.Deterministic || k.DSA == nil || !k.OpenPGPDerived() {
		return ring, err
	}
	var out, keyBody, uid []byte
	for rest := ring; len(rest) > 0; {
		p, n, err := ReadPacket(rest)
		if err != nil {
			return nil, err
		}
		raw := rest[:n]
		rest = rest[n:]
		switch p.Tag {
		case 6:
			keyBody = p.Body
		case 13:
			uid = p.Body
		case 2:
			s, _, err := ParseSig(raw)
			if err != nil {
				return nil, err
			}
			if keyBody == nil || uid == nil || s.Class != 0x13 {
				return nil, errors.New("unexpected OpenPGP key layout")
			}
			var pre []byte
			pre = append(pre, 0x99)
			pre = binary.BigEndian.AppendUint16(pre, uint16(len(keyBody)))
			pre = append(pre, keyBody...)
			pre = append(pre, 0xb4)
			pre = binary.BigEndian.AppendUint32(pre, uint32(len(uid)))
			pre = append(pre, uid...)
			d, err := Digest(s, bytes.NewReader(pre))
			if err != nil {
				return nil, err
			}
			h, err := s.Hash()
			if err != nil {
				return nil, err
			}
			r, ss, err := formats.SignDSA(k.DSA, d, h, o)
			if err != nil {
				return nil, err
			}
			copy(s.Left16[:], d)
			s.MPIs = []MPI{NewMPI(r), NewMPI(ss)}
			if raw, err = s.Marshal(); err != nil {
				return nil, err
			}
		}
		out = append(out, raw...)
	}
	return out, nil
}
