package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSignExitCodes: sign exits 2 when the options or the key are what no module could be
// signed with (a hash, time or key type the format refuses, a signature the checking
// kernel cannot verify), 1 when this module cannot be signed, 0 when it is, as DESIGN.md's
// exit codes say. The first kind exited 1 like a failed file.
func TestSignExitCodes(t *testing.T) {
	root, dir, in := helloTreeDir(t)
	keys := filepath.Join(root, "keys")
	hello := filepath.Join(in, "hello.ko")
	notELF := filepath.Join(dir, "script.ko")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho not a module\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.ko")
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"signed", []string{"--format", "pkcs7", "--key", filepath.Join(keys, "rsa2048.pem"), hello}, exitOK},
		{"hash the format refuses", []string{"--format", "x509", "--hash", "sha3-256", "--key", filepath.Join(keys, "rsa2048.pem"), hello}, exitUsage},
		{"time the format has no place for", []string{"--format", "pkcs7", "--time", "5", "--key", filepath.Join(keys, "rsa2048.pem"), hello}, exitUsage},
		{"key type the era refuses", []string{"--format", "rhel5", "--key", filepath.Join(keys, "rsa2048.pem"), hello}, exitUsage},
		{"unverifiable on the checking kernel", []string{"--format", "pkcs7", "--hash", "sha3-256", "--key", filepath.Join(keys, "rsa2048.pem"), hello}, exitUsage},
		{"not a module", []string{"--format", "gkh2004", "--key", filepath.Join(keys, "rsa2048.pem"), notELF}, exitFailed},
	} {
		os.Remove(out)
		args := append([]string{"sign", "-o", out}, tc.args...)
		var stderr bytes.Buffer
		if got := run(args, &bytes.Buffer{}, &stderr); got != tc.want {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, got, tc.want, stderr.String())
		}
		if _, err := os.Stat(out); (err == nil) != (tc.want == exitOK) {
			t.Errorf("%s: output written = %v", tc.name, err == nil)
		}
	}
}

// TestVectorsOutIsAFile: vectors -o naming a file exits 2 before making the set, and leaves
// the file as it was.
func TestVectorsOutIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(f, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if got := run([]string{"vectors", "-o", f}, &bytes.Buffer{}, &stderr); got != exitUsage || !bytes.Contains(stderr.Bytes(), []byte("is a file, not a directory")) {
		t.Fatalf("exit %d, want %d saying it is a file: %s", got, exitUsage, stderr.String())
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "keep" {
		t.Fatalf("the file changed: %q %v", b, err)
	}
}
