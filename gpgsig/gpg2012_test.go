package gpgsig

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

func readModule(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/modules/hello.ko")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sh runs a shell script in dir with the gpg home, failing the test on error.
func (g *gpgHome) sh(script string) []byte {
	g.T.Helper()
	c := exec.Command("sh", "-ec", script)
	c.Dir = g.Dir
	c.Env = append(os.Environ(), "GNUPGHOME="+g.Dir, "LC_ALL=C")
	out, err := c.CombinedOutput()
	if err != nil {
		g.T.Fatalf("sh: %v\n%s\n%s", err, script, out)
	}
	return out
}

// TestEraPipeline: a module made by the era's own pipeline (scripts/Makefile.modpost of the
// dhowells tree: gpg -b, then the signature, `printf %-5s` of its size and the magic appended
// in shell) is detected, parsed, verified with gpg's exported key and stripped back.
func TestEraPipeline(t *testing.T) {
	g := newGPG(t)
	g.Must("--quick-gen-key", "Module Signer <modsign@example.invalid>", "rsa2048", "sign", "never")
	g.File("foo.ko", readModule(t))
	// The Makefile stripped the module first (strip -x -g, then eu-strip when present).
	stripCmd := "cp foo.ko foo.ko.stripped"
	if _, err := exec.LookPath("strip"); err == nil {
		stripCmd += " && strip -x -g foo.ko.stripped"
	}
	g.sh(stripCmd)
	mod := g.Read("foo.ko.stripped")
	for _, digest := range []string{"SHA1", "SHA256", "SHA512"} {
		t.Run(digest, func(t *testing.T) {
			g.sh(`rm -f foo.ko.stripped.sig
gpg --batch --no-greeting -u modsign@example.invalid --digest-algo ` + digest + ` -b foo.ko.stripped
cat foo.ko.stripped foo.ko.stripped.sig > foo.ko
printf %-5s $(stat --printf %s foo.ko.stripped.sig) >> foo.ko
printf 'This Is A Crypto Signed Module' >> foo.ko`)
			signed := g.Read("foo.ko")
			sigLen := len(g.Read("foo.ko.stripped.sig"))
			m := formats.NewModule("foo.ko", signed)
			if !(Driver{}).Detect(m) {
				t.Fatal("Detect: false")
			}
			if d := formats.Detect(m); d == nil || d.ID() != ID {
				t.Fatalf("formats.Detect: %v", d)
			}
			sig, err := Driver{}.Parse(m)
			if err != nil {
				t.Fatal(err)
			}
			if sig.PayloadLen != int64(len(mod)) || sig.Length != int64(sigLen+35) || sig.PublicKey != "rsa" || sig.HashAlgo != strings.ToLower(digest) {
				t.Fatalf("Parse: %+v", sig)
			}
			ring := &keys.Ring{}
			if err := ring.Add(g.Must("--export")); err != nil {
				t.Fatal(err)
			}
			v := Driver{}.Verify(m, ring, formats.Policy{})
			if v.Outcome != formats.OK || v.Permissive != formats.ErrnoOK || v.Enforcing != formats.ErrnoOK {
				t.Fatalf("Verify: %v", v)
			}
			if v.Signer != "Module Signer <modsign@example.invalid>" || v.KeyID != fmt.Sprintf("%016X", ring.PGP[0].PrimaryKey.KeyId) {
				t.Errorf("Verify names %q %q", v.Signer, v.KeyID)
			}
			stripped, err := Driver{}.Strip(m)
			if err != nil || !bytes.Equal(stripped, mod) {
				t.Fatalf("Strip: %v", err)
			}
		})
	}
}

// TestEraPipelineDSA: a DSA key through the same pipeline gives ENOPKG (the Howells kernels
// had no DSA), naming gpg's key id.
func TestEraPipelineDSA(t *testing.T) {
	g := newGPG(t)
	g.Must("--quick-gen-key", "DSA Signer <dsa@example.invalid>", "dsa1024", "sign", "never")
	g.File("foo.ko.stripped", readModule(t))
	g.sh(`gpg --batch --no-greeting -b foo.ko.stripped
cat foo.ko.stripped foo.ko.stripped.sig > foo.ko
printf %-5s $(stat --printf %s foo.ko.stripped.sig) >> foo.ko
printf 'This Is A Crypto Signed Module' >> foo.ko`)
	ring := &keys.Ring{}
	if err := ring.Add(g.Must("--export")); err != nil {
		t.Fatal(err)
	}
	v := Driver{}.Verify(formats.NewModule("foo.ko", g.Read("foo.ko")), ring, formats.Policy{})
	if v.Outcome != formats.Unsupported || v.Permissive != formats.ErrnoENOPKG || v.Enforcing != formats.ErrnoENOPKG ||
		v.KeyID != fmt.Sprintf("%016X", ring.PGP[0].PrimaryKey.KeyId) {
		t.Fatalf("%v key %s", v, v.KeyID)
	}
}

// TestFiveDigitLength: a signature of 10000 bytes or more (here padded with an unhashed
// notation, which gpg and the kernel ignore) has a 5-digit length that runs straight into the
// magic; it is detected, parsed and verified.
func TestFiveDigitLength(t *testing.T) {
	mod := readModule(t)
	k := loadKey(t, "rsa2048.key")
	good, err := Driver{}.Sign(mod, k, formats.SignOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	// Notation Data (type 20): 4 flag bytes, be16 name length, be16 value length, name, value.
	name, value := []byte("pad@kmodsig.invalid"), bytes.Repeat([]byte{'x'}, 10000)
	data := []byte{0, 0, 0, 0, byte(len(name) >> 8), byte(len(name)), byte(len(value) >> 8), byte(len(value))}
	data = append(append(data, name...), value...)
	big := resign(t, good, k, func(s *Sig) { s.Unhashed = AppendSubpacket(bytes.Clone(s.Unhashed), 20, data) }, false)
	if f := string(big[len(big)-35 : len(big)-30]); f[0] < '1' || f[4] == ' ' {
		t.Fatalf("length field %q is not five digits", f)
	}
	m := formats.NewModule("big", big)
	if !(Driver{}).Detect(m) {
		t.Fatal("not detected")
	}
	ring := &keys.Ring{}
	ring.AddMaterial(k)
	if v := (Driver{}).Verify(m, ring, formats.Policy{}); v.Outcome != formats.OK {
		t.Fatalf("%v", v)
	}
	if s, err := (Driver{}).Strip(m); err != nil || !bytes.Equal(s, mod) {
		t.Fatalf("Strip: %v", err)
	}
}

// carveAndVerify cuts the signature and payload out of a gpg2012 module in shell (ORACLES.md
// §5: L = the decimal at −35; the signature is the L bytes before it; the payload is the
// first size − 35 − L bytes) and runs gpg --verify on them.
func carveAndVerify(t *testing.T, g *gpgHome, signed []byte, extra string) string {
	t.Helper()
	g.File("m.ko", signed)
	return string(g.sh(`size=$(stat --printf %s m.ko)
L=$(tail -c 35 m.ko | head -c 5 | tr -d ' ')
head -c $((size - 35)) m.ko | tail -c $L > sig.bin
head -c $((size - 35 - L)) m.ko > payload.bin
gpg --batch ` + extra + ` --status-fd 1 --verify sig.bin payload.bin 2>/dev/null
gpg --list-packets sig.bin`))
}

// TestSignVerifiedByGPG: what Sign writes is carved out in shell and verified by gpg with our
// key imported from our own modsign.pub export; the packet has the era's shape.
func TestSignVerifiedByGPG(t *testing.T) {
	g := newGPG(t)
	mod := readModule(t)
	k := loadKey(t, "rsa2048.key")
	pub, name, err := Driver{}.ExportKey(k, formats.SignOptions{})
	if err != nil || name != "modsign.pub" {
		t.Fatal(name, err)
	}
	if pub[0] != 0x99 {
		t.Errorf("modsign.pub starts with %02x, want 99 (old-format public key packet as gpg --export writes)", pub[0])
	}
	g.Must("--import", g.File("modsign.pub", pub))
	id, _ := SigningKeyID(k)
	for _, h := range []crypto.Hash{0, crypto.MD5, crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		t.Run(fmt.Sprint(h), func(t *testing.T) {
			o := formats.SignOptions{Hash: h, Force: h == crypto.MD5}
			signed, err := Driver{}.Sign(mod, k, o)
			if err != nil {
				t.Fatal(err)
			}
			out := carveAndVerify(t, g, signed, "--allow-weak-digest-algos")
			for _, want := range []string{"[GNUPG:] GOODSIG " + fmt.Sprintf("%016X", id), "[GNUPG:] VALIDSIG ", "ctb=89 tag=2", "version 4", "\tsubpkt 16 len 8"} {
				if !strings.Contains(out, want) {
					t.Errorf("gpg output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "hashed subpkt 16") {
				t.Errorf("issuer in the hashed area:\n%s", out)
			}
			// Strip then Sign gives the same bytes back (RSA PKCS#1 v1.5 is deterministic).
			m := formats.NewModule("m.ko", signed)
			stripped, err := Driver{}.Strip(m)
			if err != nil || !bytes.Equal(stripped, mod) {
				t.Fatalf("Strip: %v", err)
			}
			again, _ := Driver{}.Sign(stripped, k, o)
			if !bytes.Equal(again, signed) {
				t.Error("Strip then Sign does not reproduce the signed module")
			}
		})
	}
}

// TestSignRefusals: MD5 without Force, hashes the era did not write, DSA and ECDSA keys.
func TestSignRefusals(t *testing.T) {
	mod := readModule(t)
	rsaKey := loadKey(t, "rsa2048.key")
	for _, c := range []struct {
		name string
		key  string
		o    formats.SignOptions
		want error
	}{
		{"md5 without force", "rsa2048.key", formats.SignOptions{Hash: crypto.MD5}, formats.ErrHash},
		{"rmd160", "rsa2048.key", formats.SignOptions{Hash: crypto.RIPEMD160}, formats.ErrHash},
		{"sha3", "rsa2048.key", formats.SignOptions{Hash: crypto.SHA3_256}, formats.ErrHash},
		{"dsa", "dsa1024.key", formats.SignOptions{Hash: crypto.SHA256}, formats.ErrKeyType},
		{"ecdsa", "ecdsa-p256.key", formats.SignOptions{Hash: crypto.SHA256}, formats.ErrKeyType},
		{"ecdsa forced", "ecdsa-p256.key", formats.SignOptions{Hash: crypto.SHA256, Force: true}, formats.ErrKeyType},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := rsaKey
			if c.key != "rsa2048.key" {
				k = loadKey(t, c.key)
			}
			_, err := Driver{}.Sign(mod, k, c.o)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
	var warned []string
	if _, err := (Driver{}).Sign(mod, loadKey(t, "dsa1024.key"), formats.SignOptions{Hash: crypto.SHA256, Force: true, Warn: func(s string) { warned = append(warned, s) }}); err != nil || len(warned) != 1 {
		t.Fatalf("forced DSA: %v, warnings %q", err, warned)
	}
	if _, _, err := (Driver{}).ExportKey(loadKey(t, "dsa1024.key"), formats.SignOptions{}); !errors.Is(err, formats.ErrKeyType) {
		t.Fatalf("ExportKey DSA: %v", err)
	}
}

// resign replaces the signature of a gpg2012 module by its parsed Sig after edit, signed
// again over the payload with k when sign is set (else the old MPIs are kept).
func resign(t *testing.T, signed []byte, k *keys.Material, edit func(s *Sig), sign bool) []byte {
	t.Helper()
	m := formats.NewModule("m", signed)
	tr, err := locate(m)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := readSig(m, tr)
	if err != nil {
		t.Fatal(err)
	}
	edit(s)
	payload := signed[:tr.payloadLen]
	if sign {
		d, err := Digest(s, bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		if err := SignDigest(s, k, d); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return formats.AppendMagic30(payload, b, []byte(fmt.Sprintf("%-5d", len(b))))
}

// shortMPIModule signs mod with k at successive times from base until the RSA signature
// has a leading zero byte (about 1 in 256), deterministically.
func shortMPIModule(t *testing.T, mod []byte, k *keys.Material) []byte {
	t.Helper()
	base := keys.DefaultCreated
	for i := 0; i < 5000; i++ {
		signed, err := Driver{}.Sign(mod, k, formats.SignOptions{Hash: crypto.SHA256, Time: base.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		m := formats.NewModule("m", signed)
		tr, _ := locate(m)
		s, _, _ := readSig(m, tr)
		if shortMPI(s.MPIs[0], k.Public()) {
			return signed
		}
	}
	t.Fatal("no short signature in 5000 tries")
	return nil
}

// TestVerifyTable: every row of the Howells result table (FORMATS.md rhel6 variant rsa, the
// gpg2012 table), permissive and enforcing, for both kernel models.
func TestVerifyTable(t *testing.T) {
	mod := readModule(t)
	k := loadKey(t, "rsa2048.key")
	other := loadKey(t, "untrusted-rsa2048.key")
	dsaKey := loadKey(t, "dsa1024.key")
	if _, err := k.OpenPGP(); err != nil {
		t.Fatal(err)
	}
	ring := &keys.Ring{}
	ring.AddMaterial(k)
	good, err := Driver{}.Sign(mod, k, formats.SignOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	byOther, _ := Driver{}.Sign(mod, other, formats.SignOptions{Hash: crypto.SHA256})
	byDSA, err := Driver{}.Sign(mod, dsaKey, formats.SignOptions{Hash: crypto.SHA256, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	tamperedPayload := bytes.Clone(good)
	tamperedPayload[100] ^= 1
	tamperedSig := bytes.Clone(good)
	tamperedSig[len(good)-35-10] ^= 1 // inside the RSA MPI
	id := func(m *keys.Material) string { i, _ := SigningKeyID(m); return fmt.Sprintf("%016X", i) }

	rsaID, _ := SigningKeyID(k)
	issuer := AppendSubpacket(nil, SubIssuer, keyIDBytes(rsaID))
	twoIssuers := resign(t, good, k, func(s *Sig) { s.Hashed = append(s.Hashed, issuer...) }, true)
	noIssuer := resign(t, good, k, func(s *Sig) { s.Unhashed = nil; s.IssuerCount = 0 }, true)
	v3 := resign(t, good, k, func(s *Sig) { s.Version = 3 }, true)
	class1 := resign(t, good, k, func(s *Sig) { s.Class = ClassText }, true)
	class2 := resign(t, good, k, func(s *Sig) { s.Class = ClassStand }, true)
	hash4 := resign(t, good, k, func(s *Sig) { s.HashAlgo = 4 }, false)
	rmd := resign(t, good, k, func(s *Sig) { s.HashAlgo = 3 }, true)
	badHashedLen := bytes.Clone(good)
	badHashedLen[len(mod)+3+4] = 0xff // be16 hashed length high byte (header 3 bytes: 89 xx xx)
	badLenField := bytes.Clone(good)
	copy(badLenField[len(badLenField)-35:], "2x7  ")
	tooLong := append(bytes.Clone(mod[:100]), []byte("99999"+formats.Magic30)...)
	shortSig := shortMPIModule(t, mod, k)

	type want struct {
		out       formats.Outcome
		perm, enf formats.Errno
	}
	for _, c := range []struct {
		name   string
		module []byte
		ring   *keys.Ring
		def    want // KernelHowells (default)
		early  want // KernelHowellsEarly
		keyID  string
	}{
		{"unsigned", mod, ring, want{formats.Unsigned, "OK", "EKEYREJECTED"}, want{formats.Unsigned, "OK", "EKEYREJECTED"}, ""},
		{"valid", good, ring, want{formats.OK, "OK", "OK"}, want{formats.OK, "OK", "OK"}, id(k)},
		{"no public key", good, &keys.Ring{}, want{formats.UnknownKey, "OK", "ENOKEY"}, want{formats.UnknownKey, "ENOKEY", "ENOKEY"}, id(k)},
		{"signed by another key", byOther, ring, want{formats.UnknownKey, "OK", "ENOKEY"}, want{formats.UnknownKey, "ENOKEY", "ENOKEY"}, id(other)},
		{"payload changed", tamperedPayload, ring, want{formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED"}, want{formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED"}, id(k)},
		{"signature changed (bad padding)", tamperedSig, ring, want{formats.BadSignature, "EBADMSG", "EBADMSG"}, want{formats.BadSignature, "EBADMSG", "EBADMSG"}, id(k)},
		{"DSA signature", byDSA, ring, want{formats.Unsupported, "ENOPKG", "ENOPKG"}, want{formats.Unsupported, "ENOPKG", "ENOPKG"}, id(dsaKey)},
		{"hash unavailable", hash4, ring, want{formats.Unsupported, "ENOPKG", "ENOPKG"}, want{formats.Unsupported, "ENOPKG", "ENOPKG"}, id(k)},
		{"ripemd160", rmd, ring, want{formats.OK, "OK", "OK"}, want{formats.OK, "OK", "OK"}, id(k)},
		{"two issuers", twoIssuers, ring, want{formats.Corrupt, "EBADMSG", "EBADMSG"}, want{formats.Corrupt, "EBADMSG", "EBADMSG"}, id(k)},
		{"no issuer", noIssuer, ring, want{formats.Corrupt, "EBADMSG", "EBADMSG"}, want{formats.Corrupt, "EBADMSG", "EBADMSG"}, ""},
		{"corrupt packet", badHashedLen, ring, want{formats.Corrupt, "EBADMSG", "EBADMSG"}, want{formats.Corrupt, "EBADMSG", "EBADMSG"}, ""},
		{"v3 never verifies", v3, ring, want{formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED"}, want{formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED"}, id(k)},
		{"class 0x01", class1, ring, want{formats.Unsupported, ErrnoEOPNOTSUPP, ErrnoEOPNOTSUPP}, want{formats.Unsupported, ErrnoEOPNOTSUPP, ErrnoEOPNOTSUPP}, id(k)},
		{"class 0x02", class2, ring, want{formats.OK, "OK", "OK"}, want{formats.OK, "OK", "OK"}, id(k)},
		{"length field not decimal", badLenField, ring, want{formats.Corrupt, "ELIBBAD", "ELIBBAD"}, want{formats.Corrupt, "ELIBBAD", "ELIBBAD"}, ""},
		{"length beyond file", tooLong, ring, want{formats.Corrupt, "ELIBBAD", "ELIBBAD"}, want{formats.Corrupt, "ELIBBAD", "ELIBBAD"}, ""},
		{"short signature MPI", shortSig, ring, want{formats.OK, "OK", "OK"}, want{formats.BadSignature, "EBADMSG", "EBADMSG"}, id(k)},
	} {
		for _, model := range []string{KernelHowells, KernelHowellsEarly} {
			w := c.def
			if model == KernelHowellsEarly {
				w = c.early
			}
			t.Run(c.name+"/"+model, func(t *testing.T) {
				v := Driver{}.Verify(formats.NewModule(c.name, c.module), c.ring, formats.Policy{Kernel: model})
				if v.Outcome != w.out || v.Permissive != w.perm || v.Enforcing != w.enf {
					t.Fatalf("got %v (err %v), want %s %s/%s", v, v.Err, w.out, w.perm, w.enf)
				}
				if v.KeyID != c.keyID {
					t.Errorf("key id %q, want %q", v.KeyID, c.keyID)
				}
				if w.out == formats.UnknownKey && !strings.Contains(v.Reason, c.keyID) {
					t.Errorf("reason does not name the key: %q", v.Reason)
				}
				if v.Kernel != model {
					t.Errorf("kernel %q", v.Kernel)
				}
			})
		}
	}
}

// TestExpiredKey: a key made by gpg in 2012 with a one-year lifetime signs a module while
// valid; the kernel checks expiry when the module loads, so the verdict is EKEYEXPIRED now
// and OK at a time inside the lifetime.
func TestExpiredKey(t *testing.T) {
	g := newGPG(t)
	g.Must("--faked-system-time", "20120101T000000!", "--quick-gen-key", "Expiring <exp@example.invalid>", "rsa2048", "sign", "1y")
	mod := readModule(t)
	g.File("mod", mod)
	g.Must("--faked-system-time", "20120601T000000!", "--detach-sign", "-o", filepath.Join(g.Dir, "mod.sig"), filepath.Join(g.Dir, "mod"))
	sig := g.Read("mod.sig")
	signed := formats.AppendMagic30(mod, sig, []byte(fmt.Sprintf("%-5d", len(sig))))
	ring := &keys.Ring{}
	if err := ring.Add(g.Must("--export")); err != nil {
		t.Fatal(err)
	}
	m := formats.NewModule("m", signed)
	// Parse reports the time gpg signed at.
	ps, err := (Driver{}).Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	if !ps.Time.Equal(time.Date(2012, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("signature time %v; gpg signed at 2012-06-01T00:00:00Z", ps.Time)
	}
	v := Driver{}.Verify(m, ring, formats.Policy{})
	if v.Outcome != formats.Expired || v.Permissive != formats.ErrnoEKEYEXPIRED || v.Enforcing != formats.ErrnoEKEYEXPIRED {
		t.Fatalf("now: %v", v)
	}
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Date(2012, 7, 1, 0, 0, 0, 0, time.UTC) }
	if v := (Driver{}).Verify(m, ring, formats.Policy{}); v.Outcome != formats.OK {
		t.Fatalf("inside the lifetime: %v", v)
	}
}

// TestDetect: gpg2012 claims its own trailer and nothing else of the MAGIC30 family.
func TestDetect(t *testing.T) {
	mod := readModule(t)
	k := loadKey(t, "rsa2048.key")
	good, _ := Driver{}.Sign(mod, k, formats.SignOptions{})
	digsigLike := formats.AppendMagic30(mod, append([]byte{1}, bytes.Repeat([]byte{0x42}, 275)...), []byte{0x01, 0x14})
	fiveDigits := formats.AppendMagic30(mod, nil, []byte("12345"))
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"gpg2012", good, true},
		{"unsigned", mod, false},
		{"digsig2012-shaped", digsigLike, false},
		{"five digits, no packet (claimed, so it is reported corrupt)", fiveDigits, true},
		{"magic only", []byte(formats.Magic30), false},
		{"empty", nil, false},
		{"pkcs7 marker", append(bytes.Clone(mod), formats.Marker...), false},
	} {
		if got := (Driver{}).Detect(formats.NewModule(c.name, c.b)); got != c.want {
			t.Errorf("%s: Detect = %v", c.name, got)
		}
	}
}
