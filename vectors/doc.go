// Package vectors generates kmodsig's deterministic test vectors: for every format, signed
// modules that are valid, broken in each way the era's kernel distinguishes, or that show
// one of the era's quirks, each with the verdict and the errno that kernel returns when
// loading it, permissive and enforcing.
//
// # The set
//
// [Generate] reads the committed keys and modules (a directory laid out like testdata:
// see [Inputs]) and returns a [Set]: one artifact per vector under a directory per format
// (pkcs7/rsa2048-sha256.ko, gpg2012/short-mpi.ko, ...), the public keys in each era's form
// under keys/ (DER certificates, OpenPGP public keyrings as `gpg --export` writes them, the
// digsig v1 key blob, gkh2004's rsa_key.c, modsign.pub), a manifest ([ManifestFile]) and its
// JSON Schema ([SchemaFile], draft 2020-12). `kmodsig vectors --out DIR` writes it;
// testdata/vectors holds the committed copy, which the tests regenerate and compare byte for
// byte.
//
// # The manifest
//
// The manifest follows Wycheproof: "algorithm", "schema", "numberOfTests", "header",
// "notes" (one line per flag) and "testGroups". A [Group] is one format judged by one kernel
// model (formats.Policy.Kernel) against one keyring ([Key].Keyring lists its files); each
// [Test] has a tcId, a comment, the artifact, a result ("valid": loads even when enforcing;
// "invalid": refused when enforcing; "acceptable": a good signature that some release or rule
// of the era refuses, named by its flags), the modelled outcome, the permissive and enforcing
// errno names, the hash, and flags naming the case (Unsigned, TamperedPayload, UnknownKey,
// ShortMPI, RelaText, SignedAttributes, ...).
//
// The expected values are written into the generator by hand from the result tables of
// FORMATS.md (and, where a driver read the era's kernel source more closely than the tables,
// from that source: rhel5 returns ksign's ENOENT and EBADMSG as they are; 3.7's RSA_I2OSP
// gives ERANGE for a corrupted signature; md4 in an x509 block is ENOTSUPP). They are never
// computed by kmodsig's verifier; the tests check the verifier against them.
//
// # Determinism
//
// RSA PKCS#1 v1.5 is deterministic; ECDSA and DSA signatures use RFC 6979 nonces
// (formats.SignOptions.Deterministic); OpenPGP and digsig times are [SigningTime]; derived
// certificates have fixed serials and dates; the DSA key's OpenPGP self-signature is
// re-made with an RFC 6979 nonce. Quirks that need a search (a short RSA MPI, an ECDSA
// signature of another DER length) count deterministically from a fixed start and record
// the seed in the test's comment. The gkh2004 "encrypted" variant's session key, RSA padding
// and cipher prefix come from a counter stream seeded with the recipient and the plaintext.
//
// # Independent checks
//
// The package's tests check every pkcs7 vector with `openssl cms -verify`, every x509
// vector's RSA value with `openssl dgst -verify`, every OpenPGP-based vector (gpg2012,
// gkh2004 detached, rhel5, rhel6) with `gpg --verify` over the carved signature and payload
// stream, gkh2004's encrypted vector with `gpg --decrypt` and the secret key (the plaintext
// must be the stream's SHA-1 line), every digsig vector with `evmctl ima_verify`, and log
// which vectors rely on kmodsig's verifier alone (corrupt containers, the raw gkh2004 MPI,
// unsigned modules).
package vectors
