package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestJSONRawPaths: inspect --json, verify --json and convert --report give a file name that is
// not UTF-8 its bytes in path_bytes (and output_bytes), from which a script gets the file back;
// a UTF-8 name has none. encoding/json alone writes U+FFFD for the bad byte.
func TestJSONRawPaths(t *testing.T) {
	root, dir, in := helloTreeDir(t)
	ko, err := os.ReadFile(filepath.Join(in, "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(in, "c\xff.ko")
	if err := os.WriteFile(odd, ko, 0o644); err != nil {
		t.Skipf("this filesystem refuses a non-UTF-8 name: %v", err)
	}
	type entry struct {
		Path        string `json:"path"`
		PathBytes   []byte `json:"path_bytes"`
		Output      string `json:"output"`
		OutputBytes []byte `json:"output_bytes"`
	}
	check := func(what string, es []entry, outputs bool) {
		t.Helper()
		if len(es) != 2 {
			t.Fatalf("%s: %d entries, want 2", what, len(es))
		}
		for _, e := range es {
			odd := filepath.Base(e.Path) != "hello.ko"
			if odd != (e.PathBytes != nil) || (odd && !bytes.Equal(e.PathBytes, []byte(filepath.Join(in, "c\xff.ko")))) {
				t.Errorf("%s: path %q, path_bytes %q", what, e.Path, e.PathBytes)
			}
			if outputs && odd != (e.OutputBytes != nil) {
				t.Errorf("%s: output %q, output_bytes %q", what, e.Output, e.OutputBytes)
			}
		}
	}
	for _, cmd := range [][]string{{"inspect", "--json", in}, {"verify", "--json", in}} {
		var out bytes.Buffer
		run(cmd, &out, &bytes.Buffer{})
		var es []entry
		if err := json.Unmarshal(out.Bytes(), &es); err != nil {
			t.Fatalf("%s: %v\n%s", cmd[0], err, out.Bytes())
		}
		check(cmd[0], es, false)
	}
	var out bytes.Buffer
	if code := run([]string{"convert", "--to", "pkcs7", "--key", filepath.Join(root, "keys", "rsa2048.pem"),
		"--out-dir", filepath.Join(dir, "out"), "--report", "-", in}, &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("convert: exit %d", code)
	}
	var rep struct{ Files []entry }
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	check("convert --report", rep.Files, true)
}

// TestInPlaceHardLinkWarning: sign and convert --in-place of a file with another name warn
// that the other name keeps the old module.
func TestInPlaceHardLinkWarning(t *testing.T) {
	root, _, in := helloTreeDir(t)
	a := filepath.Join(in, "hello.ko")
	if err := os.Link(a, filepath.Join(in, "other-name")); err != nil {
		t.Skipf("no hard links: %v", err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"sign", "--format", "pkcs7", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "--in-place", a}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr.String())
	}
	if want := "warning: " + a + ": had 2 hard links: the other name keeps the module as it was"; !bytes.Contains(stderr.Bytes(), []byte(want)) {
		t.Errorf("sign --in-place: stderr %q, want %q", stderr.String(), want)
	}
	if err := os.Link(a, filepath.Join(in, "third-name")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, filepath.Join(in, "fourth-name")); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"convert", "--to", "x509", "--key", filepath.Join(root, "keys", "rsa2048.pem"), "--in-place", a}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("convert: exit %d: %s", code, stderr.String())
	}
	if want := "had 3 hard links: the other 2 names keep the module as it was"; !bytes.Contains(stderr.Bytes(), []byte(want)) {
		t.Errorf("convert --in-place: stderr %q, want %q", stderr.String(), want)
	}
}
