package conv

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ModuleSuffixes are the file names a directory walk picks up.
var ModuleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// IsModuleName reports whether name ends with one of ModuleSuffixes.
func IsModuleName(name string) bool {
	for _, s := range ModuleSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Input is one file found by Walk, with the root it was found under (for mirroring trees).
type Input struct {
	Path string
	Root string // the directory argument it came from; "" for a file argument
	Rel  string // path relative to Root
	Size int64  // file size; set for file arguments (a directory walk leaves it 0: see Sizes)
}

// Sizes fills in the Size of every input that has none (one stat each). Convert needs the
// sizes to bound memory; inspect and verify do not, so Walk does not stat what it finds.
func Sizes(inputs []Input) {
	for i := range inputs {
		if inputs[i].Size == 0 {
			if st, err := os.Stat(inputs[i].Path); err == nil {
				inputs[i].Size = st.Size()
			}
		}
	}
}

// Walk expands paths: files are taken as they are, whatever their name; directories are
// walked recursively for module files (IsModuleName), in lexical order. Temporary files of an
// interrupted kmodsig run (".name.kmodsig-*") are skipped.
func Walk(paths []string) ([]Input, error) {
	var out []Input
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, Input{Path: p, Rel: filepath.Base(p), Size: st.Size()})
			continue
		}
		var found []Input
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") && strings.Contains(name, ".kmodsig-") {
				return nil
			}
			if IsModuleName(name) {
				rel, _ := filepath.Rel(p, path)
				found = append(found, Input{Path: path, Root: p, Rel: rel})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Slice(found, func(i, j int) bool { return found[i].Path < found[j].Path })
		out = append(out, found...)
	}
	return out, nil
}
