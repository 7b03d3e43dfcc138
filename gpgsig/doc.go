// Package gpgsig implements the `gpg2012` module-signature format and the OpenPGP
// signature-packet codec that every OpenPGP era of module signing shares (gkh2004, rhel5,
// rhel6 and gpg2012).
//
// # The codec
//
// [ParseSig] reads one signature packet (tag 2), version 2, 3 or 4, in old-format (0x88,
// 0x89, 0x8a) or new-format (0xc2) framing, checking every length against what remains.
// ProtonMail/go-crypto cannot parse v3 signatures, and the RHEL kernels accepted them, so
// this package keeps its own small codec and uses go-crypto only for keys, fingerprints and
// key rings. A parsed [Sig] marshals back byte for byte ([Sig.Marshal]).
//
// [SignDetached] writes what `gpg -b` of the era wrote: a v4 signature of class 0x00 in an
// old-format packet (0x89 for RSA-2048 and up), the Signature Creation Time as the only
// hashed subpacket and exactly one Issuer subpacket, unhashed. RSA is deterministic.
//
// [Digest] computes hash(payload ‖ [Sig.HashSuffix]) once, so the kernel models can apply
// their own rules on top of it: [VerifyDigest] separates a malformed RSA block
// ([ErrBadEncoding], EBADMSG in the Howells kernels) from a digest mismatch
// ([ErrBadSignature], EKEYREJECTED) and can apply the early "signature MPI as long as the
// modulus" rule ([VerifyOptions.StrictMPILength]); [Sig.HowellsV3Suffix] reproduces the
// off-by-one that made v3 signatures fail on those kernels.
//
// Parse errors are *formats.FormatError values with offsets relative to the parsed bytes;
// [Rebase] places them in a module.
package gpgsig
