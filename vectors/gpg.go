package vectors

import (
	"bytes"
	"crypto"
	"fmt"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

const gpgTool = "gpg"

// gpgDecryptTool is the independent check of gkh2004's encrypted variant: `gpg --decrypt`
// with the secret key must give the hex SHA-1 line of the stream.
const gpgDecryptTool = "gpg-decrypt"

// gpgSig makes a detached OpenPGP signature of payload shaped like gpgsig.SignDetached,
// after edit has changed the unsigned packet (version, subpackets, header form). RSA only
// (deterministic).
func (g *gen) gpgSig(payload []byte, k *keys.Material, h crypto.Hash, t time.Time, edit func(*gpgsig.Sig)) []byte {
	s, err := gpgsig.NewSig(k, h, t)
	g.check(err, "OpenPGP signature")
	if edit != nil {
		edit(s)
	}
	d, err := gpgsig.Digest(s, bytes.NewReader(payload))
	g.check(err, "OpenPGP digest")
	g.check(gpgsig.SignDigest(s, k, d), "OpenPGP sign")
	b, err := s.Marshal()
	g.check(err, "OpenPGP signature")
	return b
}

// gpgTrailer appends a gpg2012 trailer: sig ‖ %-5d length ‖ MAGIC30.
func gpgTrailer(payload, sig []byte, length int) []byte {
	return formats.AppendMagic30(payload, sig, []byte(fmt.Sprintf("%-5d", length)))
}

// shortMPITime finds the first signature time from SigningTime on (one-second steps) at
// which k's SHA-1 signature of payload has a leading zero byte (an MPI shorter than the
// modulus), and returns it with the step count (the seed).
func (g *gen) shortMPITime(payload []byte, k *keys.Material, h crypto.Hash) (time.Time, int) {
	for i := 0; i < 4096; i++ {
		t := SigningTime.Add(time.Duration(i) * time.Second)
		b := g.gpgSig(payload, k, h, t, nil)
		s, _, err := gpgsig.ParseSig(b)
		g.check(err, "OpenPGP signature")
		if len(s.MPIs) == 1 && s.MPIs[0].Bits <= 2040 {
			return t, i
		}
	}
	g.fail("no short MPI found")
	return time.Time{}, 0
}

func (g *gen) gpg2012() {
	hello := g.module("hello")
	rsa2048 := g.key("rsa2048")
	untrusted := g.key("untrusted-rsa2048")
	dsaKey := g.key("dsa1024")
	good := Oracle{Tool: gpgTool, Good: true}
	bad := Oracle{Tool: gpgTool, Good: false}
	const kernel, early = "howells-2012", "howells-2012-early"
	sign := func(k *keys.Material, h crypto.Hash, force bool) []byte {
		return g.sign("gpg2012", hello, k, formats.SignOptions{Hash: h, Force: force})
	}
	key := g.pgpForm("rsa2048", rsa2048)
	g.export(&key, "gpg2012", rsa2048)
	untrustedRing := g.pgpForm("untrusted-rsa2048", untrusted).Keyring[0]
	dsaRing := g.pgpForm("dsa1024", dsaKey).Keyring[0]

	gr := g.group("gpg2012", kernel, key, "Howells' appended GPG trailer; the kernel model after the 2012-08-02 series (unknown key loads when not enforcing)")
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		gr.add(g, vpath("gpg2012", "rsa2048-"+formats.HashName(h)+".ko"), sign(rsa2048, h, false),
			expect("RSA-2048 "+formats.HashName(h)+", v4 signature shaped like gpg -b", formats.OK, errnoOK, errnoOK).hashed(h).with(good))
	}
	gr.add(g, vpath("gpg2012", "rsa2048-md5.ko"), sign(rsa2048, crypto.MD5, true),
		expect("MD5: the Howells parser accepts it (written only with --force)", formats.OK, errnoOK, errnoOK, "Md5").hashed(crypto.MD5).with(good))
	gr.add(g, vpath("gpg2012", "rsa2048-rmd160.ko"), gpgTrailerSig(hello, g.gpgSig(hello, rsa2048, crypto.RIPEMD160, SigningTime, nil)),
		expect("RIPEMD-160 (OpenPGP hash id 3): the Howells parser accepts it; kmodsig does not write it, so it is built from the packet codec", formats.OK, errnoOK, errnoOK, "Ripemd160").hashed(crypto.RIPEMD160).with(good))
	signed := sign(rsa2048, crypto.SHA1, false)
	sigEnd := len(signed) - 35
	L := len(signed) - len(hello) - 35
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module", formats.Unsigned, errnoOK, errnoEKEYREJECTED, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("gpg2012", "tampered-payload.ko"), g.flipModinfo(signed),
		expect("one .modinfo byte changed after signing", formats.BadSignature, errnoEKEYREJECTED, errnoEKEYREJECTED, "TamperedPayload").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("gpg2012", "tampered-signature.ko"), flip(signed, sigEnd-1, 0x01),
		expect("last byte of the RSA MPI changed: the PKCS#1 padding no longer decodes (EBADMSG)", formats.BadSignature, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, "TamperedSignature").hashed(crypto.SHA1).with(bad))
	unknown := sign(untrusted, crypto.SHA1, false)
	gr.add(g, vpath("gpg2012", "untrusted-rsa2048-sha1.ko"), unknown,
		expect("signed by a key not in the keyring: loads (tainted) when not enforcing", formats.UnknownKey, errnoOK, errnoENOKEY, "UnknownKey").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: untrustedRing}))
	sig := signed[len(hello):sigEnd]
	gr.add(g, vpath("gpg2012", "corrupt-length-plus1.ko"), gpgTrailer(hello, sig, L+1),
		expect("length field one too large: the kernel parses a packet from one byte too early (EBADMSG)", formats.Corrupt, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, "CorruptTrailer").with(Oracle{Why: "the trailer cannot be carved"}))
	gr.add(g, vpath("gpg2012", "corrupt-length-huge.ko"), gpgTrailer(hello, sig, 99999),
		expect("length field 99999, larger than the file", formats.Corrupt, formats.ErrnoELIBBAD, formats.ErrnoELIBBAD, "CorruptTrailer").with(Oracle{Why: "the trailer cannot be carved"}))
	gr.add(g, vpath("gpg2012", "dsa1024-sha1.ko"), sign(dsaKey, crypto.SHA1, true),
		expect("DSA signature: the Howells code has no DSA (ENOPKG) although its documentation claims it", formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG, "DsaSignature").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: dsaRing}))
	gr.add(g, vpath("gpg2012", "unknown-hash-id.ko"), gpgTrailerSig(hello, g.rehash(g.gpgSig(hello, rsa2048, crypto.SHA256, SigningTime, nil), 12)),
		expect("OpenPGP hash id 12 (SHA3-256 in RFC 9580), unknown to the era", formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG, "UnsupportedHash").with(Oracle{Why: "gpg 2.2 does not know hash id 12 either"}))
	t, seed := g.shortMPITime(hello, rsa2048, crypto.SHA1)
	short := g.sign("gpg2012", hello, rsa2048, formats.SignOptions{Hash: crypto.SHA1, Time: t})
	shortComment := fmt.Sprintf("RSA signature with a leading zero byte, found at signature time %s (seed %d seconds after %s)", t.Format(time.RFC3339), seed, SigningTime.Format(time.RFC3339))
	gr.add(g, vpath("gpg2012", "short-mpi.ko"), short,
		expect(shortComment+": verifies after 'RSA: Fix signature verification for shorter signatures'", formats.OK, errnoOK, errnoOK, "ShortMPI").hashed(crypto.SHA1).as(Acceptable).with(good))
	gr.add(g, vpath("gpg2012", "v3-signature.ko"), gpgTrailerSig(hello, g.gpgSig(hello, rsa2048, crypto.SHA1, SigningTime, func(s *gpgsig.Sig) {
		s.Version, s.Hashed, s.Unhashed = 3, nil, nil
	})), expect("version 3 signature, correct per RFC 4880: the Howells kernels hash its trailer one byte off and reject it", formats.BadSignature, errnoEKEYREJECTED, errnoEKEYREJECTED, "V3Signature").hashed(crypto.SHA1).with(good))
	gr.add(g, vpath("gpg2012", "duplicate-issuer.ko"), gpgTrailerSig(hello, g.gpgSig(hello, rsa2048, crypto.SHA1, SigningTime, func(s *gpgsig.Sig) {
		s.Hashed = gpgsig.AppendSubpacket(s.Hashed, gpgsig.SubIssuer, s.Unhashed[2:10])
	})), expect("Issuer subpacket in both areas: the parser wants exactly one", formats.Corrupt, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, "DuplicateIssuer").hashed(crypto.SHA1).with(good))
	gr.add(g, vpath("gpg2012", "new-format-header.ko"), gpgTrailerSig(hello, g.gpgSig(hello, rsa2048, crypto.SHA1, SigningTime, func(s *gpgsig.Sig) {
		s.NewFormat = true
	})), expect("new-format packet header c2", formats.OK, errnoOK, errnoOK, "NewFormatPacket").hashed(crypto.SHA1).with(good))

	gr = g.group("gpg2012", early, key, "the Howells code before the 2012-08-02 series and the short-signature fix")
	gr.add(g, vpath("gpg2012", "rsa2048-sha1.ko"), signed,
		expect("RSA-2048 sha1", formats.OK, errnoOK, errnoOK, "EarlyKernel").hashed(crypto.SHA1).with(good))
	gr.add(g, vpath("gpg2012", "untrusted-rsa2048-sha1.ko"), unknown,
		expect("unknown key: ENOKEY even when not enforcing", formats.UnknownKey, errnoENOKEY, errnoENOKEY, "UnknownKey", "EarlyKernel").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: untrustedRing}))
	gr.add(g, vpath("gpg2012", "short-mpi.ko"), short,
		expect(shortComment+": the early code requires the MPI to be as long as the modulus", formats.BadSignature, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, "ShortMPI", "EarlyKernel").hashed(crypto.SHA1).as(Acceptable).with(good))

	k4 := g.key("rsa4096")
	key4 := g.pgpForm("rsa4096", k4)
	gr = g.group("gpg2012", kernel, key4, "RSA-4096")
	gr.add(g, vpath("gpg2012", "rsa4096-sha256.ko"), sign(k4, crypto.SHA256, false),
		expect("RSA-4096 sha256", formats.OK, errnoOK, errnoOK).hashed(crypto.SHA256).with(good))
}

// gpgTrailerSig appends sig with its own length.
func gpgTrailerSig(payload, sig []byte) []byte { return gpgTrailer(payload, sig, len(sig)) }

// rehash returns the signature packet sig with its hash id replaced (after signing).
func (g *gen) rehash(sig []byte, id byte) []byte {
	s, _, err := gpgsig.ParseSig(sig)
	g.check(err, "OpenPGP signature")
	s.HashAlgo = id
	b, err := s.Marshal()
	g.check(err, "OpenPGP signature")
	return b
}
