package conv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestDestination checks which file a write to each kind of path replaces.
func TestDestination(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.ko")
	writeFile(t, file, []byte("module"))
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	toFile := link("link.ko", "a.ko")
	toLink := link("link2.ko", "link.ko")
	toDir := link("dirlink", "sub")
	dangling := link("dangling.ko", "missing.ko")
	for _, tc := range []struct {
		name, path string
		want       string // the destination; "" when an error is wanted
		err        string // part of the error
		isDir      bool
	}{
		{"a file", file, file, "", false},
		{"a file not there yet", filepath.Join(dir, "new.ko"), filepath.Join(dir, "new.ko"), "", false},
		{"a link to a file", toFile, file, "", false},
		{"a link to a link", toLink, file, "", false},
		{"a directory", sub, "", "is a directory", true},
		{"a link to a directory", toDir, "", "is a directory", true},
		{"a dangling link", dangling, "", "not writing through " + dangling + ": a symbolic link to missing.ko, which does not exist", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Destination(tc.path)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("Destination(%s) = %q, %v; want %q", tc.path, got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, ErrIsDirectory) != tc.isDir {
				t.Fatalf("Destination(%s) = %q, %v; want an error with %q (ErrIsDirectory: %v)", tc.path, got, err, tc.err, tc.isDir)
			}
		})
	}
}

func TestOutputCompression(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Compression
		want Compression
	}{
		{"m.ko", XZ, None},
		{"m.ko.xz", None, XZ},
		{"m.ko.zst", Gzip, Zstd},
		{"m.ko.gz", None, Gzip},
		{"m.xz", None, XZ},
		{"m", Zstd, Zstd},
		{"m.ko.orig", Gzip, Gzip},
		{"m.ko.xz.bak", XZ, XZ},
	} {
		if got := OutputCompression(tc.name, tc.in); got != tc.want {
			t.Errorf("OutputCompression(%q, %q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestConvertInPlaceThroughLink converts in place a file argument that is a symbolic link (a
// weak-updates tree): the module it names is converted and the link is still a link to it.
// Before, the rename replaced the link with a converted copy and left the module unconverted.
// A link to a directory as -o fails every input before any work.
func TestConvertInPlaceThroughLink(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	dir := t.TempDir()
	target := filepath.Join(dir, "extra", "a.ko")
	writeFile(t, target, helloKO(t))
	weak := filepath.Join(dir, "weak", "a.ko")
	if err := os.MkdirAll(filepath.Dir(weak), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../extra/a.ko", weak); err != nil {
		t.Fatal(err)
	}
	inputs, err := Walk([]string{weak})
	if err != nil || len(inputs) != 1 || inputs[0].Real != target {
		t.Fatalf("Walk(%s) = %+v, %v; want one input with Real %s", weak, inputs, err, target)
	}
	rep := Convert(context.Background(), inputs, Options{To: "x509", Key: k, InPlace: true, Jobs: 1})
	if err := rep.Err(); err != nil || rep.Files[0].Output != target {
		t.Fatalf("Convert: %v, output %q; want %s", err, rep.Files[0].Output, target)
	}
	if st, err := os.Lstat(weak); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symbolic link (%v)", weak, err)
	}
	f, err := Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if d := formats.Detect(f.Module); d == nil || d.ID() != "x509" {
		t.Fatalf("%s was not converted (detected %v)", target, d)
	}

	out := filepath.Join(dir, "out")
	if err := os.Symlink("extra", out); err != nil {
		t.Fatal(err)
	}
	rep = Convert(context.Background(), []Input{{Path: target, Rel: "a.ko"}}, Options{To: "pkcs7", Key: k, Output: out, Jobs: 1})
	if rep.Failed != 1 || !strings.Contains(rep.Files[0].Error, "is a directory") {
		t.Fatalf("-o a link to a directory: %+v, want the input failed with \"is a directory\"", rep.Files[0])
	}
}

// TestConvertHardLinks: a converted file that had other names says so in its result (the
// other names keep the old module: the replacement is a new file), and one that had none
// does not.
func TestConvertHardLinks(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.ko"), filepath.Join(dir, "b.ko"), filepath.Join(dir, "c.ko")
	writeFile(t, a, helloKO(t))
	writeFile(t, c, helloKO(t))
	if err := os.Link(a, b); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	if HardLinks(a) != 2 {
		t.Skipf("link count %d: this system does not report it", HardLinks(a))
	}
	rep := Convert(context.Background(), []Input{{Path: a, Rel: "a.ko"}, {Path: c, Rel: "c.ko"}},
		Options{To: "pkcs7", Key: k, InPlace: true, Jobs: 1})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if w := rep.Files[0].Warning; w != "had 2 hard links: the other name keeps the module as it was" {
		t.Errorf("a.ko: warning %q", w)
	}
	if w := rep.Files[1].Warning; w != "" {
		t.Errorf("c.ko: warning %q", w)
	}
	if got := readFile(t, b); !bytes.Equal(got, helloKO(t)) {
		t.Errorf("b.ko, the other name, changed")
	}
}
