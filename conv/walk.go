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
	Size int64  // file size when walked
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
				in := Input{Path: path, Root: p, Rel: rel}
				if info, err := d.Info(); err == nil {
					in.Size = info.Size()
				}
				found = append(found, in)
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
