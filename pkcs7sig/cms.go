package pkcs7sig

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/kmodsig/kmodsig/internal/memo"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Format is the format id of this package's driver.
const Format = "pkcs7"

// MaxCMSSize is the largest CMS blob the Linux ASN.1 decoder accepts: it refuses anything over
// 65535 bytes with EMSGSIZE (lib/asn1_decoder.c). Parsing accepts up to
// formats.MaxSignatureSize; Verify models the kernel's limit.
const MaxCMSSize = 65535

// Context-specific tags of the grammar the kernel accepts (crypto/asymmetric_keys/pkcs7.asn1).
var (
	tagCtx0C = cbasn1.Tag(0).ContextSpecific().Constructed() // [0] constructed: content, certificates, signed attributes
	tagCtx1C = cbasn1.Tag(1).ContextSpecific().Constructed() // [1] crls, unsigned attributes
	tagCtx2C = cbasn1.Tag(2).ContextSpecific().Constructed() // [2] certificates (sequence), signed attributes (explicit)
	tagCtx3C = cbasn1.Tag(3).ContextSpecific().Constructed() // [3] crls (sequence), unsigned attributes (sequence)
	tagCtx0P = cbasn1.Tag(0).ContextSpecific()               // [0] IMPLICIT subjectKeyIdentifier
)

// AlgorithmIdentifier is an algorithm OID and its raw parameters (a whole TLV; nil when absent).
type AlgorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters []byte
}

// SignedData is a CMS ContentInfo carrying SignedData (RFC 5652 §5), parsed with the
// tolerance of the Linux PKCS#7 parser: SET or SEQUENCE for the algorithm and signer lists,
// either tag for certificates, CRLs and attributes, issuer+serial or SKID signers, BER
// indefinite lengths. Raw parts are kept so that [SignedData.Marshal] gives back the input
// byte for byte when the input was DER.
type SignedData struct {
	Version          int64
	DigestAlgorithms []AlgorithmIdentifier
	// ContentType is the encapsulated content type (id-data for modules).
	ContentType asn1.ObjectIdentifier
	// Content is the encapsulated content element (the TLV inside [0] EXPLICIT, an OCTET
	// STRING for id-data), nil when detached, as sign-file writes it.
	Content []byte
	// Certificates and CRLs are the raw elements of the optional lists.
	Certificates [][]byte
	CRLs         [][]byte
	HasCerts     bool
	HasCRLs      bool
	SignerInfos  []SignerInfo
	// BER reports input that was not DER (indefinite or non-minimal lengths) and was
	// normalised before parsing; offsets in errors then refer to the normalised form.
	BER bool
	// Trailing holds bytes after the ContentInfo (the kernel ignores them).
	Trailing []byte

	digestAlgsTag, certsTag, crlsTag, signerInfosTag cbasn1.Tag
}

// SignerInfo is one signer.
type SignerInfo struct {
	Version int64
	// Issuer (raw Name DER) and Serial (raw INTEGER contents) identify the signer for
	// version 1; SubjectKeyID for version 3 (sign-file -k). Exactly one form is set.
	Issuer       []byte
	Serial       []byte
	SubjectKeyID []byte
	UsesSKID     bool

	DigestAlgorithm AlgorithmIdentifier
	// SignedAttrs is the raw signed-attributes element, nil when absent (sign-file: absent).
	SignedAttrs        []byte
	SignatureAlgorithm AlgorithmIdentifier
	Signature          []byte
	// UnsignedAttrs is the raw unsigned-attributes element, nil when absent.
	UnsignedAttrs []byte

	// Off is the offset of this SignerInfo in the CMS blob; SigOff that of the signature value.
	Off    int64
	SigOff int64
}

// SerialNumber returns the issuer serial as an integer (nil for a SKID signer).
func (si *SignerInfo) SerialNumber() *big.Int {
	if si.UsesSKID || len(si.Serial) == 0 {
		return nil
	}
	n := new(big.Int).SetBytes(si.Serial)
	if si.Serial[0]&0x80 != 0 { // negative two's complement: what a broken signer wrote
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(si.Serial))))
	}
	return n
}

// SerialBytes returns the serial's magnitude without leading zero bytes: modinfo's sig_key.
func (si *SignerInfo) SerialBytes() []byte {
	n := si.SerialNumber()
	if n == nil {
		return nil
	}
	b := new(big.Int).Abs(n).Bytes()
	if len(b) == 0 {
		return []byte{0}
	}
	return b
}

// IssuerString returns the issuer Name in RFC 4514 form ("CN=...,O=...").
func (si *SignerInfo) IssuerString() string { return issuerStrings.Get(si.Issuer, issuerString) }

func issuerString(issuer []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(issuer, &rdn); err != nil || len(rest) > 0 {
		return fmt.Sprintf("(unparsable issuer %X)", issuer)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

// IssuerName returns what modinfo prints as signer: the issuer's first commonName, or when
// there is none the value of the last attribute of the Name.
func (si *SignerInfo) IssuerName() string { return issuerNames.Get(si.Issuer, issuerName) }

// A module set is signed by one or a few keys: its issuers' names are worked out once
// (internal/memo).
var issuerNames, issuerStrings memo.Strings

func issuerName(issuer []byte) string {
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(issuer, &rdn); err != nil {
		return ""
	}
	last := ""
	for _, set := range rdn {
		for _, atv := range set {
			s := fmt.Sprint(atv.Value)
			if atv.Type.Equal(oidCN) {
				return s
			}
			last = s
		}
	}
	return last
}

// Describe names the signer for messages: "issuer CN=x, serial 01:02" or "subjectKeyIdentifier ab:cd".
func (si *SignerInfo) Describe() string {
	if si.UsesSKID {
		return "subjectKeyIdentifier " + colonHex(si.SubjectKeyID, false)
	}
	return "issuer " + si.IssuerString() + " serial " + colonHex(si.SerialBytes(), true)
}

// colonHex renders b as hex bytes joined by colons ("AB:CD" or "ab:cd").
func colonHex(b []byte, upper bool) string {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// CMSError is a malformed CMS blob: the offset inside the blob and what is wrong.
type CMSError struct {
	Off int64
	Msg string
}

func (e *CMSError) Error() string { return fmt.Sprintf("CMS offset %d: %s", e.Off, e.Msg) }

// ErrNotCMS is wrapped by errors for blobs that are not a CMS SignedData at all.
var ErrNotCMS = errors.New("not a CMS SignedData")

// ParseCMS parses a CMS ContentInfo{SignedData} blob. It returns a *CMSError for structural
// problems; algorithm, version and profile checks are left to the caller (the kernel model
// in Verify), so everything the kernel's grammar admits parses. Input that is not DER is
// normalised first and the result has BER set.
func ParseCMS(b []byte) (*SignedData, error) {
	if len(b) > maxParse {
		return nil, &CMSError{0, fmt.Sprintf("%d bytes above the %d-byte limit", len(b), maxParse)}
	}
	sd, err := parseDER(b)
	if err == nil {
		return sd, nil
	}
	norm, berr := berToDER(b)
	if berr != nil || bytes.Equal(norm, b) {
		return nil, err
	}
	sd, err2 := parseDER(norm)
	if err2 != nil {
		return nil, err2
	}
	sd.BER = true
	return sd, nil
}

// maxParse is formats.MaxSignatureSize, restated to keep the codec free of formats.
const maxParse = 1 << 20

type cmsParser struct {
	full []byte
}

func (p *cmsParser) off(s cryptobyte.String) int64 { return int64(cap(p.full) - cap(s)) }

func (p *cmsParser) errf(s cryptobyte.String, format string, args ...any) error {
	return &CMSError{p.off(s), fmt.Sprintf(format, args...)}
}

func parseDER(b []byte) (*SignedData, error) {
	p := &cmsParser{full: b}
	in := cryptobyte.String(b)
	var ci, sdS cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) {
		return nil, &CMSError{0, "ContentInfo is not a DER SEQUENCE: " + ErrNotCMS.Error()}
	}
	sd := &SignedData{}
	if len(in) > 0 {
		sd.Trailing = append([]byte(nil), in...)
	}
	at := ci
	if !ci.ReadASN1ObjectIdentifier(&ct) {
		return nil, p.errf(at, "ContentInfo contentType is not an OBJECT IDENTIFIER")
	}
	if !ct.Equal(oidSignedData) {
		return nil, p.errf(at, "contentType %s is not signedData: %v", ct, ErrNotCMS)
	}
	at = ci
	if !ci.ReadASN1(&sdS, tagCtx0C) || len(ci) != 0 {
		return nil, p.errf(at, "ContentInfo content is not a single [0] EXPLICIT SignedData")
	}
	outer := sdS
	if !outer.ReadASN1(&sdS, cbasn1.SEQUENCE) || len(outer) != 0 {
		return nil, p.errf(outer, "SignedData is not a single SEQUENCE")
	}
	at = sdS
	if !sdS.ReadASN1Integer(&sd.Version) {
		return nil, p.errf(at, "SignedData version is not a small INTEGER")
	}
	// digestAlgorithms: SET OF (DER) or SEQUENCE OF (kernel grammar).
	var algs cryptobyte.String
	at = sdS
	switch {
	case sdS.ReadASN1(&algs, cbasn1.SET):
		sd.digestAlgsTag = cbasn1.SET
	case sdS.ReadASN1(&algs, cbasn1.SEQUENCE):
		sd.digestAlgsTag = cbasn1.SEQUENCE
	default:
		return nil, p.errf(at, "digestAlgorithms is not a SET")
	}
	for len(algs) > 0 {
		a, err := p.readAlg(&algs, "digestAlgorithm")
		if err != nil {
			return nil, err
		}
		sd.DigestAlgorithms = append(sd.DigestAlgorithms, a)
	}
	// encapContentInfo
	var eci cryptobyte.String
	at = sdS
	if !sdS.ReadASN1(&eci, cbasn1.SEQUENCE) {
		return nil, p.errf(at, "encapContentInfo is not a SEQUENCE")
	}
	at = eci
	if !eci.ReadASN1ObjectIdentifier(&sd.ContentType) {
		return nil, p.errf(at, "eContentType is not an OBJECT IDENTIFIER")
	}
	if len(eci) > 0 {
		var ec cryptobyte.String
		at = eci
		if !eci.ReadASN1(&ec, tagCtx0C) || len(eci) != 0 {
			return nil, p.errf(at, "eContent is not a single [0] EXPLICIT element")
		}
		sd.Content = append([]byte{}, ec...)
	}
	// certificates [0] / [2], crls [1] / [3]
	at = sdS
	for _, t := range []cbasn1.Tag{tagCtx0C, tagCtx2C} {
		if sdS.PeekASN1Tag(t) {
			var certs cryptobyte.String
			sdS.ReadASN1(&certs, t)
			list, err := p.readElements(certs, "certificate")
			if err != nil {
				return nil, err
			}
			sd.Certificates, sd.HasCerts, sd.certsTag = list, true, t
			break
		}
	}
	for _, t := range []cbasn1.Tag{tagCtx1C, tagCtx3C} {
		if sdS.PeekASN1Tag(t) {
			var crls cryptobyte.String
			sdS.ReadASN1(&crls, t)
			list, err := p.readElements(crls, "CRL")
			if err != nil {
				return nil, err
			}
			sd.CRLs, sd.HasCRLs, sd.crlsTag = list, true, t
			break
		}
	}
	_ = at
	var sis cryptobyte.String
	at = sdS
	switch {
	case sdS.ReadASN1(&sis, cbasn1.SET):
		sd.signerInfosTag = cbasn1.SET
	case sdS.ReadASN1(&sis, cbasn1.SEQUENCE):
		sd.signerInfosTag = cbasn1.SEQUENCE
	default:
		return nil, p.errf(at, "signerInfos is not a SET (or certificates/crls have an unexpected tag)")
	}
	if len(sdS) != 0 {
		return nil, p.errf(sdS, "%d unexpected bytes after signerInfos", len(sdS))
	}
	for len(sis) > 0 {
		si, err := p.readSignerInfo(&sis)
		if err != nil {
			return nil, err
		}
		sd.SignerInfos = append(sd.SignerInfos, si)
	}
	return sd, nil
}

func (p *cmsParser) readAlg(s *cryptobyte.String, what string) (AlgorithmIdentifier, error) {
	var a AlgorithmIdentifier
	var seq cryptobyte.String
	at := *s
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return a, p.errf(at, "%s is not a SEQUENCE", what)
	}
	if !seq.ReadASN1ObjectIdentifier(&a.Algorithm) {
		return a, p.errf(at, "%s algorithm is not an OBJECT IDENTIFIER", what)
	}
	if len(seq) > 0 {
		var params cryptobyte.String
		var tag cbasn1.Tag
		pat := seq
		if !seq.ReadAnyASN1Element(&params, &tag) || len(seq) != 0 {
			return a, p.errf(pat, "%s parameters are not one element", what)
		}
		a.Parameters = append([]byte{}, params...)
	}
	return a, nil
}

func (p *cmsParser) readElements(s cryptobyte.String, what string) ([][]byte, error) {
	var out [][]byte
	for len(s) > 0 {
		var el cryptobyte.String
		var tag cbasn1.Tag
		at := s
		if !s.ReadAnyASN1Element(&el, &tag) {
			return nil, p.errf(at, "malformed %s element", what)
		}
		out = append(out, append([]byte{}, el...))
	}
	return out, nil
}

func (p *cmsParser) readSignerInfo(s *cryptobyte.String) (SignerInfo, error) {
	var si SignerInfo
	var seq cryptobyte.String
	at := *s
	si.Off = p.off(at)
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return si, p.errf(at, "SignerInfo is not a SEQUENCE")
	}
	at = seq
	if !seq.ReadASN1Integer(&si.Version) {
		return si, p.errf(at, "SignerInfo version is not a small INTEGER")
	}
	at = seq
	switch {
	case seq.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias, issuer, serial cryptobyte.String
		seq.ReadASN1(&ias, cbasn1.SEQUENCE)
		iat := ias
		if !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
			return si, p.errf(iat, "issuerAndSerialNumber issuer is not a Name")
		}
		sat := ias
		if !ias.ReadASN1(&serial, cbasn1.INTEGER) || len(serial) == 0 || len(ias) != 0 {
			return si, p.errf(sat, "issuerAndSerialNumber serialNumber is not an INTEGER")
		}
		si.Issuer = append([]byte{}, issuer...)
		si.Serial = append([]byte{}, serial...)
	case seq.PeekASN1Tag(tagCtx0P):
		var skid cryptobyte.String
		seq.ReadASN1(&skid, tagCtx0P)
		si.SubjectKeyID = append([]byte{}, skid...)
		si.UsesSKID = true
	default:
		return si, p.errf(at, "SignerIdentifier is neither issuerAndSerialNumber nor [0] subjectKeyIdentifier")
	}
	var err error
	if si.DigestAlgorithm, err = p.readAlg(&seq, "SignerInfo digestAlgorithm"); err != nil {
		return si, err
	}
	for _, t := range []cbasn1.Tag{tagCtx0C, tagCtx2C} {
		if seq.PeekASN1Tag(t) {
			var el cryptobyte.String
			seq.ReadASN1Element(&el, t)
			si.SignedAttrs = append([]byte{}, el...)
			break
		}
	}
	if si.SignatureAlgorithm, err = p.readAlg(&seq, "SignerInfo signatureAlgorithm"); err != nil {
		return si, err
	}
	var sig cryptobyte.String
	at = seq
	si.SigOff = p.off(at)
	if !seq.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return si, p.errf(at, "SignerInfo signature is not an OCTET STRING")
	}
	si.Signature = append([]byte{}, sig...)
	for _, t := range []cbasn1.Tag{tagCtx1C, tagCtx3C} {
		if seq.PeekASN1Tag(t) {
			var el cryptobyte.String
			seq.ReadASN1Element(&el, t)
			si.UnsignedAttrs = append([]byte{}, el...)
			break
		}
	}
	if len(seq) != 0 {
		return si, p.errf(seq, "%d unexpected bytes at the end of SignerInfo", len(seq))
	}
	return si, nil
}

// Marshal encodes sd as DER. For a blob parsed from DER it returns the input bytes.
func (sd *SignedData) Marshal() ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(sd.Version)
				b.AddASN1(orTag(sd.digestAlgsTag, cbasn1.SET), func(b *cryptobyte.Builder) {
					for _, a := range sd.DigestAlgorithms {
						addAlg(b, a)
					}
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					ct := sd.ContentType
					if ct == nil {
						ct = oidData
					}
					b.AddASN1ObjectIdentifier(ct)
					if sd.Content != nil {
						b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddBytes(sd.Content) })
					}
				})
				if sd.HasCerts || len(sd.Certificates) > 0 {
					b.AddASN1(orTag(sd.certsTag, tagCtx0C), func(b *cryptobyte.Builder) {
						for _, c := range sd.Certificates {
							b.AddBytes(c)
						}
					})
				}
				if sd.HasCRLs || len(sd.CRLs) > 0 {
					b.AddASN1(orTag(sd.crlsTag, tagCtx1C), func(b *cryptobyte.Builder) {
						for _, c := range sd.CRLs {
							b.AddBytes(c)
						}
					})
				}
				b.AddASN1(orTag(sd.signerInfosTag, cbasn1.SET), func(b *cryptobyte.Builder) {
					for i := range sd.SignerInfos {
						addSignerInfo(b, &sd.SignerInfos[i])
					}
				})
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return append(out, sd.Trailing...), nil
}

func orTag(t, def cbasn1.Tag) cbasn1.Tag {
	if t == 0 {
		return def
	}
	return t
}

func addAlg(b *cryptobyte.Builder, a AlgorithmIdentifier) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(a.Algorithm)
		if a.Parameters != nil {
			b.AddBytes(a.Parameters)
		}
	})
}

func addSignerInfo(b *cryptobyte.Builder, si *SignerInfo) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(si.Version)
		if si.UsesSKID {
			b.AddASN1(tagCtx0P, func(b *cryptobyte.Builder) { b.AddBytes(si.SubjectKeyID) })
		} else {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(si.Issuer)
				b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(si.Serial) })
			})
		}
		addAlg(b, si.DigestAlgorithm)
		if si.SignedAttrs != nil {
			b.AddBytes(si.SignedAttrs)
		}
		addAlg(b, si.SignatureAlgorithm)
		b.AddASN1OctetString(si.Signature)
		if si.UnsignedAttrs != nil {
			b.AddBytes(si.UnsignedAttrs)
		}
	})
}
