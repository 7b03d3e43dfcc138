//lint:file-ignore SA1019 DSA (crypto/dsa) is what the RHEL-era kernels verify; it is needed to read and write them.

package gpgsig

import (
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// SignDetached signs payload the way GnuPG's `gpg -b` writes a binary detached signature and
// returns the packet: version 4, class 0x00, an old-format header (0x88 below 256 body
// bytes, else 0x89), a hashed area holding only the Signature Creation Time t, and an
// unhashed area holding exactly one Issuer subpacket (the key id of k's OpenPGP key, see
// [keys.Material.OpenPGP]). RSA signs EMSA-PKCS1-v1_5 with the DigestInfo of h (through
// k.Signer, so tokens work) and is deterministic; DSA (k.DSA) takes the digest's leftmost
// bits per FIPS 186 and is randomised. Other key types wrap [ErrUnsupportedAlgo]; hashes
// without an OpenPGP id wrap [ErrUnsupportedHash].
func SignDetached(payload io.Reader, k *keys.Material, h crypto.Hash, t time.Time) ([]byte, error) {
	return SignDetachedOpts(payload, k, h, t, formats.SignOptions{})
}

// SignDetachedOpts is [SignDetached] honouring o.Deterministic: DSA nonces are then derived
// by RFC 6979 ([formats.SignDSA]), so the same inputs always give the same packet (the
// vectors need that; gpg itself signed with random nonces).
func SignDetachedOpts(payload io.Reader, k *keys.Material, h crypto.Hash, t time.Time, o formats.SignOptions) ([]byte, error) {
	s, err := NewSig(k, h, t)
	if err != nil {
		return nil, err
	}
	d, err := Digest(s, payload)
	if err != nil {
		return nil, err
	}
	if err := signDigest(s, k, d, o); err != nil {
		return nil, err
	}
	return s.Marshal()
}

// NewSig returns an unsigned v4 signature (no MPIs yet) for k, h and t, shaped as
// [SignDetached] describes; complete it with [SignDigest] on its [Digest].
func NewSig(k *keys.Material, h crypto.Hash, t time.Time) (*Sig, error) {
	id, err := HashID(h)
	if err != nil {
		return nil, err
	}
	if !h.Available() {
		return nil, fmt.Errorf("%w: %v not available", ErrUnsupportedHash, h)
	}
	ts := t.Unix()
	if ts < 0 || ts > 0xffffffff {
		return nil, fmt.Errorf("openpgp: signature time %v out of range", t)
	}
	keyID, err := SigningKeyID(k)
	if err != nil {
		return nil, err
	}
	s := &Sig{Version: 4, Class: ClassBinary, HashAlgo: id, Created: time.Unix(ts, 0).UTC(), KeyID: keyID, HasKeyID: true, IssuerCount: 1}
	switch {
	case k.DSA != nil:
		s.PubKeyAlgo = AlgoDSA
	case k.Signer != nil:
		if _, ok := k.Signer.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: %s key", ErrUnsupportedAlgo, keys.TypeName(k.Signer.Public()))
		}
		s.PubKeyAlgo = AlgoRSA
	default:
		return nil, fmt.Errorf("%w: no private key", ErrUnsupportedAlgo)
	}
	s.Hashed = AppendSubpacket(nil, SubCreationTime, binary.BigEndian.AppendUint32(nil, uint32(ts)))
	s.Unhashed = AppendSubpacket(nil, SubIssuer, binary.BigEndian.AppendUint64(nil, keyID))
	return s, nil
}

// SigningKeyID returns the OpenPGP key id that signatures by k name: the primary key of k's
// OpenPGP key (derived if need be), or the subkey whose public key is k's when an imported
// entity signs with a subkey.
func SigningKeyID(k *keys.Material) (uint64, error) {
	e, err := k.OpenPGP()
	if err != nil {
		return 0, err
	}
	pub := k.Public()
	if keys.SamePublic(e.PrimaryKey.PublicKey, pub) {
		return e.PrimaryKey.KeyId, nil
	}
	for _, sk := range e.Subkeys {
		if keys.SamePublic(sk.PublicKey.PublicKey, pub) {
			return sk.PublicKey.KeyId, nil
		}
	}
	return e.PrimaryKey.KeyId, nil
}

// SignDigest fills s.Left16 and s.MPIs by signing digest (from [Digest] of s) with k.
func SignDigest(s *Sig, k *keys.Material, digest []byte) error {
	return signDigest(s, k, digest, formats.SignOptions{})
}

// signDigest is SignDigest honouring o.Deterministic for DSA.
func signDigest(s *Sig, k *keys.Material, digest []byte, o formats.SignOptions) error {
	h, err := s.Hash()
	if err != nil {
		return err
	}
	copy(s.Left16[:], digest)
	switch s.PubKeyAlgo {
	case AlgoDSA:
		if k.DSA == nil {
			return fmt.Errorf("%w: DSA signature needs a DSA key", ErrUnsupportedAlgo)
		}
		r, ss, err := formats.SignDSA(k.DSA, dsaDigest(&k.DSA.PublicKey, digest), h, o)
		if err != nil {
			return err
		}
		s.MPIs = []MPI{NewMPI(r), NewMPI(ss)}
	case AlgoRSA, AlgoRSAEncrypt, AlgoRSASign:
		if k.Signer == nil {
			return fmt.Errorf("%w: RSA signature needs an RSA key", ErrUnsupportedAlgo)
		}
		// RIPEMD-160 under OpenPGP's TeleTrusT OID, as formats.SignDigest encodes it.
		v, err := formats.SignDigest(k.Signer, digest, h, o)
		if err != nil {
			return fmt.Errorf("openpgp: RSA sign: %w", err)
		}
		s.MPIs = []MPI{NewMPI(new(big.Int).SetBytes(v))}
	default:
		return fmt.Errorf("%w: %d", ErrUnsupportedAlgo, s.PubKeyAlgo)
	}
	return nil
}
