// Package formats is the contract every signature format plugs into, and what the formats
// share.
//
// # Drivers
//
// Each format is one [Driver] (Detect, Parse, Strip, Sign, Verify), registered by its stable
// id with [Register] from the package that implements it: pkcs7sig ("pkcs7"), x509sig ("x509",
// "pgp-trailer"), gpgsig ("gpg2012"), digsig ("digsig2012"), elfsig ("rhel6", "rhel5",
// "gkh2004"). [Detect] asks them in the order of FORMATS.md "Detection" (Info.Order): the
// module_signature trailers at the end of the file first, then the two MAGIC30 trailers, then
// the ELF sections. A module no driver claims is unsigned (format "none").
//
// # Modules
//
// A [Module] is the decompressed bytes behind an io.ReaderAt, so that a driver whose signature
// sits at the end reads the tail only; [Module.Prefix] is the payload before an appended
// signature, without a copy.
//
// # Verdicts
//
// Verify returns a [Verdict] shaped like golang.org/x/mod/sumdb/note's outcomes: an [Outcome]
// (ok, unsigned, unknown-key, bad-signature, corrupt, unsupported, expired), the [Errno] the
// era's kernel would return in permissive and in enforcing mode, the key found or looked for,
// and a reason a person can act on. [Policy] names the kernel model of the era.
//
// # Shared codecs
//
// The `module_signature` block followed by [Marker] (id_type 0, 1, 2: [ParseModSig],
// [AppendModSig]) and the [Magic30] family (gpg2012's `%-5s` length, digsig2012's be16:
// [ReadMagic30Length], [AppendMagic30]) live here because more than one driver reads them.
// [SignDigest] and [SignDSA] make the randomised schemes reproducible (RFC 6979) when
// [SignOptions].Deterministic is set. On P-384 and P-521 the deterministic ECDSA signature is
// made here (signECDSA) rather than by crypto/ecdsa, whose Fermat inversion of the nonce was
// 38% of a P-384 signature and which no maintained library does faster; the bytes are
// crypto/ecdsa's, which the tests check signature for signature.
//
// # Errors and limits
//
// Malformed input is a [*FormatError] naming the file, the format and the byte offset; callers
// branch on the sentinels ([ErrNotSigned], [ErrKeyType], [ErrHash], [ErrReadOnly], ...) with
// errors.Is. Every length read from a file is checked against what remains and against
// [MaxModuleSize] and [MaxSignatureSize] before anything is allocated.
package formats
