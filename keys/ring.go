package keys

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// Ring is a set of trusted public keys: what a kernel of some era would have compiled in or
// loaded into its keyring. It is built from any number of files (LoadRing) and indexed the
// ways the eras look keys up: issuer+serial and SKID (pkcs7), "signer: hexkeyid" (x509),
// OpenPGP key id (gpg2012, rhel*, gkh2004), the digsig v1 key id and the SKID tail (digsig).
type Ring struct {
	Certs []*x509.Certificate
	// Keys are bare public keys: PEM/DER public keys, digsig v1 blobs, rsa_key.c.
	Keys []crypto.PublicKey
	// PGP are OpenPGP public keys (also the public halves of imported secret keys).
	PGP openpgp.EntityList
	// Secrets are private keys the verifier may use: only the gkh2004 `encrypted` form (the
	// 2004 article's scheme) needs one, because it can be checked only by decrypting.
	// LoadRing adds a file's private key here as well as its public forms.
	Secrets []*Material
	// DeterministicECDSA makes an ECDSA signature by one of Secrets pass only if its nonce is
	// the RFC 6979 one (see VerifyECDSA): set by a signer checking its own deterministic
	// signatures (conv.SelfRing with formats.SignOptions.Deterministic).
	DeterministicECDSA bool
	// Sources lists the files the ring was loaded from.
	Sources []string
}

// LoadRing builds a Ring from files. Each file may hold certificates (PEM, possibly many,
// or DER, possibly many back to back as in a kernel tree's certs/x509_certificate_list),
// public keys (PEM "PUBLIC KEY"/"RSA PUBLIC KEY" or DER SubjectPublicKeyInfo), OpenPGP
// keyrings (binary or armored), a digsig v1 public-key blob, the gkh2004 tree's rsa_key.c,
// or a private key whose public half (and certificate, if the file has one) is trusted.
func LoadRing(paths ...string) (*Ring, error) {
	r := &Ring{}
	for _, p := range paths {
		if err := r.AddFile(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// AddFile adds every key in path.
func (r *Ring) AddFile(path string) error {
	data, err := readFile(path)
	if err != nil {
		return err
	}
	if err := r.Add(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.Sources = append(r.Sources, path)
	return nil
}

// Add adds every key found in data (see LoadRing for the forms).
func (r *Ring) Add(data []byte) error {
	n := len(r.Certs) + len(r.Keys) + len(r.PGP)
	found := 0 // keys seen in data, including ones the ring already had
	switch {
	case isOpenPGP(data):
		el, err := readOpenPGP(data)
		if err != nil {
			return fmt.Errorf("openpgp keyring: %w", err)
		}
		r.PGP = append(r.PGP, el...)
		found += len(el)
	case IsRSAKeyC(data):
		k, err := ParseRSAKeyC(data)
		if err != nil {
			return err
		}
		r.Keys = append(r.Keys, k)
		found++
	case IsDigsigBlob(data):
		k, err := ParseDigsigBlob(data)
		if err != nil {
			return err
		}
		r.Keys = append(r.Keys, k)
		found++
	case bytes.Contains(data, []byte("-----BEGIN ")):
		rest := data
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					return fmt.Errorf("certificate: %w", err)
				}
				r.AddCert(c)
				found++
			case "PUBLIC KEY":
				k, err := x509.ParsePKIXPublicKey(blk.Bytes)
				if err != nil {
					return fmt.Errorf("public key: %w", err)
				}
				r.Keys = append(r.Keys, k)
				found++
			case "RSA PUBLIC KEY":
				k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
				if err != nil {
					return fmt.Errorf("public key: %w", err)
				}
				r.Keys = append(r.Keys, k)
				found++
			}
		}
		if found == 0 {
			// A private key file: trust its public half.
			if m, err := Parse(data); err == nil {
				r.AddMaterial(m)
				r.Secrets = append(r.Secrets, m)
				found++
			}
		}
	default:
		// One DER certificate, or several back to back: a kernel tree's
		// certs/x509_certificate_list (what it builds into its keyring) is that.
		if cs, err := x509.ParseCertificates(data); err == nil && len(cs) > 0 {
			for _, c := range cs {
				r.AddCert(c)
			}
			found += len(cs)
		} else if k, err := x509.ParsePKIXPublicKey(data); err == nil {
			r.Keys = append(r.Keys, k)
			found++
		} else if m, err := Parse(data); err == nil {
			r.AddMaterial(m)
			r.Secrets = append(r.Secrets, m)
			found++
		}
	}
	if found == 0 && len(r.Certs)+len(r.Keys)+len(r.PGP) == n {
		return fmt.Errorf("%w: not a certificate, public key, OpenPGP keyring, digsig blob or rsa_key.c", ErrNoKey)
	}
	return nil
}

// AddCert trusts a certificate.
func (r *Ring) AddCert(c *x509.Certificate) {
	for _, have := range r.Certs {
		if bytes.Equal(have.Raw, c.Raw) {
			return
		}
	}
	r.Certs = append(r.Certs, c)
}

// AddMaterial trusts the public forms of m that exist: its certificate, its OpenPGP key,
// else its bare public key.
func (r *Ring) AddMaterial(m *Material) {
	added := false
	if m.Cert != nil {
		r.AddCert(m.Cert)
		added = true
	}
	if m.PGP != nil {
		r.PGP = append(r.PGP, m.PGP)
		added = true
	}
	if !added {
		r.Keys = append(r.Keys, m.Public())
	}
}

// ByIssuerSerial returns the certificate with that raw issuer Name DER and serial.
func (r *Ring) ByIssuerSerial(rawIssuer []byte, serial *big.Int) *x509.Certificate {
	if r == nil {
		return nil
	}
	for _, c := range r.Certs {
		if bytes.Equal(c.RawIssuer, rawIssuer) && c.SerialNumber.Cmp(serial) == 0 {
			return c
		}
	}
	return nil
}

// BySKID returns the certificate whose subjectKeyIdentifier is skid.
func (r *Ring) BySKID(skid []byte) *x509.Certificate {
	if r == nil {
		return nil
	}
	for _, c := range r.Certs {
		if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, skid) {
			return c
		}
	}
	return nil
}

// Description returns the kernel's asymmetric key description of c:
// "<SignerName>: <lower-case hex SKID>" (what `Loaded X.509 cert '...'` prints and what the
// 3.7 x509 trailer's signer and key_id are matched against).
func Description(c *x509.Certificate) string {
	return SignerName(c) + ": " + hex.EncodeToString(c.SubjectKeyId)
}

// ByDescription returns the certificate whose kernel key description is desc
// (x509 era lookup).
func (r *Ring) ByDescription(desc string) *x509.Certificate {
	if r == nil {
		return nil
	}
	for _, c := range r.Certs {
		if len(c.SubjectKeyId) > 0 && Description(c) == desc {
			return c
		}
	}
	return nil
}

// PublicKeys returns every public key in the ring: bare keys, certificate keys and OpenPGP
// primary keys and subkeys. Eras that identify keys by a hash of the key (digsig) search it.
func (r *Ring) PublicKeys() []crypto.PublicKey {
	if r == nil {
		return nil
	}
	out := append([]crypto.PublicKey(nil), r.Keys...)
	for _, c := range r.Certs {
		out = append(out, c.PublicKey)
	}
	for _, e := range r.PGP {
		out = append(out, e.PrimaryKey.PublicKey)
		for _, s := range e.Subkeys {
			out = append(out, s.PublicKey.PublicKey)
		}
	}
	return out
}
