// Package pkcs7sig implements the `pkcs7` module-signature format: a CMS SignedData appended
// to the module with a `module_signature` block of id_type 2 and the marker, the format of
// Linux 4.3 (commit 3f1e1bea, July 2015, "MODSIGN: Use PKCS#7 messages as module signatures")
// to today. [Driver] is registered with package formats as "pkcs7".
//
// # Layout
//
//	payload ‖ CMS (L bytes, DER) ‖ module_signature (12 bytes) ‖ "~Module signature appended~\n"
//
// The block is algo 0, hash 0, id_type 2, signer_len 0, key_id_len 0, three zero pad bytes and
// be32 L. The payload is the module exactly as it was before signing: file[0, size−40−L).
// A module signed twice (sign-file does not strip an existing signature) has a payload that
// itself ends with the marker; the kernel checks only the outer signature, and Parse says so
// in a note.
//
// # The CMS profile
//
// sign-file (scripts/sign-file.c, OpenSSL CMS API with NOCERTS, PARTIAL, BINARY, DETACHED,
// NOATTR, NOSMIMECAP) writes one detached SignedData over id-data with no certificates, no
// CRLs and one SignerInfo without signed or unsigned attributes:
//
//   - SignedData and SignerInfo version 1 with issuerAndSerialNumber (the issuer Name copied
//     from the certificate), or version 3 with a [0] subjectKeyIdentifier (sign-file -k,
//     [formats.SignOptions.KeyID]);
//   - digestAlgorithm without parameters: sha1, sha224, sha256, sha384, sha512, sha3-256,
//     sha3-384, sha3-512;
//   - signatureAlgorithm rsaEncryption with NULL parameters (the signature is RSASSA-PKCS1-v1_5
//     over DigestInfo(H(payload))) or ecdsa-with-SHA1/224/256/384/512 without parameters (the
//     signature is DER SEQUENCE{r, s} over H(payload)); for SHA-3 the id-ecdsa-with-sha3-*
//     OIDs (2.16.840.1.101.3.4.3.10–12), which the kernel names since 6.7. OpenSSL 3.0's
//     sign-file cannot make ECDSA/SHA-3 signatures at all.
//
// [Driver.Sign] and [SignCMS] produce that profile with golang.org/x/crypto/cryptobyte; for RSA
// the output is byte-identical to sign-file's (and to `openssl cms -sign -binary -noattr
// -nocerts -nosmimecap`), which the tests check for RSA-2048 and RSA-4096, every hash, both
// signer forms. ECDSA signatures are randomised unless [formats.SignOptions.Deterministic]
// (which the command line sets).
//
// [ParseCMS] reads more than it writes, as much as the kernel's grammar
// (crypto/asymmetric_keys/pkcs7.asn1) admits: BER indefinite and non-minimal lengths
// (normalised to DER first; [SignedData.BER] is then set and offsets refer to the normalised
// form), SET or SEQUENCE lists, embedded certificates and CRLs, signed and unsigned attributes,
// attached content, any number of SignerInfos, bytes after the ContentInfo. Parsing a DER
// blob and marshalling it again gives back the same bytes (the fuzz target checks this).
//
// # What modinfo shows
//
// kmod's modinfo prints sig_id "PKCS#7", signer = the issuer CN of the first SignerInfo (if
// there is none, the value of the issuer's last attribute), sig_key = the issuer serial number
// as minimal bytes, sig_hashalgo = the digest name, signature = the signature value.
// [Driver.Parse] fills [formats.Signature] with the same values. kmod 30 prints no signature
// lines at all for a SKID signer or a SHA-3 digest (observed); Parse then still reports the SKID
// as KeyID and leaves Signer empty.
//
// # What the kernel checks, and the verdicts
//
// [Driver.Verify] follows the kernel's own order (kernel/module/signing.c,
// kernel/module_signature.c, crypto/asymmetric_keys/pkcs7_{parser,verify,trust}.c, read in
// Debian's linux-source-6.1, no code copied):
//
//  1. no marker → unsigned (ENODATA);
//  2. sig_len ≥ size − 40 → EBADMSG; id_type ≠ 2 → ENOPKG ("not signed with expected PKCS#7
//     message"); any other non-zero block field → EBADMSG;
//  3. a CMS over 65535 bytes → EMSGSIZE (the kernel's ASN.1 decoder limit); malformed ASN.1 →
//     EBADMSG; SignedData or SignerInfo version other than 1 or 3 → EINVAL; SignerInfo v1 under
//     SignedData v3 or v3 under v1 → EBADMSG; a digest or signature algorithm the kernel's
//     parser does not name (sha256WithRSAEncryption, RSASSA-PSS, SHA-3 before 6.7, ECDSA before
//     5.13) → ENOPKG; an embedded certificate the X.509 parser refuses, or a CRL (the kernel's
//     grammar hands CRL entries to the X.509 parser, so real CRLs fail; inferred from
//     pkcs7.asn1) → EBADMSG;
//  4. attached content → EBADMSG; signed attributes → EKEYREJECTED ("has authattrs");
//  5. a signer certificate embedded in the CMS is used to check the signature (mismatch →
//     EKEYREJECTED) and is then looked up in the keyring, else the signer is looked up by
//     issuer+serial or SKID; not found → ENOKEY; found but the signature does not verify →
//     EKEYREJECTED. With several SignerInfos one trusted valid signer is enough. Against an
//     embedded certificate the crypto layer's own error comes back (inferred from
//     crypto/rsa-pkcs1pad.c: EINVAL for a block not starting 00 01, EBADMSG for broken
//     padding, EKEYREJECTED for a wrong digest).
//
// The kernel does not check certificate validity dates: an expired certificate verifies (a
// note says it expired). The binary-hash blacklist is not modelled.
//
// [formats.Policy].Kernel chooses the kernel model (see [Driver.Verify]): "" or "linux-6.1"
// (any 5.4+) forgives ENODATA, ENOKEY and ENOPKG when not enforcing (the module loads and
// taints the kernel with E) and returns EKEYREJECTED when enforcing; "linux-4.3" (4.3–5.3)
// forgives only ENOKEY and returns ENOKEY when enforcing, so an unsupported algorithm is ENOPKG
// in both modes. The 27 variants of ORACLES.md §8.5, observed on a real 6.1 kernel in qemu, are
// the acceptance table of the tests.
//
// # Timeline
//
//	4.3   PKCS#7 module signatures; sign-file in C; SKID signers (CMS v3)
//	5.4   lockdown rework: ENOPKG forgiven like ENOKEY, enforcing returns EKEYREJECTED [inferred version]
//	5.13  ECDSA module signing keys [inferred: documented for 5.13–5.15]
//	6.7   SHA-3 digests and id-ecdsa-with-sha3-*; SHA-1 removed from the PKCS#7 parser (back in 6.9)
//
// # Sources
//
// FORMATS.md section `pkcs7` and ORACLES.md §2, §3, §8 of the project; torvalds/linux
// scripts/sign-file.c, kernel/module/signing.c, kernel/module_signature.c,
// crypto/asymmetric_keys/pkcs7_parser.c, pkcs7_verify.c, pkcs7_trust.c, lib/asn1_decoder.c;
// kmod libkmod/libkmod-signature.c; RFC 5652 (CMS) and RFC 2315 (PKCS#7).
package pkcs7sig
