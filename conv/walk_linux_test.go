package conv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWalkUnreadable: a directory the walk cannot read is reported in a *WalkError with every
// input of the rest of the tree (it used to stop the walk, and the commands printed nothing
// for the tree). As root, which reads every directory, the walk runs with nobody's
// filesystem identity on its thread (setfsuid).
func TestWalkUnreadable(t *testing.T) {
	dir := t.TempDir()
	ko := helloKO(t)
	for _, p := range []string{"a/x.ko", "b/y.ko", "c/z.ko"} {
		writeFile(t, filepath.Join(dir, p), ko)
	}
	if err := os.Chmod(filepath.Join(dir, "b"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "b"), 0o755) }) // after asUnprivileged's
	asUnprivileged(t, dir)
	inputs, err := Walk([]string{dir})
	each, res, eachErr := WalkEach([]string{dir}, WalkOptions{Jobs: 2}, func(in Input) string { return in.Rel })
	for name, e := range map[string]error{"Walk": err, "WalkEach": eachErr} {
		var we *WalkError
		if !errors.As(e, &we) || len(we.Errs) != 1 || !errors.Is(e, fs.ErrPermission) ||
			!strings.Contains(e.Error(), filepath.Join(dir, "b")) {
			t.Errorf("%s: error %v, want a WalkError naming %s", name, e, filepath.Join(dir, "b"))
		}
	}
	want := []string{"a/x.ko", "c/z.ko"}
	var got, gotEach []string
	for _, in := range inputs {
		got = append(got, in.Rel)
	}
	for i, in := range each {
		gotEach = append(gotEach, in.Rel)
		if res[i] != in.Rel {
			t.Errorf("WalkEach result %d is %q for %s", i, res[i], in.Rel)
		}
	}
	if !slices.Equal(got, want) || !slices.Equal(gotEach, want) {
		t.Errorf("Walk found %v, WalkEach %v, want %v", got, gotEach, want)
	}
}

// asUnprivileged makes the calling goroutine's filesystem accesses those of user nobody until
// the test ends, when the test runs as root (on other systems, or not as root, nothing
// changes); dir and its parent are made traversable for nobody.
func asUnprivileged(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runtime.LockOSThread()
	unix.Setfsuid(65534)
	t.Cleanup(func() {
		unix.Setfsuid(0)
		runtime.UnlockOSThread()
	})
}
