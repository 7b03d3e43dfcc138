package keys

import (
	"crypto"
	"crypto/x509"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// PGPKey is a public key found in a Ring by its OpenPGP key id.
type PGPKey struct {
	// Public is the key (*rsa.PublicKey or *dsa.PublicKey for the module-signing eras).
	Public crypto.PublicKey
	// Entity and Key are set when the key came from an OpenPGP keyring (Key is the primary
	// key or the subkey that matched).
	Entity *openpgp.Entity
	Key    *packet.PublicKey
	// Cert is set when a certificate matched by its derived key id.
	Cert *x509.Certificate
	// Derived is true when the ring held a bare key or certificate whose OpenPGP v4 key id,
	// derived with DefaultCreated as creation time, matched (see OpenPGPKeyID).
	Derived bool
	// Expires is when the key expires per its self-signature (Key Expiration Time), zero if
	// never.
	Expires time.Time
	// Name is the primary user id, or the certificate's signer name.
	Name string
}

// PGPKeyByID returns the key whose OpenPGP key id is id: a primary key or subkey of an
// OpenPGP entity in the ring, else a bare RSA/DSA public key or certificate whose derived v4
// key id (creation time DefaultCreated, as Material derives it) is id. It returns nil when no
// key matches.
func (r *Ring) PGPKeyByID(id uint64) *PGPKey {
	if r == nil {
		return nil
	}
	for _, e := range r.PGP {
		name := ""
		if pi := e.PrimaryIdentity(); pi != nil {
			name = pi.Name
		}
		if e.PrimaryKey != nil && e.PrimaryKey.KeyId == id {
			k := &PGPKey{Public: e.PrimaryKey.PublicKey, Entity: e, Key: e.PrimaryKey, Name: name}
			if sig, _ := e.PrimarySelfSignature(); sig != nil {
				k.Expires = lifetimeEnd(e.PrimaryKey.CreationTime, sig.KeyLifetimeSecs)
			}
			return k
		}
		for _, sk := range e.Subkeys {
			if sk.PublicKey != nil && sk.PublicKey.KeyId == id {
				k := &PGPKey{Public: sk.PublicKey.PublicKey, Entity: e, Key: sk.PublicKey, Name: name}
				if sk.Sig != nil {
					k.Expires = lifetimeEnd(sk.PublicKey.CreationTime, sk.Sig.KeyLifetimeSecs)
				}
				return k
			}
		}
	}
	for _, pub := range r.Keys {
		if got, ok := OpenPGPKeyID(pub, DefaultCreated); ok && got == id {
			return &PGPKey{Public: pub, Derived: true}
		}
	}
	for _, c := range r.Certs {
		if got, ok := OpenPGPKeyID(c.PublicKey, DefaultCreated); ok && got == id {
			return &PGPKey{Public: c.PublicKey, Cert: c, Derived: true, Name: SignerName(c)}
		}
	}
	return nil
}

func lifetimeEnd(created time.Time, secs *uint32) time.Time {
	if secs == nil || *secs == 0 {
		return time.Time{}
	}
	return created.Add(time.Duration(*secs) * time.Second)
}
