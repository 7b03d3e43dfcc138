package pkcs7sig

import (
	"crypto"
	"encoding/asn1"
)

// Object identifiers of the CMS profile and of every algorithm the Linux PKCS#7 parser names.
var (
	oidData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidMSIndirectData = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}

	oidECDSAWithSHA1     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA224   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidECDSAWithSHA3_256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 10}
	oidECDSAWithSHA3_384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 11}
	oidECDSAWithSHA3_512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 12}
	oidSM2WithSM3        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	oidGOST2012PKey256   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 1}
	oidGOST2012PKey512   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 2}

	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// digestAlg is one digestAlgorithm the kernel's PKCS#7 parser knows (pkcs7_sig_note_digest_algo).
type digestAlg struct {
	oid  asn1.ObjectIdentifier
	name string      // the kernel's (and modinfo's) name
	hash crypto.Hash // 0 when Go cannot compute it
	// since is the first kernel version whose parser names the digest.
	since kver
	// gap is a range of versions that dropped it (SHA-1: 6.7 and 6.8).
	gapFrom, gapTo kver
}

var digestAlgs = []digestAlg{
	{oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 4}, name: "md4", since: v(4, 3)},
	{oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}, name: "md5", hash: crypto.MD5, since: v(4, 3)},
	{oid: asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, name: "sha1", hash: crypto.SHA1, since: v(4, 3), gapFrom: v(6, 7), gapTo: v(6, 8)},
	{oid: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}, name: "sha224", hash: crypto.SHA224, since: v(4, 3)},
	{oid: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, name: "sha256", hash: crypto.SHA256, since: v(4, 3)},
	{oid: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, name: "sha384", hash: crypto.SHA384, since: v(4, 3)},
	{oid: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, name: "sha512", hash: crypto.SHA512, since: v(4, 3)},
	{oid: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 8}, name: "sha3-256", hash: crypto.SHA3_256, since: v(6, 7)},
	{oid: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 9}, name: "sha3-384", hash: crypto.SHA3_384, since: v(6, 7)},
	{oid: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 10}, name: "sha3-512", hash: crypto.SHA3_512, since: v(6, 7)},
	{oid: asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}, name: "sm3", since: v(5, 10)},
	{oid: asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 2}, name: "streebog256", since: v(5, 2)},
	{oid: asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 3}, name: "streebog512", since: v(5, 2)},
}

func digestByOID(oid asn1.ObjectIdentifier) *digestAlg {
	for i := range digestAlgs {
		if digestAlgs[i].oid.Equal(oid) {
			return &digestAlgs[i]
		}
	}
	return nil
}

func digestByHash(h crypto.Hash) *digestAlg {
	for i := range digestAlgs {
		if digestAlgs[i].hash == h && h != 0 {
			return &digestAlgs[i]
		}
	}
	return nil
}

// known reports whether kernel version k's PKCS#7 parser names the digest.
func (d *digestAlg) known(k kver) bool {
	if k.less(d.since) {
		return false
	}
	if d.gapFrom != (kver{}) && !k.less(d.gapFrom) && !d.gapTo.less(k) {
		return false
	}
	return true
}

// pkeyAlg is one signatureAlgorithm the kernel's parser knows (pkcs7_sig_note_pkey_algo).
type pkeyAlg struct {
	oid   asn1.ObjectIdentifier
	name  string // the kernel's pkey_algo
	since kver
}

var pkeyAlgs = []pkeyAlg{
	{oidRSAEncryption, "rsa", v(4, 3)},
	// ECDSA module signatures: 5.13 [DOC+INF, FORMATS.md timeline].
	{oidECDSAWithSHA1, "ecdsa", v(5, 13)},
	{oidECDSAWithSHA224, "ecdsa", v(5, 13)},
	{oidECDSAWithSHA256, "ecdsa", v(5, 13)},
	{oidECDSAWithSHA384, "ecdsa", v(5, 13)},
	{oidECDSAWithSHA512, "ecdsa", v(5, 13)},
	{oidECDSAWithSHA3_256, "ecdsa", v(6, 7)},
	{oidECDSAWithSHA3_384, "ecdsa", v(6, 7)},
	{oidECDSAWithSHA3_512, "ecdsa", v(6, 7)},
	{oidSM2WithSM3, "sm2", v(5, 10)},
	{oidGOST2012PKey256, "ecrdsa", v(5, 2)},
	{oidGOST2012PKey512, "ecrdsa", v(5, 2)},
}

func pkeyByOID(oid asn1.ObjectIdentifier) *pkeyAlg {
	for i := range pkeyAlgs {
		if pkeyAlgs[i].oid.Equal(oid) {
			return &pkeyAlgs[i]
		}
	}
	return nil
}

// ecdsaOID returns the ecdsa-with-H signatureAlgorithm sign-file (OpenSSL) writes for h.
func ecdsaOID(h crypto.Hash) asn1.ObjectIdentifier {
	switch h {
	case crypto.SHA1:
		return oidECDSAWithSHA1
	case crypto.SHA224:
		return oidECDSAWithSHA224
	case crypto.SHA256:
		return oidECDSAWithSHA256
	case crypto.SHA384:
		return oidECDSAWithSHA384
	case crypto.SHA512:
		return oidECDSAWithSHA512
	case crypto.SHA3_256:
		return oidECDSAWithSHA3_256
	case crypto.SHA3_384:
		return oidECDSAWithSHA3_384
	case crypto.SHA3_512:
		return oidECDSAWithSHA3_512
	}
	return nil
}

// oidName names well-known OIDs in reasons; others print dotted.
func oidName(oid asn1.ObjectIdentifier) string {
	if d := digestByOID(oid); d != nil {
		return d.name
	}
	switch {
	case oid.Equal(oidRSAEncryption):
		return "rsaEncryption"
	case oid.Equal(oidRSAPSS):
		return "RSASSA-PSS (1.2.840.113549.1.1.10)"
	case oid.Equal(oidData):
		return "data"
	case oid.Equal(oidSignedData):
		return "signedData"
	}
	if len(oid) == 7 && oid[:6].Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1}) {
		names := map[int]string{4: "md5WithRSAEncryption", 5: "sha1WithRSAEncryption", 11: "sha256WithRSAEncryption",
			12: "sha384WithRSAEncryption", 13: "sha512WithRSAEncryption", 14: "sha224WithRSAEncryption"}
		if n, ok := names[oid[6]]; ok {
			return n + " (" + oid.String() + ")"
		}
	}
	if p := pkeyByOID(oid); p != nil {
		return p.name + " (" + oid.String() + ")"
	}
	return oid.String()
}
