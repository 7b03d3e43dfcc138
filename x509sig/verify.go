package x509sig

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// The named kernel models (formats.Policy.Kernel); any "linux-X.Y[.Z]" is accepted too and
// mapped to its era's model (see ParseKernel).
const (
	// Kernel37 is Linux 3.7, the released x509 trailer; the default.
	Kernel37 = "linux-3.7"
	// Kernel37RC1 is Linux 3.7-rc1: the module is split at the first marker; the default
	// for a module in the rc1 layout.
	Kernel37RC1 = "linux-3.7-rc1"
	// Kernel43 is Linux 4.3 to 5.3: PKCS#7 only, only ENOKEY forgiven.
	Kernel43 = "linux-4.3"
	// Kernel61 is Linux 5.4 and later (6.1 observed): PKCS#7 only, ENOPKG forgiven when
	// permissive, EKEYREJECTED when enforcing.
	Kernel61 = "linux-6.1"
)

// Kernels lists the named kernel models.
func Kernels() []string { return []string{Kernel37, Kernel37RC1, Kernel43, Kernel61} }

// Kernels lists the kernel models Verify knows by name (formats.KernelModeler); it takes
// any mainline version.
func (Driver) Kernels() []string { return append([]string{"linux-X.Y"}, Kernel37RC1) }

// ModelsKernel reports whether ParseKernel takes name (formats.KernelModeler).
func (Driver) ModelsKernel(name string) bool {
	_, err := ParseKernel(name, false)
	return name != "" && err == nil
}

// eraModel is a kernel model: which check runs and which 3.x details apply.
type eraModel struct {
	name      string
	kind      int  // kindNone, kind37, kindRC1, kind43, kind61
	dates     bool // the X.509 loader refuses certificates outside their validity period
	needsAKID bool // the X.509 loader refuses certificates without authorityKeyIdentifier
}

const (
	kindNone = iota // before 3.7: no module signature checking
	kind37
	kindRC1
	kind43
	kind61
)

// ParseKernel maps a Policy.Kernel value to its model: "linux-3.7-rc1"; "linux-X.Y[.Z]"
// before 3.7 (no checking: everything loads), 3.7 to 4.2 (the x509 checks; the X.509 loader
// refused certificates outside their validity period before 3.12 and certificates without
// authorityKeyIdentifier before 3.17 [INF: the 3.7 x509_public_key.c has both checks, the
// 3.18 one neither; "X.509: Remove certificate date checks" was a 3.12-era change]), 4.3 to
// 5.3 and 5.4 on (PKCS#7 only). The empty string is Kernel37 (Kernel37RC1 when rc1 is true).
func ParseKernel(s string, rc1 bool) (eraModel, error) {
	if s == "" {
		s = Kernel37
		if rc1 {
			s = Kernel37RC1
		}
	}
	if s == Kernel37RC1 {
		return eraModel{name: s, kind: kindRC1, dates: true, needsAKID: true}, nil
	}
	rest, ok := strings.CutPrefix(s, "linux-")
	parts := strings.SplitN(rest, ".", 3)
	if !ok || len(parts) < 2 {
		return eraModel{}, fmt.Errorf("x509: unknown kernel model %q (want linux-X.Y, e.g. %v)", s, Kernels())
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || maj < 0 || mnr < 0 {
		return eraModel{}, fmt.Errorf("x509: unknown kernel model %q (want linux-X.Y, e.g. %v)", s, Kernels())
	}
	ver := maj*1000 + mnr
	e := eraModel{name: fmt.Sprintf("linux-%d.%d", maj, mnr)}
	switch {
	case ver < 3007:
		e.kind = kindNone
	case ver < 4003:
		e.kind, e.dates, e.needsAKID = kind37, ver < 3012, ver < 3017
	case ver < 5004:
		e.kind = kind43
	default:
		e.kind = kind61
	}
	return e, nil
}

const taintNote = "loads with taint E when permissive (\"module verification failed: signature and/or required key missing - tainting kernel\")"

// errnoUnsigned marks "no signature found" in a check, which each kernel maps on its own.
const errnoUnsigned formats.Errno = "unsigned"

// check is what one kernel's mod_verify_sig concluded.
type check struct {
	errno   formats.Errno // formats.ErrnoOK, an errno, or errnoUnsigned
	outcome formats.Outcome
	reason  string
	err     error
	signer  string
	keyID   string
	hash    string
	notes   []string
}

func corrupt(m formats.Module, format string, off int64, msg string, args ...any) check {
	e := formats.Errorf(m, format, off, msg, args...)
	return check{errno: formats.ErrnoEBADMSG, outcome: formats.Corrupt, reason: e.Msg, err: e}
}

// Verify checks the outermost x509 signature of m against ring and models the kernel named by
// p.Kernel (see ParseKernel and the package documentation): "" is Kernel37, or Kernel37RC1
// for an rc1 module. The Outcome is the cryptographic result and does not depend on the
// model; Permissive and Enforcing are what that kernel's init_module returns.
func (Driver) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	return verify(m, ring, p, ID)
}

func verify(m formats.Module, ring *keys.Ring, p formats.Policy, format string) formats.Verdict {
	var rc1 *layout
	if format == ID && !formats.HasMarker(m) {
		rc1, _ = findRC1(m)
	}
	e, err := ParseKernel(p.Kernel, rc1 != nil)
	v := formats.Verdict{Format: format, Kernel: e.name}
	if err != nil {
		v.Outcome, v.Reason, v.Err, v.Kernel = formats.Unsupported, err.Error(), err, p.Kernel
		return v
	}
	if rc1 != nil {
		v.Variant = VariantRC1
	}
	e37 := eraModel{name: Kernel37, kind: kind37, dates: true, needsAKID: true}
	var c check
	switch e.kind {
	case kind37, kindNone:
		if e.kind == kindNone {
			e = eraModel{name: e.name, kind: kindNone} // judge the signature by the latest 3.x rules
		}
		c = check37(m, ring, format, e)
		if c.errno == errnoUnsigned && rc1 != nil {
			c = core(m, rc1, ring, e)
			c.notes = append(c.notes, "a released 3.7-4.2 kernel looks for the marker at the end of the file only and treats this rc1-layout module as unsigned")
			c.errno = errnoUnsigned
		}
	case kindRC1:
		c = checkRC1(m, ring, format, e)
	case kind43, kind61:
		c = check43(m, format)
		if c.errno == formats.ErrnoENOPKG && format == ID {
			if c37 := check37(m, ring, format, e37); c37.outcome != "" {
				c.notes = append(c.notes, fmt.Sprintf("as a 3.7-4.2 signature it is %s: %s", c37.outcome, c37.reason))
				c.signer, c.keyID, c.hash = c37.signer, c37.keyID, c37.hash
			}
		}
	}
	v.Outcome, v.Reason, v.Err = c.outcome, c.reason, c.err
	v.Signer, v.KeyID, v.Hash = c.signer, c.keyID, c.hash
	v.Notes = append(v.Notes, c.notes...)
	if v.Outcome == "" {
		v.Outcome = formats.Unsigned
	}
	forgiven := false
	switch {
	case e.kind == kindNone:
		v.Permissive, v.Enforcing = formats.ErrnoOK, formats.ErrnoOK
		v.Notes = append(v.Notes, "kernels before 3.7 do not check module signatures")
	case c.errno == formats.ErrnoOK:
		v.Permissive, v.Enforcing = formats.ErrnoOK, formats.ErrnoOK
	case c.errno == errnoUnsigned && e.kind == kindRC1:
		v.Permissive, v.Enforcing, forgiven = formats.ErrnoOK, formats.ErrnoEKEYREJECTED, true // [INF] FORMATS.md "Rusty's hook"
	case c.errno == errnoUnsigned || c.errno == formats.ErrnoENOKEY:
		v.Permissive, v.Enforcing, forgiven = formats.ErrnoOK, formats.ErrnoENOKEY, true
		if e.kind == kind61 {
			v.Enforcing = formats.ErrnoEKEYREJECTED
		}
	case c.errno == formats.ErrnoENOPKG && e.kind == kind61:
		v.Permissive, v.Enforcing, forgiven = formats.ErrnoOK, formats.ErrnoEKEYREJECTED, true
	default:
		v.Permissive, v.Enforcing = c.errno, c.errno
	}
	if forgiven {
		v.Notes = append(v.Notes, taintNote)
	}
	return v
}

// tailBlock is the start both mainline kernels share: the marker at the very end, then the
// 12-byte module_signature block before it. A non-nil check is the verdict when either is
// missing.
func tailBlock(m formats.Module, format string) (formats.ModSig, int64, *check) {
	ml := int64(len(formats.Marker))
	if !formats.HasMarker(m) {
		return formats.ModSig{}, 0, &check{errno: errnoUnsigned, outcome: formats.Unsigned, reason: "no signature marker at the end of the module"}
	}
	modlen := m.Size - ml
	if modlen <= formats.ModSigBlockSize {
		c := corrupt(m, format, 0, "only %d bytes before the marker: no room for the 12-byte module_signature block", modlen)
		return formats.ModSig{}, 0, &c
	}
	blockOff := modlen - formats.ModSigBlockSize
	raw, err := m.ReadAt(format, blockOff, formats.ModSigBlockSize)
	if err != nil {
		return formats.ModSig{}, 0, &check{errno: formats.ErrnoEBADMSG, outcome: formats.Corrupt, reason: err.Error(), err: err}
	}
	return formats.DecodeModSig(raw), blockOff, nil
}

// check37 is the released 3.7-4.2 module_sig_check + mod_verify_sig, carving from the end.
func check37(m formats.Module, ring *keys.Ring, format string, e eraModel) check {
	b, blockOff, c := tailBlock(m, format)
	if c != nil {
		return *c
	}
	ml := int64(len(formats.Marker))
	modlen := blockOff
	if int64(b.SigLen) >= modlen {
		return corrupt(m, format, blockOff+8, "sig_len %d does not fit in the %d bytes before the block", b.SigLen, modlen)
	}
	modlen -= int64(b.SigLen)
	ids := int64(b.SignerLen) + int64(b.KeyIDLen)
	if ids >= modlen {
		return corrupt(m, format, blockOff+3, "signer_len %d + key_id_len %d leave no payload in the %d bytes before the signature", b.SignerLen, b.KeyIDLen, modlen)
	}
	l := &layout{block: b, blockOff: blockOff, markerOff: m.Size - ml, signerOff: modlen - ids, payloadLen: modlen - ids}
	l.keyIDOff = l.signerOff + int64(b.SignerLen)
	l.sigOff = modlen
	return core(m, l, ring, e)
}

// checkRC1 is the 3.7-rc1 kernel: split at the first marker anywhere in the file, then the
// block at the very end, whose lengths must add up exactly.
func checkRC1(m formats.Module, ring *keys.Ring, format string, e eraModel) check {
	all, err := m.Bytes()
	if err != nil {
		return check{errno: formats.ErrnoEBADMSG, outcome: formats.Corrupt, reason: err.Error(), err: err}
	}
	i := int64(bytes.Index(all, []byte(formats.Marker)))
	if i < 0 {
		return check{errno: errnoUnsigned, outcome: formats.Unsigned, reason: "no signature marker in the module"}
	}
	sigStart := i + int64(len(formats.Marker))
	siglen := m.Size - sigStart
	if siglen <= formats.ModSigBlockSize {
		return corrupt(m, format, sigStart, "only %d bytes after the first marker: no room for the 12-byte module_signature block", siglen)
	}
	b := formats.DecodeModSig(all[m.Size-formats.ModSigBlockSize:])
	siglen -= formats.ModSigBlockSize
	ids := int64(b.SignerLen) + int64(b.KeyIDLen)
	if int64(b.SigLen) >= siglen || siglen-int64(b.SigLen) != ids {
		return corrupt(m, format, m.Size-4, "sig_len %d + signer_len %d + key_id_len %d != the %d bytes between the first marker and the block", b.SigLen, b.SignerLen, b.KeyIDLen, siglen)
	}
	l := &layout{variant: VariantRC1, block: b, blockOff: m.Size - formats.ModSigBlockSize, markerOff: i,
		signerOff: sigStart, payloadLen: i}
	l.keyIDOff = l.signerOff + int64(b.SignerLen)
	l.sigOff = l.keyIDOff + int64(b.KeyIDLen)
	return core(m, l, ring, e)
}

// check43 is the 4.3+ kernel looking at any module_signature trailer: the sig_len check, then
// anything but PKCS#7 is ENOPKG.
func check43(m formats.Module, format string) check {
	b, blockOff, c := tailBlock(m, format)
	if c != nil {
		return *c
	}
	if int64(b.SigLen) >= blockOff {
		return corrupt(m, format, blockOff+8, "sig_len %d does not fit in the %d bytes before the block", b.SigLen, blockOff)
	}
	if b.IDType != formats.IDTypePKCS7 {
		return check{errno: formats.ErrnoENOPKG, outcome: formats.Unsupported, hash: HashAlgoName(b.Hash),
			reason: fmt.Sprintf("\"module: not signed with expected PKCS#7 message\": Linux 4.3 and later verify only id_type 2 (PKCS#7), this trailer has id_type %d", b.IDType)}
	}
	return check{errno: formats.ErrnoEBADMSG, outcome: formats.Unsupported,
		reason: "an id_type 2 (PKCS#7) trailer: verify it with the pkcs7 format"}
}

// core is mod_verify_sig after the split: algorithm checks, key lookup, digest, MPI, RSA.
func core(m formats.Module, l *layout, ring *keys.Ring, e eraModel) check {
	b := l.block
	c := check{hash: HashAlgoName(b.Hash)}
	if b.Algo != AlgoRSA || b.IDType != formats.IDTypeX509 {
		c.errno, c.outcome = formats.ErrnoENOPKG, formats.Unsupported
		c.reason = fmt.Sprintf("algo %d (%s), id_type %d: 3.7-4.2 kernels verify only RSA (algo 1) signatures with X.509 identifiers (id_type 1)", b.Algo, algoName(b.Algo), b.IDType)
		if b.IDType == formats.IDTypePGP {
			c.reason += "; id_type 0 (PGP) was never a mainline format"
		}
		return c
	}
	if b.Hash >= kernelHashLast {
		c.errno, c.outcome = formats.ErrnoENOPKG, formats.Unsupported
		c.reason = fmt.Sprintf("hash %d is not a 3.7 kernel hash algorithm", b.Hash)
		return c
	}
	ids, err := m.ReadAt(ID, l.signerOff, l.sigOff-l.signerOff)
	if err != nil {
		return check{errno: formats.ErrnoEBADMSG, outcome: formats.Corrupt, reason: err.Error(), err: err}
	}
	c.signer = string(ids[:b.SignerLen])
	c.keyID = hex.EncodeToString(ids[b.SignerLen:])
	desc := c.signer + ": " + c.keyID
	cert := ring.ByDescription(desc)
	if cert == nil {
		c.errno, c.outcome = formats.ErrnoENOKEY, formats.UnknownKey
		c.reason = fmt.Sprintf("signed with key %q, which is not in the keyring", desc)
		return c
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		c.errno, c.outcome = formats.ErrnoENOKEY, formats.UnknownKey
		c.reason = fmt.Sprintf("the keyring's certificate %q has a %s key, which a 3.7-4.2 kernel cannot load", desc, cert.PublicKeyAlgorithm)
		return c
	}
	if e.needsAKID && len(cert.AuthorityKeyId) == 0 {
		c.errno, c.outcome = formats.ErrnoENOKEY, formats.UnknownKey
		c.reason = fmt.Sprintf("the keyring's certificate %q has no authorityKeyIdentifier: a 3.7 kernel refuses to load it (\"must have SubjKeyId and AuthKeyId extensions\")", desc)
		return c
	}
	// The 3.7 X.509 loader refused certificates outside their validity period ("Cert %s has
	// expired", EKEYEXPIRED; "is not yet valid", EKEYREJECTED), so the key is missing when the
	// module loads. Later 3.x kernels dropped the check; the signature is still checked here
	// to tell an expired key's good signature from a bad one.
	unavailable := ""
	switch now := time.Now(); {
	case !e.dates:
	case now.After(cert.NotAfter):
		unavailable = fmt.Sprintf("the keyring's certificate %q expired %s: a 3.7 kernel refuses to load it (\"Cert ... has expired\"), so the key is missing", desc, cert.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(cert.NotBefore):
		unavailable = fmt.Sprintf("the keyring's certificate %q is not valid before %s: a 3.7 kernel refuses to load it (\"Cert ... is not yet valid\"), so the key is missing", desc, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if unavailable != "" {
		r := coreCrypto(m, l, pub, c, desc)
		r.errno, r.err = formats.ErrnoENOKEY, nil
		if r.outcome == formats.OK {
			r.outcome = formats.Expired
		}
		r.notes = append(r.notes, "signature check with that certificate: "+r.reason, "kernels from 3.12 on do not check certificate dates [INF]")
		r.reason = unavailable
		return r
	}
	return coreCrypto(m, l, pub, c, desc)
}

// coreCrypto is mod_verify_sig from the MPI extraction on, with the key found.
func coreCrypto(m formats.Module, l *layout, pub *rsa.PublicKey, c check, desc string) check {
	b := l.block
	// The kernel digests the payload before it looks at the signature's MPI.
	sigLen := int64(b.SigLen)
	if sigLen < 3 {
		return corrupt(m, ID, l.sigOff, "signature part of %d bytes is too short for a be16 length and an RSA value", sigLen)
	}
	pfx, err := m.ReadAt(ID, l.sigOff, 2)
	if err != nil {
		return check{errno: formats.ErrnoEBADMSG, outcome: formats.Corrupt, reason: err.Error(), err: err}
	}
	if k := int64(binary.BigEndian.Uint16(pfx)); k != sigLen-2 {
		cc := corrupt(m, ID, l.sigOff, "byte-count MPI says %d bytes but sig_len leaves %d", k, sigLen-2)
		cc.signer, cc.keyID, cc.hash = c.signer, c.keyID, c.hash
		return cc
	}
	h, ok := kernelHashes[b.Hash]
	if !ok { // md4: a kernel hash name, no RSA template
		c.errno, c.outcome = formats.ErrnoENOTSUPP, formats.Unsupported
		c.reason = "md4 has no RSA DigestInfo template in the kernel (ENOTSUPP)"
		return c
	}
	sig, err := m.ReadAt(ID, l.sigOff+2, sigLen-2)
	if err != nil {
		return check{errno: formats.ErrnoEBADMSG, outcome: formats.Corrupt, reason: err.Error(), err: err}
	}
	digest, err := formats.DigestPrefix(m, h, l.payloadLen)
	if err != nil {
		c.errno, c.outcome, c.err = formats.ErrnoENOPKG, formats.Unsupported, err
		c.reason = err.Error()
		return c
	}
	errno, why := KernelRSAVerify(pub, h, digest, sig)
	c.errno = errno
	if errno == formats.ErrnoOK {
		c.outcome = formats.OK
		c.reason = fmt.Sprintf("valid %s signature by %q", formats.HashName(h), desc)
		return c
	}
	c.outcome = formats.BadSignature
	c.reason = fmt.Sprintf("signature by %q does not verify: %s", desc, why)
	c.err = fmt.Errorf("x509: %s", why)
	return c
}

// KernelRSAVerify checks an RSASSA-PKCS1-v1_5 signature the way the 3.7-4.2 kernel's
// crypto/asymmetric_keys/rsa.c did, and returns what it returned with a reason: OK; EBADMSG
// when the value is longer than the modulus or not below it, or the padding or DigestInfo is
// wrong; ERANGE when the decoded block does not start 00 01 (the usual result of a corrupted
// signature value); EKEYREJECTED when only the digest differs (a tampered payload). Unlike
// crypto/rsa it accepts a value shorter than the modulus (the kernel reads it as an MPI).
func KernelRSAVerify(pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) (formats.Errno, string) {
	prefix, ok := formats.DigestInfo(h)
	if !ok {
		return formats.ErrnoENOTSUPP, fmt.Sprintf("no DigestInfo template for %s", formats.HashName(h))
	}
	n := pub.N
	s := new(big.Int).SetBytes(sig)
	if s.BitLen() > n.BitLen() {
		return formats.ErrnoEBADMSG, "signature value longer than the modulus"
	}
	if s.Cmp(n) >= 0 {
		return formats.ErrnoEBADMSG, "signature value not below the modulus"
	}
	k := (n.BitLen() + 7) / 8
	em := formats.RSAPublic(pub, s.Bytes())
	if em == nil {
		return formats.ErrnoEBADMSG, "unusable public key"
	}
	if em[0] != 0 || em[1] != 1 {
		return ErrnoERANGE, "decoded block does not start 00 01 (corrupted signature value or wrong key)"
	}
	if k < 3+len(prefix)+len(digest) {
		return formats.ErrnoEBADMSG, "modulus too small for the DigestInfo"
	}
	t := k - len(prefix) - len(digest)
	if em[t-1] != 0 {
		return formats.ErrnoEBADMSG, "PKCS#1 padding not terminated by 00 where the DigestInfo must start"
	}
	for i := 2; i < t-1; i++ {
		if em[i] != 0xff {
			return formats.ErrnoEBADMSG, "PKCS#1 padding bytes are not all ff"
		}
	}
	if !bytes.Equal(em[t:t+len(prefix)], prefix) {
		return formats.ErrnoEBADMSG, "DigestInfo does not name " + formats.HashName(h)
	}
	if subtle.ConstantTimeCompare(em[t+len(prefix):], digest) != 1 {
		return formats.ErrnoEKEYREJECTED, "digest mismatch: the module was changed after signing"
	}
	return formats.ErrnoOK, ""
}
