package conv

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedOutputs checks which inputs of a batch are refused because an earlier input's
// result goes to the same file, and that nothing else is.
func TestSharedOutputs(t *testing.T) {
	in := func(path, root string) Input {
		rel := filepath.Base(path)
		if root != "" {
			rel, _ = filepath.Rel(root, path)
		}
		return Input{Path: path, Root: root, Rel: rel}
	}
	for _, tc := range []struct {
		name   string
		inputs []Input
		o      Options
		want   []string // per input: "" (converted) or a part of its error
	}{
		{"distinct outputs", []Input{in("a/x.ko", "a"), in("a/sub/x.ko", "a"), in("b/y.ko", "")},
			Options{OutDir: "out"}, []string{"", "", ""}},
		{"two trees of one layout", []Input{in("k1/kernel/x.ko", "k1"), in("k1/kernel/y.ko", "k1"), in("k2/kernel/x.ko", "k2")},
			Options{OutDir: "out"}, []string{"", "", "out/kernel/x.ko is also the output of k1/kernel/x.ko"}},
		{"two files of one name", []Input{in("x/foo.ko", ""), in("y/foo.ko", "")},
			Options{OutDir: "out"}, []string{"", "out/foo.ko is also the output of x/foo.ko"}},
		{"a file in a tree given again", []Input{in("d/foo.ko", "d"), in("d/foo.ko", "")},
			Options{OutDir: "out"}, []string{"", "d/foo.ko is given more than once"}},
		{"in place, distinct files", []Input{in("x/foo.ko", ""), in("y/foo.ko", "")},
			Options{InPlace: true}, []string{"", ""}},
		{"in place, one file twice under two spellings", []Input{in("x/foo.ko", ""), in("x/./foo.ko", ""), in("y/foo.ko", "")},
			Options{InPlace: true}, []string{"", "x/./foo.ko is given more than once", ""}},
		{"in place, a link and the file it names", []Input{{Path: "weak/foo.ko", Rel: "foo.ko", Real: "extra/foo.ko"}, in("extra/foo.ko", "")},
			Options{InPlace: true}, []string{"", "extra/foo.ko is also the output of weak/foo.ko"}},
		{"three on one output", []Input{in("x/foo.ko", ""), in("y/foo.ko", ""), in("z/foo.ko", "")},
			Options{OutDir: "out"}, []string{"", "also the output of x/foo.ko", "also the output of x/foo.ko"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := sharedOutputs(tc.inputs, tc.o)
			refused := false
			for i, want := range tc.want {
				var err error
				if errs != nil {
					err = errs[i]
				}
				switch {
				case want == "" && err != nil:
					t.Errorf("input %d (%s) refused: %v", i, tc.inputs[i].Path, err)
				case want != "" && (err == nil || !errors.Is(err, ErrSharedOutput) || !strings.Contains(err.Error(), want)):
					t.Errorf("input %d (%s): error %v, want ErrSharedOutput with %q", i, tc.inputs[i].Path, err, want)
				}
				refused = refused || want != ""
			}
			if !refused && errs != nil {
				t.Errorf("no input refused, but sharedOutputs returned %v, not nil", errs)
			}
		})
	}
}

// TestConvertSharedOutput runs a batch in which two different modules would go to one output:
// the first is converted and its result is the file there, the second fails and is left
// alone, and the batch fails. Before the check both were reported converted and whichever
// worker renamed last won.
func TestConvertSharedOutput(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	dir := t.TempDir()
	x, y := filepath.Join(dir, "x", "foo.ko"), filepath.Join(dir, "y", "foo.ko")
	hello, hello2 := helloKO(t), readFile(t, filepath.Join(testdata, "modules", "hello2.ko"))
	writeFile(t, x, hello)
	writeFile(t, y, hello2)
	out := filepath.Join(dir, "out")
	inputs := []Input{{Path: x, Rel: "foo.ko"}, {Path: y, Rel: "foo.ko"}}
	var seen int
	rep := Convert(context.Background(), inputs, Options{To: "pkcs7", Key: k, OutDir: out, Jobs: 2,
		OnDone: func(FileResult) { seen++ }})
	if rep.Err() == nil || rep.Converted != 1 || rep.Failed != 1 || seen != 2 {
		t.Fatalf("report %+v (OnDone called %d times), want one converted, one failed, both reported", rep, seen)
	}
	if f := rep.Files[1]; f.Outcome != Failed || !strings.Contains(f.Error, "also the output of "+x) || f.Output != filepath.Join(out, "foo.ko") {
		t.Errorf("second input: %+v", f)
	}
	got := readFile(t, filepath.Join(out, "foo.ko"))
	if !bytes.HasPrefix(got, hello) || len(got) <= len(hello) {
		t.Errorf("out/foo.ko (%d bytes) is not the signed first input (%d bytes unsigned)", len(got), len(hello))
	}
	if !bytes.Equal(readFile(t, y), hello2) {
		t.Error("the refused input was changed")
	}
}
