package x509sig

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

func TestVerifyLaterKernels(t *testing.T) {
	unsigned := hello(t)
	signed := sign(t, unsigned, loadKey(t, "rsa2048"), crypto.SHA256)
	ring := ringOf(t, "rsa2048")
	bo := blockAt(signed)
	cms := append([]byte{0x30, 0x82, 0x02, 0xa5}, bytes.Repeat([]byte{0x42}, 0x2a5)...)
	v21, _ := formats.AppendModSig(unsigned, nil, nil, cms, formats.ModSig{IDType: formats.IDTypeX509})
	tooLong := edit(signed, func(b []byte) []byte { binary.BigEndian.PutUint32(b[bo+8:], 100000000); return b })
	badIDs := edit(signed, func(b []byte) []byte { b[bo+3], b[bo+4] = 255, 255; return b[len(b)-40-258-300:] })

	cases := []struct {
		name      string
		kernel    string
		b         []byte
		outcome   formats.Outcome
		perm, enf formats.Errno
	}{
		{"6.1 valid x509", Kernel61, signed, formats.Unsupported, "OK", "EKEYREJECTED"},
		{"6.1 variant 21", Kernel61, v21, formats.Unsupported, "OK", "EKEYREJECTED"},
		{"6.1 unsigned", Kernel61, unsigned, formats.Unsigned, "OK", "EKEYREJECTED"},
		{"6.1 sig_len too long", Kernel61, tooLong, formats.Corrupt, "EBADMSG", "EBADMSG"},
		{"6.1 signer/key_id lengths not checked", Kernel61, badIDs, formats.Unsupported, "OK", "EKEYREJECTED"},
		{"4.3 valid x509", Kernel43, signed, formats.Unsupported, "ENOPKG", "ENOPKG"},
		{"4.3 unsigned", Kernel43, unsigned, formats.Unsigned, "OK", "ENOKEY"},
		{"rc1 kernel on the released layout", Kernel37RC1, signed, formats.Corrupt, "EBADMSG", "EBADMSG"},
		{"rc1 kernel unsigned", Kernel37RC1, unsigned, formats.Unsigned, "OK", "EKEYREJECTED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Driver{}.Verify(mod(c.b), ring, formats.Policy{Kernel: c.kernel})
			if v.Outcome != c.outcome || v.Permissive != c.perm || v.Enforcing != c.enf || v.Kernel != c.kernel {
				t.Fatalf("Verify = %s / %s / %s (%s), want %s / %s / %s\nreason: %s", v.Outcome, v.Permissive, v.Enforcing, v.Kernel, c.outcome, c.perm, c.enf, v.Reason)
			}
		})
	}
	v := Driver{}.Verify(mod(signed), ring, formats.Policy{Kernel: Kernel61})
	if !strings.Contains(v.Reason, "not signed with expected PKCS#7 message") || v.Signer != "kmodsig trusted RSA-2048" ||
		!strings.Contains(strings.Join(v.Notes, "\n"), "as a 3.7-4.2 signature it is ok") {
		t.Fatalf("6.1 verdict lacks the kernel message, the signer or the 3.7 note: %+v", v)
	}
	for _, bad := range []string{"freebsd-13", "linux-4", "linux-x.y"} {
		if v := (Driver{}).Verify(mod(signed), ring, formats.Policy{Kernel: bad}); v.Err == nil || v.Outcome != formats.Unsupported {
			t.Fatalf("unknown kernel model %q: %+v", bad, v)
		}
	}
	expired := sign(t, unsigned, loadKey(t, "expired-rsa2048"), crypto.SHA256)
	noAKIDRing := ringWithoutAKID(t)
	for _, c := range []struct {
		kernel    string
		b         []byte
		r         *keys.Ring
		outcome   formats.Outcome
		perm, enf formats.Errno
		name      string
	}{
		{"linux-2.6.32", signed, ring, formats.OK, "OK", "OK", "linux-2.6"},
		{"linux-2.6", unsigned, ring, formats.Unsigned, "OK", "OK", "linux-2.6"},
		{"linux-3.7.10", expired, ringOf(t, "expired-rsa2048"), formats.Expired, "OK", "ENOKEY", "linux-3.7"},
		{"linux-3.11", expired, ringOf(t, "expired-rsa2048"), formats.Expired, "OK", "ENOKEY", "linux-3.11"},
		{"linux-3.12", expired, ringOf(t, "expired-rsa2048"), formats.OK, "OK", "OK", "linux-3.12"},
		{"linux-3.16", signed, noAKIDRing, formats.UnknownKey, "OK", "ENOKEY", "linux-3.16"},
		{"linux-3.18", signed, noAKIDRing, formats.OK, "OK", "OK", "linux-3.18"},
		{"linux-4.2", signed, ring, formats.OK, "OK", "OK", "linux-4.2"},
		{"linux-4.2", edit(signed, func(b []byte) []byte { b[100] ^= 4; return b }), ring, formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED", "linux-4.2"},
		{"linux-5.3", signed, ring, formats.Unsupported, "ENOPKG", "ENOPKG", "linux-5.3"},
		{"linux-5.4", signed, ring, formats.Unsupported, "OK", "EKEYREJECTED", "linux-5.4"},
		{"linux-6.12", unsigned, ring, formats.Unsigned, "OK", "EKEYREJECTED", "linux-6.12"},
	} {
		v := Driver{}.Verify(mod(c.b), c.r, formats.Policy{Kernel: c.kernel})
		if v.Outcome != c.outcome || v.Permissive != c.perm || v.Enforcing != c.enf || v.Kernel != c.name {
			t.Fatalf("%s: Verify = %s / %s / %s (%s), want %s / %s / %s (%s)\nreason: %s", c.kernel, v.Outcome, v.Permissive, v.Enforcing, v.Kernel, c.outcome, c.perm, c.enf, c.name, v.Reason)
		}
	}
}

func TestParseErrors(t *testing.T) {
	signed := sign(t, hello(t), loadKey(t, "rsa2048"), crypto.SHA256)
	bo := int64(blockAt(signed))
	sigOff := bo - 258
	cases := []struct {
		name     string
		b        []byte
		off      int64 // -2: any offset
		sentinel error
		withSig  bool // Parse still returns modinfo's view
	}{
		{"unsigned", hello(t), -1, formats.ErrNotSigned, false},
		{"truncated to the marker", []byte(formats.Marker), 0, nil, false},
		{"truncated block", append([]byte{1, 4, 1}, formats.Marker...), 0, nil, false},
		{"sig_len larger than the file", edit(signed, func(b []byte) []byte { binary.BigEndian.PutUint32(b[bo+8:], 1<<31); return b }), bo + 8, nil, false},
		{"sig_len zero", edit(signed, func(b []byte) []byte { binary.BigEndian.PutUint32(b[bo+8:], 0); return b }), bo + 8, nil, false},
		{"signer+key_id do not fit", edit(signed, func(b []byte) []byte { b[bo+3], b[bo+4] = 255, 255; return b[len(b)-40-258-300:] }), 300 + 258 + 3, nil, false},
		{"be16 != sig_len-2", edit(signed, func(b []byte) []byte { b[sigOff] = 2; return b }), sigOff, nil, true},
		{"sig_len 2", edit(signed, func(b []byte) []byte { binary.BigEndian.PutUint32(b[bo+8:], 2); return b }), bo - 2, nil, true},
		{"signer_len zero", edit(signed, func(b []byte) []byte { b[bo+3] = 0; return b }), bo + 3, nil, true},
		{"key_id_len zero", edit(signed, func(b []byte) []byte { b[bo+4] = 0; return b }), bo + 4, nil, true},
		{"pkcs7 trailer", edit(signed, func(b []byte) []byte { b[bo+2] = 2; return b }), bo + 2, formats.ErrNotSigned, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Driver{}.Parse(mod(c.b))
			var fe *formats.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v (%T), want *FormatError", err, err)
			}
			if fe.Format != ID || fe.Path != "test.ko" || (c.off != -2 && fe.Off != c.off) {
				t.Fatalf("FormatError = %+v, want format x509 at offset %d", fe, c.off)
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Fatalf("error %v does not wrap %v", err, c.sentinel)
			}
			if (s != nil) != c.withSig {
				t.Fatalf("Signature returned = %v, want %v", s != nil, c.withSig)
			}
			if s != nil && s.SigID != "X509" {
				t.Fatalf("partial signature %+v", s)
			}
		})
	}
}

func TestPGPTrailer(t *testing.T) {
	unsigned := hello(t)
	sig := bytes.Repeat([]byte{0x89, 0x01}, 100)
	b, err := formats.AppendModSig(unsigned, []byte("Fedora kernel signing key"), []byte{1, 2, 3, 4, 5, 6, 7, 8}, sig,
		formats.ModSig{Algo: AlgoRSA, Hash: 2, IDType: formats.IDTypePGP})
	if err != nil {
		t.Fatal(err)
	}
	m := mod(b)
	if !(PGPDriver{}).Detect(m) || (Driver{}).Detect(m) {
		t.Fatal("detection: pgp-trailer must claim id_type 0 and x509 must not")
	}
	s, err := PGPDriver{}.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	if s.SigID != "PGP" || s.Signer != "Fedora kernel signing key" || !bytes.Equal(s.KeyID, []byte{1, 2, 3, 4, 5, 6, 7, 8}) ||
		s.HashAlgo != "sha1" || !bytes.Equal(s.Value, sig) || s.Format != PGPID {
		t.Fatalf("Parse = %+v", s)
	}
	if st, err := (PGPDriver{}).Strip(m); err != nil || !bytes.Equal(st, unsigned) {
		t.Fatalf("Strip: %v", err)
	}
	if _, err := (PGPDriver{}).Sign(unsigned, loadKey(t, "rsa2048"), formats.SignOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Sign = %v", err)
	}
	for _, c := range []struct {
		kernel    string
		perm, enf formats.Errno
	}{
		{"", "ENOPKG", "ENOPKG"},
		{Kernel37, "ENOPKG", "ENOPKG"},
		{Kernel43, "ENOPKG", "ENOPKG"},
		{Kernel61, "OK", "EKEYREJECTED"},
	} {
		v := PGPDriver{}.Verify(m, ringOf(t, "rsa2048"), formats.Policy{Kernel: c.kernel})
		if v.Outcome != formats.Unsupported || v.Permissive != c.perm || v.Enforcing != c.enf || v.Format != PGPID {
			t.Fatalf("%q: Verify = %+v", c.kernel, v)
		}
		if !strings.Contains(v.Reason, "id_type 0") || v.Signer != "Fedora kernel signing key" {
			t.Fatalf("%q: reason %q, signer %q", c.kernel, v.Reason, v.Signer)
		}
	}
	if _, err := (PGPDriver{}).Parse(mod(sign(t, unsigned, loadKey(t, "rsa2048"), crypto.SHA256))); !errors.Is(err, formats.ErrNotSigned) {
		t.Fatalf("pgp-trailer Parse of an x509 module: %v", err)
	}
}

func TestRegistered(t *testing.T) {
	for id, order := range map[string]int{ID: 11, PGPID: 12} {
		d, err := formats.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Info().Order != order || d.ID() != id {
			t.Fatalf("%s: %+v", id, d.Info())
		}
	}
	if _, ok := any(Driver{}).(formats.KeyExporter); !ok {
		t.Fatal("x509 driver is not a KeyExporter")
	}
}
