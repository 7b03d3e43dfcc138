package pkcs7sig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DefaultHash is the digest Sign uses when none is asked for: SHA-256, what Debian 6.1 uses.
const DefaultHash = crypto.SHA256

// asn1NULL is the DER NULL that sign-file (OpenSSL) writes as rsaEncryption's parameters.
var asn1NULL = []byte{0x05, 0x00}

// NewSignedData returns the SignedData sign-file would write for cert, digest h and signature
// value sig: detached id-data, no certificates, no CRLs, no attributes, one SignerInfo
// identified by issuer and serial (versions 1) or, with useSKID, by the certificate's
// subjectKeyIdentifier (versions 3, sign-file -k). The signature algorithm follows the
// certificate's key: rsaEncryption with NULL parameters, or ecdsa-with-H without parameters.
func NewSignedData(cert *x509.Certificate, h crypto.Hash, useSKID bool, sig []byte) (*SignedData, error) {
	d := digestByHash(h)
	if d == nil {
		return nil, fmt.Errorf("%w: %s cannot be carried in a module PKCS#7 signature", formats.ErrHash, formats.HashName(h))
	}
	digestAlg := AlgorithmIdentifier{Algorithm: d.oid}
	var sigAlg AlgorithmIdentifier
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey:
		sigAlg = AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1NULL}
	case *ecdsa.PublicKey:
		oid := ecdsaOID(h)
		if oid == nil {
			return nil, fmt.Errorf("%w: no ecdsa-with-%s signature algorithm", formats.ErrHash, formats.HashName(h))
		}
		sigAlg = AlgorithmIdentifier{Algorithm: oid}
	default:
		return nil, fmt.Errorf("%w: %s (module PKCS#7 signatures are RSA or ECDSA)", formats.ErrKeyType, keys.TypeName(cert.PublicKey))
	}
	si := SignerInfo{Version: 1, DigestAlgorithm: digestAlg, SignatureAlgorithm: sigAlg, Signature: sig}
	sd := &SignedData{Version: 1, DigestAlgorithms: []AlgorithmIdentifier{digestAlg}, ContentType: oidData}
	if useSKID {
		if len(cert.SubjectKeyId) == 0 {
			return nil, fmt.Errorf("signing by key id: %w", keys.ErrNoSKID)
		}
		si.Version, sd.Version = 3, 3
		si.UsesSKID = true
		si.SubjectKeyID = cert.SubjectKeyId
	} else {
		si.Issuer = cert.RawIssuer
		si.Serial = serialContents(cert)
	}
	sd.SignerInfos = []SignerInfo{si}
	return sd, nil
}

// serialContents returns the certificate's serialNumber INTEGER contents exactly as encoded
// in its TBSCertificate (sign-file copies them from the certificate).
func serialContents(cert *x509.Certificate) []byte {
	tbs := cryptobyte.String(cert.RawTBSCertificate)
	var body, serial cryptobyte.String
	if tbs.ReadASN1(&body, cbasn1.SEQUENCE) &&
		body.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) &&
		body.ReadASN1(&serial, cbasn1.INTEGER) && len(serial) > 0 {
		return append([]byte{}, serial...)
	}
	// Not reachable for a certificate Go parsed; encode the integer as DER would.
	b := cert.SerialNumber.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

// SignCMS hashes payload with h and returns sign-file's DER CMS for it, signed by signer
// whose public key must be cert's.
func SignCMS(payload io.Reader, signer crypto.Signer, cert *x509.Certificate, h crypto.Hash, useSKID bool) ([]byte, error) {
	return signCMS(readerDigest(payload), signer, cert, h, useSKID, formats.SignOptions{})
}

// readerDigest hashes what r streams.
func readerDigest(r io.Reader) func(crypto.Hash) ([]byte, error) {
	return func(h crypto.Hash) ([]byte, error) { return formats.Digest(h, r) }
}

// signCMS is SignCMS honouring o.Deterministic (RFC 6979 ECDSA nonces, see formats.SignDigest),
// with the payload's digest from digest.
func signCMS(digestOf func(crypto.Hash) ([]byte, error), signer crypto.Signer, cert *x509.Certificate, h crypto.Hash, useSKID bool, o formats.SignOptions) ([]byte, error) {
	if h == 0 {
		h = DefaultHash
	}
	if !signHash(h) {
		return nil, fmt.Errorf("%w: %s (sign-file offers sha1, sha224, sha256, sha384, sha512, sha3-256, sha3-384, sha3-512)", formats.ErrHash, formats.HashName(h))
	}
	if !keys.SamePublic(cert.PublicKey, signer.Public()) {
		return nil, formats.ErrKeyMismatch
	}
	switch k := signer.Public().(type) {
	case *rsa.PublicKey:
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("%w: ECDSA curve %s (the kernel verifies P-256 and P-384)", formats.ErrKeyType, k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("%w: %s (module PKCS#7 signatures are RSA or ECDSA)", formats.ErrKeyType, keys.TypeName(k))
	}
	digest, err := digestOf(h)
	if err != nil {
		return nil, err
	}
	// RSA: PKCS#1 v1.5 over DigestInfo (crypto.Signer with a Hash option does exactly that);
	// ECDSA: ASN.1 SEQUENCE{r, s}.
	sig, err := formats.SignDigest(signer, digest, h, o)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	sd, err := NewSignedData(cert, h, useSKID, sig)
	if err != nil {
		return nil, err
	}
	return sd.Marshal()
}

// signHash reports whether Sign writes digest h: the digests sign-file's Kconfig ever offered.
func signHash(h crypto.Hash) bool {
	switch h {
	case crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512,
		crypto.SHA3_256, crypto.SHA3_384, crypto.SHA3_512:
		return true
	}
	return false
}
