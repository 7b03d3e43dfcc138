package vectors

import (
	"crypto"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
	"github.com/kmodsig/kmodsig/pkcs7sig"
)

var (
	oidData             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA256WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	asn1NULL            = []byte{0x05, 0x00}
	pkcs7Kernel         = "linux-6.1"
	pkcs7KernelOld      = "linux-4.3"
	opensslCMS          = "openssl-cms"
	errnoOK             = formats.ErrnoOK
	errnoEKEYREJECTED   = formats.ErrnoEKEYREJECTED
	errnoEBADMSG        = formats.ErrnoEBADMSG
	errnoENOKEY         = formats.ErrnoENOKEY
	errnoENOPKG         = formats.ErrnoENOPKG
	errnoENOEXEC        = formats.ErrnoENOEXEC
	pkcs7ValidFlag      = "SignFileProfile"
	pkcs7UnsignedModule = "common/unsigned-hello.ko"
)

// pkcs7Sign signs hello with the pkcs7 driver.
func (g *gen) pkcs7Sign(mod []byte, k *keys.Material, h crypto.Hash, skid bool) []byte {
	return g.sign("pkcs7", mod, k, formats.SignOptions{Hash: h, KeyID: skid})
}

// cmsOf splits a pkcs7-signed module into payload and CMS.
func (g *gen) cmsOf(b []byte) (payload, cms []byte) {
	t, err := formats.ParseModSig(formats.NewModule("", b), "pkcs7")
	g.check(err, "trailer")
	return b[:t.PayloadLen], b[t.SigOff : t.SigOff+int64(t.Block.SigLen)]
}

// withCMS returns payload with cms appended in a module_signature trailer of id_type idType.
func (g *gen) withCMS(payload, cms []byte, idType uint8) []byte {
	b, err := formats.AppendModSig(payload, nil, nil, cms, formats.ModSig{IDType: idType})
	g.check(err, "trailer")
	return b
}

// block returns b with the 12-byte module_signature block rewritten by edit.
func block(b []byte, edit func(blk []byte)) []byte {
	c := append([]byte(nil), b...)
	edit(c[len(c)-40 : len(c)-28])
	return c
}

func (g *gen) pkcs7() {
	hello := g.module("hello")
	rsa2048 := g.key("rsa2048")
	untrusted := g.key("untrusted-rsa2048")
	cert, err := rsa2048.Certificate()
	g.check(err, "certificate")
	cms := func(o Oracle) Oracle { o.Tool = opensslCMS; return o }
	good := cms(Oracle{Good: true})
	bad := cms(Oracle{Good: false})

	key := g.certForm("rsa2048", rsa2048)
	untrustedCert := g.certForm("untrusted-rsa2048", untrusted).Keyring[0]
	gr := g.group("pkcs7", pkcs7Kernel, key, "sign-file's profile (no attributes, no certificates, issuer+serial unless SKID) and the deviations observed on Linux 6.1 (ORACLES.md 8.5)")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA1, crypto.SHA224, crypto.SHA384, crypto.SHA512} {
		gr.add(g, vpath("pkcs7", "rsa2048-"+formats.HashName(h)+".ko"), g.pkcs7Sign(hello, rsa2048, h, false),
			expect("RSA-2048 "+formats.HashName(h)+", issuer+serial, byte-identical to sign-file", formats.OK, errnoOK, errnoOK, pkcs7ValidFlag).hashed(h).with(good))
	}
	signed := g.pkcs7Sign(hello, rsa2048, crypto.SHA256, false)
	gr.add(g, vpath("pkcs7", "rsa2048-sha256-skid.ko"), g.pkcs7Sign(hello, rsa2048, crypto.SHA256, true),
		expect("signer identified by subjectKeyIdentifier (sign-file -k, CMS v3)", formats.OK, errnoOK, errnoOK, "SkidSigner").hashed(crypto.SHA256).with(good))
	gr.add(g, pkcs7UnsignedModule, hello,
		expect("unsigned module (Linux 6.1: tainted when permissive)", formats.Unsigned, errnoOK, errnoEKEYREJECTED, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("pkcs7", "tampered-payload.ko"), g.flipModinfo(signed),
		expect("one .modinfo byte changed after signing", formats.BadSignature, errnoEKEYREJECTED, errnoEKEYREJECTED, "TamperedPayload").hashed(crypto.SHA256).with(bad))
	gr.add(g, vpath("pkcs7", "tampered-signature.ko"), flip(signed, len(signed)-41, 0x01),
		expect("last byte of the RSA signature value changed", formats.BadSignature, errnoEKEYREJECTED, errnoEKEYREJECTED, "TamperedSignature").hashed(crypto.SHA256).with(bad))
	gr.add(g, vpath("pkcs7", "untrusted-rsa2048-sha256.ko"), g.pkcs7Sign(hello, untrusted, crypto.SHA256, false),
		expect("signed by a valid key the kernel does not trust", formats.UnknownKey, errnoOK, errnoEKEYREJECTED, "UnknownKey").hashed(crypto.SHA256).with(cms(Oracle{Good: true, Key: untrustedCert})))

	payload, c := g.cmsOf(signed)
	cmsOff := len(payload)
	gr.add(g, vpath("pkcs7", "corrupt-outer-tag.ko"), flip(signed, cmsOff, 0x01),
		expect("outer ASN.1 tag SEQUENCE 30 changed to 31", formats.Corrupt, errnoEBADMSG, errnoEBADMSG, "CorruptASN1").with(bad))
	gr.add(g, vpath("pkcs7", "corrupt-siglen-plus1.ko"), block(signed, func(b []byte) { binary.BigEndian.PutUint32(b[8:], binary.BigEndian.Uint32(b[8:])+1) }),
		expect("module_signature sig_len one too large", formats.Corrupt, errnoEBADMSG, errnoEBADMSG, "CorruptTrailer").with(Oracle{Why: "the trailer cannot be carved"}))
	gr.add(g, vpath("pkcs7", "corrupt-siglen-huge.ko"), block(signed, func(b []byte) { binary.BigEndian.PutUint32(b[8:], binary.BigEndian.Uint32(b[8:])+100000000) }),
		expect("module_signature sig_len larger than the file", formats.Corrupt, errnoEBADMSG, errnoEBADMSG, "CorruptTrailer").with(Oracle{Why: "the trailer cannot be carved"}))
	gr.add(g, vpath("pkcs7", "corrupt-hash-byte.ko"), block(signed, func(b []byte) { b[1] = 4 }),
		expect("module_signature hash byte 4 (must be 0 for PKCS#7)", formats.Corrupt, errnoEBADMSG, errnoEBADMSG, "NonZeroParams").hashed(crypto.SHA256).with(good))
	gr.add(g, vpath("pkcs7", "rsa2048-sha3-256.ko"), g.pkcs7Sign(hello, rsa2048, crypto.SHA3_256, false),
		expect("SHA3-256: a digest Linux 6.1's PKCS#7 parser does not know (added in 6.7)", formats.Unsupported, errnoOK, errnoEKEYREJECTED, "UnsupportedHash").hashed(crypto.SHA3_256).with(good))

	// Quirks built from the CMS codec: what sign-file never writes.
	gr.add(g, vpath("pkcs7", "signed-attributes.ko"), g.withCMS(payload, g.cmsSignedAttrs(rsa2048, payload), formats.IDTypePKCS7),
		expect("CMS with signed attributes (openssl cms without -noattr): the kernel refuses authattrs for modules", formats.Unsupported, errnoEKEYREJECTED, errnoEKEYREJECTED, "SignedAttributes").hashed(crypto.SHA256).with(good))
	sd, err := pkcs7sig.ParseCMS(c)
	g.check(err, "CMS")
	sd.SignerInfos[0].SignatureAlgorithm = pkcs7sig.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1NULL}
	alt, err := sd.Marshal()
	g.check(err, "CMS")
	gr.add(g, vpath("pkcs7", "sha256-with-rsa-encryption.ko"), g.withCMS(payload, alt, formats.IDTypePKCS7),
		expect("signatureAlgorithm sha256WithRSAEncryption instead of rsaEncryption: Linux 6.1 reports unsupported pkey algo (ENOPKG, forgiven when permissive)", formats.Unsupported, errnoOK, errnoEKEYREJECTED, "SignatureAlgorithmOID").hashed(crypto.SHA256).with(good))
	gr.add(g, vpath("pkcs7", "rsassa-pss.ko"), g.withCMS(payload, g.cmsPSS(rsa2048, payload), formats.IDTypePKCS7),
		expect("RSASSA-PSS (SHA-256, MGF1, salt length 0): Linux 6.1 does not know the OID (ENOPKG, forgiven when permissive)", formats.Unsupported, errnoOK, errnoEKEYREJECTED, "SignatureAlgorithmOID").hashed(crypto.SHA256).with(good))
	gr.add(g, vpath("pkcs7", "cms-in-idtype1-block.ko"), g.withCMS(payload, c, formats.IDTypeX509),
		expect("a good CMS in an id_type 1 (x509) block: 'not signed with expected PKCS#7 message'", formats.Unsupported, errnoOK, errnoEKEYREJECTED, "WrongIDType").hashed(crypto.SHA256).with(good))
	sd, err = pkcs7sig.ParseCMS(c)
	g.check(err, "CMS")
	sd.Certificates, sd.HasCerts = [][]byte{cert.Raw}, true
	withCert, err := sd.Marshal()
	g.check(err, "CMS")
	gr.add(g, vpath("pkcs7", "embedded-certificate.ko"), g.withCMS(payload, withCert, formats.IDTypePKCS7),
		expect("the signer's certificate embedded in the CMS (openssl cms without -nocerts)", formats.OK, errnoOK, errnoOK, "EmbeddedCertificate").hashed(crypto.SHA256).with(good))
	sd, err = pkcs7sig.ParseCMS(c)
	g.check(err, "CMS")
	var content cryptobyte.Builder
	content.AddASN1OctetString(payload)
	sd.Content = content.BytesOrPanic()
	attached, err := sd.Marshal()
	g.check(err, "CMS")
	gr.add(g, vpath("pkcs7", "attached-content.ko"), g.withCMS(payload, attached, formats.IDTypePKCS7),
		expect("CMS with the module as attached content (openssl cms -nodetach)", formats.Corrupt, errnoEBADMSG, errnoEBADMSG, "AttachedContent").hashed(crypto.SHA256).with(Oracle{Why: "openssl would verify the attached copy, not the module"}))
	gr.add(g, vpath("pkcs7", "signed-twice.ko"), g.pkcs7Sign(signed, rsa2048, crypto.SHA256, false),
		expect("sign-file run on a signed module: two trailers, the kernel checks the outer one", formats.OK, errnoOK, errnoOK, "NestedSignature").hashed(crypto.SHA256).with(good))

	// Linux 4.3 to 5.3: only ENOKEY forgiven.
	gr = g.group("pkcs7", pkcs7KernelOld, key, "the same artifacts judged by Linux 4.3 to about 5.3, where only ENOKEY is forgiven when not enforcing")
	gr.add(g, vpath("pkcs7", "rsa2048-sha256.ko"), signed,
		expect("RSA-2048 sha256", formats.OK, errnoOK, errnoOK, pkcs7ValidFlag).hashed(crypto.SHA256).with(good))
	gr.add(g, pkcs7UnsignedModule, hello,
		expect("unsigned module", formats.Unsigned, errnoOK, errnoENOKEY, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("pkcs7", "untrusted-rsa2048-sha256.ko"), g.pkcs7Sign(hello, untrusted, crypto.SHA256, false),
		expect("signed by a key the kernel does not trust", formats.UnknownKey, errnoOK, errnoENOKEY, "UnknownKey").hashed(crypto.SHA256).with(cms(Oracle{Good: true, Key: untrustedCert})))
	gr.add(g, vpath("pkcs7", "sha256-with-rsa-encryption.ko"), g.withCMS(payload, alt, formats.IDTypePKCS7),
		expect("sha256WithRSAEncryption: ENOPKG, fatal before the 5.4 rework", formats.Unsupported, errnoENOPKG, errnoENOPKG, "SignatureAlgorithmOID").hashed(crypto.SHA256).with(good))

	// Other keys.
	for _, c := range []struct {
		name string
		hs   []crypto.Hash
	}{
		{"rsa4096", []crypto.Hash{crypto.SHA256}},
		{"ecdsa-p256", []crypto.Hash{crypto.SHA256, crypto.SHA512}},
		{"ecdsa-p384", []crypto.Hash{crypto.SHA384, crypto.SHA256}},
		{"expired-rsa2048", []crypto.Hash{crypto.SHA256}},
	} {
		k := g.key(c.name)
		ki := g.certForm(c.name, k)
		comment := "sign-file profile with " + c.name
		flags := []string{pkcs7ValidFlag}
		if c.name == "expired-rsa2048" {
			comment = "a certificate whose validity ended in 2001: module signature checks ignore certificate dates"
			flags = append(flags, "ExpiredCertificate")
		}
		gr := g.group("pkcs7", pkcs7Kernel, ki, comment)
		for _, h := range c.hs {
			gr.add(g, vpath("pkcs7", c.name+"-"+formats.HashName(h)+".ko"), g.pkcs7Sign(hello, k, h, false),
				expect(c.name+" "+formats.HashName(h), formats.OK, errnoOK, errnoOK, flags...).hashed(h).with(good))
		}
		if c.name == "ecdsa-p256" {
			// The DER INTEGERs r and s gain a leading 00 or not: the CMS length varies. Find a
			// payload (a counter in one .modinfo letter) whose CMS differs in length from
			// the first vector's.
			base := len(g.pkcs7Sign(hello, k, crypto.SHA256, false))
			i := bytesIndex(hello, "description=")
			for n := 0; n < 64; n++ {
				mod := append([]byte(nil), hello...)
				mod[i+len("description=")] = 'a' + byte(n%26)
				if n >= 26 {
					mod[i+len("description=")+1] = 'A' + byte(n/26)
				}
				s := g.pkcs7Sign(mod, k, crypto.SHA256, false)
				if len(s) != base {
					gr.add(g, vpath("pkcs7", "ecdsa-p256-sha256-length.ko"), s,
						expect(fmt.Sprintf("ECDSA signature one DER length apart from the first P-256 vector (%d vs %d bytes; .modinfo description letter seed %d)", len(s), base, n),
							formats.OK, errnoOK, errnoOK, pkcs7ValidFlag, "EcdsaLength").hashed(crypto.SHA256).with(good))
					break
				}
			}
		}
	}
}

// pkcs7NotELF is the last group of the set (new groups go last, so that no tcId moves): what
// the signature check lets through and the ELF checks after it refuse with ENOEXEC
// (formats.ELFHeaderRefusal), signed with the module signing key and unsigned.
func (g *gen) pkcs7NotELF() {
	hello := g.module("hello")
	rsa2048 := g.key("rsa2048")
	good := Oracle{Tool: opensslCMS, Good: true}
	exec := append([]byte(nil), hello...)
	exec[16] = 2 // e_type ET_EXEC (hello.ko is x86-64: little endian)
	notELF := append([]byte(nil), hello...)
	notELF[1] = 'X' // "\x7fXLF"
	gr := g.group("pkcs7", pkcs7Kernel, g.certForm("rsa2048", rsa2048), "objects that are not relocatable ELF: Linux 6.1 checks the signature first, then refuses the object with ENOEXEC (load_module: module_sig_check, then elf_validity_check), without tainting")
	gr.add(g, vpath("pkcs7", "et-exec-rsa2048-sha256.ko"), g.pkcs7Sign(exec, rsa2048, crypto.SHA256, false),
		expect("a valid signature over hello.ko with e_type ET_EXEC", formats.OK, errnoENOEXEC, errnoENOEXEC, "NotRelocatableELF").hashed(crypto.SHA256).with(good))
	gr.add(g, vpath("pkcs7", "not-elf-rsa2048-sha256.ko"), g.pkcs7Sign(notELF, rsa2048, crypto.SHA256, false),
		expect("a valid signature over hello.ko with its ELF magic broken", formats.OK, errnoENOEXEC, errnoENOEXEC, "NotRelocatableELF").hashed(crypto.SHA256).with(good))
	gr.add(g, vpath("pkcs7", "et-exec-unsigned.ko"), exec,
		expect("unsigned, e_type ET_EXEC: forgiven when permissive, then ENOEXEC; EKEYREJECTED first when enforcing", formats.Unsigned, errnoENOEXEC, errnoEKEYREJECTED, "NotRelocatableELF", "Unsigned").with(Oracle{Why: "no signature to check"}))
}

// cmsSignedAttrs returns a CMS like sign-file's but with signed attributes (content type and
// message digest), the signature made over their DER SET as RFC 5652 §5.4 says.
func (g *gen) cmsSignedAttrs(k *keys.Material, payload []byte) []byte {
	c, err := k.Certificate()
	g.check(err, "certificate")
	digest := sha(crypto.SHA256, payload)
	attrs := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidContentType)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidMessageDigest)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) })
		})
	}
	var set, impl cryptobyte.Builder
	set.AddASN1(cbasn1.SET, attrs)
	impl.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), attrs)
	sig, err := k.Signer.Sign(nil, sha(crypto.SHA256, set.BytesOrPanic()), crypto.SHA256)
	g.check(err, "sign attributes")
	sd, err := pkcs7sig.NewSignedData(c, crypto.SHA256, false, sig)
	g.check(err, "CMS")
	sd.SignerInfos[0].SignedAttrs = impl.BytesOrPanic()
	b, err := sd.Marshal()
	g.check(err, "CMS")
	return b
}

var (
	oidRSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

// cmsPSS returns sign-file's CMS for payload but signed with RSASSA-PSS (SHA-256, MGF1
// SHA-256, salt length 0 so that it is deterministic), as `openssl cms -keyopt
// rsa_padding_mode:pss` writes it apart from the salt.
func (g *gen) cmsPSS(k *keys.Material, payload []byte) []byte {
	priv, ok := k.Signer.(*rsa.PrivateKey)
	if !ok {
		g.fail("PSS needs an RSA key")
	}
	c, err := k.Certificate()
	g.check(err, "certificate")
	h := crypto.SHA256
	mHash := sha(h, payload)
	emBits := priv.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	hLen := h.Size()
	H := sha(h, append(make([]byte, 8), mHash...)) // M' = 8 zero bytes ‖ mHash ‖ empty salt
	db := make([]byte, emLen-hLen-1)               // PS (zeros) ‖ 01 ‖ empty salt
	db[len(db)-1] = 0x01
	for i, m := range mgf1(h, H, len(db)) {
		db[i] ^= m
	}
	db[0] &= 0xff >> (8*emLen - emBits)
	em := append(append(db, H...), 0xbc)
	sig := new(big.Int).Exp(new(big.Int).SetBytes(em), priv.D, priv.N).FillBytes(make([]byte, priv.Size()))
	g.check(rsa.VerifyPSS(&priv.PublicKey, h, mHash, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}), "PSS self-check")
	sha256Alg := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidSHA256)
			b.AddASN1NULL()
		})
	}
	var params cryptobyte.Builder
	params.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), sha256Alg)
		b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidMGF1)
				sha256Alg(b)
			})
		})
		b.AddASN1(cbasn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1Int64(0) })
	})
	sd, err := pkcs7sig.NewSignedData(c, h, false, sig)
	g.check(err, "CMS")
	sd.SignerInfos[0].SignatureAlgorithm = pkcs7sig.AlgorithmIdentifier{Algorithm: oidRSAPSS, Parameters: params.BytesOrPanic()}
	b, err := sd.Marshal()
	g.check(err, "CMS")
	return b
}

// mgf1 is MGF1 (RFC 8017 B.2.1) with hash h.
func mgf1(h crypto.Hash, seed []byte, n int) []byte {
	var out []byte
	for c := uint32(0); len(out) < n; c++ {
		w := h.New()
		w.Write(seed)
		w.Write([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
		out = w.Sum(out)
	}
	return out[:n]
}
