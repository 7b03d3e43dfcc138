package conv

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
)

// TestSignNoModule: an empty file is refused with ErrNoModule in every target format, by
// Sign and by a batch, instead of being signed and then failing the self-check with "sig_len
// takes all bytes before the trailer, leaving no module".
func TestSignNoModule(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	for _, d := range formats.All() {
		_, err := Sign("empty.ko", nil, d.ID(), k, formats.SignOptions{Force: true})
		if !errors.Is(err, ErrNoModule) || !strings.Contains(err.Error(), "the file is empty") {
			t.Errorf("%s: Sign(empty) = %v, want ErrNoModule", d.ID(), err)
		}
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.ko")
	writeFile(t, empty, nil)
	rep := Convert(context.Background(), []Input{{Path: empty, Rel: "empty.ko"}},
		Options{To: "pkcs7", Key: k, OutDir: filepath.Join(dir, "out"), Jobs: 1})
	if rep.Failed != 1 || !strings.Contains(rep.Files[0].Error, "no module to sign: the file is empty") {
		t.Errorf("convert of an empty file: %+v", rep.Files[0])
	}
}

// TestSignErrorNamesFormatOnce: a signing error names the file and the format once, whether
// or not the driver names itself ("m.ko: sign rhel6: rhel6: openpgp: ..." before).
func TestSignErrorNamesFormatOnce(t *testing.T) {
	before := time.Unix(-1, 0)
	for _, tc := range []struct{ id, key string }{{"rhel6", "dsa1024.key"}, {"gkh2004", "rsa2048.key"}, {"gpg2012", "rsa2048.key"}, {"digsig2012", "rsa2048.key"}} {
		_, err := Sign("m.ko", helloKO(t), tc.id, loadKey(t, tc.key), formats.SignOptions{Time: before})
		if err == nil {
			t.Errorf("%s: signed with a time before 1970", tc.id)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "m.ko: sign "+tc.id+": ") || strings.Count(msg, tc.id+":") != 1 {
			t.Errorf("%s: %q, want \"m.ko: sign %s: ...\" naming the format once", tc.id, msg, tc.id)
		}
	}
}

// TestVerifyNotELF: a module that is not a relocatable ELF object gets ENOEXEC where its
// signature check passes or is forgiven, in every format that can sign it, with a note and
// without the "loads with taint" note; the outcome stays the signature's. Linux 6.1 in qemu
// does exactly this (kerneltest variants 38-41). A valid module is untouched.
func TestVerifyNotELF(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	notELF := append([]byte("#!/bin/sh\n"), make([]byte, 200)...)
	exec := helloKO(t)
	exec[16] = 2 // e_type ET_EXEC (x86-64: little endian)
	for _, tc := range []struct {
		what   string
		module []byte
	}{{"text", notELF}, {"ET_EXEC", exec}} {
		v := Verify(formats.NewModule("m", tc.module), SelfRing(k), formats.Policy{}, "")
		if v.Outcome != formats.Unsigned || v.Permissive != formats.ErrnoENOEXEC || v.Enforcing != formats.ErrnoEKEYREJECTED {
			t.Errorf("unsigned %s: %s", tc.what, v)
		}
		for _, n := range v.Notes {
			if strings.HasPrefix(n, "loads with taint") {
				t.Errorf("unsigned %s: note %q", tc.what, n)
			}
		}
		for _, id := range []string{"pkcs7", "x509", "gpg2012", "digsig2012"} {
			res, err := Sign("m", tc.module, id, k, formats.SignOptions{})
			if err != nil {
				t.Fatalf("%s %s: %v", tc.what, id, err)
			}
			v := Verify(formats.NewModule("m", res.Signed), SelfRing(k), formats.Policy{}, "")
			if v.Outcome != formats.OK || v.Permissive != formats.ErrnoENOEXEC || v.Enforcing != formats.ErrnoENOEXEC ||
				!strings.Contains(strings.Join(v.Notes, "\n"), "the kernel refuses it after the signature check (ENOEXEC)") {
				t.Errorf("%s signed %s: %s %v", tc.what, id, v, v.Notes)
			}
		}
	}
	v := Verify(formats.NewModule("m", helloKO(t)), SelfRing(k), formats.Policy{}, "")
	if v.Permissive != formats.ErrnoOK {
		t.Errorf("hello.ko: %s", v)
	}
}

// TestSignTimeCarriedOrRefused: in every format and variant, a signature time is either
// carried (two times give two different signed modules) or refused with ErrUntimed; it is
// never dropped in silence (pkcs7, x509, digsig v2 and gkh2004's rsa and encrypted variants
// signed as if no time had been given). Read-only formats refuse to sign at all.
func TestSignTimeCarriedOrRefused(t *testing.T) {
	rsaKey, dsaKey := loadKey(t, "rsa2048.key"), loadKey(t, "dsa1024.key")
	mod := helloKO(t)
	t1, t2 := time.Date(2012, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC)
	untimed := map[string]bool{"pkcs7/": true, "x509/": true, "digsig2012/v2": true, "gkh2004/rsa": true, "gkh2004/encrypted": true}
	for _, d := range formats.All() {
		for _, v := range append([]string{""}, d.Info().Variants...) {
			name := d.ID() + "/" + v
			sign := func(tm time.Time) ([]byte, error) {
				o := formats.SignOptions{Variant: v, Time: tm, Deterministic: true}
				b, err := d.Sign(mod, rsaKey, o)
				if errors.Is(err, formats.ErrKeyType) {
					b, err = d.Sign(mod, dsaKey, o)
				}
				return b, err
			}
			a, err := sign(t1)
			switch {
			case errors.Is(err, formats.ErrReadOnly):
				continue
			case untimed[name]:
				if !errors.Is(err, formats.ErrUntimed) {
					t.Errorf("%s: Sign with a time = %v, want ErrUntimed", name, err)
				}
				if _, err := sign(time.Time{}); err != nil {
					t.Errorf("%s: Sign without a time: %v", name, err)
				}
				continue
			case err != nil:
				t.Errorf("%s: Sign with a time: %v", name, err)
				continue
			}
			b, err := sign(t2)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if bytes.Equal(a, b) {
				t.Errorf("%s: two signature times gave the same bytes: the time was dropped", name)
			}
		}
	}
}

// TestSignKernel: the self-check runs on o.Kernel's model. A SHA-3 pkcs7 signature, which
// Linux 6.7 and later verify, is ErrUnverifiable on the default linux-6.1, passes on
// linux-6.7, and is written with a warning under Force.
func TestSignKernel(t *testing.T) {
	k, mod := loadKey(t, "rsa2048.key"), helloKO(t)
	o := formats.SignOptions{Hash: crypto.SHA3_256}
	if _, err := Sign("m.ko", mod, "pkcs7", k, o); !errors.Is(err, ErrUnverifiable) || !strings.Contains(err.Error(), "linux-6.1") {
		t.Errorf("sha3-256 on linux-6.1: %v, want ErrUnverifiable", err)
	}
	o.Kernel = "linux-6.7"
	res, err := Sign("m.ko", mod, "pkcs7", k, o)
	if err != nil || res.Verdict.Outcome != formats.OK || res.Verdict.Kernel != "linux-6.7" {
		t.Fatalf("sha3-256 on linux-6.7: %v, %+v", err, res)
	}
	var warned []string
	o = formats.SignOptions{Hash: crypto.SHA3_256, Force: true, Warn: func(m string) { warned = append(warned, m) }}
	if res, err = Sign("m.ko", mod, "pkcs7", k, o); err != nil || res.Verdict.Outcome != formats.Unsupported || len(warned) != 1 {
		t.Errorf("sha3-256 forced on linux-6.1: %v, %+v, warnings %q", err, res, warned)
	}
}

// TestUnknownVariant: a variant name a format does not have is refused with ErrVariant by
// Sign and by ExportKey in every format that has variants (the key export of gkh2004, x509
// and rhel6 took any name before, rhel6's as its dsa default).
func TestUnknownVariant(t *testing.T) {
	k, mod := loadKey(t, "rsa2048.key"), helloKO(t)
	for _, d := range formats.All() {
		if len(d.Info().Variants) == 0 {
			continue
		}
		o := formats.SignOptions{Variant: "bogus"}
		if _, err := d.Sign(mod, k, o); !errors.Is(err, formats.ErrVariant) {
			t.Errorf("%s: Sign with variant bogus: %v, want ErrVariant", d.ID(), err)
		}
		if x, ok := d.(formats.KeyExporter); ok {
			if _, _, err := x.ExportKey(k, o); !errors.Is(err, formats.ErrVariant) {
				t.Errorf("%s: ExportKey with variant bogus: %v, want ErrVariant", d.ID(), err)
			}
		}
	}
}
