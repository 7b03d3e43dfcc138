package conv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// TestConvertSyncBeforeRename checks the order a batch makes its results durable in: every
// converted module's temporary file was complete and on disk when a filesystem flush ran, and
// only then renamed into place. The flush is observed, not mocked: it lists the temporary
// files present when it runs, then really flushes. Renaming before flushing would leave
// modules whose temporary files no flush ever saw.
func TestConvertSyncBeforeRename(t *testing.T) {
	if !groupSync {
		t.Skip("batches fsync each file on this system: no group flush")
	}
	k := loadKey(t, "rsa2048.key")
	ko := helloKO(t)
	dir, inputs := helloTree(t, 60, 4)
	defer func(f func(string) error) { syncFS = f }(syncFS)
	var mu sync.Mutex
	seen := map[string]bool{} // modules whose complete temporary file a flush saw
	flushes := 0
	syncFS = func(p string) error {
		mu.Lock()
		defer mu.Unlock()
		flushes++
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			name, _, ok := strings.Cut(d.Name(), ".kmodsig-")
			if err != nil || !ok || !strings.HasPrefix(name, ".") {
				return nil
			}
			if fi, err := d.Info(); err == nil && fi.Size() > int64(len(ko)) {
				seen[filepath.Join(filepath.Dir(p), name[1:])] = true
			}
			return nil
		})
		return syncfs(p)
	}
	rep := Convert(context.Background(), inputs, Options{To: "pkcs7", Key: k, InPlace: true, Jobs: 2})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.Outcome != Converted {
			t.Errorf("%s: %s %s", f.Path, f.Outcome, f.Error)
		} else if !seen[f.Path] {
			t.Errorf("%s: renamed into place without a flush of its temporary file", f.Path)
		}
	}
	t.Logf("%d modules, %d flushes", len(rep.Files), flushes)
}

// TestConvertFsyncEach: with FsyncEach a batch never calls syncfs (each file is fsynced as it
// is written, each output directory after its renames) and still converts every module.
func TestConvertFsyncEach(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	_, inputs := helloTree(t, 20, 3)
	defer func(f func(string) error) { syncFS = f }(syncFS)
	var calls atomic.Int32
	syncFS = func(p string) error {
		calls.Add(1)
		return syncfs(p)
	}
	out := filepath.Join(t.TempDir(), "out")
	rep := Convert(context.Background(), inputs, Options{To: "pkcs7", Key: k, OutDir: out, Jobs: 2, FsyncEach: true})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if rep.Converted != len(inputs) {
		t.Fatalf("%d of %d converted", rep.Converted, len(inputs))
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("syncfs called %d times with FsyncEach", n)
	}
	if groupSync { // and without FsyncEach it is the group commit
		rep = Convert(context.Background(), inputs, Options{To: "pkcs7", Key: k, OutDir: out + "2", Jobs: 2})
		if rep.Err() != nil || calls.Load() == 0 {
			t.Fatalf("default batch: %v, %d syncfs calls", rep.Err(), calls.Load())
		}
	}
}

// helloTree writes n copies of hello.ko into dirs subdirectories of a new directory and
// returns the directory and the inputs.
func helloTree(t *testing.T, n, dirs int) (string, []Input) {
	t.Helper()
	ko := helloKO(t)
	dir := t.TempDir()
	var inputs []Input
	for i := 0; i < n; i++ {
		rel := filepath.Join("d"+strconv.Itoa(i%dirs), "m"+strconv.Itoa(i)+".ko")
		writeFile(t, filepath.Join(dir, rel), ko)
		inputs = append(inputs, Input{Path: filepath.Join(dir, rel), Rel: rel})
	}
	return dir, inputs
}
