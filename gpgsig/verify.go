//lint:file-ignore SA1019 DSA (crypto/dsa) is what the RHEL-era kernels verify; it is needed to read and write them.

package gpgsig

import (
	"bytes"
	"crypto"
	"crypto/dsa" //nolint:staticcheck // the RHEL eras verify only DSA
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// Digest returns the signature's digest of payload: hash(payload ‖ s.HashSuffix()), with
// the hash the signature names. Kernel models that need another suffix (the Howells v3 bug)
// use [DigestSuffix].
func Digest(s *Sig, payload io.Reader) ([]byte, error) {
	h, err := s.Hash()
	if err != nil {
		return nil, err
	}
	return DigestSuffix(h, payload, s.HashSuffix())
}

// DigestSuffix returns h(payload ‖ suffix).
func DigestSuffix(h crypto.Hash, payload io.Reader, suffix []byte) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("%w: %v not available", ErrUnsupportedHash, h)
	}
	w := formats.NewHash(h)
	if _, err := formats.CopyStream(w, payload); err != nil {
		return nil, err
	}
	w.Write(suffix)
	return w.Sum(nil), nil
}

// VerifyOptions select kernel-specific checking rules.
type VerifyOptions struct {
	// StrictMPILength applies the early Howells rule (2011-12 to mid 2012): the RSA
	// signature MPI must have exactly as many bytes as the modulus, so the 1 in 256
	// signatures whose leading zero byte the MPI drops fail with [ErrBadEncoding].
	StrictMPILength bool
}

// VerifyDetached checks s over payload with pub (*rsa.PublicKey or *dsa.PublicKey). It
// returns nil, or an error wrapping [ErrBadSignature] (digest mismatch), [ErrBadEncoding]
// (RSA block malformed), [ErrUnsupportedAlgo] or [ErrUnsupportedHash].
func VerifyDetached(s *Sig, payload io.Reader, pub crypto.PublicKey) error {
	d, err := Digest(s, payload)
	if err != nil {
		return err
	}
	return VerifyDigest(s, d, pub, VerifyOptions{})
}

// VerifyDigest checks s against a digest already computed (see [Digest]) with pub. RSA
// (algorithms 1, 2, 3) is checked as EMSA-PKCS1-v1_5 with the hash's DigestInfo, the way the
// Howells kernels did it: anything wrong with the recovered block is [ErrBadEncoding], a
// well-formed block carrying another digest is [ErrBadSignature]. DSA (17) takes the
// leftmost bits of the digest that fit the subgroup order (FIPS 186). The left-16 bits are
// not checked (no kernel checked them).
func VerifyDigest(s *Sig, digest []byte, pub crypto.PublicKey, o VerifyOptions) error {
	h, err := s.Hash()
	if err != nil {
		return err
	}
	switch s.PubKeyAlgo {
	case AlgoRSA, AlgoRSAEncrypt, AlgoRSASign:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: RSA signature, %s key", ErrUnsupportedAlgo, keys.TypeName(pub))
		}
		if len(s.MPIs) != 1 {
			return fmt.Errorf("%w: RSA signature with %d MPIs", ErrBadEncoding, len(s.MPIs))
		}
		return VerifyRSA(k, h, digest, s.MPIs[0], o)
	case AlgoDSA:
		k, ok := pub.(*dsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: DSA signature, %s key", ErrUnsupportedAlgo, keys.TypeName(pub))
		}
		if len(s.MPIs) != 2 {
			return fmt.Errorf("%w: DSA signature with %d MPIs", ErrBadEncoding, len(s.MPIs))
		}
		if !dsa.Verify(k, dsaDigest(k, digest), s.MPIs[0].Int(), s.MPIs[1].Int()) {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("%w: %d", ErrUnsupportedAlgo, s.PubKeyAlgo)
}

// dsaDigest truncates a digest to the leftmost bits of the subgroup order's size.
func dsaDigest(k *dsa.PublicKey, d []byte) []byte {
	qb := k.Q.BitLen()
	if len(d)*8 <= qb {
		return d
	}
	x := new(big.Int).SetBytes(d[:(qb+7)/8])
	if r := (8 - qb%8) % 8; r != 0 {
		x.Rsh(x, uint(r))
	}
	return x.Bytes()
}

// VerifyRSA checks an RSA signature MPI over digest by hand (s^e mod n, then the
// EMSA-PKCS1-v1_5 block), so that a malformed block ([ErrBadEncoding]) is told apart from a
// digest mismatch ([ErrBadSignature]) as the Howells kernels did. A signature MPI shorter
// than the modulus (leading zero dropped) is accepted unless o.StrictMPILength.
func VerifyRSA(k *rsa.PublicKey, h crypto.Hash, digest []byte, sig MPI, o VerifyOptions) error {
	prefix, ok := formats.DigestInfo(h)
	if !ok {
		return fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
	}
	if len(digest) != h.Size() {
		return fmt.Errorf("digest of %d bytes for %v", len(digest), h)
	}
	kb := (k.N.BitLen() + 7) / 8
	s := sig.Int()
	if o.StrictMPILength && len(sig.Bytes) != kb {
		return fmt.Errorf("%w: signature MPI of %d bytes, modulus of %d", ErrBadEncoding, len(sig.Bytes), kb)
	}
	if s.Sign() == 0 || s.Cmp(k.N) >= 0 {
		return fmt.Errorf("%w: signature value out of range", ErrBadEncoding)
	}
	em := formats.RSAPublic(k, s.Bytes())
	if len(em) != kb {
		return fmt.Errorf("%w: unusable public key", ErrBadEncoding)
	}
	tLen := len(prefix) + len(digest)
	if kb < tLen+11 {
		return fmt.Errorf("%w: modulus too short for %v", ErrBadEncoding, h)
	}
	ps := em[2 : kb-tLen-1]
	if em[0] != 0 || em[1] != 1 || em[kb-tLen-1] != 0 || bytes.Count(ps, []byte{0xff}) != len(ps) {
		return fmt.Errorf("%w: bad PKCS#1 v1.5 padding", ErrBadEncoding)
	}
	if !bytes.Equal(em[kb-tLen:kb-len(digest)], prefix) {
		return fmt.Errorf("%w: DigestInfo is not %v", ErrBadEncoding, h)
	}
	if subtle.ConstantTimeCompare(em[kb-len(digest):], digest) != 1 {
		return ErrBadSignature
	}
	return nil
}
