// Package digsig implements the digsig2012 module-signature format (Kasatkin and Zohar's
// "modsig" RFC of August 2012), the digsig v1 and v2 signature codec underneath it, the
// digsig v1 public-key blob and key ids, and the IMA forms of the same signatures
// (security.ima values and `.sig` sidecar files), so that kmodsig produces and checks what
// `evmctl` (ima-evm-utils) produces.
//
// # The story
//
// In August 2012 Dmitry Kasatkin and Mimi Zohar posted "modsig" (RFC v2): append a digsig
// signature to a module at install time, as Rusty Russell had suggested, and verify it with
// the integrity subsystem's digsig code against a `_module` keyring. The kernel patches were
// never merged and are not available; the signing side is: ima-evm-utils commit 203f058
// (2012-08-09) added `evmctl --modsig`, removed again in 2014 (5f30ed1). evmctl wrote
// `module.sig`, and the module was signed with `cat module.sig >> module.ko`.
//
// # Layout
//
//	payload ‖ signature (no 03 type byte) ‖ be16 S ‖ "This Is A Crypto Signed Module"
//
// S is the length of the signature part only. The payload is the module exactly as hashed.
// gpg2012 ends with the same 30-byte magic but puts five ASCII characters (`%-5s`) before
// it; [Driver.Detect] never claims that shape, and for any plausible S the byte at -32 is
// 00–03, never a digit or a space.
//
// # digsig v1 (the 2012 scheme)
//
// A 16-byte header (version 1, a 4-byte timestamp in the signer's host byte order, algo 0 =
// RSA, hash 0 = SHA-1 or 1 = SHA-256, an 8-byte key id, nmpi 1) followed by one MPI: be16 bit
// count (evmctl writes 8 × the modulus length) and the RSA output. What is signed is
// H = SHA1(D ‖ header) where D is the file digest (SHA-1 by default), padded as PKCS#1 v1.5
// type 1 with no DigestInfo. The key id is SHA1(public-key blob)[12:20] (see
// keys.DigsigKeyID); the kernel finds the user key whose description is sprintf("%llX")
// of it, upper-case hex with leading zeros dropped. The blob (pubkey_hdr: 01, zero
// timestamp, algo 0, nmpi 2, MPI(n), MPI(e)) is what `evmctl import --rsa` loads and what
// [Driver.ExportKey] writes. Signing is deterministic: the timestamp comes from
// SignOptions.Time or the key material's fixed creation time and is written little-endian,
// as evmctl wrote it on x86.
//
// # digsig v2 and the IMA forms
//
// An 8-byte header (version 2, kernel hash_algo, be32 key id = last 4 bytes of the signer
// certificate's SKID, be16 sig_size) and a standard signature over the file digest
// (RSASSA-PKCS1-v1_5 with DigestInfo, or DER ECDSA). The kernel's own struct of 3.18+
// counts the xattr type byte and so is 9 bytes. In IMA the signature is stored as
// security.ima = 03 ‖ signature ([ImaXattr], [SignIMA], [VerifyIMA]); `evmctl ima_sign
// --sigfile` writes the same bytes to `file.sig` ([SignFile], [VerifySigFile]).
//
// # Verification model
//
// [Signature.Verify] follows lib/digsig.c for v1: algo != 0 is ENOTSUPP; a key id not in
// the keyring is unknown-key (OK when permissive, ENOKEY when enforcing, the rule of the
// contemporary 3.7 loader); a padding, length or digest mismatch is EINVAL; the PKCS#1
// decoder accepts any number of FF bytes, as the kernel's does, and the kernel's check that
// the RSA result spans no more 64-bit limbs than the modulus has bytes is kept. A v1 header
// whose hash field disagrees with the digest that verifies is accepted with a note: evmctl
// before 2013 wrote 0 whatever -a said. For v2 the integrity asymmetric verifier's codes
// are used: corrupt EBADMSG, unknown hash ENOPKG, bad signature EKEYREJECTED.
//
// # What is inferred
//
// Everything about the kernel side of the RFC: that the hook checked the last 30 bytes,
// read the be16 before them, digested the bytes before the signature with SHA-1 and called
// the digsig verifier on `_module`; its permissive/enforcing policy; the v2 result codes
// inside the modsig wrapper. Also inferred: a v2 signature in the modsig wrapper (evmctl
// could emit one after 2013 but the wrapper was gone by then). The codec reads the MPI and
// sig_size strictly (they must fill the signature exactly) where the kernel would ignore
// trailing bytes in an xattr.
//
// Sources: ima-evm-utils src/evmctl.c @ 203f058 and src/libimaevm.c; linux lib/digsig.c,
// include/linux/digsig.h, security/integrity/digsig_asymmetric.c; the RFC v2 cover letter.
// Checked against evmctl 1.4 (sign_hash, ima_sign, ima_verify, import) and the host kernel
// keyring (keyctl).
package digsig
