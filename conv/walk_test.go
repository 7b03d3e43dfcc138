package conv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWalkSymlinks: a directory argument that is a symbolic link is walked through the link
// (it used to give nothing, so `kmodsig verify LINK` verified no module and exited 0), with
// paths that begin with the argument as given; links inside a tree are not followed, and a
// file argument that is a link is taken as given.
func TestWalkSymlinks(t *testing.T) {
	dir := t.TempDir()
	ko := helloKO(t)
	writeFile(t, filepath.Join(dir, "tree", "a.ko"), ko)
	writeFile(t, filepath.Join(dir, "tree", "sub", "b.ko.xz"), ko)
	writeFile(t, filepath.Join(dir, "elsewhere", "c.ko"), ko)
	for _, l := range []struct{ target, name string }{
		{"tree", "link"},
		{filepath.Join("..", "elsewhere"), filepath.Join("tree", "inner")}, // a link inside the tree
		{filepath.Join("tree", "a.ko"), "file.ko"},
	} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	type got struct{ Path, Rel string }
	for _, tc := range []struct {
		arg  string
		want []got
	}{
		{"tree", []got{{"tree/a.ko", "a.ko"}, {"tree/sub/b.ko.xz", "sub/b.ko.xz"}}},
		{"link", []got{{"link/a.ko", "a.ko"}, {"link/sub/b.ko.xz", "sub/b.ko.xz"}}},
		{"link/", []got{{"link/a.ko", "a.ko"}, {"link/sub/b.ko.xz", "sub/b.ko.xz"}}},
		{"file.ko", []got{{"file.ko", "file.ko"}}},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			inputs, err := Walk([]string{tc.arg})
			if err != nil {
				t.Fatal(err)
			}
			each, _, err := WalkEach([]string{tc.arg}, WalkOptions{Jobs: 2}, func(Input) struct{} { return struct{}{} })
			if err != nil {
				t.Fatal(err)
			}
			for name, ins := range map[string][]Input{"Walk": inputs, "WalkEach": each} {
				var g []got
				for _, in := range ins {
					g = append(g, got{in.Path, in.Rel})
				}
				if !slices.Equal(g, tc.want) {
					t.Errorf("%s(%q) = %v, want %v", name, tc.arg, g, tc.want)
				}
			}
		})
	}
}

// TestWalkDanglingLink: an argument that is a symbolic link to nothing is an error that
// says so (and is fs.ErrNotExist), from Walk, WalkEach and Open; a missing file is Go's own
// "no such file or directory".
func TestWalkDanglingLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "dangling.ko")
	if err := os.Symlink("nothere.ko", link); err != nil {
		t.Fatal(err)
	}
	_, werr := Walk([]string{link})
	_, _, eerr := WalkEach([]string{link}, WalkOptions{}, func(Input) struct{} { return struct{}{} })
	_, oerr := Open(link)
	for _, err := range []error{werr, eerr, oerr} {
		if !errors.Is(err, fs.ErrNotExist) || err.Error() != link+": a symbolic link to nothere.ko, which does not exist" {
			t.Errorf("dangling link: %v", err)
		}
	}
	if _, err := Walk([]string{filepath.Join(dir, "missing.ko")}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// TestWithoutOutDir: which inputs a conversion with --out-dir leaves out: those inside the
// out-dir where the out-dir is inside the tree they came from; nothing else.
func TestWithoutOutDir(t *testing.T) {
	tree := func(root string, rels ...string) []Input {
		var in []Input
		for _, r := range rels {
			in = append(in, Input{Path: filepath.Join(root, r), Root: root, Rel: r})
		}
		return in
	}
	for _, tc := range []struct {
		name   string
		inputs []Input
		outDir string
		want   []string // the paths kept
	}{
		{"out-dir inside the tree", tree("t", "a.ko", "out/a.ko", "outer/b.ko"), "t/out", []string{"t/a.ko", "t/outer/b.ko"}},
		{"out-dir inside, spelled differently", tree("t", "a.ko", "out/a.ko"), "./t/out/", []string{"t/a.ko"}},
		{"out-dir deeper inside", tree("t", "a.ko", "x/out/a.ko", "x/a.ko"), "t/x/out", []string{"t/a.ko", "t/x/a.ko"}},
		{"out-dir outside the tree", tree("t", "a.ko", "out/a.ko"), "out", []string{"t/a.ko", "t/out/a.ko"}},
		{"out-dir is the tree", tree("t", "a.ko", "out/a.ko"), "t", []string{"t/a.ko", "t/out/a.ko"}},
		{"out-dir a sibling with the tree's name as prefix", tree("t", "a.ko"), "t2", []string{"t/a.ko"}},
		{"file arguments", []Input{{Path: "t/out/a.ko", Rel: "a.ko"}}, "t/out", []string{"t/out/a.ko"}},
		{"two trees, out-dir inside one", append(tree("t", "out/a.ko"), tree("u", "out/a.ko")...), "t/out", []string{"u/out/a.ko"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept, n := WithoutOutDir(tc.inputs, tc.outDir)
			var got []string
			for _, in := range kept {
				got = append(got, in.Path)
			}
			if !slices.Equal(got, tc.want) || n != len(tc.inputs)-len(tc.want) {
				t.Errorf("kept %v (%d left out), want %v", got, n, tc.want)
			}
		})
	}
}
