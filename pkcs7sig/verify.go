package pkcs7sig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// kver is a kernel version, major.minor.
type kver struct{ major, minor int }

func v(major, minor int) kver { return kver{major, minor} }

func (a kver) less(b kver) bool {
	return a.major < b.major || (a.major == b.major && a.minor < b.minor)
}

func (a kver) String() string { return fmt.Sprintf("linux-%d.%d", a.major, a.minor) }

// DefaultKernel is the kernel model of the empty Policy: Linux 6.1, the kernel the
// observed results (ORACLES.md §8.5) come from.
const DefaultKernel = "linux-6.1"

// parseKernel parses a Policy.Kernel value (see Verify).
func parseKernel(s string) (kver, error) {
	if s == "" {
		s = DefaultKernel
	}
	rest, ok := strings.CutPrefix(s, "linux-")
	if !ok {
		return kver{}, fmt.Errorf("pkcs7: unknown kernel model %q (want linux-X.Y, e.g. linux-4.3, linux-6.1)", s)
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) < 2 {
		return kver{}, fmt.Errorf("pkcs7: unknown kernel model %q (want linux-X.Y)", s)
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || maj < 0 || min < 0 {
		return kver{}, fmt.Errorf("pkcs7: unknown kernel model %q (want linux-X.Y)", s)
	}
	return kver{maj, min}, nil
}

// kernel error names used by the model (the kernel's internal results before module_sig_check).
const (
	kOK           = ""
	kENODATA      = "ENODATA"
	kENOKEY       = "ENOKEY"
	kENOPKG       = "ENOPKG"
	kEBADMSG      = "EBADMSG"
	kEINVAL       = "EINVAL"
	kEKEYREJECTED = "EKEYREJECTED"
	kEMSGSIZE     = "EMSGSIZE"
)

// result is what the model concluded before the era's policy is applied.
type result struct {
	kerr    string // the error mod_verify_sig returns; "" for success
	outcome formats.Outcome
	reason  string
	notes   []string
	signer  string
	keyID   string
	hash    string
	err     error
}

// Verify checks the outermost signature against ring and models the kernel p.Kernel names,
// following the kernel's own order of checks: the trailer (kernel/module_signature.c), the CMS
// grammar and its callbacks (crypto/asymmetric_keys/pkcs7_parser.c), the module profile
// (pkcs7_verify.c: id-data, no signed attributes, detached), the signature against an embedded
// certificate if the CMS has one, then the trust check against ring by issuer+serial or SKID
// (pkcs7_trust.c). The payload is hashed by streaming it from m. Expired certificates are
// accepted, as the kernel does not check validity dates.
//
// p.Kernel is "" (linux-6.1) or "linux-X.Y[.Z]" for any version: before 3.7 nothing is
// checked; 3.7–4.2 verify only x509 trailers (PKCS#7 is ENOPKG, inferred); 4.3–5.3 forgive only
// ENOKEY when not enforcing and return ENOKEY when enforcing; 5.4 and later forgive ENODATA,
// ENOKEY and ENOPKG when not enforcing and return EKEYREJECTED when enforcing. Algorithms
// follow the version too: ECDSA from 5.13 (inferred), SHA-3 from 6.7, SHA-1 absent in 6.7–6.8.
// Any other value gives a Verdict with Err set and no errno.
func (Driver) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	k, err := parseKernel(p.Kernel)
	if err != nil {
		return formats.Verdict{Format: Format, Outcome: formats.Unsupported, Reason: err.Error(), Err: err, Kernel: p.Kernel}
	}
	mk := k
	if k.less(v(3, 7)) {
		// No checking at all: the outcome still says what the signature is, judged by the
		// newest model (every algorithm known).
		mk = newest
	}
	r := model(m, ring, mk)
	vd := formats.Verdict{
		Format: Format, Outcome: r.outcome, Signer: r.signer, KeyID: r.keyID, Hash: r.hash,
		Reason: r.reason, Kernel: k.String(), Notes: r.notes, Err: r.err,
	}
	vd.Permissive, vd.Enforcing = policy(k, r.kerr)
	switch {
	case k.less(v(3, 7)):
		vd.Notes = append(vd.Notes, "kernels before 3.7 do not check module signatures")
	case r.kerr == kOK:
	case vd.Permissive == formats.ErrnoOK:
		vd.Notes = append(vd.Notes, "loads with taint E when permissive (\"module verification failed: signature and/or required key missing - tainting kernel\")")
		if k.less(v(5, 4)) {
			vd.Notes = append(vd.Notes, "enforcing: "+string(vd.Enforcing))
		} else {
			vd.Notes = append(vd.Notes, "enforcing: \"Loading of "+rejectReason(r.kerr)+" is rejected\"")
		}
	}
	return vd
}

// Kernels lists the kernel models Verify knows: every mainline version (formats.KernelModeler).
func (Driver) Kernels() []string { return []string{"linux-X.Y"} }

// ModelsKernel reports whether name is "linux-X.Y" or "linux-X.Y.Z" (formats.KernelModeler).
func (Driver) ModelsKernel(name string) bool {
	_, err := parseKernel(name)
	return name != "" && err == nil
}

// newest is a kernel version whose parser names every algorithm in the tables.
var newest = v(6, 9)

func rejectReason(kerr string) string {
	switch kerr {
	case kENODATA:
		return "unsigned module"
	case kENOPKG:
		return "module with unsupported crypto"
	}
	return "module with unavailable key"
}

// policy maps the kernel's internal error to what init_module returns in permissive and in
// enforcing mode (module_sig_check of the era).
func policy(k kver, kerr string) (perm, enf formats.Errno) {
	switch {
	case kerr == kOK || k.less(v(3, 7)):
		return formats.ErrnoOK, formats.ErrnoOK
	case !k.less(v(5, 4)):
		if kerr == kENODATA || kerr == kENOKEY || kerr == kENOPKG {
			return formats.ErrnoOK, formats.ErrnoEKEYREJECTED
		}
	default: // 3.7 – 5.3: only ENOKEY is forgiven; unsigned is ENOKEY.
		if kerr == kENODATA || kerr == kENOKEY {
			return formats.ErrnoOK, formats.ErrnoENOKEY
		}
	}
	return formats.Errno(kerr), formats.Errno(kerr)
}

func fail(kerr string, o formats.Outcome, err error, reason string, args ...any) result {
	return result{kerr: kerr, outcome: o, reason: fmt.Sprintf(reason, args...), err: err}
}

// model runs the kernel's checks and returns its internal result.
func model(m formats.Module, ring *keys.Ring, k kver) result {
	const tl = formats.ModSigBlockSize + int64(len(formats.Marker))
	if !formats.HasMarker(m) {
		return fail(kENODATA, formats.Unsigned, nil, "no module signature marker at the end of the file")
	}
	if m.Size-int64(len(formats.Marker)) <= formats.ModSigBlockSize {
		return fail(kEBADMSG, formats.Corrupt, formats.Errorf(m, Format, 0, "file too short for a module_signature block"),
			"file of %d bytes is too short for the module_signature block", m.Size)
	}
	raw := m.Tail(tl)
	if raw == nil {
		return fail(kEBADMSG, formats.Corrupt, nil, "cannot read the module_signature block")
	}
	blk := formats.DecodeModSig(raw)
	if int64(blk.SigLen) >= m.Size-tl {
		why := formats.SigLenMisfit(int64(blk.SigLen), m.Size-tl)
		return fail(kEBADMSG, formats.Corrupt, formats.Errorf(m, Format, m.Size-tl+8, "sig_len %d %s", blk.SigLen, why),
			"module_signature sig_len %d %s", blk.SigLen, why)
	}
	if k.less(v(4, 3)) && !k.less(v(3, 7)) {
		// 3.7–4.2 verify only RSA id_type 1 trailers [INF from the 3.7 code].
		return fail(kENOPKG, formats.Unsupported, nil, "%s verifies only x509 (id_type 1) trailers; PKCS#7 module signatures arrived in 4.3", k)
	}
	if blk.IDType != formats.IDTypePKCS7 {
		return fail(kENOPKG, formats.Unsupported, nil, "module_signature id_type %d: not signed with expected PKCS#7 message", blk.IDType)
	}
	if blk.Algo != 0 || blk.Hash != 0 || blk.SignerLen != 0 || blk.KeyIDLen != 0 || blk.Pad != [3]byte{} {
		_, err := readTrailer(m)
		return fail(kEBADMSG, formats.Corrupt, err, "PKCS#7 signature info has unexpected non-zero params (algo %d, hash %d, signer_len %d, key_id_len %d, pad % x)",
			blk.Algo, blk.Hash, blk.SignerLen, blk.KeyIDLen, blk.Pad[:])
	}
	if blk.SigLen > MaxCMSSize {
		return fail(kEMSGSIZE, formats.Corrupt, nil, "CMS of %d bytes is larger than the kernel's ASN.1 decoder accepts (65535)", blk.SigLen)
	}
	t, err := readTrailer(m)
	if err != nil {
		return fail(kEBADMSG, formats.Corrupt, err, "%v", err)
	}
	var notes []string
	if nestedMarker(m, t.PayloadLen) {
		notes = append(notes, nestedNote)
	}
	sd, err := t.readCMS(m)
	if err != nil {
		r := fail(kEBADMSG, formats.Corrupt, err, "CMS cannot be decoded: %v", err)
		r.notes = notes
		return r
	}
	notes = append(notes, profileNotes(sd)...)
	r := checkCMS(m, t, sd, ring, k)
	r.notes = append(notes, r.notes...)
	return r
}

// signerState is one SignerInfo as the model sees it.
type signerState struct {
	si          *SignerInfo
	digest      *digestAlg
	pkey        *pkeyAlg
	sidMismatch bool // version says one SignerIdentifier form, the element is the other
	embedded    *x509.Certificate
	unsupported bool // the kernel (or kmodsig) cannot digest or verify it
	why         string
}

var (
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
)

func checkCMS(m formats.Module, t *trailer, sd *SignedData, ring *keys.Ring, k kver) result {
	corrupt := func(kerr, msg string, args ...any) result {
		return fail(kerr, formats.Corrupt, formats.Errorf(m, Format, t.SigOff, msg, args...), msg, args...)
	}
	// Callbacks in document order (pkcs7_parser.c).
	if sd.Version != 1 && sd.Version != 3 {
		return corrupt(kEINVAL, "unsupported SignedData version %d", sd.Version)
	}
	if !sd.ContentType.Equal(oidData) && !sd.ContentType.Equal(oidMSIndirectData) {
		return corrupt(kEINVAL, "unsupported encapsulated content type %s", oidName(sd.ContentType))
	}
	var certs []*x509.Certificate
	for i, raw := range sd.Certificates {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return corrupt(kEBADMSG, "embedded certificate %d cannot be parsed: %v", i+1, err)
		}
		certs = append(certs, c)
	}
	// crls: the kernel's grammar reads CertificateList as SEQUENCE OF Certificate and hands each
	// element to the X.509 parser [INF from pkcs7.asn1 and pkcs7_extract_cert], so a real CRL
	// (tbsCertList, algorithm, BIT STRING) fails to parse.
	for i, raw := range sd.CRLs {
		if err := crlAsKernelSees(raw); err != nil {
			return corrupt(kEBADMSG, "CRL %d: the kernel parses CRL entries as certificates: %v", i+1, err)
		}
	}
	states := make([]*signerState, len(sd.SignerInfos))
	for i := range sd.SignerInfos {
		si := &sd.SignerInfos[i]
		st := &signerState{si: si}
		states[i] = st
		switch si.Version {
		case 1:
			if sd.Version != 1 {
				return corrupt(kEBADMSG, "SignedData-SignerInfo version mismatch (SignedData %d, SignerInfo 1)", sd.Version)
			}
			st.sidMismatch = si.UsesSKID
		case 3:
			if sd.Version == 1 {
				return corrupt(kEBADMSG, "SignedData-SignerInfo version mismatch (SignedData 1, SignerInfo 3)")
			}
			st.sidMismatch = !si.UsesSKID
		default:
			return corrupt(kEINVAL, "unsupported SignerInfo version %d", si.Version)
		}
		st.digest = digestByOID(si.DigestAlgorithm.Algorithm)
		if st.digest == nil || !st.digest.known(k) {
			return fail(kENOPKG, formats.Unsupported, nil, "%s: unsupported digest algorithm %s for %s",
				si.Describe(), oidName(si.DigestAlgorithm.Algorithm), k)
		}
		if si.SignedAttrs != nil {
			if !bytes.Contains(si.SignedAttrs, oidDER(oidAttrContentType)) || !bytes.Contains(si.SignedAttrs, oidDER(oidAttrMessageDigest)) {
				return corrupt(kEBADMSG, "signed attributes lack contentType or messageDigest")
			}
		}
		st.pkey = pkeyByOID(si.SignatureAlgorithm.Algorithm)
		if st.pkey == nil || k.less(st.pkey.since) {
			return fail(kENOPKG, formats.Unsupported, nil, "%s: unsupported signature algorithm %s for %s (module signatures use rsaEncryption or ecdsa-with-SHA*)",
				si.Describe(), oidName(si.SignatureAlgorithm.Algorithm), k)
		}
	}
	if len(states) == 0 {
		return corrupt(kEINVAL, "CMS has no SignerInfo")
	}
	for _, st := range states[1:] {
		if (st.si.SignedAttrs != nil) != (states[0].si.SignedAttrs != nil) {
			return corrupt(kEINVAL, "inconsistently supplied signed attributes")
		}
	}
	first := states[0].si
	res := result{hash: states[0].digest.name}
	res.signer, res.keyID = signerIdent(first)
	// verify_pkcs7_message_sig and pkcs7_verify.
	if sd.Content != nil {
		r := corrupt(kEBADMSG, "PKCS#7 signature with non-detached data (attached content)")
		r.hash, r.signer, r.keyID = res.hash, res.signer, res.keyID
		return r
	}
	if !sd.ContentType.Equal(oidData) {
		r := fail(kEKEYREJECTED, formats.Unsupported, nil, "invalid module signature: content type is not id-data")
		r.hash, r.signer, r.keyID = res.hash, res.signer, res.keyID
		return r
	}
	if first.SignedAttrs != nil {
		r := fail(kEKEYREJECTED, formats.Unsupported, nil, "%s: invalid module signature: it has signed attributes (\"PKCS7: Invalid module sig (has authattrs)\")", first.Describe())
		r.hash, r.signer, r.keyID = res.hash, res.signer, res.keyID
		return r
	}
	// Digest the payload once for every hash the signers use, streaming.
	digests, err := digestPayload(m, t.PayloadLen, states)
	if err != nil {
		return fail(kEBADMSG, formats.Corrupt, err, "reading the payload: %v", err)
	}
	anySupported := false
	for _, st := range states {
		if st.digest.hash == 0 || !st.digest.hash.Available() {
			st.unsupported = true
			st.why = "kmodsig cannot compute " + st.digest.name
			continue
		}
		if st.pkey.name != "rsa" && st.pkey.name != "ecdsa" {
			st.unsupported = true
			st.why = "kmodsig cannot verify " + st.pkey.name + " signatures"
			continue
		}
		anySupported = true
		for _, c := range certs {
			if !st.sidMismatch && certMatches(c, st.si) {
				st.embedded = c
				break
			}
		}
		if st.embedded != nil {
			if err := verifySig(ring, st.embedded.PublicKey, st, digests[st.digest.hash]); err != nil {
				// Unlike the trust check, this path returns public_key_verify_signature's
				// own error (pkcs7_verify_one), which is not always EKEYREJECTED.
				kerr := embeddedVerifyErrno(st.embedded.PublicKey, st, digests[st.digest.hash])
				r := fail(kerr, formats.BadSignature, err, "%s: signature does not verify with the embedded certificate: %v", st.si.Describe(), err)
				r.hash, r.signer, r.keyID = res.hash, res.signer, res.keyID
				return r
			}
		}
	}
	if !anySupported {
		r := fail(kENOPKG, formats.Unsupported, nil, "%s: %s", first.Describe(), states[0].why)
		r.hash, r.signer, r.keyID = res.hash, res.signer, res.keyID
		return r
	}
	// pkcs7_validate_trust.
	cached := kENOKEY
	var okState *signerState
	var okCert *x509.Certificate
	var lookedFor []string
	for _, st := range states {
		if st.unsupported {
			if cached == kENOKEY {
				cached = kENOPKG
			}
			continue
		}
		cert, kerr, err := trustOne(st, ring, certs, digests[st.digest.hash])
		switch kerr {
		case kENOKEY:
			lookedFor = append(lookedFor, st.si.Describe())
			continue
		case kOK:
			cached = kOK
			if okState == nil {
				okState, okCert = st, cert
			}
			continue
		}
		r := fail(kerr, formats.BadSignature, err, "%s: signature does not verify with the trusted certificate %q: payload or signature modified, or a different key: %v",
			st.si.Describe(), keys.SignerName(cert), err)
		r.hash, r.signer, r.keyID = st.digest.name, keys.SignerName(cert), res.keyID
		return r
	}
	switch cached {
	case kOK:
		res.kerr, res.outcome = kOK, formats.OK
		res.hash = okState.digest.name
		res.signer = keys.SignerName(okCert)
		res.keyID = keyIDOf(okState.si)
		res.reason = fmt.Sprintf("valid %s signature by %q (%s)", okState.digest.name, keys.Description(okCert), okState.si.Describe())
		if m := expiryNote(okCert); m != "" {
			res.notes = append(res.notes, m)
		}
	case kENOPKG:
		res.kerr, res.outcome = kENOPKG, formats.Unsupported
		res.reason = fmt.Sprintf("%s: %s", first.Describe(), states[0].why)
	default:
		res.kerr, res.outcome = kENOKEY, formats.UnknownKey
		res.reason = fmt.Sprintf("signed by %s, which is not in the keyring", strings.Join(lookedFor, "; "))
		if states[0].sidMismatch {
			res.notes = append(res.notes, "the SignerInfo version does not match its identifier form, so the kernel looks up an empty key id")
		}
	}
	return res
}

func signerIdent(si *SignerInfo) (signer, keyID string) {
	if si.UsesSKID {
		return "", keyIDOf(si)
	}
	return si.IssuerName(), keyIDOf(si)
}

func keyIDOf(si *SignerInfo) string {
	if si.UsesSKID {
		return colonHex(si.SubjectKeyID, false)
	}
	return colonHex(si.SerialBytes(), true)
}

func expiryNote(c *x509.Certificate) string {
	if c.NotAfter.Before(nowFunc()) {
		return fmt.Sprintf("certificate %q expired on %s; the kernel does not check validity dates for module signatures", keys.SignerName(c), c.NotAfter.Format("2006-01-02"))
	}
	return ""
}

// trustOne models pkcs7_validate_trust_one for a supported signer: the embedded certificate
// (if any) or its issuer must be in ring, else the signer itself by issuer+serial or SKID.
func trustOne(st *signerState, ring *keys.Ring, certs []*x509.Certificate, digest []byte) (*x509.Certificate, string, error) {
	check := func(c *x509.Certificate, verify func() error) (*x509.Certificate, string, error) {
		if err := verify(); err != nil {
			return c, kEKEYREJECTED, err
		}
		return c, kOK, nil
	}
	if e := st.embedded; e != nil {
		if rc := ringByCert(ring, e); rc != nil {
			return check(rc, func() error { return verifySig(ring, rc.PublicKey, st, digest) })
		}
		if bytes.Equal(e.RawIssuer, e.RawSubject) {
			return nil, kENOKEY, nil
		}
		// The embedded certificate's issuer, by authorityKeyIdentifier or name.
		if ring != nil {
			for _, rc := range ring.Certs {
				if (len(e.AuthorityKeyId) > 0 && bytes.Equal(rc.SubjectKeyId, e.AuthorityKeyId)) ||
					(len(e.AuthorityKeyId) == 0 && bytes.Equal(rc.RawSubject, e.RawIssuer)) {
					return check(rc, func() error { return rc.CheckSignature(e.SignatureAlgorithm, e.RawTBSCertificate, e.Signature) })
				}
			}
		}
	}
	if st.sidMismatch {
		return nil, kENOKEY, nil
	}
	var rc *x509.Certificate
	if st.si.UsesSKID {
		rc = ring.BySKID(st.si.SubjectKeyID)
	} else if n := st.si.SerialNumber(); n != nil {
		rc = ring.ByIssuerSerial(st.si.Issuer, n)
	}
	if rc == nil {
		return nil, kENOKEY, nil
	}
	return check(rc, func() error { return verifySig(ring, rc.PublicKey, st, digest) })
}

func ringByCert(ring *keys.Ring, c *x509.Certificate) *x509.Certificate {
	if ring == nil {
		return nil
	}
	if rc := ring.ByIssuerSerial(c.RawIssuer, c.SerialNumber); rc != nil {
		return rc
	}
	if len(c.SubjectKeyId) > 0 {
		return ring.BySKID(c.SubjectKeyId)
	}
	return nil
}

// verifySig checks the signature value against pub the way public_key_verify_signature does:
// the signature's key type must match the key's, RSA is PKCS#1 v1.5 over DigestInfo, ECDSA is
// X9.62 DER over the digest.
func verifySig(ring *keys.Ring, pub crypto.PublicKey, st *signerState, digest []byte) error {
	switch st.pkey.name {
	case "rsa":
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("RSA signature but the certificate holds a %s key", keyType(pub))
		}
		if !verifyRSAPublic(k, digestInfoPrefix(st.digest), digest, st.si.Signature) {
			return errors.New("RSA PKCS#1 v1.5 verification failed")
		}
		return nil
	case "ecdsa":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("ECDSA signature but the certificate holds a %s key", keyType(pub))
		}
		if !ring.VerifyECDSA(k, st.digest.hash, digest, st.si.Signature) { // with ring's secret, if it has k's
			return errors.New("ECDSA verification failed")
		}
		return nil
	}
	return fmt.Errorf("kmodsig cannot verify %s signatures", st.pkey.name)
}

// verifyRSAPublic checks an RSASSA-PKCS1-v1_5 signature strictly (RFC 8017 §8.2.2: the
// whole encoded message 00 01 FF..FF 00 ‖ DigestInfo ‖ H must match). The public operation
// is formats.RSAPublic's (math/big, or libcrypto in the openssl build), which is most of the
// cost of verifying a module set. TestVerifyRSAPublic checks it against crypto/rsa.
func verifyRSAPublic(k *rsa.PublicKey, prefix, digest, sig []byte) bool {
	size := k.Size()
	if len(sig) != size || len(prefix) == 0 {
		return false
	}
	em := formats.RSAPublic(k, sig)
	if em == nil {
		return false
	}
	tLen := len(prefix) + len(digest)
	if size < tLen+11 || em[0] != 0 || em[1] != 1 || em[size-tLen-1] != 0 {
		return false
	}
	for _, c := range em[2 : size-tLen-1] {
		if c != 0xff {
			return false
		}
	}
	return bytes.Equal(em[size-tLen:size-len(digest)], prefix) && bytes.Equal(em[size-len(digest):], digest)
}

func keyType(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", pub)
}

// digestPayload hashes the payload once, feeding every hash the signers need.
func digestPayload(m formats.Module, n int64, states []*signerState) (map[crypto.Hash][]byte, error) {
	var hs []crypto.Hash
	for _, st := range states {
		if h := st.digest.hash; h != 0 && h.Available() && !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	out := map[crypto.Hash][]byte{}
	if data := m.InMemory(); data != nil && m.Digests != nil && int64(len(data)) >= n {
		// Signed in this process: the signer's digests, for bytes equal to those it hashed.
		for _, h := range hs {
			out[h] = m.Digests.Sum(h, data[:n])
		}
		return out, nil
	}
	if len(hs) == 0 {
		return out, nil
	}
	d, err := formats.DigestAll(hs, m.Reader(0, n))
	if err != nil {
		return nil, &formats.FormatError{Path: m.Name, Format: Format, Off: -1, Msg: "reading payload", Err: err}
	}
	return d, nil
}

func oidDER(oid asn1.ObjectIdentifier) []byte {
	b, _ := asn1.Marshal(oid)
	return b
}

// nowFunc is the clock for expiry notes (tests replace it).
var nowFunc = time.Now

// embeddedVerifyErrno is the error the kernel's RSA and ECDSA code returns for a signature
// that fails against a certificate embedded in the CMS [INF from crypto/rsa-pkcs1pad.c and
// crypto/ecdsa.c in 6.1]: for RSA, a signature of the wrong length or whose recovered block
// does not start 00 01 is EINVAL, broken padding or DigestInfo EBADMSG, a wrong digest
// EKEYREJECTED; for ECDSA an undecodable signature EBADMSG, else EKEYREJECTED. A key of the
// wrong type is EKEYREJECTED.
func embeddedVerifyErrno(pub crypto.PublicKey, st *signerState, digest []byte) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if st.pkey.name != "rsa" {
			return kEKEYREJECTED
		}
		size := k.Size()
		sig := st.si.Signature
		s := new(big.Int).SetBytes(sig)
		if len(sig) != size || s.Cmp(k.N) >= 0 {
			return kEINVAL
		}
		out := new(big.Int).Exp(s, big.NewInt(int64(k.E)), k.N).Bytes()
		if len(out) != size-1 { // the leading 00 is implied; anything else starts non-zero
			return kEINVAL
		}
		if out[0] != 0x01 {
			return kEBADMSG
		}
		pos := 1
		for pos < len(out) && out[pos] == 0xff {
			pos++
		}
		if pos < 9 || pos == len(out) || out[pos] != 0x00 {
			return kEBADMSG
		}
		pos++
		prefix := digestInfoPrefix(st.digest)
		if len(prefix) > len(out)-pos || !bytes.Equal(out[pos:pos+len(prefix)], prefix) {
			return kEBADMSG
		}
		return kEKEYREJECTED
	case *ecdsa.PublicKey:
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(st.si.Signature, &rs); err != nil || len(rest) > 0 {
			return kEBADMSG
		}
	}
	return kEKEYREJECTED
}

// digestInfoPrefix is the DER DigestInfo up to the digest bytes: SEQUENCE { AlgorithmIdentifier
// { oid, NULL }, OCTET STRING header }.
func digestInfoPrefix(d *digestAlg) []byte {
	size := d.hash.Size()
	alg, _ := asn1.Marshal(d.oid)
	alg = append(alg, 0x05, 0x00)
	algSeq := append([]byte{0x30, byte(len(alg))}, alg...)
	inner := append(algSeq, 0x04, byte(size))
	return append([]byte{0x30, byte(len(inner) + size)}, inner...)
}

// crlAsKernelSees checks a CRL element the way the kernel's grammar reads it: a SEQUENCE whose
// every element is an X.509 certificate.
func crlAsKernelSees(raw []byte) error {
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return errors.New("not a SEQUENCE")
	}
	rest := seq.Bytes
	for len(rest) > 0 {
		var el asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &el); err != nil {
			return err
		}
		if _, err := x509.ParseCertificate(el.FullBytes); err != nil {
			return err
		}
	}
	return nil
}
