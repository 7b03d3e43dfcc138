package x509sig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

const testdata = "../testdata"

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadKey(t testing.TB, name string) *keys.Material {
	t.Helper()
	k, err := keys.LoadFile(filepath.Join(testdata, "keys", name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ringOf(t testing.TB, names ...string) *keys.Ring {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(testdata, "keys", n+".crt"))
	}
	r, err := keys.LoadRing(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hello(t testing.TB) []byte { return readFile(t, "modules/hello.ko") }

func sign(t testing.TB, unsigned []byte, k *keys.Material, h crypto.Hash) []byte {
	t.Helper()
	out, err := Driver{}.Sign(unsigned, k, formats.SignOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mod(b []byte) formats.Module { return formats.NewModule("test.ko", b) }

var allHashes = []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}

func TestSignParseStripRoundTrip(t *testing.T) {
	unsigned := hello(t)
	for _, name := range []string{"rsa2048", "rsa4096"} {
		k := loadKey(t, name)
		cert, _ := k.Certificate()
		ring := ringOf(t, name)
		for _, h := range allHashes {
			t.Run(name+"/"+formats.HashName(h), func(t *testing.T) {
				signed := sign(t, unsigned, k, h)
				m := mod(signed)
				if !(Driver{}).Detect(m) {
					t.Fatal("Detect = false on our own output")
				}
				if (PGPDriver{}).Detect(m) {
					t.Fatal("pgp-trailer claims an id_type 1 trailer")
				}
				s, err := Driver{}.Parse(m)
				if err != nil {
					t.Fatal(err)
				}
				nbytes := cert.PublicKey.(*rsa.PublicKey).Size()
				if s.SigID != "X509" || s.Signer != keys.SignerName(cert) || !bytes.Equal(s.KeyID, cert.SubjectKeyId) ||
					s.HashAlgo != formats.HashName(h) || s.PayloadLen != int64(len(unsigned)) || s.Variant != "" || s.PublicKey != "RSA" {
					t.Fatalf("Parse = %+v", s)
				}
				if len(s.Value) != 2+nbytes || int(binary.BigEndian.Uint16(s.Value)) != nbytes {
					t.Fatalf("signature value %d bytes, prefix %x, want 2+%d", len(s.Value), s.Value[:2], nbytes)
				}
				if want := int64(len(signed) - len(unsigned)); s.Length != want || s.Offset != int64(len(unsigned)) {
					t.Fatalf("Offset/Length = %d/%d, want %d/%d", s.Offset, s.Length, len(unsigned), want)
				}
				stripped, err := Driver{}.Strip(m)
				if err != nil || !bytes.Equal(stripped, unsigned) {
					t.Fatalf("Strip: %v, equal=%v", err, bytes.Equal(stripped, unsigned))
				}
				if again := sign(t, stripped, k, h); !bytes.Equal(again, signed) {
					t.Fatal("Sign(Strip(x)) != x")
				}
				v := Driver{}.Verify(m, ring, formats.Policy{})
				if v.Outcome != formats.OK || v.Permissive != formats.ErrnoOK || v.Enforcing != formats.ErrnoOK || v.Kernel != Kernel37 {
					t.Fatalf("Verify = %+v", v)
				}
				// The kernel emulation must agree with crypto/rsa on a good signature.
				hw := h.New()
				hw.Write(unsigned)
				if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), h, hw.Sum(nil), s.Value[2:]); err != nil {
					t.Fatalf("crypto/rsa rejects our signature: %v", err)
				}
			})
		}
	}
}

func TestDefaultHashIsSHA256(t *testing.T) {
	signed := sign(t, hello(t), loadKey(t, "rsa2048"), 0)
	s, err := Driver{}.Parse(mod(signed))
	if err != nil || s.HashAlgo != "sha256" {
		t.Fatalf("Parse = %+v, %v", s, err)
	}
	if blk := signed[len(signed)-40:]; blk[0] != 1 || blk[1] != 4 || blk[2] != 1 || !bytes.Equal(blk[5:8], []byte{0, 0, 0}) {
		t.Fatalf("block = % x", blk[:12])
	}
}

// edit returns a copy of b with f applied.
func edit(b []byte, f func(b []byte) []byte) []byte { return f(append([]byte(nil), b...)) }

// blockAt returns the offset of the 12-byte block of a released-layout module.
func blockAt(b []byte) int { return len(b) - 40 }

func TestVerifyKernel37Table(t *testing.T) {
	unsigned := hello(t)
	k := loadKey(t, "rsa2048")
	signed := sign(t, unsigned, k, crypto.SHA256)
	ring := ringOf(t, "rsa2048")
	bo := blockAt(signed)
	sigOff := bo - (2 + 256)
	expiredSigned := sign(t, unsigned, loadKey(t, "expired-rsa2048"), crypto.SHA256)

	ringNoAKID := ringWithoutAKID(t)

	cms := append([]byte{0x30, 0x82, 0x02, 0xa5}, bytes.Repeat([]byte{0x42}, 0x2a5)...)
	v21, _ := formats.AppendModSig(unsigned, nil, nil, cms, formats.ModSig{IDType: formats.IDTypeX509})

	cases := []struct {
		name      string
		b         []byte
		ring      *keys.Ring
		outcome   formats.Outcome
		perm, enf formats.Errno
	}{
		{"valid", signed, ring, formats.OK, "OK", "OK"},
		{"unsigned", unsigned, ring, formats.Unsigned, "OK", "ENOKEY"},
		{"unknown key", sign(t, unsigned, loadKey(t, "untrusted-rsa2048"), crypto.SHA256), ring, formats.UnknownKey, "OK", "ENOKEY"},
		{"empty keyring", signed, nil, formats.UnknownKey, "OK", "ENOKEY"},
		{"cert without AKID", signed, ringNoAKID, formats.UnknownKey, "OK", "ENOKEY"},
		{"expired certificate (3.7 refused to load it)", expiredSigned, ringOf(t, "expired-rsa2048"), formats.Expired, "OK", "ENOKEY"},
		{"expired certificate, tampered payload", edit(expiredSigned, func(b []byte) []byte { b[1000] ^= 1; return b }), ringOf(t, "expired-rsa2048"), formats.BadSignature, "OK", "ENOKEY"},
		{"tampered payload", edit(signed, func(b []byte) []byte { b[1000] ^= 1; return b }), ring, formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED"},
		{"tampered signature", edit(signed, func(b []byte) []byte { b[bo-1] ^= 1; return b }), ring, formats.BadSignature, "ERANGE", "ERANGE"},
		{"signature >= modulus", edit(signed, func(b []byte) []byte {
			copy(b[sigOff+2:bo], bytes.Repeat([]byte{0xff}, 256))
			return b
		}), ring, formats.BadSignature, "EBADMSG", "EBADMSG"},
		{"hash byte sha1 on a sha256 signature", edit(signed, func(b []byte) []byte { b[bo+1] = 2; return b }), ring, formats.BadSignature, "EBADMSG", "EBADMSG"},
		{"algo DSA", edit(signed, func(b []byte) []byte { b[bo] = 0; return b }), ring, formats.Unsupported, "ENOPKG", "ENOPKG"},
		{"id_type PGP", edit(signed, func(b []byte) []byte { b[bo+2] = 0; return b }), ring, formats.Unsupported, "ENOPKG", "ENOPKG"},
		{"hash 8", edit(signed, func(b []byte) []byte { b[bo+1] = 8; return b }), ring, formats.Unsupported, "ENOPKG", "ENOPKG"},
		{"hash md4", edit(signed, func(b []byte) []byte { b[bo+1] = 0; return b }), ring, formats.Unsupported, "ENOTSUPP", "ENOTSUPP"},
		{"be16 != sig_len-2", edit(signed, func(b []byte) []byte { b[sigOff+1]--; return b }), ring, formats.Corrupt, "EBADMSG", "EBADMSG"},
		{"be16 != sig_len-2, unknown key first", edit(signed, func(b []byte) []byte { b[sigOff+1]--; return b }), nil, formats.UnknownKey, "OK", "ENOKEY"},
		{"sig_len larger than the file", edit(signed, func(b []byte) []byte { binary.BigEndian.PutUint32(b[bo+8:], 100000000); return b }), ring, formats.Corrupt, "EBADMSG", "EBADMSG"},
		{"sig_len + 1", edit(signed, func(b []byte) []byte { binary.BigEndian.PutUint32(b[bo+8:], 259); return b }), ring, formats.UnknownKey, "OK", "ENOKEY"}, // signer and key_id carved one byte early
		{"sig_len 2", edit(signed, func(b []byte) []byte { binary.BigEndian.PutUint32(b[bo+8:], 2); return b }), ring, formats.UnknownKey, "OK", "ENOKEY"},
		{"signer+key_id leave no payload", edit(signed, func(b []byte) []byte { b[bo+3], b[bo+4] = 255, 255; return b[len(b)-40-258-300:] }), ring, formats.Corrupt, "EBADMSG", "EBADMSG"},
		{"marker only", []byte(formats.Marker), ring, formats.Corrupt, "EBADMSG", "EBADMSG"},
		{"CMS in an id_type 1 block (variant 21)", v21, ring, formats.Unsupported, "ENOPKG", "ENOPKG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Driver{}.Verify(mod(c.b), c.ring, formats.Policy{Kernel: Kernel37})
			if v.Outcome != c.outcome || v.Permissive != c.perm || v.Enforcing != c.enf {
				t.Fatalf("Verify = %s / %s / %s, want %s / %s / %s\nreason: %s", v.Outcome, v.Permissive, v.Enforcing, c.outcome, c.perm, c.enf, v.Reason)
			}
			if v.Reason == "" {
				t.Fatal("empty reason")
			}
			if v.Permissive == formats.ErrnoOK && v.Outcome != formats.OK {
				if !strings.Contains(strings.Join(v.Notes, "\n"), "taint") {
					t.Fatalf("forgiven failure without a taint note: %v", v.Notes)
				}
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	unsigned := hello(t)
	rsaKey := loadKey(t, "rsa2048")
	ec := loadKey(t, "ecdsa-p256")
	if _, ok := ec.Signer.(*ecdsa.PrivateKey); !ok {
		t.Fatalf("ecdsa-p256.pem loaded as %T", ec.Signer)
	}
	dsa, err := keys.LoadFile(filepath.Join(testdata, "keys", "dsa1024.key"))
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := rsaKey.Certificate()
	noSKIDTmpl := *cert
	noSKIDTmpl.SubjectKeyId, noSKIDTmpl.AuthorityKeyId, noSKIDTmpl.Extensions, noSKIDTmpl.ExtraExtensions = nil, nil, nil, nil
	der, err := x509.CreateCertificate(nil, &noSKIDTmpl, &noSKIDTmpl, cert.PublicKey, rsaKey.Signer)
	if err != nil {
		t.Fatal(err)
	}
	noSKID, _ := x509.ParseCertificate(der)
	if len(noSKID.SubjectKeyId) != 0 {
		t.Fatal("Go added an SKID")
	}
	other, _ := loadKey(t, "untrusted-rsa2048").Certificate()

	cases := []struct {
		name string
		k    *keys.Material
		o    formats.SignOptions
		want error
	}{
		{"ECDSA", ec, formats.SignOptions{}, formats.ErrKeyType},
		{"ECDSA forced", ec, formats.SignOptions{Force: true}, formats.ErrKeyType},
		{"DSA", dsa, formats.SignOptions{}, formats.ErrKeyType},
		{"nil", nil, formats.SignOptions{}, formats.ErrKeyType},
		{"certificate without SKID", &keys.Material{Signer: rsaKey.Signer, Cert: noSKID}, formats.SignOptions{}, keys.ErrNoSKID},
		{"certificate of another key", &keys.Material{Signer: rsaKey.Signer, Cert: other}, formats.SignOptions{}, formats.ErrKeyMismatch},
		{"md5 without force", rsaKey, formats.SignOptions{Hash: crypto.MD5}, formats.ErrHash},
		{"sha3-256", rsaKey, formats.SignOptions{Hash: crypto.SHA3_256, Force: true}, formats.ErrHash},
		{"variant rc1", rsaKey, formats.SignOptions{Variant: VariantRC1}, ErrReadOnly},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Driver{}.Sign(unsigned, c.k, c.o)
			if !errors.Is(err, c.want) {
				t.Fatalf("Sign error = %v, want %v", err, c.want)
			}
		})
	}
}

func TestSignForcedLegacyHashes(t *testing.T) {
	unsigned := hello(t)
	k := loadKey(t, "rsa2048")
	for _, h := range []crypto.Hash{crypto.MD5, crypto.RIPEMD160} {
		var warned []string
		signed, err := Driver{}.Sign(unsigned, k, formats.SignOptions{Hash: h, Force: true, Warn: func(s string) { warned = append(warned, s) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(warned) != 1 {
			t.Fatalf("warnings = %q", warned)
		}
		s, err := Driver{}.Parse(mod(signed))
		if err != nil || s.HashAlgo != formats.HashName(h) {
			t.Fatalf("Parse = %+v, %v", s, err)
		}
		if v := (Driver{}).Verify(mod(signed), ringOf(t, "rsa2048"), formats.Policy{}); v.Outcome != formats.OK {
			t.Fatalf("%s: Verify = %v", formats.HashName(h), v)
		}
	}
}

func TestExportKey(t *testing.T) {
	k := loadKey(t, "rsa2048")
	der, name, err := Driver{}.ExportKey(k, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, "keys/rsa2048.der"); !bytes.Equal(der, want) || name != "signing_key.x509" {
		t.Fatalf("ExportKey = %d bytes %q, want rsa2048.der", len(der), name)
	}
	if _, _, err := (Driver{}).ExportKey(loadKey(t, "ecdsa-p256"), formats.SignOptions{}); !errors.Is(err, formats.ErrKeyType) {
		t.Fatalf("ECDSA export: %v", err)
	}
}

// ringWithoutAKID trusts a certificate for rsa2048's key, with its name and SKID but no
// authorityKeyIdentifier.
func ringWithoutAKID(t *testing.T) *keys.Ring {
	t.Helper()
	k := loadKey(t, "rsa2048")
	cert, _ := k.Certificate()
	tmpl := *cert
	tmpl.AuthorityKeyId = nil
	tmpl.ExtraExtensions = nil
	tmpl.Extensions = nil
	der, err := x509.CreateCertificate(nil, &tmpl, &tmpl, cert.PublicKey, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	noAKID, _ := x509.ParseCertificate(der)
	if len(noAKID.AuthorityKeyId) != 0 || !bytes.Equal(noAKID.SubjectKeyId, cert.SubjectKeyId) || keys.Description(noAKID) != keys.Description(cert) {
		t.Fatal("test certificate without AKID not made as intended")
	}
	r := &keys.Ring{}
	r.AddCert(noAKID)
	return r
}
