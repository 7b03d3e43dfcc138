package conv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertFlushFailure checks what a batch does when the disk cannot make its writes
// durable: if a group's flush fails, none of its files is renamed into place (each fails and
// its module is left as it was, with no temporary file beside it); if only the final flush of
// the renames fails, the files are converted but the batch reports the error and fails.
func TestConvertFlushFailure(t *testing.T) {
	if !groupSync {
		t.Skip("batches fsync each file on this system: no group flush to fail")
	}
	k := loadKey(t, "rsa2048.key")
	ko := helloKO(t)
	for _, tc := range []struct {
		name      string
		failOn    func(path string) bool // which syncFS calls fail
		converted bool
	}{
		{"group flush", func(string) bool { return true }, false},
		{"final flush", func(p string) bool { fi, err := os.Stat(p); return err == nil && fi.IsDir() }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(f func(string) error) { syncFS = f }(syncFS)
			calls := 0
			syncFS = func(p string) error {
				calls++
				if tc.failOn(p) {
					return &os.PathError{Op: "syncfs", Path: p, Err: errors.New("injected I/O error")}
				}
				return syncfs(p)
			}
			dir := t.TempDir()
			var inputs []Input
			for _, name := range []string{"a.ko", "sub/b.ko", "sub/c.ko"} {
				p := filepath.Join(dir, name)
				writeFile(t, p, ko)
				inputs = append(inputs, Input{Path: p, Rel: name})
			}
			rep := Convert(context.Background(), inputs, Options{To: "pkcs7", Key: k, InPlace: true, Jobs: 2})
			if calls == 0 {
				t.Fatal("syncFS never called")
			}
			if rep.Err() == nil {
				t.Fatalf("batch succeeded despite the failed flush: %+v", rep)
			}
			for _, f := range rep.Files {
				got := readFile(t, f.Path)
				if tc.converted {
					if f.Outcome != Converted || len(got) <= len(ko) {
						t.Errorf("%s: outcome %s, %d bytes; want converted", f.Path, f.Outcome, len(got))
					}
				} else {
					if f.Outcome != Failed || !strings.Contains(f.Error, "injected I/O error") {
						t.Errorf("%s: outcome %s (%s); want failed with the flush error", f.Path, f.Outcome, f.Error)
					}
					if string(got) != string(ko) {
						t.Errorf("%s: changed although its flush failed", f.Path)
					}
				}
			}
			if tc.converted && (len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "not made durable")) {
				t.Errorf("report errors %q; want one about durability", rep.Errors)
			}
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), ".kmodsig-") {
					t.Errorf("temporary file left behind: %s", p)
				}
				return nil
			})
		})
	}
}
