package conv

import (
	"context"
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
