package keys

import (
	"bytes"
	"crypto"
	"slices"
	//lint:ignore SA1019 the RHEL eras (RHEL4-6) verify only DSA signatures
	"crypto/dsa"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// PINEnv is the environment variable sign-file reads the key passphrase or token PIN from.
const PINEnv = "KBUILD_SIGN_PIN"

// pkcs11Open is set by the cgo pkcs11 build (pkcs11.go) to open `pkcs11:` URIs.
var pkcs11Open func(uri string) (*Material, error)

// PKCS11Supported reports whether this build opens `pkcs11:` URIs (cgo and the build tag
// pkcs11, which `make build` sets when cgo is available).
func PKCS11Supported() bool { return pkcs11Open != nil }

// LoadFile loads signing key material from path: a PEM file with a private key (PKCS#1,
// PKCS#8, SEC1, OpenSSL DSA), optionally followed by its certificate (the combined file the
// kernel build writes for MODULE_SIG_KEY); a DER private key; an OpenPGP secret key exported
// by gpg (binary or armored); or a `pkcs11:` URI. Encrypted PEM keys are decrypted with the
// passphrase in KBUILD_SIGN_PIN.
func LoadFile(path string) (*Material, error) {
	if strings.HasPrefix(path, "pkcs11:") {
		if pkcs11Open == nil {
			return nil, fmt.Errorf("%s: PKCS#11 support needs a build with cgo and the pkcs11 tag", path)
		}
		return pkcs11Open(path)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Source = path
	return m, nil
}

// Parse loads signing key material from data (see LoadFile).
func Parse(data []byte) (*Material, error) {
	if isOpenPGP(data) {
		return parseOpenPGPSecret(data)
	}
	m := &Material{}
	var others []string // the PEM blocks that hold no private key, for the error
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		rest := data
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if !strings.HasSuffix(blk.Type, "PRIVATE KEY") && !slices.Contains(others, blk.Type) {
				others = append(others, blk.Type)
			}
			switch {
			case blk.Type == "CERTIFICATE":
				if m.Cert == nil {
					c, err := x509.ParseCertificate(blk.Bytes)
					if err != nil {
						return nil, fmt.Errorf("certificate: %w", err)
					}
					m.Cert = c
				}
			case strings.HasSuffix(blk.Type, "PRIVATE KEY"):
				if m.Signer != nil || m.DSA != nil {
					continue
				}
				der := blk.Bytes
				//lint:ignore SA1019 legacy encrypted PEM is what openssl genrsa -aes256 writes
				if x509.IsEncryptedPEMBlock(blk) { //nolint:staticcheck
					pin, err := passphrase()
					if err != nil {
						return nil, err
					}
					//lint:ignore SA1019 see above
					d, err := x509.DecryptPEMBlock(blk, pin) //nolint:staticcheck
					if err != nil {
						return nil, wrongPassphrase(err)
					}
					der = d
				}
				if blk.Type == "ENCRYPTED PRIVATE KEY" {
					d, err := decryptPKCS8(der)
					if err != nil {
						return nil, err
					}
					der = d
				}
				if err := m.setPrivateDER(der); err != nil {
					return nil, fmt.Errorf("%s: %w", strings.ToLower(blk.Type), err)
				}
			}
		}
	} else if err := m.setPrivateDER(data); err != nil {
		return nil, err
	}
	if m.Signer == nil && m.DSA == nil {
		if len(others) > 0 {
			return nil, fmt.Errorf("%w: no private key, only PEM %s", ErrNoKey, strings.Join(others, ", "))
		}
		return nil, fmt.Errorf("%w: no private key", ErrNoKey)
	}
	if m.Cert != nil && !SamePublic(m.Cert.PublicKey, m.Public()) {
		return nil, ErrMismatch
	}
	return m, nil
}

func (m *Material) setPrivateDER(der []byte) error {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			m.Signer = k
		case *ecdsa.PrivateKey:
			m.Signer = k
		case ed25519.PrivateKey:
			m.Signer = k
		case *ecdh.PrivateKey:
			return fmt.Errorf("%w: an %s key agrees on secrets and cannot sign", ErrNoKey, TypeName(k.PublicKey()))
		default:
			return fmt.Errorf("unsupported private key type %T", k)
		}
		return nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		m.Signer = k
		return nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		m.Signer = k
		return nil
	}
	if k, err := parseDSAPrivate(der); err == nil {
		m.DSA = k
		return nil
	}
	if k, err := parsePKCS8DSA(der); err == nil {
		m.DSA = k
		return nil
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		return fmt.Errorf("%w: no private key, only a DER certificate", ErrNoKey)
	}
	if _, err := x509.ParsePKIXPublicKey(der); err == nil {
		return fmt.Errorf("%w: no private key, only a DER public key", ErrNoKey)
	}
	return fmt.Errorf("%w: not a PKCS#1, PKCS#8, SEC1 or DSA private key", ErrNoKey)
}

// parseDSAPrivate reads OpenSSL's traditional DSA key: SEQUENCE { 0, p, q, g, y, x }.
func parseDSAPrivate(der []byte) (*dsa.PrivateKey, error) {
	var k struct {
		Version       int
		P, Q, G, Y, X *big.Int
	}
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 || k.Version != 0 || k.P == nil || k.X == nil {
		return nil, errors.New("not a DSA private key")
	}
	return &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: k.P, Q: k.Q, G: k.G}, Y: k.Y}, X: k.X}, nil
}

var oidDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}

// parsePKCS8DSA reads a PKCS#8 DSA key (what `openssl pkcs8 -topk8` writes for DSA), which
// Go's x509 does not parse.
func parsePKCS8DSA(der []byte) (*dsa.PrivateKey, error) {
	var p8 struct {
		Version int
		Algo    struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters struct{ P, Q, G *big.Int }
		}
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &p8); err != nil {
		return nil, err
	}
	if !p8.Algo.Algorithm.Equal(oidDSA) {
		return nil, errors.New("not DSA")
	}
	x := new(big.Int)
	if _, err := asn1.Unmarshal(p8.PrivateKey, &x); err != nil {
		return nil, err
	}
	pr := p8.Algo.Parameters
	y := new(big.Int).Exp(pr.G, x, pr.P)
	return &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: pr.P, Q: pr.Q, G: pr.G}, Y: y}, X: x}, nil
}

// LoadCertificate reads a certificate, DER or PEM, sniffed the way sign-file does: DER when
// the file starts with 30 81..30 84, PEM otherwise.
func LoadCertificate(path string) (*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCertificate parses a DER or PEM certificate (the first one in a PEM file).
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	if isDERSequence(data) {
		return x509.ParseCertificate(data)
	}
	rest := data
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("%w: no certificate", ErrNoKey)
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

func isDERSequence(b []byte) bool {
	return len(b) > 2 && b[0] == 0x30 && b[1] >= 0x81 && b[1] <= 0x84
}

// SamePublic reports whether two public keys are equal.
func SamePublic(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	if da, ok := a.(*dsa.PublicKey); ok {
		db, ok := b.(*dsa.PublicKey)
		return ok && da.Y.Cmp(db.Y) == 0 && da.P.Cmp(db.P) == 0 && da.Q.Cmp(db.Q) == 0 && da.G.Cmp(db.G) == 0
	}
	return false
}

// WithCertificate attaches cert to m after checking that it carries m's public key.
func (m *Material) WithCertificate(cert *x509.Certificate) error {
	if !SamePublic(cert.PublicKey, m.Public()) {
		return ErrMismatch
	}
	m.Cert = cert
	return nil
}
