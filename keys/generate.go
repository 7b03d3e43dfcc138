package keys

import (
	"crypto"
	//lint:ignore SA1019 the RHEL eras (RHEL4-6) verify only DSA signatures
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// GenerateOptions say what Generate makes.
type GenerateOptions struct {
	Type         string // rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384, dsa1024
	CommonName   string
	Organization string
	Days         int
	Now          time.Time // zero: time.Now()
}

// Generate makes a new private key and, for RSA and ECDSA, a self-signed certificate shaped
// like the one the kernel build's x509.genkey makes (basicConstraints critical CA:FALSE,
// keyUsage digitalSignature, SKID by SHA-1 of the key, AKID = SKID, random 20-byte serial,
// sha256 signature). It returns one PEM: the PKCS#8 key, then the certificate, what
// CONFIG_MODULE_SIG_KEY and sign-file take. DSA keys (for the RHEL eras) are written as an
// OpenSSL "DSA PRIVATE KEY" with no certificate.
func Generate(o GenerateOptions) ([]byte, error) {
	var signer crypto.Signer
	var err error
	switch o.Type {
	case "rsa2048", "rsa3072", "rsa4096":
		bits := map[string]int{"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}[o.Type]
		signer, err = rsa.GenerateKey(rand.Reader, bits)
	case "ecdsa-p256":
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "dsa1024":
		return generateDSA()
	default:
		return nil, fmt.Errorf("unknown key type %q", o.Type)
	}
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	spki, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, err
	}
	skid, err := SKID(spki)
	if err != nil {
		return nil, err
	}
	serial := make([]byte, 20)
	if _, err := rand.Read(serial); err != nil {
		return nil, err
	}
	serial[0] &= 0x7f
	name := pkix.Name{CommonName: o.CommonName}
	if o.Organization != "" {
		name.Organization = []string{o.Organization}
	}
	days := o.Days
	if days <= 0 {
		days = 36500
	}
	notAfter := now.AddDate(0, 0, days)
	if notAfter.Year() > 9999 {
		return nil, fmt.Errorf("a validity of %d days ends in %d, after 9999-12-31, the latest date a certificate can hold", days, notAfter.Year())
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial), Subject: name, Issuer: name,
		NotBefore: now, NotAfter: notAfter,
		ExtraExtensions: genkeyExtensions(skid),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), nil
}

func generateDSA() ([]byte, error) {
	var k dsa.PrivateKey
	if err := dsa.GenerateParameters(&k.Parameters, rand.Reader, dsa.L1024N160); err != nil {
		return nil, err
	}
	if err := dsa.GenerateKey(&k, rand.Reader); err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(struct {
		Version       int
		P, Q, G, Y, X *big.Int
	}{0, k.P, k.Q, k.G, k.Y, k.X})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: der}), nil
}
