package digsig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// Kernel is the name of the kernel model of the verdicts (Verdict.Kernel): the 2012 modsig
// RFC hook on top of lib/digsig.c (v1) and the integrity asymmetric verifier (v2).
const Kernel = "modsig-rfc-2012"

// Kernels lists the one kernel model Verify knows (formats.KernelModeler).
func (Driver) Kernels() []string { return []string{Kernel} }

// ModelsKernel reports whether name is Kernel (formats.KernelModeler).
func (Driver) ModelsKernel(name string) bool { return name == Kernel }

// ErrBadSignature is the Verdict.Err of a signature that does not verify with the key it names.
var ErrBadSignature = errors.New("digsig signature does not verify")

// limbBytes is BYTES_PER_MPI_LIMB of the modelled kernel (x86-64).
const limbBytes = 8

// Hashes returns the digests of the signed content that Verify needs, the one the header
// names first. Version 1 always asks for SHA-1 and SHA-256: evmctl before 2013 wrote hash
// field 0 whatever its -a said, so both are tried.
func (s *Signature) Hashes() []crypto.Hash {
	switch s.Version {
	case 1:
		if s.Hash == HashV1SHA256 {
			return []crypto.Hash{crypto.SHA256, crypto.SHA1}
		}
		return []crypto.Hash{crypto.SHA1, crypto.SHA256}
	case 2:
		if h, ok := KernelHash(s.Hash); ok {
			return []crypto.Hash{h}
		}
	}
	return nil
}

// Verify checks s against digests (the signed content's digests, see Hashes and
// formats.DigestAll) and the trusted keys in ring, and models the kernel's answer:
//
//   - version 1 (lib/digsig.c): algo != 0 is unsupported (ENOTSUPP); the key is the RSA key
//     in ring whose v1 key id (keys.DigsigKeyID) equals the header's, looked up by the
//     description "%llX" (unknown-key: OK when permissive, ENOKEY when enforcing); then
//     H = SHA1(D ‖ header) must come out of a PKCS#1 type 1 block decoded as leniently as
//     the kernel does (any number of FF bytes) else bad-signature (EINVAL).
//   - version 2 (integrity asymmetric_verify, inferred for the RFC): the key is a ring
//     certificate whose SKID ends with the key id (certificates without SKID and bare keys
//     by SHA1(subjectPublicKey)[16:20]); RSA PKCS#1 v1.5 with DigestInfo or ECDSA over D;
//     unknown hash_algo is unsupported (ENOPKG), a bad signature EKEYREJECTED.
//   - version 3 is reported unsupported.
//
// The verdict names the key id looked for in KeyID and Reason. Format is "digsig"; callers
// that wrap the signature (the digsig2012 driver, the IMA forms) set their own.
func (s *Signature) Verify(digests map[crypto.Hash][]byte, ring *keys.Ring) formats.Verdict {
	v := formats.Verdict{Format: "digsig", Variant: fmt.Sprintf("v%d", s.Version), Kernel: Kernel,
		KeyID: s.KeyIDString(), Hash: s.HashName()}
	switch s.Version {
	case 1:
		s.verifyV1(&v, digests, ring)
	case 2:
		s.verifyV2(&v, digests, ring)
	default:
		v.Outcome, v.Permissive, v.Enforcing = formats.Unsupported, formats.ErrnoENOTSUPP, formats.ErrnoENOTSUPP
		v.Reason = fmt.Sprintf("digsig version %d (signs an ima_file_id digest) is not supported", s.Version)
	}
	return v
}

func (s *Signature) verifyV1(v *formats.Verdict, digests map[crypto.Hash][]byte, ring *keys.Ring) {
	desc := s.KeyDescription()
	if s.Algo != AlgoRSA {
		v.Outcome, v.Permissive, v.Enforcing = formats.Unsupported, formats.ErrnoENOTSUPP, formats.ErrnoENOTSUPP
		v.Reason = fmt.Sprintf("digsig v1 public-key algorithm %d is not RSA (0); the kernel returns ENOTSUPP", s.Algo)
		return
	}
	pub, cert := findV1(ring, s.KeyID)
	if pub == nil {
		v.Outcome, v.Permissive, v.Enforcing = formats.UnknownKey, formats.ErrnoOK, formats.ErrnoENOKEY
		v.Reason = fmt.Sprintf("signed with digsig v1 key %s, which is not in the keyring (the kernel looks up the user key %q in _module)", desc, desc)
		return
	}
	if cert != nil {
		v.Signer = keys.SignerName(cert)
	}
	var firstErr error
	for i, h := range s.Hashes() {
		d, ok := digests[h]
		if !ok {
			continue
		}
		err := verifyV1RSA(pub, s.Value, s.Bits, V1SigHash(d, s.Header()))
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if err == nil {
			v.Outcome, v.Permissive, v.Enforcing = formats.OK, formats.ErrnoOK, formats.ErrnoOK
			v.Hash = formats.HashName(h)
			v.Reason = fmt.Sprintf("valid digsig v1 signature by key %s over the %s file digest", desc, v.Hash)
			if i > 0 {
				v.Notes = append(v.Notes, fmt.Sprintf("header hash field %d (%s) but the file digest is %s: evmctl before 2013 (00caa1d) wrote 0 whatever -a said", s.Hash, s.HashName(), v.Hash))
			}
			return
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("no file digest to check")
	}
	v.Outcome, v.Permissive, v.Enforcing = formats.BadSignature, formats.ErrnoEINVAL, formats.ErrnoEINVAL
	v.Reason = fmt.Sprintf("digsig v1 signature by key %s does not match: %v", desc, firstErr)
	v.Err = fmt.Errorf("%w: %w", ErrBadSignature, firstErr)
}

// findV1 returns the RSA key in ring whose digsig v1 key id is id, and its certificate if
// it came from one.
func findV1(ring *keys.Ring, id []byte) (*rsa.PublicKey, *x509.Certificate) {
	if ring == nil || len(id) != 8 {
		return nil, nil
	}
	for _, c := range ring.Certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok {
			if k := keys.DigsigKeyID(pub); bytes.Equal(k[:], id) {
				return pub, c
			}
		}
	}
	for _, p := range ring.PublicKeys() {
		if pub, ok := p.(*rsa.PublicKey); ok {
			if k := keys.DigsigKeyID(pub); bytes.Equal(k[:], id) {
				return pub, nil
			}
		}
	}
	return nil, nil
}

// verifyV1RSA checks an RSA v1 signature value against h the way lib/digsig.c does:
// m = s^e mod n, left-padded to the modulus length, the result's limb count (64-bit
// limbs) no larger than that length, then 00 01, any number of FF (zero included), 00, and
// exactly h.
func verifyV1RSA(pub *rsa.PublicKey, value []byte, bits uint16, h []byte) error {
	if int(bits) > MaxMPIBits {
		return fmt.Errorf("MPI of %d bits exceeds %d", bits, MaxMPIBits)
	}
	mblen := pub.N.BitLen()
	mlen := (mblen + 7) / 8
	if mlen == 0 || pub.E < 1 {
		return fmt.Errorf("unusable public key")
	}
	in := new(big.Int).SetBytes(value)
	res := new(big.Int).Exp(in, big.NewInt(int64(pub.E)), pub.N)
	rb := res.Bytes()
	if (len(rb)+limbBytes-1)/limbBytes*limbBytes > mlen {
		return fmt.Errorf("RSA result of %d bytes spans more %d-byte limbs than the %d-byte modulus", len(rb), limbBytes, mlen)
	}
	em := make([]byte, mlen)
	copy(em[mlen-len(rb):], rb)
	m, err := decodeEMSA(em, mblen)
	if err != nil {
		return err
	}
	if len(m) != len(h) || !bytes.Equal(m, h) {
		return fmt.Errorf("signed value is not SHA1(file digest ‖ header)")
	}
	return nil
}

// decodeEMSA is the kernel's lenient PKCS#1 v1.5 type 1 decoder: 00 01, then as many FF
// as there are (none is fine), then a 00 separator; it returns what follows.
func decodeEMSA(em []byte, modBits int) ([]byte, error) {
	modLen := (modBits + 7) / 8
	if len(em) > modLen || modLen < 11 {
		return nil, fmt.Errorf("modulus of %d bytes too small for PKCS#1", modLen)
	}
	if em[0] != 0 || em[1] != 1 {
		return nil, fmt.Errorf("PKCS#1 block does not start 00 01")
	}
	i := 2
	for i < modLen-1 && em[i] == 0xff {
		i++
	}
	if em[i] != 0 {
		return nil, fmt.Errorf("PKCS#1 padding has no 00 separator")
	}
	return em[i+1:], nil
}

func (s *Signature) verifyV2(v *formats.Verdict, digests map[crypto.Hash][]byte, ring *keys.Ring) {
	desc := s.KeyDescription()
	h, ok := KernelHash(s.Hash)
	if !ok {
		v.Outcome, v.Permissive, v.Enforcing = formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG
		v.Reason = fmt.Sprintf("digsig v2 hash_algo %d (%s) is not supported", s.Hash, s.HashName())
		return
	}
	pub, cert := findV2(ring, s.KeyID)
	if pub == nil {
		v.Outcome, v.Permissive, v.Enforcing = formats.UnknownKey, formats.ErrnoOK, formats.ErrnoENOKEY
		v.Reason = fmt.Sprintf("signed with digsig v2 key %x, which is not in the keyring (the kernel looks up the asymmetric key %q)", s.KeyID, desc)
		return
	}
	if cert != nil {
		v.Signer = keys.SignerName(cert)
	}
	d, ok := digests[h]
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("no %s file digest to check", formats.HashName(h))
	default:
		switch pk := pub.(type) {
		case *rsa.PublicKey:
			err = rsa.VerifyPKCS1v15(pk, h, d, s.Value)
		case *ecdsa.PublicKey:
			if !ring.VerifyECDSA(pk, h, d, s.Value) {
				err = fmt.Errorf("ECDSA signature does not verify")
			}
		default:
			err = fmt.Errorf("key type %s", keys.TypeName(pub))
		}
	}
	if err != nil {
		v.Outcome, v.Permissive, v.Enforcing = formats.BadSignature, formats.ErrnoEKEYREJECTED, formats.ErrnoEKEYREJECTED
		v.Reason = fmt.Sprintf("digsig v2 signature by key %x does not match: %v", s.KeyID, err)
		v.Err = fmt.Errorf("%w: %w", ErrBadSignature, err)
		return
	}
	v.Outcome, v.Permissive, v.Enforcing = formats.OK, formats.ErrnoOK, formats.ErrnoOK
	v.Reason = fmt.Sprintf("valid digsig v2 signature by key %x over the %s file digest", s.KeyID, v.Hash)
}

// findV2 returns the public key whose v2 key id is id: a certificate whose SKID ends with
// it, else a certificate without SKID or a bare key whose SHA1(subjectPublicKey) ends with it.
func findV2(ring *keys.Ring, id []byte) (crypto.PublicKey, *x509.Certificate) {
	if ring == nil || len(id) != 4 {
		return nil, nil
	}
	want := binary.BigEndian.Uint32(id)
	match := func(pub crypto.PublicKey, c *x509.Certificate) bool {
		k, err := V2KeyID(pub, c)
		return err == nil && binary.BigEndian.Uint32(k[:]) == want
	}
	for _, c := range ring.Certs {
		if match(c.PublicKey, c) {
			return c.PublicKey, c
		}
	}
	for _, k := range ring.Keys {
		if match(k, nil) {
			return k, nil
		}
	}
	return nil, nil
}

// CorruptVerdict is the verdict of a signature that cannot be parsed: corrupt, with the
// kernel's code for the version byte (EINVAL for v1 and the modsig wrapper, EBADMSG for v2).
func CorruptVerdict(version byte, err error) formats.Verdict {
	v := formats.Verdict{Format: "digsig", Kernel: Kernel, Outcome: formats.Corrupt,
		Permissive: formats.ErrnoEINVAL, Enforcing: formats.ErrnoEINVAL, Err: err}
	if version == 2 || version == 3 {
		v.Variant = fmt.Sprintf("v%d", version)
		v.Permissive, v.Enforcing = formats.ErrnoEBADMSG, formats.ErrnoEBADMSG
	} else if version == 1 {
		v.Variant = "v1"
	}
	v.Reason = fmt.Sprintf("corrupt digsig signature: %v", err)
	return v
}
