package vectors

import (
	"crypto"
	"strings"
	"time"

	"github.com/kmodsig/kmodsig/elfsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// crossArch are the ELF fixtures signed in the section formats besides hello.ko.
var crossArch = []string{"i386", "ppc32be", "s390x"}

// sigLastByte returns the offset of the last signature byte in a section-signed module:
// the section's last byte, or for the rhel6 note the last byte of the note descriptor.
func (g *gen) sigLastByte(b []byte, name string) int {
	f, err := elfsig.NewFile(formats.NewModule(name, b))
	g.check(err, "ELF")
	s := f.Section(name)
	if s == nil {
		g.fail("no section %s", name)
	}
	if s.Type == 7 { // SHT_NOTE: namesz, descsz, type, name (12), desc
		descsz := f.Order.Uint32(b[s.Offset+4:])
		return int(s.Offset) + 24 + int(descsz) - 1
	}
	return int(s.Offset + s.Size - 1)
}

// otherKeyID returns k's DSA key under another OpenPGP creation time: another key id.
func otherKeyID(k *keys.Material) *keys.Material {
	return &keys.Material{DSA: k.DSA, Created: time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC), Source: k.Source + "@2013"}
}

func (g *gen) rhel5() {
	hello := g.module("hello")
	dsaKey := g.key("dsa1024")
	rsa2048 := g.key("rsa2048")
	key := g.pgpForm("dsa1024", dsaKey)
	good := Oracle{Tool: gpgTool, Good: true}
	bad := Oracle{Tool: gpgTool, Good: false}
	eperm := formats.ErrnoEPERM
	sign := func(mod []byte, k *keys.Material, o formats.SignOptions) []byte { return g.sign("rhel5", mod, k, o) }

	gr := g.group("rhel5", elfsig.KernelRHEL5, key, "RHEL4/5 .module_sig section: DSA/SHA-1 over the mod-extract canonical stream; RHEL5 refuses bad signatures even when not enforcing")
	signed := sign(hello, dsaKey, formats.SignOptions{})
	gr.add(g, vpath("rhel5", "dsa1024-sha1.ko"), signed,
		expect("DSA-1024 SHA-1 over the canonical stream of hello.ko (x86-64)", formats.OK, errnoOK, errnoOK).hashed(crypto.SHA1).with(good))
	for _, a := range crossArch {
		gr.add(g, vpath("rhel5", a+"-dsa1024-sha1.ko"), sign(g.module(a), dsaKey, formats.SignOptions{}),
			expect("DSA-1024 SHA-1, "+a+" fixture", formats.OK, errnoOK, errnoOK, "CrossArch").hashed(crypto.SHA1).with(good))
	}
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module", formats.Unsigned, errnoOK, eperm, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("rhel5", "tampered-payload.ko"), g.flipModinfo(signed),
		expect("one .modinfo byte changed after signing (.modinfo is SHF_ALLOC, so in the stream)", formats.BadSignature, eperm, eperm, "TamperedPayload").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("rhel5", "tampered-signature.ko"), flip(signed, g.sigLastByte(signed, elfsig.RHEL5Section), 0x01),
		expect("last byte of the DSA s value changed", formats.BadSignature, eperm, eperm, "TamperedSignature").hashed(crypto.SHA1).with(bad))
	other := otherKeyID(dsaKey)
	unknown := sign(hello, other, formats.SignOptions{Time: other.Created})
	otherRing := g.pgpForm("dsa1024-2013", other).Keyring[0]
	gr.add(g, vpath("rhel5", "unknown-key.ko"), unknown,
		expect("signed under a key id the kernel does not have ('module signed with unknown public key')", formats.UnknownKey, eperm, eperm, "UnknownKey", "OtherKeyID").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: otherRing}))
	gr.add(g, vpath("rhel5", "corrupt-packet.ko"), func() []byte {
		s := g.section(signed, elfsig.RHEL5Section)
		c := append([]byte(nil), signed...)
		c[s.Offset] = 0x00
		return c
	}(), expect("the section does not start with an OpenPGP packet header: ksign's parse error (EBADMSG) is returned as is", formats.Corrupt, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, "CorruptContainer").with(Oracle{Why: "not an OpenPGP packet"}))
	rsaSigned := sign(hello, rsa2048, formats.SignOptions{Force: true})
	gr.add(g, vpath("rhel5", "rsa2048-sha1.ko"), rsaSigned,
		expect("an RSA signature: ksign ignores non-DSA signatures and finds none (ENOENT, returned as is)", formats.Unsupported, formats.ErrnoENOENT, formats.ErrnoENOENT, "RsaSignature").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: g.pgpForm("rsa2048", rsa2048).Keyring[0]}))

	gr = g.group("rhel5", elfsig.KernelRHEL4, key, "RHEL4: permissive unless enforcemodulesig; every failure loads when not enforcing")
	gr.add(g, vpath("rhel5", "dsa1024-sha1.ko"), signed,
		expect("DSA-1024 SHA-1", formats.OK, errnoOK, errnoOK, "EarlyKernel").hashed(crypto.SHA1).with(good))
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module", formats.Unsigned, errnoOK, eperm, "Unsigned", "EarlyKernel").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("rhel5", "unknown-key.ko"), unknown,
		expect("unknown key: loads when not enforcing", formats.UnknownKey, errnoOK, eperm, "UnknownKey", "OtherKeyID", "EarlyKernel").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: otherRing}))
	gr.add(g, vpath("rhel5", "tampered-payload.ko"), g.flipModinfo(signed),
		expect("bad signature: loads when not enforcing", formats.BadSignature, errnoOK, eperm, "TamperedPayload", "EarlyKernel").hashed(crypto.SHA1).with(bad))
}

func (g *gen) rhel6() {
	hello := g.module("hello")
	dsaKey := g.key("dsa1024")
	rsa2048 := g.key("rsa2048")
	untrusted := g.key("untrusted-rsa2048")
	key := g.pgpForm("dsa1024", dsaKey)
	good := Oracle{Tool: gpgTool, Good: true}
	bad := Oracle{Tool: gpgTool, Good: false}
	rej := errnoEKEYREJECTED
	sign := func(mod []byte, k *keys.Material, o formats.SignOptions) []byte { return g.sign("rhel6", mod, k, o) }

	gr := g.group("rhel6", elfsig.KernelRHEL6, key, "RHEL6 .note.module.sig: DSA over the sorted canonical stream")
	signed := sign(hello, dsaKey, formats.SignOptions{})
	gr.add(g, vpath("rhel6", "dsa1024-sha1.ko"), signed,
		expect("DSA-1024 SHA-1 over the sorted canonical stream of hello.ko (x86-64)", formats.OK, errnoOK, errnoOK).hashed(crypto.SHA1).with(good))
	for _, a := range crossArch {
		gr.add(g, vpath("rhel6", a+"-dsa1024-sha1.ko"), sign(g.module(a), dsaKey, formats.SignOptions{}),
			expect("DSA-1024 SHA-1, "+a+" fixture", formats.OK, errnoOK, errnoOK, "CrossArch").hashed(crypto.SHA1).with(good))
	}
	gr.add(g, vpath("rhel6", "dsa1024-sha256.ko"), sign(hello, dsaKey, formats.SignOptions{Hash: crypto.SHA256}),
		expect("DSA-1024 with SHA-256 (truncated to q): later RHEL6 updates take the hash from the packet", formats.OK, errnoOK, errnoOK, "LaterRhel6Hash").hashed(crypto.SHA256).as(Acceptable).with(good))
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module", formats.Unsigned, errnoOK, rej, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("rhel6", "tampered-payload.ko"), g.flipModinfo(signed),
		expect("one .modinfo byte changed after signing", formats.BadSignature, rej, rej, "TamperedPayload").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("rhel6", "tampered-signature.ko"), flip(signed, g.sigLastByte(signed, elfsig.RHEL6Section), 0x01),
		expect("last byte of the DSA s value changed", formats.BadSignature, rej, rej, "TamperedSignature").hashed(crypto.SHA1).with(bad))
	other := otherKeyID(dsaKey)
	otherRing := g.pgpForm("dsa1024-2013", other).Keyring[0]
	gr.add(g, vpath("rhel6", "unknown-key.ko"), sign(hello, other, formats.SignOptions{Time: other.Created}),
		expect("signed under a key id the kernel does not have", formats.UnknownKey, formats.ErrnoENOKEY, formats.ErrnoENOKEY, "UnknownKey", "OtherKeyID").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: otherRing}))
	gr.add(g, vpath("rhel6", "corrupt-note-type.ko"), func() []byte {
		s := g.section(signed, elfsig.RHEL6Section)
		f, err := elfsig.NewFile(formats.NewModule("", signed))
		g.check(err, "ELF")
		c := append([]byte(nil), signed...)
		f.Order.PutUint32(c[s.Offset+8:], elfsig.RHELNoteType+1)
		return c
	}(), expect("note type 101 instead of 100: 'Module format error'", formats.Corrupt, formats.ErrnoELIBBAD, formats.ErrnoELIBBAD, "CorruptContainer").with(Oracle{Why: "the container, not the signature, is damaged"}))
	rsaSigned := sign(hello, rsa2048, formats.SignOptions{Variant: "rsa"})
	rsaKey := g.pgpForm("rsa2048", rsa2048)
	gr.add(g, vpath("rhel6", "rsa2048-sha1.ko"), rsaSigned,
		expect("the Fedora 2012 RSA form under the RHEL6 kernel: ksign finds no DSA signature (ENOENT)", formats.Unsupported, formats.ErrnoENOENT, formats.ErrnoENOENT, "RsaSignature").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: rsaKey.Keyring[0]}))

	gr = g.group("rhel6", elfsig.KernelFedora2012, rsaKey, "Fedora 2012 (Howells) variant rsa: RSA over the same sorted stream")
	gr.add(g, vpath("rhel6", "rsa2048-sha1.ko"), rsaSigned,
		expect("RSA-2048 SHA-1", formats.OK, errnoOK, errnoOK).hashed(crypto.SHA1).with(good))
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
		gr.add(g, vpath("rhel6", "rsa2048-"+formats.HashName(h)+".ko"), sign(hello, rsa2048, formats.SignOptions{Variant: "rsa", Hash: h}),
			expect("RSA-2048 "+formats.HashName(h)+" (CONFIG_MODULE_SIG_"+strings.ToUpper(formats.HashName(h))+")", formats.OK, errnoOK, errnoOK).hashed(h).with(good))
	}
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module", formats.Unsigned, errnoOK, rej, "Unsigned").with(Oracle{Why: "no signature to check"}))
	rsaUnknown := sign(hello, untrusted, formats.SignOptions{Variant: "rsa"})
	untrustedRing := g.pgpForm("untrusted-rsa2048", untrusted).Keyring[0]
	gr.add(g, vpath("rhel6", "untrusted-rsa2048-sha1.ko"), rsaUnknown,
		expect("unknown key: loads when not enforcing (after 2012-08-02)", formats.UnknownKey, errnoOK, errnoENOKEY, "UnknownKey").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: untrustedRing}))
	gr.add(g, vpath("rhel6", "rsa-tampered-payload.ko"), g.flipModinfo(rsaSigned),
		expect("one .modinfo byte changed after signing", formats.BadSignature, rej, rej, "TamperedPayload").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("rhel6", "dsa1024-sha1.ko"), signed,
		expect("the RHEL6 DSA form under the Howells kernel: no DSA there (ENOPKG)", formats.Unsupported, formats.ErrnoENOPKG, formats.ErrnoENOPKG, "DsaSignature").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: key.Keyring[0]}))

	gr = g.group("rhel6", elfsig.KernelFedora2012Early, rsaKey, "Fedora 2012 before the 2012-08-02 series")
	gr.add(g, vpath("rhel6", "untrusted-rsa2048-sha1.ko"), rsaUnknown,
		expect("unknown key: ENOKEY even when not enforcing", formats.UnknownKey, errnoENOKEY, errnoENOKEY, "UnknownKey", "EarlyKernel").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: untrustedRing}))
}

func (g *gen) gkh2004() {
	hello := g.module("hello")
	rsa2048 := g.key("rsa2048")
	untrusted := g.key("untrusted-rsa2048")
	key := g.pgpForm("rsa2048", rsa2048)
	g.export(&key, "gkh2004", rsa2048)
	good := Oracle{Tool: gpgTool, Good: true}
	bad := Oracle{Tool: gpgTool, Good: false}
	eperm := formats.ErrnoEPERM
	sign := func(mod []byte, k *keys.Material, v string) []byte {
		return g.sign("gkh2004", mod, k, formats.SignOptions{Variant: v})
	}

	gr := g.group("gkh2004", elfsig.GKHKernelTree, key, "Kroah-Hartman 2004 module_sig section over the text/data section stream; permissive = the last tree with its check implemented, enforcing = the article's kernel")
	signed := sign(hello, rsa2048, "")
	gr.add(g, vpath("gkh2004", "detached-sha1.ko"), signed,
		expect("detached gpg -b signature (v4, RSA, SHA-1) over the kernel-rule stream of hello.ko, which includes .rela.* on x86-64", formats.OK, errnoOK, errnoOK, "RelaText").hashed(crypto.SHA1).with(good))
	gr.add(g, vpath("gkh2004", "detached-libbfd.ko"), sign(hello, rsa2048, "detached+libbfd"),
		expect("signed over the libbfd signer's stream (no .rela.*): good signature, but the kernel hashes its own rule and refuses it", formats.OK, eperm, eperm, "RelaText", "LibbfdStream").hashed(crypto.SHA1).as(Acceptable).with(good))
	gr.add(g, vpath("gkh2004", "i386-detached-sha1.ko"), sign(g.module("i386"), rsa2048, ""),
		expect("i386 (REL): .rel.text is excluded by both rules", formats.OK, errnoOK, errnoOK, "RelText", "CrossArch").hashed(crypto.SHA1).with(good))
	gr.add(g, vpath("gkh2004", "rsa-mpi.ko"), sign(hello, rsa2048, "rsa"),
		expect("variant rsa: the raw RSA MPI of the SHA-1 DigestInfo (reconstruction)", formats.OK, errnoOK, errnoOK, "RawMPI").hashed(crypto.SHA1).with(Oracle{Tool: opensslDgst, Good: true, Key: g.certForm("rsa2048", rsa2048).Keyring[0]}))
	gr.add(g, vpath("gkh2004", "encrypted.ko"), sign(hello, rsa2048, "encrypted"),
		expect("variant encrypted: the article's gpg -e -r KEY of the stream's SHA-1 line (session key and padding deterministic for the vector); only the private key can check it, so with the kernel's public key the verdict is unsupported", formats.Unsupported, eperm, eperm, "EncryptedForm", "RelaText").hashed(crypto.SHA1).with(Oracle{Tool: gpgDecryptTool, Good: true}))
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module: the tree loads it, the article's kernel refuses it", formats.Unsigned, errnoOK, eperm, "Unsigned").with(Oracle{Why: "no signature to check"}))
	gr.add(g, vpath("gkh2004", "tampered-text.ko"), func() []byte {
		s := g.section(signed, ".init.text")
		return flip(signed, int(s.Offset), 0x01)
	}(), expect("first byte of .init.text changed after signing", formats.BadSignature, eperm, eperm, "TamperedPayload").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("gkh2004", "tampered-modinfo.ko"), g.flipModinfo(signed),
		expect(".modinfo changed after signing: not covered, still valid", formats.OK, errnoOK, errnoOK, "UnsignedModinfo").hashed(crypto.SHA1).as(Acceptable).with(good))
	gr.add(g, vpath("gkh2004", "tampered-signature.ko"), flip(signed, g.sigLastByte(signed, elfsig.GKHSection), 0x01),
		expect("last byte of the RSA MPI changed", formats.BadSignature, eperm, eperm, "TamperedSignature").hashed(crypto.SHA1).with(bad))
	gr.add(g, vpath("gkh2004", "untrusted-rsa2048.ko"), sign(hello, untrusted, ""),
		expect("signed by another key than the one compiled in: the era had one key and no lookup, so this is just a bad signature", formats.BadSignature, eperm, eperm, "UnknownKey").hashed(crypto.SHA1).with(Oracle{Tool: gpgTool, Good: true, Key: g.pgpForm("untrusted-rsa2048", untrusted).Keyring[0]}))
	gr.add(g, vpath("gkh2004", "corrupt-section.ko"), func() []byte {
		s := g.section(signed, elfsig.GKHSection)
		c := append([]byte(nil), signed...)
		c[s.Offset] = 0x00
		return c
	}(), expect("module_sig holds neither an OpenPGP packet nor an MPI that fills it", formats.Corrupt, eperm, eperm, "CorruptContainer").with(Oracle{Why: "not an OpenPGP packet"}))

	gr = g.group("gkh2004", elfsig.GKHKernelArticle, key, "the Linux Journal article's kernel: every module without a good signature is refused")
	gr.add(g, vpath("gkh2004", "detached-sha1.ko"), signed,
		expect("detached signature", formats.OK, errnoOK, errnoOK, "RelaText").hashed(crypto.SHA1).with(good))
	gr.add(g, "common/unsigned-hello.ko", hello,
		expect("unsigned module", formats.Unsigned, eperm, eperm, "Unsigned").with(Oracle{Why: "no signature to check"}))
}
