package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTextOutputEscapes: a newline or an escape sequence in a file name or in a string taken
// from a module (an x509 trailer's signer name) comes out of inspect and verify escaped, so
// that it cannot forge a line of their text output or drive the terminal; a plain name is
// printed as it is.
func TestTextOutputEscapes(t *testing.T) {
	root, _, in := helloTreeDir(t)
	ko, err := os.ReadFile(filepath.Join(in, "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	forged := "a.ko\nx.ko: ok [pkcs7] permissive OK, enforcing OK: fake.ko"
	if err := os.WriteFile(filepath.Join(in, forged), ko, 0o644); err != nil {
		t.Skipf("this filesystem refuses the name: %v", err)
	}
	// An x509 module whose signer name holds an escape sequence and a newline.
	signed := filepath.Join(t.TempDir(), "x509.ko")
	if code := run([]string{"sign", "--format", "x509", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "-o", signed, filepath.Join(in, "hello.ko")}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("sign: exit %d", code)
	}
	b, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	name := []byte("kmodsig trusted RSA-2048")
	i := bytes.LastIndex(b, name)
	if i < 0 {
		t.Fatal("signer name not in the x509 trailer")
	}
	copy(b[i:], "kmodsig\x1b[31m\nx.ko: ok")
	evil := filepath.Join(in, "evil.ko")
	if err := os.WriteFile(evil, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// Standard error too: convert --from x509 fails every file, naming it.
	var stderr bytes.Buffer
	run([]string{"convert", "--to", "pkcs7", "--from", "x509", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "--out-dir", t.TempDir(), in}, &bytes.Buffer{}, &stderr)
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "x.ko") || strings.Contains(l, "\x1b") {
			t.Errorf("convert: a forged error line: %q", l)
		}
	}
	if !strings.Contains(stderr.String(), `a.ko\nx.ko: ok [pkcs7]`) {
		t.Errorf("convert: the odd name is not escaped in its error line:\n%s", stderr.String())
	}
	for _, cmd := range [][]string{{"inspect", in}, {"verify", "--keyring", filepath.Join(root, "keys", "rsa2048.crt"), in}} {
		var out bytes.Buffer
		run(cmd, &out, &bytes.Buffer{})
		text := out.String()
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, "x.ko") {
				t.Errorf("%s: a forged line: %q", cmd[0], l)
			}
		}
		if strings.Contains(text, "\x1b") {
			t.Errorf("%s: an escape sequence reached the output", cmd[0])
		}
		if !strings.Contains(text, `"`+filepath.Join(in, "a.ko")+`\nx.ko: ok [pkcs7]`) {
			t.Errorf("%s: the odd name is not Go-quoted:\n%s", cmd[0], text)
		}
		if !strings.Contains(text, `kmodsig\x1b[31m\nx.ko`) {
			t.Errorf("%s: the signer name is not escaped:\n%s", cmd[0], text)
		}
		if !strings.Contains(text, filepath.Join(in, "hello.ko")+"\n") && !strings.Contains(text, filepath.Join(in, "hello.ko")+":") {
			t.Errorf("%s: a plain name is not printed as it is:\n%s", cmd[0], text)
		}
	}
}
