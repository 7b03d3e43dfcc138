package pkcs7sig

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

func init() { formats.Register(Driver{}) }

// Era is the era string of the format.
const Era = "Linux 4.3 - today"

// Driver is the `pkcs7` format: a CMS SignedData in a module_signature trailer with
// id_type 2. The zero value is ready to use; init registers it with formats.
type Driver struct{}

var _ formats.Driver = Driver{}
var _ formats.KeyExporter = Driver{}

// ID returns "pkcs7".
func (Driver) ID() string { return Format }

// Info describes the format.
func (Driver) Info() formats.Info {
	return formats.Info{
		ID:        Format,
		Era:       Era,
		Container: "appended CMS SignedData + module_signature (id_type 2) + \"~Module signature appended~\\n\"",
		KeyTypes:  []string{"rsa", "ecdsa-p256", "ecdsa-p384"},
		Hashes:    []string{"sha1", "sha224", "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"},
		Order:     10,
	}
}

// Detect reports a module that ends with the marker and whose module_signature block says
// id_type 2, whatever its other fields hold (Parse then reports a damaged block as corrupt).
func (Driver) Detect(m formats.Module) bool {
	if m.Size < formats.ModSigBlockSize+int64(len(formats.Marker)) || !formats.HasMarker(m) {
		return false
	}
	b := m.Tail(formats.ModSigBlockSize + int64(len(formats.Marker)))
	return b != nil && b[2] == formats.IDTypePKCS7
}

// trailer is a checked pkcs7 trailer: the generic module_signature carve plus this format's
// rules (id_type 2, every other field zero).
type trailer struct {
	*formats.ModSigTrailer
	cms []byte // nil until read
}

func readTrailer(m formats.Module) (*trailer, error) {
	t, err := formats.ParseModSig(m, Format)
	if err != nil {
		return nil, err
	}
	b := t.Block
	if b.IDType != formats.IDTypePKCS7 {
		return nil, formats.Errorf(m, Format, t.BlockOff+2, "module_signature id_type %d is not 2 (PKCS#7)", b.IDType)
	}
	raw := b.Marshal()
	for i, c := range raw[:8] {
		if c != 0 && i != 2 {
			names := []string{"algo", "hash", "id_type", "signer_len", "key_id_len", "pad[0]", "pad[1]", "pad[2]"}
			return nil, formats.Errorf(m, Format, t.BlockOff+int64(i),
				"module_signature %s is %d, must be 0 for PKCS#7 (kernel: \"PKCS#7 signature info has unexpected non-zero params\")", names[i], c)
		}
	}
	return &trailer{ModSigTrailer: t}, nil
}

func (t *trailer) readCMS(m formats.Module) (*SignedData, error) {
	b, err := m.ReadAt(Format, t.SigOff, int64(t.Block.SigLen))
	if err != nil {
		return nil, err
	}
	t.cms = b
	sd, err := ParseCMS(b)
	if err != nil {
		var ce *CMSError
		if errors.As(err, &ce) {
			return nil, formats.Errorf(m, Format, t.SigOff+ce.Off, "CMS: %s", ce.Msg)
		}
		return nil, formats.Errorf(m, Format, t.SigOff, "CMS: %v", err)
	}
	return sd, nil
}

// Parse reads the outermost trailer and the CMS and reports what modinfo shows: sig_id
// "PKCS#7", signer = the first SignerInfo's issuer CN, sig_key = its issuer serial number,
// sig_hashalgo = its digest, signature = its signature value. For a signer identified by
// subjectKeyIdentifier (sign-file -k) modinfo prints nothing; Parse leaves Signer empty,
// sets KeyID to the SKID and says so in Notes. Every SignerInfo is listed in Signers.
func (Driver) Parse(m formats.Module) (*formats.Signature, error) {
	t, err := readTrailer(m)
	if err != nil {
		return nil, err
	}
	sd, err := t.readCMS(m)
	if err != nil {
		return nil, err
	}
	s := &formats.Signature{
		Format: Format, Era: Era, SigID: "PKCS#7",
		PayloadLen: t.PayloadLen, Offset: t.SigOff, Length: m.Size - t.SigOff,
	}
	if len(sd.SignerInfos) == 0 {
		return nil, formats.Errorf(m, Format, t.SigOff, "CMS has no SignerInfo")
	}
	for i := range sd.SignerInfos {
		si := &sd.SignerInfos[i]
		id := formats.SignerID{HashAlgo: digestName(si.DigestAlgorithm.Algorithm)}
		if si.UsesSKID {
			id.KeyID = colonHex(si.SubjectKeyID, true)
		} else {
			id.Signer = si.IssuerName()
			id.KeyID = colonHex(si.SerialBytes(), true)
		}
		s.Signers = append(s.Signers, id)
	}
	first := &sd.SignerInfos[0]
	s.HashAlgo = digestName(first.DigestAlgorithm.Algorithm)
	s.Value = first.Signature
	s.PublicKey = pkeyName(first.SignatureAlgorithm.Algorithm)
	if first.UsesSKID {
		s.KeyID = first.SubjectKeyID
		s.Notes = append(s.Notes, "signer identified by subjectKeyIdentifier "+colonHex(first.SubjectKeyID, true)+
			" (sign-file -k, CMS v3): modinfo prints no signature fields for it")
	} else {
		s.Signer = first.IssuerName()
		s.KeyID = first.SerialBytes()
	}
	s.Notes = append(s.Notes, profileNotes(sd)...)
	if nestedMarker(m, t.PayloadLen) {
		s.Notes = append(s.Notes, nestedNote)
	}
	return s, nil
}

const nestedNote = "the payload again ends with the module signature marker: an inner signature (sign-file run on a signed module); the kernel verifies only this outer one"

func nestedMarker(m formats.Module, payloadLen int64) bool {
	return formats.HasMarker(m.Prefix(payloadLen))
}

// profileNotes lists where sd departs from sign-file's profile.
func profileNotes(sd *SignedData) []string {
	var n []string
	if sd.BER {
		n = append(n, "CMS uses BER (indefinite or non-minimal lengths), not DER; the kernel accepts it")
	}
	if len(sd.Trailing) > 0 {
		n = append(n, fmt.Sprintf("%d bytes follow the CMS ContentInfo (the kernel ignores them)", len(sd.Trailing)))
	}
	if sd.Content != nil {
		n = append(n, "CMS carries attached content (the kernel rejects it: EBADMSG)")
	}
	if len(sd.Certificates) > 0 {
		n = append(n, fmt.Sprintf("CMS embeds %d certificate(s) (sign-file embeds none)", len(sd.Certificates)))
	}
	if len(sd.CRLs) > 0 {
		n = append(n, fmt.Sprintf("CMS carries %d CRL(s) (the kernel parses their entries as certificates and rejects real CRLs)", len(sd.CRLs)))
	}
	if len(sd.SignerInfos) > 1 {
		n = append(n, fmt.Sprintf("CMS has %d SignerInfos; modinfo shows the first", len(sd.SignerInfos)))
	}
	if sd.Version != 1 && sd.Version != 3 {
		n = append(n, fmt.Sprintf("SignedData version %d (the kernel accepts 1 and 3: EINVAL)", sd.Version))
	}
	if !sd.ContentType.Equal(oidData) {
		n = append(n, "encapsulated content type "+oidName(sd.ContentType)+" is not id-data (the kernel rejects it)")
	}
	for i := range sd.SignerInfos {
		si := &sd.SignerInfos[i]
		if si.SignedAttrs != nil {
			n = append(n, fmt.Sprintf("SignerInfo %d has signed attributes (the kernel rejects module signatures with them: EKEYREJECTED)", i+1))
		}
		switch {
		case si.Version != 1 && si.Version != 3:
			n = append(n, fmt.Sprintf("SignerInfo %d version %d (the kernel accepts 1 and 3: EINVAL)", i+1, si.Version))
		case (si.Version == 1) != (sd.Version == 1):
			n = append(n, fmt.Sprintf("SignerInfo %d version %d under SignedData version %d (kernel: version mismatch, EBADMSG)", i+1, si.Version, sd.Version))
		case (si.Version == 3) != si.UsesSKID:
			n = append(n, fmt.Sprintf("SignerInfo %d version %d does not match its signer identifier form", i+1, si.Version))
		}
		if d := digestByOID(si.DigestAlgorithm.Algorithm); d == nil {
			n = append(n, fmt.Sprintf("SignerInfo %d digest %s is unknown to every kernel (ENOPKG)", i+1, oidName(si.DigestAlgorithm.Algorithm)))
		} else if !d.known(v(6, 1)) {
			n = append(n, fmt.Sprintf("SignerInfo %d digest %s needs Linux %d.%d or later", i+1, d.name, d.since.major, d.since.minor))
		}
		if p := pkeyByOID(si.SignatureAlgorithm.Algorithm); p == nil {
			n = append(n, fmt.Sprintf("SignerInfo %d signature algorithm %s is not accepted by the kernel (ENOPKG; module signatures use rsaEncryption or ecdsa-with-*)",
				i+1, oidName(si.SignatureAlgorithm.Algorithm)))
		}
	}
	return n
}

func digestName(oid []int) string {
	if d := digestByOID(oid); d != nil {
		return d.name
	}
	return oidString(oid)
}

func pkeyName(oid []int) string {
	if p := pkeyByOID(oid); p != nil {
		return p.name
	}
	return oidName(oid)
}

func oidString(oid []int) string {
	var b bytes.Buffer
	for i, c := range oid {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, c)
	}
	return b.String()
}

// Strip returns the module before the outermost signature: the first size − 40 − sig_len
// bytes. An inner signature (a module signed twice) stays; strip again to remove it.
func (Driver) Strip(m formats.Module) ([]byte, error) {
	t, err := readTrailer(m)
	if err != nil {
		return nil, err
	}
	return m.ReadAt(Format, 0, t.PayloadLen)
}

// Sign appends sign-file's signature: unsigned ‖ CMS ‖ module_signature{id_type 2} ‖ marker.
// The certificate is k.Certificate() (given or derived); o.Hash defaults to SHA-256; o.KeyID
// identifies the signer by SKID like sign-file -k; o.Time is refused with formats.ErrUntimed
// (sign-file writes no signed attributes, so no signing time). DSA and Ed25519 keys are refused with
// formats.ErrKeyType. A module that already ends with the marker is signed again, as
// sign-file does (a warning goes to o.Warn): strip it first to replace the signature.
func (Driver) Sign(unsigned []byte, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	if k == nil || k.Signer == nil {
		return nil, fmt.Errorf("%w: pkcs7 signs with RSA or ECDSA keys (DSA cannot be used)", formats.ErrKeyType)
	}
	if !o.Time.IsZero() {
		return nil, fmt.Errorf("pkcs7: %w (sign-file's SignedData has no signing-time attribute)", formats.ErrUntimed)
	}
	cert, err := k.Certificate()
	if err != nil {
		return nil, err
	}
	if bytes.HasSuffix(unsigned, []byte(formats.Marker)) {
		o.Warnf("module already ends with a signature; appending a second one like sign-file does (strip first to replace it)")
	}
	h := o.Hash
	if h == 0 {
		h = DefaultHash
	}
	digestOf := func(h crypto.Hash) ([]byte, error) {
		if !h.Available() {
			return nil, fmt.Errorf("%w: %s not available", formats.ErrHash, formats.HashName(h))
		}
		return o.Digests.Sum(h, unsigned), nil // hashes, and remembers for the self-check
	}
	cms, err := signCMS(digestOf, k.Signer, cert, h, o.KeyID, o)
	if err != nil {
		return nil, err
	}
	return o.AppendModSig(unsigned, nil, nil, cms, formats.ModSig{IDType: formats.IDTypePKCS7})
}

// ExportKey returns the DER X.509 certificate, what the kernel build embeds (certs/signing_key.x509)
// and what `keyctl padd asymmetric` or the MOK list take.
func (Driver) ExportKey(k *keys.Material, o formats.SignOptions) ([]byte, string, error) {
	cert, err := k.Certificate()
	if err != nil {
		return nil, "", err
	}
	return append([]byte{}, cert.Raw...), "signing_key.x509", nil
}

// certMatches reports whether cert is the one si names.
func certMatches(cert *x509.Certificate, si *SignerInfo) bool {
	if si.UsesSKID {
		return len(cert.SubjectKeyId) > 0 && bytes.Equal(cert.SubjectKeyId, si.SubjectKeyID)
	}
	n := si.SerialNumber()
	return n != nil && bytes.Equal(cert.RawIssuer, si.Issuer) && cert.SerialNumber.Cmp(n) == 0
}
