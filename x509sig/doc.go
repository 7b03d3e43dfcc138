// Package x509sig implements the `x509` module-signature format of Linux 3.7 to 4.2 (the
// `module_signature` trailer with id_type 1) and, read-only, the id_type 0 "PGP" trailer
// (driver "pgp-trailer") that kmod and extract-module-sig.pl name but no mainline kernel
// ever verified.
//
// # Layout
//
// A signed module is
//
//	payload ‖ signer ‖ key_id ‖ be16 k ‖ RSA signature (k bytes) ‖ module_signature ‖ "~Module signature appended~\n"
//
// where module_signature is the 12-byte block {algo 1 (RSA), hash (kernel hash_algo: 1 md5,
// 2 sha1, 3 rmd160, 4 sha256, 5 sha384, 6 sha512, 7 sha224), id_type 1, signer_len,
// key_id_len, 3 pad bytes, be32 sig_len}. sig_len = 2 + k covers only the byte-count MPI
// (be16 k, then the raw RSASSA-PKCS1-v1_5 signature with its leading zero bytes kept), not the
// signer and key_id before it. The signature is PKCS#1 v1.5 with a DigestInfo over
// H(payload), where payload is the module exactly as it was before signing.
//
// signer is the certificate's name as the kernel fabricates it from the subject's CN, O and
// emailAddress ([keys.SignerName]); key_id is the raw subjectKeyIdentifier. The kernel looks
// the key up by the description "<signer>: <lower-case hex key_id>" among the asymmetric keys
// it loaded from X.509 certificates, so both must reproduce the trusted certificate's derived
// name and SKID byte for byte: a certificate without SKID cannot be used ([keys.ErrNoSKID]).
// Only RSA can be carried: a raw PKCS#1 signature cannot be anything else.
//
// modinfo (kmod) shows such a module as sig_id "X509", signer, sig_key = key_id,
// sig_hashalgo from kmod's own hash table (the kernel's numbers, plus 8 = sm3), and a
// signature that INCLUDES the be16 prefix; [Driver.Parse] reports exactly those values.
//
// # Pre-release variant rc1
//
// Linux 3.7-rc1 (Rusty Russell's signature-checking hook plus the first module_signing.c,
// torvalds/linux 48ba2462) put the marker between payload and signature:
//
//	payload ‖ MARKER ‖ signer ‖ key_id ‖ be16 k ‖ RSA ‖ module_signature
//
// and the kernel split the module at the first marker it found. kmodsig reads this layout
// (variant "rc1") and never writes it. It is claimed only when the block's lengths add up
// exactly to the bytes between marker and block and the marker lies beyond the end of the ELF
// image (after every section's data and the section header table), so that a marker string
// inside .rodata is never mistaken for a signature [INF].
//
// # Verification models
//
// [Driver.Verify] checks the signature the way mod_verify_sig did, step for step, and reports
// what a kernel would return. formats.Policy.Kernel picks the kernel ([ParseKernel]): "" is
// "linux-3.7" ("linux-3.7-rc1" for an rc1 module); any "linux-X.Y[.Z]" maps to its era:
//
//   - before 3.7: no checking; everything loads (the Outcome still judges the signature).
//   - 3.7 to 4.2: lengths that do not fit → EBADMSG; algo != 1 or id_type != 1 → ENOPKG; hash
//     above 7 → ENOPKG; no key with that description → ENOKEY (the only error forgiven when
//     not enforcing: the module loads and taints the kernel); sig_len < 3 or sig_len − 2 !=
//     be16 → EBADMSG (checked after the key lookup, as the kernel did); then the kernel's own
//     RSA code (crypto/asymmetric_keys/rsa.c): a value not below the modulus or longer than
//     it → EBADMSG, a decoded block that does not start 00 01 → ERANGE (what a corrupted
//     signature value almost always gives), bad padding or DigestInfo → EBADMSG, digest
//     mismatch (a tampered payload) → EKEYREJECTED. md4 (hash 0) has a kernel name but no
//     RSA template → ENOTSUPP [INF: assumes CONFIG_CRYPTO_MD4]. Certificates the kernel's
//     X.509 loader refused count as absent → ENOKEY: non-RSA keys; before 3.17 [INF] no
//     authorityKeyIdentifier ("must have SubjKeyId and AuthKeyId extensions"); before 3.12
//     [INF] a certificate outside its validity period at load time ("Cert %s has expired"),
//     reported as Outcome Expired when the signature itself is good. FORMATS.md's "expired:
//     no check, Ok" [INF] holds from 3.12 on: the 3.7 x509_key_preparse checked the dates.
//   - "linux-3.7-rc1": the module is split at the first marker in the file and the block's
//     lengths must add up exactly (EBADMSG otherwise), then as 3.7; unsigned loads with taint
//     when permissive and is EKEYREJECTED when enforcing (FORMATS.md "Rusty's hook") [INF].
//   - 4.3 to 5.3 and 5.4 on (6.1 observed): these kernels accept only PKCS#7 (id_type 2).
//     After the sig_len check (EBADMSG) an id_type 1 or 0 trailer is "not signed with
//     expected PKCS#7 message": ENOPKG, fatal in both modes before 5.4, and from 5.4 on
//     permissive Ok with taint, enforcing EKEYREJECTED (ORACLES.md §8.5 variant 21). The
//     verdict's notes say what the signature would be under 3.7.
//
// ERANGE and ENOTSUPP are reported as [ErrnoERANGE] and formats.ErrnoENOTSUPP.
//
// # Sources
//
// torvalds/linux kernel/module_signing.c @ 48ba2462 (rc1) and the 3.10-era copy in
// melvilli/kernel_msm8916_outrageous @ 945fb24b (kernel/module_signing.c,
// crypto/asymmetric_keys/rsa.c, x509_public_key.c with its 3.18 merge); a 3.7-era
// crypto/asymmetric_keys/x509_public_key.c (Howells 2012: SKID+AKID required, validity dates
// checked); kmod libkmod/libkmod-signature.c @ 84fa569b; FORMATS.md section `x509`. Checked
// against modinfo (fields), openssl dgst -verify (the carved RSA value), the host kernel's
// asymmetric keys (key description, keyctl pkey_verify) and, for the 6.1 verdicts, ORACLES.md
// §8.5. No kernel code is copied here.
//
// RIPEMD-160: Go's crypto/rsa writes a DigestInfo with the ISO OID 1.0.10118.3.0.49; the
// kernel (and OpenSSL) expect 1.3.36.3.2.1, which formats.SignDigest, the signer Sign calls,
// encodes itself.
package x509sig
