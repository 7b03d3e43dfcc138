package keys

import (
	"bytes"
	"crypto"
	//lint:ignore SA1019 the RHEL eras (RHEL4-6) verify only DSA signatures
	"crypto/dsa"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// isOpenPGP reports whether data looks like an OpenPGP key export: armored, or a binary
// packet stream starting with a public-key (tag 6) or secret-key (tag 5) packet in old or
// new header form.
func isOpenPGP(data []byte) bool {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP ")) {
		return true
	}
	if len(data) < 2 || data[0]&0x80 == 0 {
		return false
	}
	var tag byte
	if data[0]&0x40 != 0 {
		tag = data[0] & 0x3f
	} else {
		tag = (data[0] >> 2) & 0x0f
	}
	return tag == 5 || tag == 6
}

// readOpenPGP reads an armored or binary OpenPGP keyring.
func readOpenPGP(data []byte) (openpgp.EntityList, error) {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP ")) {
		blk, err := armor.Decode(bytes.NewReader(bytes.TrimSpace(data)))
		if err != nil {
			return nil, err
		}
		return openpgp.ReadKeyRing(blk.Body)
	}
	return openpgp.ReadKeyRing(bytes.NewReader(data))
}

// parseOpenPGPSecret imports an unprotected secret key exported by gpg
// (`gpg --export-secret-keys`, binary or armored). The material keeps the entity, so its
// creation time, user id and key id are the original ones.
func parseOpenPGPSecret(data []byte) (*Material, error) {
	el, err := readOpenPGP(data)
	if err != nil {
		return nil, fmt.Errorf("openpgp: %w", err)
	}
	for _, e := range el {
		priv := signingPrivateKey(e)
		if priv == nil {
			continue
		}
		if priv.Encrypted {
			pin, err := passphrase()
			if err != nil {
				return nil, err
			}
			if err := priv.Decrypt(pin); err != nil {
				return nil, wrongPassphrase(err)
			}
		}
		m := &Material{PGP: e, Created: e.PrimaryKey.CreationTime}
		// The primary user id, not a random one of several (map order).
		if id := e.PrimaryIdentity(); id != nil {
			m.UserID = id.Name
		}
		switch k := priv.PrivateKey.(type) {
		case *dsa.PrivateKey:
			m.DSA = k
		case crypto.Signer:
			m.Signer = k
		default:
			return nil, fmt.Errorf("openpgp: the signing key is %s; kmodsig signs with OpenPGP RSA and DSA keys (the OpenPGP-era kernels verified nothing else)", pgpAlgoName(priv.PubKeyAlgo))
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: OpenPGP data holds no secret key", ErrNoKey)
}

// signingPrivateKey returns the secret key of e that signs: the primary key, or, when the
// primary's secret is absent or a GnuPG stub (`gpg --export-secret-subkeys`), the first
// subkey with a real secret that may sign.
func signingPrivateKey(e *openpgp.Entity) *packet.PrivateKey {
	if e.PrivateKey != nil && !e.PrivateKey.Dummy() {
		return e.PrivateKey
	}
	for _, sk := range e.Subkeys {
		if sk.PrivateKey != nil && !sk.PrivateKey.Dummy() && sk.Sig != nil && sk.Sig.FlagsValid && sk.Sig.FlagSign {
			return sk.PrivateKey
		}
	}
	return nil
}

// pgpAlgoName names an OpenPGP public-key algorithm (RFC 4880 and 9580 numbers) for messages.
func pgpAlgoName(a packet.PublicKeyAlgorithm) string {
	switch a {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		return "RSA"
	case packet.PubKeyAlgoDSA:
		return "DSA"
	case packet.PubKeyAlgoECDSA:
		return "ECDSA"
	case packet.PubKeyAlgoEdDSA:
		return "EdDSA (legacy Ed25519)"
	case packet.PubKeyAlgoEd25519:
		return "Ed25519"
	case packet.PubKeyAlgoEd448:
		return "Ed448"
	}
	return fmt.Sprintf("public-key algorithm %d", a)
}
