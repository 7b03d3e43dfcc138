// Package gpgsig implements the `gpg2012` module-signature format and the OpenPGP
// signature-packet codec that every OpenPGP era of module signing shares (gkh2004, rhel5,
// rhel6 and gpg2012).
//
// # The gpg2012 format
//
// David Howells' 2012 modsign tree ("the Rusty method", never merged) appended a GnuPG
// detached signature to the stripped module. Its scripts/Makefile.modpost ran
// `gpg --batch --no-greeting $KEYFLAGS -b foo.ko.stripped` and wrote
//
//	foo.ko.stripped ‖ foo.ko.stripped.sig ‖ printf %-5s <sig size> ‖ "This Is A Crypto Signed Module"
//
// so, from the end: 30 bytes of magic, a 5-character left-justified decimal length L (a
// 5-digit length runs straight into the magic's `T`), L bytes of binary OpenPGP signature
// packet, and before it the payload: every byte of the module as it was signed. The kernel
// parsed the length, refused L ≥ what remains with ELIBBAD, and verified the packet with the
// same OpenPGP code as the Fedora 2012 ELF-note form (FORMATS.md `rhel6` variant `rsa`).
// The documentation mentions "a couple of fixed-size lengths"; the only appended revision
// found has one, which is what this package reads and writes.
//
// [Driver.Detect] claims a module only when the structure holds (FORMATS.md Detection step
// 2): ASCII digits then spaces before the magic, a length that fits, and a signature packet
// header (88, 89, 8a, c2) at −35−L whose own length is exactly L. The digsig2012 trailer
// shares the magic but has a binary be16 length there and is never claimed.
//
// # What the kernel checked ([Driver.Verify])
//
// RSA v4 OpenPGP keys from the build's modsign.pub, loaded into `.module_sign` and looked up
// by the 8-byte key id of the signature's single Issuer subpacket. Results, permissive /
// enforcing, for the default model [KernelHowells] (after the 2012-08-02 series):
//
//	unsigned                           OK / EKEYREJECTED
//	signed, key not in the keyring     OK / ENOKEY   (ENOKEY / ENOKEY before 2012-08-02: [KernelHowellsEarly])
//	valid                              OK / OK
//	digest mismatch                    EKEYREJECTED
//	RSA block malformed                EBADMSG
//	key expired                        EKEYEXPIRED
//	DSA or other algorithm, unknown hash  ENOPKG
//	packet corrupt, Issuer count ≠ 1   EBADMSG
//	class other than 0x00, 0x02        EOPNOTSUPP
//	trailer length unreadable          ELIBBAD
//
// Quirks modelled: v3 signatures never verify (the kernel hashed the v3 trailer starting one
// byte early, [Sig.HowellsV3Suffix]); before "RSA: Fix signature verification for shorter
// signatures" an RSA signature whose MPI dropped a leading zero byte (1 in 256) was EBADMSG
// ([KernelHowellsEarly], and a note under the default model); the left-16 bits are not
// checked. Inferred, not read in the kernel source: key expiry is judged at verification
// time (the kernel checks it when the module loads, through the keyring), and also against
// the signature time; EOPNOTSUPP for the class check.
//
// [Driver.Sign] writes what the era's gpg wrote (see below) with SHA-1 by default
// ([DefaultHash], inferred from the Kconfig menu order), SHA-224/256/384/512 on request and
// MD5 only with Force; DSA keys are refused (the kernel had no DSA) unless forced. The
// signature time defaults to the key's creation time, so Strip then Sign reproduces an RSA
// module byte for byte. [Driver.ExportKey] writes modsign.pub: the binary public keyring
// with old-format packets, as `gpg --export` writes it.
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
// hashed subpacket and exactly one Issuer subpacket, unhashed. RSA is deterministic; DSA
// takes the leftmost bits of the digest (FIPS 186) and is randomised.
//
// [Digest] computes hash(payload ‖ [Sig.HashSuffix]) once, so the kernel models can apply
// their own rules on top of it: [VerifyDigest] separates a malformed RSA block
// ([ErrBadEncoding], EBADMSG in the Howells kernels) from a digest mismatch
// ([ErrBadSignature], EKEYREJECTED) and can apply the early "signature MPI as long as the
// modulus" rule ([VerifyOptions.StrictMPILength]).
//
// Parse errors are *formats.FormatError values with offsets relative to the parsed bytes;
// [Rebase] places them in a module.
//
// # How it is proven
//
// Against gpg 2.2 in a throwaway GNUPGHOME (ORACLES.md §5): modules made by the era's shell
// pipeline with a real `gpg -b` are read and verified; what Sign writes is carved out in
// shell and verified by `gpg --verify` with our modsign.pub imported, and `gpg
// --list-packets` shows v4, ctb 89 and an unhashed Issuer; secret keys exported by gpg
// (binary, armored, passphrase-protected, subkey-only) sign what gpg verifies. The v3 and
// v4 fixtures in testdata are made by generators in v3_test.go with the committed RSA key
// and verified by gpg (which still verifies v3 signatures, but no longer writes them).
//
// # Sources
//
// FORMATS.md sections gpg2012 and rhel6; kernelorg-mirror/linux_kernel_git_dhowells_linux-modsign
// scripts/Makefile.modpost @ 16433aa13da2e542bc11bf52fc739fc1d2d006df and
// Documentation/module-signing.txt @ 11fc83a3a1ee21c26773883697ef5a22ed5f664a; RFC 4880.
package gpgsig
