package digsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// Variants of the digsig signature the signers write.
const (
	VariantV1 = "v1" // the default: the 2012 scheme
	VariantV2 = "v2"
)

// SignDigestV1 makes a version 1 signature over digest, the file digest D. hashField goes
// into the header (HashV1SHA1 or HashV1SHA256) and should name D's algorithm; t is the
// header timestamp, stored little-endian as evmctl wrote it on x86. The signed value is
// H = SHA1(D ‖ header), padded as PKCS#1 v1.5 type 1 with no DigestInfo; the MPI bit count
// is 8 × the modulus length, as evmctl writes it. The key must be RSA.
func SignDigestV1(digest []byte, hashField uint8, t time.Time, signer crypto.Signer) (*Signature, error) {
	pub, ok := signer.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: digsig v1 signs with RSA only, not %s", formats.ErrKeyType, keys.TypeName(signer.Public()))
	}
	sec := t.Unix()
	if sec < 0 || sec > 1<<32-1 {
		return nil, fmt.Errorf("digsig v1: time %s does not fit the 32-bit header timestamp", t.UTC().Format(time.RFC3339))
	}
	k := (pub.N.BitLen() + 7) / 8
	if k*8 > MaxMPIBits {
		return nil, fmt.Errorf("%w: %d-bit RSA key exceeds the kernel's %d-bit MPI limit", formats.ErrKeyType, pub.N.BitLen(), MaxMPIBits)
	}
	id := keys.DigsigKeyID(pub)
	s := &Signature{Version: 1, Algo: AlgoRSA, Hash: hashField, KeyID: id[:], NMPI: 1, Bits: uint16(k * 8)}
	binary.LittleEndian.PutUint32(s.Time[:], uint32(sec))
	h := V1SigHash(digest, s.Header())
	raw, err := signer.Sign(rand.Reader, h, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("digsig v1: signing: %w", err)
	}
	if len(raw) > k {
		return nil, fmt.Errorf("digsig v1: signer returned %d bytes for a %d-byte modulus", len(raw), k)
	}
	s.Value = make([]byte, k)
	copy(s.Value[k-len(raw):], raw)
	return s, nil
}

// V1SigHash returns H = SHA1(digest ‖ header), the 20 bytes a v1 signature signs; SHA-1
// whatever the header's hash field says.
func V1SigHash(digest, header []byte) []byte {
	w := sha1.New()
	w.Write(digest)
	w.Write(header)
	return w.Sum(nil)
}

// SignDigestV2 makes a version 2 signature over digest (the file digest, hashed with h):
// RSASSA-PKCS1-v1_5 with DigestInfo for RSA keys, DER (r, s) for ECDSA keys. keyID is the
// be32 key id for the header (see V2KeyID).
func SignDigestV2(digest []byte, h crypto.Hash, keyID [4]byte, signer crypto.Signer) (*Signature, error) {
	return signDigestV2(digest, h, keyID, signer, formats.SignOptions{})
}

// signDigestV2 is SignDigestV2 honouring o.Deterministic (RFC 6979 ECDSA nonces, see
// formats.SignDigest).
func signDigestV2(digest []byte, h crypto.Hash, keyID [4]byte, signer crypto.Signer, o formats.SignOptions) (*Signature, error) {
	algo, ok := KernelHashAlgo(h)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no kernel hash_algo number", formats.ErrHash, formats.HashName(h))
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("digsig v2: %d-byte digest for %s", len(digest), formats.HashName(h))
	}
	switch signer.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("%w: digsig v2 signs with RSA or ECDSA, not %s", formats.ErrKeyType, keys.TypeName(signer.Public()))
	}
	sig, err := formats.SignDigest(signer, digest, h, o)
	if err != nil {
		return nil, fmt.Errorf("digsig v2: signing: %w", err)
	}
	if len(sig) > 0xffff {
		return nil, fmt.Errorf("digsig v2: %d-byte signature does not fit sig_size", len(sig))
	}
	return &Signature{Version: 2, Hash: algo, KeyID: keyID[:], Value: sig}, nil
}

// V2KeyID returns the v2 key id of a key: the last 4 bytes of cert's subjectKeyIdentifier
// when cert is given and has one (what the kernel matches, `evmctl --keyid-from-cert`),
// else the last 4 bytes of SHA1(subjectPublicKey), evmctl's own computation, which equals
// the SKID tail of certificates made with `subjectKeyIdentifier=hash`.
func V2KeyID(pub crypto.PublicKey, cert *x509.Certificate) ([4]byte, error) {
	var id [4]byte
	if cert != nil && len(cert.SubjectKeyId) >= 4 {
		copy(id[:], cert.SubjectKeyId[len(cert.SubjectKeyId)-4:])
		return id, nil
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return id, fmt.Errorf("%w: %v", formats.ErrKeyType, err)
	}
	skid, err := keys.SKID(spki)
	if err != nil {
		return id, err
	}
	copy(id[:], skid[16:20])
	return id, nil
}

// Sign hashes content and signs it with k: variant o.Variant ("" or "v1": version 1;
// "v2": version 2), digest o.Hash (default SHA-1 for v1, SHA-256 for v2, as the tools of
// each era), v1 timestamp o.Time or k.CreationTime() (v2 has none: a Time is refused with
// formats.ErrUntimed). Version 1 carries only SHA-1 and
// SHA-256 (like evmctl 1.4; other hashes return formats.ErrHash). The v2 key id comes from
// k.Cert when set, else from the public key (V2KeyID).
func Sign(content io.Reader, k *keys.Material, o formats.SignOptions) (*Signature, error) {
	if k == nil || k.Signer == nil {
		return nil, fmt.Errorf("%w: digsig signs with RSA or ECDSA keys (DSA and public-only material cannot sign)", formats.ErrKeyType)
	}
	switch o.Variant {
	case "", VariantV1:
		h := o.Hash
		if h == 0 {
			h = crypto.SHA1
		}
		var field uint8
		switch h {
		case crypto.SHA1:
			field = HashV1SHA1
		case crypto.SHA256:
			field = HashV1SHA256
		default:
			return nil, fmt.Errorf("%w: digsig v1 records sha1 or sha256 only, not %s", formats.ErrHash, formats.HashName(h))
		}
		if _, ok := k.Signer.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: digsig v1 signs with RSA only, not %s", formats.ErrKeyType, keys.TypeName(k.Signer.Public()))
		}
		d, err := formats.Digest(h, content)
		if err != nil {
			return nil, err
		}
		t := o.Time
		if t.IsZero() {
			t = k.CreationTime()
		}
		return SignDigestV1(d, field, t, k.Signer)
	case VariantV2:
		if !o.Time.IsZero() {
			return nil, fmt.Errorf("digsig v2: %w (signature_v2_hdr has no timestamp; v1 has one)", formats.ErrUntimed)
		}
		h := o.Hash
		if h == 0 {
			h = crypto.SHA256
		}
		if _, ok := KernelHashAlgo(h); !ok {
			return nil, fmt.Errorf("%w: %s has no kernel hash_algo number", formats.ErrHash, formats.HashName(h))
		}
		id, err := V2KeyID(k.Signer.Public(), k.Cert)
		if err != nil {
			return nil, err
		}
		d, err := formats.Digest(h, content)
		if err != nil {
			return nil, err
		}
		return signDigestV2(d, h, id, k.Signer, o)
	}
	return nil, fmt.Errorf("digsig: %w %q (want v1 or v2)", formats.ErrVariant, o.Variant)
}
