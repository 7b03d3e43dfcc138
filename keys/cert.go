package keys

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// SKID returns the RFC 5280 method-1 key identifier of a certificate's key: the SHA-1 of the
// subjectPublicKey BIT STRING contents, what OpenSSL's `subjectKeyIdentifier=hash` computes
// and what the kernel's x509.genkey certificates carry.
func SKID(rawSubjectPublicKeyInfo []byte) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(rawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// Certificate returns m's X.509 certificate, deriving one when none was given: self-signed,
// subject O=kmodsig, CN=<UID>, serial = the first 16 bytes of SHA-256 of the public key,
// valid from CreationTime for 100 years, basicConstraints critical CA:FALSE, keyUsage
// digitalSignature, SKID by method 1 and AKID = SKID, the shape of the kernel's x509.genkey.
// For RSA keys the result is byte-reproducible (PKCS#1 v1.5 is deterministic); ECDSA
// certificates differ in their signature on every derivation but keep subject, serial and SKID.
func (m *Material) Certificate() (*x509.Certificate, error) {
	if m.Cert != nil {
		return m.Cert, nil
	}
	if m.Signer == nil {
		return nil, errors.New("a certificate can only be derived for RSA or ECDSA keys")
	}
	spki, err := x509.MarshalPKIXPublicKey(m.Signer.Public())
	if err != nil {
		return nil, err
	}
	skid, err := SKID(spki)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(spki)
	serial := new(big.Int).SetBytes(sum[:16])
	serial.SetBit(serial, 127, 0) // keep it positive and 16 bytes at most
	name := pkix.Name{Organization: []string{"kmodsig"}, CommonName: m.UID()}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         name,
		Issuer:          name,
		NotBefore:       m.CreationTime(),
		NotAfter:        m.CreationTime().AddDate(100, 0, 0),
		ExtraExtensions: genkeyExtensions(skid),
	}
	// RSA PKCS#1 v1.5 ignores the randomness; ECDSA uses it.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, m.Signer.Public(), m.Signer)
	if err != nil {
		return nil, fmt.Errorf("deriving certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	m.Cert = c
	return c, nil
}
