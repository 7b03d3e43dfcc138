package vectors

import (
	"bytes"
	"crypto"
)

// flagNotes explains every flag a test may carry (the manifest's "notes").
var flagNotes = map[string]string{
	"SignFileProfile":       "pkcs7: the CMS exactly as sign-file writes it (no signed attributes, no certificates, rsaEncryption or ecdsa-with-SHA*).",
	"SkidSigner":            "pkcs7: SignerInfo identified by subjectKeyIdentifier (sign-file -k, CMS version 3); modinfo prints nothing for it.",
	"Unsigned":              "No signature of any format; the verdict is the era's rule for unsigned modules.",
	"TamperedPayload":       "One payload byte changed after signing (a .modinfo letter, or a .text byte where .modinfo is not covered).",
	"TamperedSignature":     "The last byte of the signature value changed.",
	"UnknownKey":            "A valid signature by a key that is not in the group's keyring.",
	"CorruptASN1":           "The CMS does not parse.",
	"CorruptTrailer":        "The trailer's lengths do not fit the file or each other.",
	"CorruptContainer":      "The signature container (ELF section or note, length field) is malformed.",
	"NonZeroParams":         "pkcs7: a module_signature field that must be zero for PKCS#7 is not.",
	"UnsupportedHash":       "A digest the era's kernel cannot compute.",
	"UnsupportedAlgorithm":  "A public-key algorithm or algorithm field the era's kernel cannot verify.",
	"SignedAttributes":      "pkcs7: CMS with signed attributes, which module signatures must not have ('has authattrs').",
	"SignatureAlgorithmOID": "pkcs7: signatureAlgorithm sha256WithRSAEncryption, which Linux 6.1's PKCS#7 parser does not map ('Unsupported pkey algo').",
	"WrongIDType":           "A signature in a trailer block with another id_type than the era expects.",
	"EmbeddedCertificate":   "pkcs7: the signer's certificate is embedded in the CMS; the kernel still requires the key in its keyring.",
	"AttachedContent":       "pkcs7: non-detached CMS ('PKCS#7 signature with non-detached data').",
	"NestedSignature":       "A signed module signed again; the kernel checks the outermost signature only.",
	"NotRelocatableELF":     "Not a relocatable ELF object (ELF magic, class, type, section table): after the signature check passes or is forgiven, the kernel refuses it with ENOEXEC.",
	"EcdsaLength":           "pkcs7: an ECDSA signature whose DER length differs by a byte from another vector's (r or s with or without a leading 00): never assume a fixed length.",
	"ExpiredCertificate":    "The signing certificate's validity ended in 2001.",
	"ShortMPI":              "OpenPGP: the RSA signature has a leading zero byte, so its MPI is one byte shorter than the modulus; early Howells code required equal lengths (EBADMSG).",
	"V3Signature":           "OpenPGP: a version 3 signature packet; the Howells code hashed v3 trailers one byte off, so none ever verified.",
	"DuplicateIssuer":       "OpenPGP: two Issuer subpackets; the Howells parser requires exactly one (EBADMSG).",
	"NewFormatPacket":       "OpenPGP: a new-format packet header (c2), as modern OpenPGP libraries write it.",
	"DsaSignature":          "A DSA signature where the era verifies RSA only, or the reverse.",
	"RsaSignature":          "An RSA signature where the era's kernel (ksign) verifies DSA only.",
	"Md5":                   "MD5 digest: verifiable by the era's kernel, written only with --force.",
	"Ripemd160":             "RIPEMD-160 digest (OpenPGP uses the TeleTrusT DigestInfo OID).",
	"RelaText":              "gkh2004: an x86-64 module with .rela.* sections, which the kernel rule hashes (their names do not contain '.rel.') and the libbfd signer does not.",
	"LibbfdStream":          "gkh2004: signed over the libbfd signer's section stream; the kernel rule hashes another stream on RELA modules, so the kernel would refuse it.",
	"RelText":               "gkh2004: an i386 module with .rel.text, which both rules exclude.",
	"UnsignedModinfo":       "gkh2004: .modinfo is not covered by the text/data stream, so changing it keeps the signature valid.",
	"EncryptedForm":         "gkh2004: variant encrypted, the article's scheme: the SHA-1 line of the stream encrypted to the key (gpg -e); only the private key can check it.",
	"RawMPI":                "gkh2004: variant rsa, a bare OpenPGP MPI of the RSA signature (reconstruction).",
	"CrossArch":             "An ELF fixture of another architecture or byte order (i386 ELF32 LE, ppc32be ELF32 BE, s390x ELF64 BE).",
	"LaterRhel6Hash":        "rhel6: a DSA signature with SHA-256, verified by later RHEL6 updates that take the hash from the packet.",
	"OtherKeyID":            "The same DSA key under another OpenPGP creation time (2013-01-01, also the signature time), hence another key id the keyring does not have.",
	"DigsigV2":              "digsig2012: a version 2 signature (evmctl -x style header) inside the 2012 module wrapper.",
	"HashFieldMismatch":     "digsig2012: v1 header says SHA-1 but the file digest is SHA-256, as evmctl -a sha256 wrote before 2013 (00caa1d).",
	"SignerNameBranch":      "x509: a certificate subject exercising one branch of the kernel's signer-name rule (x509_fabricate_name).",
	"Rc1Layout":             "x509: the Linux 3.7-rc1 layout (payload, marker, signer, key_id, signature, block), which kmodsig reads and never writes.",
	"ModernKernel":          "The artifact judged by a later kernel that no longer knows its format.",
	"EarlyKernel":           "The artifact judged by the earlier release of the same code.",
}

// sha returns the digest of b.
func sha(h crypto.Hash, b []byte) []byte {
	w := h.New()
	w.Write(b)
	return w.Sum(nil)
}

func bytesIndex(b []byte, s string) int { return bytes.Index(b, []byte(s)) }
