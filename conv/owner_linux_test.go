package conv

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReplaceKeepsOwner: as root, a module converted in place, or any file WriteAtomic
// replaces, keeps its owner, group and mode; a file written where none was is root's.
func TestReplaceKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	const uid, gid = 65534, 65534 // nobody, nogroup
	dir := t.TempDir()
	owned := func(p string) (int, int, os.FileMode) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		return int(sys.Uid), int(sys.Gid), st.Mode().Perm()
	}
	give := func(p string, b []byte) {
		t.Helper()
		writeFile(t, p, b)
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	ko := helloKO(t)
	mod := filepath.Join(dir, "tree", "m.ko")
	give(mod, ko)
	rep := Convert(context.Background(), []Input{{Path: mod, Rel: "m.ko"}},
		Options{To: "pkcs7", Key: loadKey(t, "rsa2048.key"), InPlace: true, Jobs: 1})
	if rep.Converted != 1 {
		t.Fatalf("not converted: %+v", rep.Files)
	}
	if u, g, m := owned(mod); u != uid || g != gid || m != 0o640 {
		t.Errorf("converted in place: owner %d:%d mode %v, want %d:%d 0640", u, g, m, uid, gid)
	}
	other := filepath.Join(dir, "other")
	give(other, []byte("old"))
	if err := WriteAtomic(other, []byte("new"), 0o600, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if u, g, m := owned(other); u != uid || g != gid || m != 0o600 {
		t.Errorf("WriteAtomic over a file of %d:%d: owner %d:%d mode %v", uid, gid, u, g, m)
	}
	fresh := filepath.Join(dir, "fresh")
	if err := WriteAtomic(fresh, []byte("new"), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if u, g, _ := owned(fresh); u != 0 || g != os.Getegid() {
		t.Errorf("a new file is %d:%d, want root's", u, g)
	}
}
