// Package keys loads and derives key material for every era of module signing.
//
// One key, every era: a [Material] holds a [crypto.Signer] plus the public forms the eras
// need around it: an X.509 certificate (x509, pkcs7, digsig v2), an OpenPGP v4 key with a
// fixed creation time and user id (gkh2004, rhel*, gpg2012), the digsig v1 public-key blob
// (digsig2012). Where a form is not given it is derived deterministically from the key, so the
// same inputs always give the same key ids.
//
// A [Ring] is the set of public keys a kernel trusts: certificates, bare public keys, digsig
// blobs and OpenPGP keyrings, indexed the ways each era looks keys up.
package keys

import (
	"crypto"
	//lint:ignore SA1019 the RHEL eras (RHEL4-6) verify only DSA signatures
	"crypto/dsa"
	"crypto/x509"
	"errors"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// Sentinel errors.
var (
	// ErrNoKey reports a file that holds no usable key or certificate.
	ErrNoKey = errors.New("no key found")
	// ErrPassphrase reports an encrypted private key with no or a wrong passphrase (KBUILD_SIGN_PIN).
	ErrPassphrase = errors.New("private key is encrypted")
	// ErrMismatch reports a private key that does not belong to the certificate given with it.
	ErrMismatch = errors.New("private key does not match the certificate")
	// ErrNoSKID reports a certificate without a subjectKeyIdentifier where one is required.
	ErrNoSKID = errors.New("certificate has no subjectKeyIdentifier")
)

// DefaultCreated is the fixed creation time of derived forms (OpenPGP keys, derived
// certificates, digsig v1 timestamps) when the material does not say otherwise:
// 2012-08-15T00:00:00Z, the day the modsig RFC was posted. Fixing it makes key ids
// deterministic.
var DefaultCreated = time.Date(2012, 8, 15, 0, 0, 0, 0, time.UTC)

// DefaultUserID is the user id of derived OpenPGP keys.
const DefaultUserID = "kmodsig module signing key"

// Material is one signing key and the public forms each era needs.
type Material struct {
	// Signer is the private key (RSA or ECDSA from a file, or a PKCS#11 token).
	// It is nil for DSA keys, which Go's crypto/dsa does not expose as a crypto.Signer.
	Signer crypto.Signer
	// DSA is set for DSA keys (the RHEL eras).
	DSA *dsa.PrivateKey

	// Cert is the X.509 certificate; nil until given or derived (see Certificate).
	Cert *x509.Certificate
	// PGP is the OpenPGP entity; nil until given (imported from gpg) or derived.
	PGP *openpgp.Entity
	// pgpDerived is set when OpenPGP derived PGP (rather than it being given).
	pgpDerived bool

	// Created is the creation time used for derived forms; zero means DefaultCreated.
	Created time.Time
	// UserID is the user id of a derived OpenPGP key; empty means DefaultUserID.
	UserID string

	// Source says where the key came from (a path or a pkcs11 URI), for messages.
	Source string

	release func() error // set for a PKCS#11 key: gives back its share of the token session
}

// Close releases what the material holds open. For a key on a PKCS#11 token that is its
// share of the token's session: when the last key loaded from a token is closed, kmodsig
// logs out and unloads the module. For a key from a file it does nothing. The material must
// not sign after Close; a second Close does nothing.
func (m *Material) Close() error {
	if m.release == nil {
		return nil
	}
	r := m.release
	m.release = nil
	return r()
}

// Public returns the public key.
func (m *Material) Public() crypto.PublicKey {
	if m.Signer != nil {
		return m.Signer.Public()
	}
	if m.DSA != nil {
		return &m.DSA.PublicKey
	}
	return nil
}

// CreationTime returns m.Created or DefaultCreated.
func (m *Material) CreationTime() time.Time {
	if m.Created.IsZero() {
		return DefaultCreated
	}
	return m.Created
}

// UID returns m.UserID or DefaultUserID.
func (m *Material) UID() string {
	if m.UserID == "" {
		return DefaultUserID
	}
	return m.UserID
}
