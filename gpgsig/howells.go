package gpgsig

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// HowellsVerify applies David Howells' 2011-2012 OpenPGP verification rules to a parsed
// signature over payload: the rules of the gpg2012 trailer and of the rhel6 `rsa` variant
// (Fedora 2012), which shared one parser (FORMATS.md rhel6, "OpenPGP rules of the Howells
// parser"). v carries the format, kernel model and anything already known; early selects the
// kernels before the 2012-08-02 series (unknown key ENOKEY when permissive, and signatures
// with a short MPI refused). The verdict names the key id looked for.
//
//   - version other than 3 and 4, or not exactly one Issuer subpacket (v4): corrupt (EBADMSG);
//   - class other than 0x00 and 0x02: unsupported (EOPNOTSUPP);
//   - DSA or another non-RSA algorithm, or a hash the kernel lacked: unsupported (ENOPKG);
//   - issuer key id not among the RSA keys of the ring: unknown-key (OK, early ENOKEY / ENOKEY)
//     (the kernel's key parser loaded only RSA keys, so a DSA key with that id is not there);
//   - key expired (self-signature Key Expiration Time, at the later of now and the signature
//     time, since the kernel checked when the module was loaded): expired (EKEYEXPIRED);
//   - bad padding or DigestInfo: bad-signature (EBADMSG); digest mismatch and every v3
//     signature (the kernel hashed the v3 trailer one byte early): bad-signature (EKEYREJECTED);
//   - otherwise ok.
func HowellsVerify(v formats.Verdict, s *Sig, payload io.Reader, ring *keys.Ring, early bool) formats.Verdict {
	set := func(o formats.Outcome, perm, enf formats.Errno, err error, reason string, args ...any) formats.Verdict {
		v.Outcome, v.Permissive, v.Enforcing, v.Err = o, perm, enf, err
		v.Reason = fmt.Sprintf(reason, args...)
		return v
	}
	if s.HasKeyID {
		v.KeyID = fmt.Sprintf("%016X", s.KeyID)
	}
	if h, err := HashByID(s.HashAlgo); err == nil {
		v.Hash = formats.HashName(h)
	}
	if s.Version != 3 && s.Version != 4 {
		return set(formats.Corrupt, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, ErrUnsupportedVersion, "v%d signature packet: the kernel parsed only v3 and v4", s.Version)
	}
	if s.Class != ClassBinary && s.Class != ClassStand {
		return set(formats.Unsupported, ErrnoEOPNOTSUPP, ErrnoEOPNOTSUPP, nil, "signature class 0x%02x: the kernel accepted only 0x00 and 0x02", s.Class)
	}
	if s.Version == 4 && s.IssuerCount != 1 {
		return set(formats.Corrupt, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, ErrMalformed, "%d Issuer subpackets: the kernel required exactly one", s.IssuerCount)
	}
	switch s.PubKeyAlgo {
	case AlgoRSA, AlgoRSAEncrypt, AlgoRSASign:
	case AlgoDSA:
		return set(formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG, ErrUnsupportedAlgo, "DSA signature by key 0x%s: the Howells kernels had no DSA (only RSA)", v.KeyID)
	default:
		return set(formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG, ErrUnsupportedAlgo, "public-key algorithm %d: the kernel verified only RSA", s.PubKeyAlgo)
	}
	h, err := s.Hash()
	if err != nil {
		return set(formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG, err, "hash algorithm %d is not available to the kernel", s.HashAlgo)
	}
	k := ring.PGPKeyByID(s.KeyID)
	if k != nil {
		if _, ok := k.Public.(*rsa.PublicKey); !ok {
			k = nil
		}
	}
	if k == nil {
		perm := formats.ErrnoOK
		if early {
			perm = formats.ErrnoENOKEY
		} else {
			v.Notes = append(v.Notes, "before the 2012-08-02 series (\"MODSIGN: Allow modules to be signed with an unknown key\") a permissive kernel returned ENOKEY here")
		}
		return set(formats.UnknownKey, perm, formats.ErrnoENOKEY, nil, "signed with key 0x%s, which is not an RSA key in the keyring", v.KeyID)
	}
	v.Signer = k.Name
	if k.Derived {
		v.Notes = append(v.Notes, fmt.Sprintf("key matched by the OpenPGP key id derived from a bare key or certificate (creation time %s)", keys.DefaultCreated.Format(time.RFC3339)))
	}
	if !k.Expires.IsZero() {
		at := now()
		if s.Created.After(at) {
			at = s.Created
		}
		if !at.Before(k.Expires) {
			return set(formats.Expired, formats.ErrnoEKEYEXPIRED, formats.ErrnoEKEYEXPIRED, nil,
				"key 0x%s expired at %s (signature made %s)", v.KeyID, k.Expires.UTC().Format(time.RFC3339), s.Created.Format(time.RFC3339))
		}
	}
	suffix := s.HashSuffix()
	if s.Version == 3 {
		suffix = s.HowellsV3Suffix()
	}
	d, err := DigestSuffix(h, payload, suffix)
	if err != nil {
		return set(formats.Corrupt, formats.ErrnoELIBBAD, formats.ErrnoELIBBAD, err, "reading the payload: %v", err)
	}
	err = VerifyDigest(s, d, k.Public, VerifyOptions{StrictMPILength: early})
	if err == nil && !early && len(s.MPIs) == 1 && shortMPI(s.MPIs[0], k.Public) {
		v.Notes = append(v.Notes, "signature MPI shorter than the modulus: kernels before \"RSA: Fix signature verification for shorter signatures\" returned EBADMSG")
	}
	switch {
	case err == nil:
		return set(formats.OK, formats.ErrnoOK, formats.ErrnoOK, nil, "good signature by key 0x%s", v.KeyID)
	case s.Version == 3:
		return set(formats.BadSignature, formats.ErrnoEKEYREJECTED, formats.ErrnoEKEYREJECTED, err, "v3 signature: the Howells kernels hashed the v3 trailer one byte early, so v3 signatures never verified")
	case errors.Is(err, ErrBadEncoding):
		return set(formats.BadSignature, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, err, "signature by key 0x%s does not decode: %v", v.KeyID, err)
	case errors.Is(err, ErrUnsupportedAlgo):
		return set(formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG, err, "key 0x%s cannot check this signature: %v", v.KeyID, err)
	default:
		return set(formats.BadSignature, formats.ErrnoEKEYREJECTED, formats.ErrnoEKEYREJECTED, err, "bad signature by key 0x%s: the module was changed after signing or signed by another key", v.KeyID)
	}
}
