package vectors

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"math/big"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

const opensslDgst = "openssl-dgst"

// signerCert makes a certificate for k's key with the given subject, x509.genkey-shaped and
// byte-reproducible (RSA PKCS#1 v1.5, fixed serial and dates, explicit SKID = AKID).
func (g *gen) signerCert(k *keys.Material, serial int64, subject pkix.Name) *x509.Certificate {
	spki, err := x509.MarshalPKIXPublicKey(k.Public())
	g.check(err, "public key")
	skid, err := keys.SKID(spki)
	g.check(err, "SKID")
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               subject,
		NotBefore:             time.Date(2012, 8, 15, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2112, 8, 15, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SubjectKeyId:          skid,
		AuthorityKeyId:        skid,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, k.Public(), k.Signer)
	g.check(err, "certificate")
	c, err := x509.ParseCertificate(der)
	g.check(err, "certificate")
	return c
}

func (g *gen) x509() {
	hello := g.module("hello")
	rsa2048 := g.key("rsa2048")
	untrusted := g.key("untrusted-rsa2048")
	const kernel = "linux-3.7"
	good := Oracle{Tool: opensslDgst, Good: true}
	bad := Oracle{Tool: opensslDgst, Good: false}
	sign := func(k *keys.Material, h crypto.Hash, force bool) []byte {
		return g.sign("x509", hello, k, formats.SignOptions{Hash: h, Force: force})
	}
	key := g.certForm("rsa2048", rsa2048)
	cert, err := rsa2048.Certificate()
	g.check(err, "certificate")
	key.KeyID = keys.Description(cert)
	untrustedCert := g.certForm("untrusted-rsa2048", untrusted).Keyring[0]

	gr := g.group("x509", kernel, key, "Linux 3.7 to 4.2: module_signature id_type 1 with signer name and SKID, RSA PKCS#1 v1.5")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA1, crypto.SHA224, crypto.SHA384, crypto.SHA512} {
		gr.add(g, vpath("x509", "rsa2048-"+formats.HashName(h)+".ko"), sign(rsa2048, h, false),
			expect("RSA-2048 "+formats.HashName(h)+", as the perl sign-file wrote it", formats.OK, errnoOK, errnoOK).hashed(h).with(good))
	}
	gr.add(g, vpath("x509", "rsa2048-md5.ko"), sign(rsa2048, crypto.MD5, true),
		expect("MD5: the 3.7 kernel had the template, no signer tool offered it", formats.OK, errnoOK, errnoOK, "Md5").hashed(crypto.MD5).with(good))
	gr.add(g, vpath("x509", "rsa2048-rmd160.ko"), sign(rsa2048, crypto.RIPEMD160, true),
		expect("RIPEMD-160: the 3.7 kernel had the template, no signer tool offered it", formats.OK, errnoOK, errnoOK, "Ripemd160").hashed(crypto.RIPEMD160).with(good))
	signed := sign(rsa2048, crypto.SHA256, false)
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module: only ENOKEY is forgiven when not enforcing (tainted)", formats.Unsigned, errnoOK, errnoENOKEY, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("x509", "tampered-payload.ko"), g.flipModinfo(signed),
		expect("one .modinfo byte changed after signing", formats.BadSignature, errnoEKEYREJECTED, errnoEKEYREJECTED, "TamperedPayload").hashed(crypto.SHA256).with(bad))
	gr.add(g, vpath("x509", "tampered-signature.ko"), flip(signed, len(signed)-41, 0x01),
		expect("last byte of the RSA signature changed: 3.7's RSA_I2OSP finds the decoded block is not 00 01... (ERANGE)", formats.BadSignature, "ERANGE", "ERANGE", "TamperedSignature").hashed(crypto.SHA256).with(bad))
	gr.add(g, vpath("x509", "untrusted-rsa2048-sha256.ko"), sign(untrusted, crypto.SHA256, false),
		expect("signer and SKID of a certificate the kernel does not have", formats.UnknownKey, errnoOK, errnoENOKEY, "UnknownKey").hashed(crypto.SHA256).with(Oracle{Tool: opensslDgst, Good: true, Key: untrustedCert}))
	t, err := formats.ParseModSig(formats.NewModule("", signed), "x509")
	g.check(err, "x509 trailer")
	gr.add(g, vpath("x509", "corrupt-mpi-length.ko"), func() []byte {
		c := append([]byte(nil), signed...)
		binary.BigEndian.PutUint16(c[t.SigOff:], binary.BigEndian.Uint16(c[t.SigOff:])-1)
		return c
	}(), expect("be16 signature length no longer sig_len - 2", formats.Corrupt, errnoEBADMSG, errnoEBADMSG, "CorruptTrailer").hashed(crypto.SHA256).with(Oracle{Why: "the signature cannot be carved"}))
	gr.add(g, vpath("x509", "corrupt-siglen-huge.ko"), block(signed, func(b []byte) { binary.BigEndian.PutUint32(b[8:], 1<<30) }),
		expect("sig_len larger than the file", formats.Corrupt, errnoEBADMSG, errnoEBADMSG, "CorruptTrailer").with(Oracle{Why: "the signature cannot be carved"}))
	gr.add(g, vpath("x509", "algo-dsa.ko"), block(signed, func(b []byte) { b[0] = 0 }),
		expect("module_signature algo 0 (DSA): the kernel verifies RSA only", formats.Unsupported, errnoENOPKG, errnoENOPKG, "UnsupportedAlgorithm").with(Oracle{Why: "the block is not signed; the RSA value itself is good"}))
	gr.add(g, vpath("x509", "hash-md4.ko"), block(signed, func(b []byte) { b[1] = 0 }),
		expect("module_signature hash 0 (md4): named by the kernel, but RSA has no DigestInfo template for it (ENOTSUPP)", formats.Unsupported, formats.ErrnoENOTSUPP, formats.ErrnoENOTSUPP, "UnsupportedHash").with(Oracle{Why: "the block is not signed; the RSA value itself is good"}))

	gr = g.group("x509", "linux-3.7-rc1", key, "the 3.7-rc1 pre-release layout: payload, marker, then signer, key_id, signature and block (read only)")
	rc1 := append(append(append([]byte(nil), signed[:t.PayloadLen]...), formats.Marker...), signed[t.PayloadLen:len(signed)-len(formats.Marker)]...)
	gr.add(g, vpath("x509", "rc1-layout.ko"), rc1,
		expect("x509/rsa2048-sha256.ko rearranged as 3.7-rc1's sign-file wrote it: the kernel splits at the first marker", formats.OK, errnoOK, errnoOK, "Rc1Layout").hashed(crypto.SHA256).with(Oracle{Why: "the same RSA value as x509/rsa2048-sha256.ko, checked there"}))

	gr = g.group("x509", "linux-6.1", key, "the 3.7 trailer fed to Linux 6.1, which wants PKCS#7")
	gr.add(g, vpath("x509", "rsa2048-sha256.ko"), signed,
		expect("'module: not signed with expected PKCS#7 message': ENOPKG, forgiven when permissive", formats.Unsupported, errnoOK, errnoEKEYREJECTED, "ModernKernel", "WrongIDType").hashed(crypto.SHA256).with(good))

	// Signer-name branches of x509_fabricate_name, with certificates made here from rsa2048.
	for i, c := range []struct {
		name, comment string
		subject       pkix.Name
	}{
		{"cn-starts-with-o", "O and CN, CN starts with O: signer = CN", pkix.Name{Organization: []string{"Acme"}, CommonName: "Acme module signing key"}},
		{"same-7-prefix", "O and CN share their first 7 bytes: signer = CN", pkix.Name{Organization: []string{"Example Corp"}, CommonName: "Example module key"}},
		{"o-colon-cn", "O and CN unrelated: signer = O: CN", pkix.Name{Organization: []string{"Acme Corp"}, CommonName: "module signing key"}},
		{"short-o", "O shorter than 7 bytes and not a prefix of CN: signer = O: CN", pkix.Name{Organization: []string{"Lab"}, CommonName: "kmodsig signer"}},
		{"cn-only", "CN only: signer = CN", pkix.Name{CommonName: "lone common name"}},
		{"o-only", "O only: signer = O", pkix.Name{Organization: []string{"Organisation Only"}}},
		{"email-only", "emailAddress only: signer = the address", pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "signer@example.invalid"}}}},
	} {
		k := g.key("rsa2048")
		sc := g.signerCert(k, int64(1000+i), c.subject)
		g.check(k.WithCertificate(sc), "certificate")
		ki := keyInfo("rsa2048", k)
		ki.KeyID = keys.Description(sc)
		ki.Keyring = []string{g.put("keys/x509/signer-"+c.name+".der", sc.Raw)}
		ki.Export = ki.Keyring[0]
		gr := g.group("x509", kernel, ki, "signer name: "+c.comment+" ("+keys.SignerName(sc)+")")
		gr.add(g, vpath("x509", "signer-"+c.name+".ko"), g.sign("x509", hello, k, formats.SignOptions{}),
			expect(c.comment, formats.OK, errnoOK, errnoOK, "SignerNameBranch").hashed(crypto.SHA256).with(Oracle{Tool: opensslDgst, Good: true, Key: ki.Keyring[0]}))
	}

	k4 := g.key("rsa4096")
	key4 := g.certForm("rsa4096", k4)
	c4, err := k4.Certificate()
	g.check(err, "certificate")
	key4.KeyID = keys.Description(c4)
	gr = g.group("x509", kernel, key4, "RSA-4096")
	gr.add(g, vpath("x509", "rsa4096-sha512.ko"), sign(k4, crypto.SHA512, false),
		expect("RSA-4096 sha512", formats.OK, errnoOK, errnoOK).hashed(crypto.SHA512).with(good))

	ke := g.key("expired-rsa2048")
	keye := g.certForm("expired-rsa2048", ke)
	ce, err := ke.Certificate()
	g.check(err, "certificate")
	keye.KeyID = keys.Description(ce)
	gr = g.group("x509", kernel, keye, "a certificate whose validity ended in 2001: the 3.7 loader refused to load it, so its key is never found")
	gr.add(g, vpath("x509", "expired-rsa2048-sha256.ko"), sign(ke, crypto.SHA256, false),
		expect("signed with the expired certificate's key", formats.Expired, errnoOK, errnoENOKEY, "ExpiredCertificate").hashed(crypto.SHA256).with(good))
}
