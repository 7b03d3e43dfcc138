package vectors

import (
	"crypto"
	"crypto/rsa"
	"encoding/binary"

	"github.com/kmodsig/kmodsig/digsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

const evmctlTool = "evmctl"

func (g *gen) digsig2012() {
	hello := g.module("hello")
	rsa2048 := g.key("rsa2048")
	untrusted := g.key("untrusted-rsa2048")
	sign := func(v string, h crypto.Hash) []byte {
		return g.sign("digsig2012", hello, rsa2048, formats.SignOptions{Variant: v, Hash: h})
	}
	good := Oracle{Tool: evmctlTool, Good: true}
	bad := Oracle{Tool: evmctlTool, Good: false}
	const kernel = digsig.Kernel
	einval := formats.ErrnoEINVAL

	key := g.certForm("rsa2048", rsa2048)
	g.export(&key, "digsig2012", rsa2048)
	key.Keyring = append([]string{key.Export}, key.Keyring...)
	id := keysDigsigID(rsa2048)
	key.KeyID = id
	untrustedCert := g.certForm("untrusted-rsa2048", untrusted).Keyring[0]

	gr := g.group("digsig2012", kernel, key, "the 2012 modsig RFC: evmctl --modsig output appended (be16 length, MAGIC30); keyring: the v1 public-key blob (user key "+id+") and the certificate for v2")
	gr.add(g, vpath("digsig2012", "v1-sha1.ko"), sign("v1", crypto.SHA1),
		expect("digsig v1, SHA-1 file digest (evmctl --modsig default)", formats.OK, errnoOK, errnoOK).hashed(crypto.SHA1).with(good))
	gr.add(g, vpath("digsig2012", "v1-sha256.ko"), sign("v1", crypto.SHA256),
		expect("digsig v1, SHA-256 file digest, header hash field 1", formats.OK, errnoOK, errnoOK).hashed(crypto.SHA256).with(good))
	gr.add(g, vpath("digsig2012", "v2-sha256.ko"), sign("v2", crypto.SHA256),
		expect("digsig v2 header (key id = SKID tail), RSA PKCS#1 v1.5 sha256", formats.OK, errnoOK, errnoOK, "DigsigV2").hashed(crypto.SHA256).with(good))
	gr.add(g, vpath("digsig2012", "v2-sha512.ko"), sign("v2", crypto.SHA512),
		expect("digsig v2, sha512", formats.OK, errnoOK, errnoOK, "DigsigV2").hashed(crypto.SHA512).with(good))
	signed := sign("v1", crypto.SHA1)
	sigEnd := len(signed) - 32
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module (modelled on the 3.7 rule: only no signature / no key is forgiven)", formats.Unsigned, errnoOK, errnoENOKEY, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("digsig2012", "tampered-payload.ko"), g.flipModinfo(signed),
		expect("one .modinfo byte changed after signing", formats.BadSignature, einval, einval, "TamperedPayload").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("digsig2012", "tampered-signature.ko"), flip(signed, sigEnd-1, 0x01),
		expect("last byte of the RSA value changed", formats.BadSignature, einval, einval, "TamperedSignature").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("digsig2012", "untrusted-rsa2048-v1-sha1.ko"), g.sign("digsig2012", hello, untrusted, formats.SignOptions{Hash: crypto.SHA1}),
		expect("signed by a key not in the keyring", formats.UnknownKey, errnoOK, errnoENOKEY, "UnknownKey").hashed(crypto.SHA1).with(Oracle{Tool: evmctlTool, Good: true, Key: untrustedCert}))
	gr.add(g, vpath("digsig2012", "corrupt-length.ko"), func() []byte {
		c := append([]byte(nil), signed...)
		binary.BigEndian.PutUint16(c[len(c)-32:], 5)
		return c
	}(), expect("be16 length 5, shorter than a v1 header (18 bytes minimum)", formats.Corrupt, einval, einval, "CorruptTrailer").with(Oracle{Why: "the trailer cannot be carved"}))
	tr, err := digsig.Locate(formats.NewModule("", signed))
	g.check(err, "digsig trailer")
	gr.add(g, vpath("digsig2012", "algo-1.ko"), flip(signed, int(tr.SigOff)+5, 0x01),
		expect("v1 header algo 1 (only 0, RSA, exists): ENOTSUPP", formats.Unsupported, formats.ErrnoENOTSUPP, formats.ErrnoENOTSUPP, "UnsupportedAlgorithm").with(Oracle{Why: "the header is hashed; evmctl would only report a bad signature"}))
	// evmctl at 203f058 wrote hash field 0 whatever -a said.
	d := sha(crypto.SHA256, hello)
	s, err := digsig.SignDigestV1(d, digsig.HashV1SHA1, SigningTime, rsa2048.Signer)
	g.check(err, "digsig v1")
	mism, err := digsig.AppendTrailer(hello, s.Marshal())
	g.check(err, "digsig trailer")
	gr.add(g, vpath("digsig2012", "v1-hash-field-mismatch.ko"), mism,
		expect("v1 header hash field 0 (SHA-1) over a SHA-256 file digest, as evmctl -a sha256 wrote in 2012; kmodsig tries SHA-1 then SHA-256 (the RFC kernel's digest choice is not known)", formats.OK, errnoOK, errnoOK, "HashFieldMismatch").hashed(crypto.SHA256).as(Acceptable).with(Oracle{Tool: evmctlTool, Good: false, Why: "evmctl 1.4 digests the file with the header's hash field (SHA-1), so it rejects the 2012 form"}))
}

// keysDigsigID is the kernel's description of k's digsig v1 key (%llX of the key id).
func keysDigsigID(k *keys.Material) string {
	pub, ok := k.Public().(*rsa.PublicKey)
	if !ok {
		return ""
	}
	id := keys.DigsigKeyID(pub)
	return digsig.V1Description(id[:])
}
