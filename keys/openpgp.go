package keys

import (
	"bytes"
	"crypto"
	"crypto/dsa" //nolint:staticcheck // RHEL eras
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
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
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			pin, ok := lookupPIN()
			if !ok {
				return nil, ErrPassphrase
			}
			if err := e.PrivateKey.Decrypt([]byte(pin)); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrPassphrase, err)
			}
		}
		m := &Material{PGP: e, Created: e.PrimaryKey.CreationTime}
		for name := range e.Identities {
			m.UserID = name
			break
		}
		switch k := e.PrivateKey.PrivateKey.(type) {
		case *dsa.PrivateKey:
			m.DSA = k
		case crypto.Signer:
			m.Signer = k
		default:
			return nil, fmt.Errorf("openpgp: unsupported key type %T", k)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: OpenPGP data holds no secret key", ErrNoKey)
}
